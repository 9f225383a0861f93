"""One module per job, one entry point each: ``run_<job>(settings, ...) -> JobReport``.

Doors (CLI, Task Manager, Interoperability) call these and nothing else.
"""

from backup_keeper.jobs.catalog import run_catalog
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.jobs.purge import run_purge

__all__ = ["run_catalog", "run_online_backup", "run_purge"]
