"""BackupKeeper.Production, for ``iop --migrate``; BackupKeeper.Installer migrates it once.

The operations run the jobs; ``Ens.Alert`` (AlertOperation) delivers every alert of the
production through backup-keeper's channels; the scheduler service is for sites that schedule
inside the production rather than in the Task Manager (the installer's default is the Task
Manager, so the service's polling is off until an administrator sets its CallInterval).

``CopyOperation`` (off-site copies) is disabled until an administrator sets its destination URL:
there is no sensible default place to send backups to.

The operations that take a directory get the install parameter BackupDir, which the installer
hands over in ``BACKUP_KEEPER_BACKUP_DIR`` (``install_check.production_definition``): IoP imports
this file by name and passes it nothing.

Testing is enabled so that an administrator can try an operation from the portal's Testing
Service (a dry-run ``PurgeRequest`` first) and the e2e suite can send its requests: IRIS routes
test requests only to a production with Testing Enabled ("Testing Productions").
"""

import os

from iop import Production

from backup_keeper.install_check import DIRECTORY_VARIABLE
from backup_keeper.interop.operations import (
    AlertOperation,
    BackupOperation,
    CopyOperation,
    ExternalBackupOperation,
    PurgeOperation,
)
from backup_keeper.interop.services import SchedulerService

directory = {"directory": os.environ.get(DIRECTORY_VARIABLE, "")}

production = Production(
    "BackupKeeper.Production",
    description="backup-keeper: online and snapshot backups, chain-safe purge, alerts",
    testing_enabled=True,
)
production.service("BackupKeeper.Scheduler", SchedulerService, enabled=False)
production.operation("BackupOperation", BackupOperation, settings=directory)
production.operation(
    "ExternalBackupOperation", ExternalBackupOperation, enabled=False, settings=directory
)
production.operation("PurgeOperation", PurgeOperation, settings=directory)
# off until an administrator names a destination (DestinationURL): there is no default place
production.operation("CopyOperation", CopyOperation, enabled=False, settings=directory)
production.operation("Ens.Alert", AlertOperation)

PRODUCTIONS = [production]
