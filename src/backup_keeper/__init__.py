"""iris-backup-keeper: backups, chain-safe purging and alerting for InterSystems IRIS.

The package is a pure-Python core (catalog, retention, purge, reports) reached through thin
doors (CLI, Task Manager, Interoperability). README.md shows the commands and the layout;
docs/iris-ledger.md lists every IRIS call, reply and format the code relies on, with its source.
"""

__version__ = "0.1.0"
