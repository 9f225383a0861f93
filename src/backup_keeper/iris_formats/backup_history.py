"""One entry of IRIS's backup history (``Backup.Task:History``).

The port's adapters return these and the catalog cross-checks the files on disk against them
(``catalog/history.py``), so the type lives below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backup_keeper.kinds import BackupKind


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    time: datetime
    kind: BackupKind
    status: str
    device: str = ""
    log_file: str = ""
    description: str = ""
