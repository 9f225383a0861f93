"""BackupKeeper.Production, for ``iop --migrate production/settings.py``.

The operations run the jobs; ``Ens.Alert`` (AlertOperation) delivers every alert of the
production through backup-keeper's channels; the scheduler service is for sites that schedule
inside the production rather than in the Task Manager (the installer's default is the Task
Manager, so the service's polling is off until an administrator sets its CallInterval).
"""

from iop import Production

from backup_keeper.interop.operations import (
    AlertOperation,
    BackupOperation,
    ExternalBackupOperation,
    PurgeOperation,
)
from backup_keeper.interop.services import SchedulerService

production = Production(
    "BackupKeeper.Production",
    description="backup-keeper: online and snapshot backups, chain-safe purge, alerts",
)
production.service("BackupKeeper.Scheduler", SchedulerService, enabled=False)
production.operation("BackupOperation", BackupOperation)
production.operation("ExternalBackupOperation", ExternalBackupOperation, enabled=False)
production.operation("PurgeOperation", PurgeOperation)
production.operation("Ens.Alert", AlertOperation)

PRODUCTIONS = [production]
