"""iris-backup-keeper: backups, chain-safe purging and alerting for InterSystems IRIS.

The package is a pure-Python core (catalog, retention, purge, reports) reached through thin
doors (CLI, Task Manager, Interoperability); see DESIGN.md in the steering repository.
"""

__version__ = "0.1.0"
