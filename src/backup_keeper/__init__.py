"""iris-backup-keeper: backups, chain-safe purging and alerting for InterSystems IRIS.

A pure-Python core (catalog, retention, purge, reports) reached through thin doors (CLI, Task
Manager, Interoperability), with one port to IRIS. README.md shows the commands and the layout;
docs/iris-ledger.md lists every IRIS call, reply and format the code relies on, with its source.

Imports point one way: each unit (a subpackage or a top-level module) imports only from its own
layer or a lower one, and no two core units import each other (tests/unit/test_import_rules.py
enforces this list). Bottom first:

1. foundation: clock, durations, sizes, timezones, processes, safe_files, small_files, compression,
   encryption, gc_pause, snapshot_command, freeze_marker, progress, settings, destination_settings
2. vocabulary: kinds, iris_formats, checksum
3. sources: catalog, iris, destinations (none imports another)
4. findings: integrity, retention, report, mirror_policy, timeline, journal_coverage
5. effects: restore, purge, alerts, notify, offsite, metrics (it reads the alerts' state),
   last_run (what the last purge and verify did, for the metrics)
6. jobs: one module per job; importing one imports no other
7. doors: door, tasks, cli, interop, __main__; install_check, production_definition (the
   installer's)
"""

__version__ = "0.1.0"
