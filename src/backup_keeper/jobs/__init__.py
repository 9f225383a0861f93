"""One module per job, one entry point each: ``run_<job>(settings, ...) -> JobReport``.

Doors (CLI, Task Manager, Interoperability) call these and nothing else.
"""

from backup_keeper.jobs.catalog import run_catalog
from backup_keeper.jobs.doctor import run_doctor
from backup_keeper.jobs.external_backup import run_external_backup
from backup_keeper.jobs.freeze_hooks import run_freeze, run_thaw
from backup_keeper.jobs.freshness import run_freshness_check
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.jobs.purge import run_purge
from backup_keeper.jobs.restore import run_restore
from backup_keeper.jobs.restore_plan import run_restore_plan
from backup_keeper.jobs.verify import run_verify

__all__ = [
    "run_catalog",
    "run_doctor",
    "run_external_backup",
    "run_freeze",
    "run_freshness_check",
    "run_online_backup",
    "run_purge",
    "run_restore",
    "run_restore_plan",
    "run_thaw",
    "run_verify",
]
