"""What the catalog knows about one backup file.

Records are plain slotted dataclasses, not pydantic models: planning must handle a million of
them in well under two seconds, and they are built by trusted code (the catalog), not parsed
from outside. What comes from outside (manifests, settings) is validated by pydantic first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from operator import attrgetter

from backup_keeper.catalog.pin import Pin
from backup_keeper.kinds import BackupKind


class BackupStatus(StrEnum):
    COMPLETED = "completed"
    WARNING = "warning"
    """Completed with warnings: IRIS's own "Warning" status; the backup restores."""
    FAILED = "failed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"
    """No manifest and no IRIS log say how it ended; treated as completed so it is kept safe."""
    UNREADABLE = "unreadable"
    """IRIS's log is there but cannot be read (EACCES, EIO, a FIFO, a directory, a symlink): it
    may say "failed". Never counted as completed, never a chain base, never deleted by a rule."""

    @property
    def usable(self) -> bool:
        """Whether a restore may rely on it (and so whether it counts for retention)."""
        return self in USABLE_STATUSES


USABLE_STATUSES = (BackupStatus.COMPLETED, BackupStatus.WARNING, BackupStatus.UNKNOWN)
"""Statuses a restore may rely on; a tuple, as ``kinds.CHAIN_STARTS`` is, for speed."""

EARLIEST = datetime(1, 1, 3, tzinfo=UTC)
LATEST = datetime(9999, 12, 29, tzinfo=UTC)
"""The times a managed record may carry. Two days inside the calendar's ends, so a date-only
record's end of day and its time in any zone (offsets are under a day) are always representable:
a file dated outside is unmanaged, never a traceback in the planner."""


class RecordSource(StrEnum):
    SIDECAR = "sidecar"
    IRIS_HISTORY = "iris-history"
    FILE_NAME = "file-name"
    UNMANAGED = "unmanaged"


_UNMANAGED = RecordSource.UNMANAGED


class TimePrecision(StrEnum):
    EXACT = "exact"
    DAY = "day"
    """Only the local date is known (IRIS's default file name); ``time`` is that day's start."""


@dataclass(slots=True)
class BackupRecord:
    """One ``.cbk`` file and what the catalog could learn about it.

    ``path`` is absolute and is the record's identity. ``chain`` lists, oldest first, the paths
    of every backup a restore of this one needs before it (empty for a full); it is filled in
    by :func:`backup_keeper.catalog.chains.link_chains`. ``sequence`` breaks ties between
    records with the same ``time`` (IRIS's ``nnn`` journal suffix for same-day files); records
    sort by :data:`ORDER_KEY`.
    """

    path: str
    kind: BackupKind
    status: BackupStatus
    source: RecordSource
    time: datetime
    size: int
    mtime_ns: int
    precision: TimePrecision = TimePrecision.EXACT
    sequence: int = 0
    day: date | None = None
    """The instance-local date, when only the date is known (``precision`` is DAY)."""
    instance: str | None = None
    chain: tuple[str, ...] = ()
    chain_complete: bool = True
    """False for an incremental or cumulative with no usable full before it: it cannot restore."""
    note: str | None = None
    """Why a file is unmanaged, or anything else a person should read next to it."""
    companions: tuple[str, ...] = field(default_factory=tuple)
    """Sidecar and IRIS log paths that belong to this backup and go with it."""
    parent_name: str | None = None
    """The backup this one was taken on top of, as its manifest recorded it: lets the catalog
    see a missing middle incremental that ordering alone would silently skip."""
    pin: Pin | None = None
    """Its sidecar's pin, read with the rest of the sidecar: the purge holds it, the catalog and
    the timeline show it, and none of them reads the sidecar again for it."""

    @property
    def managed(self) -> bool:
        return self.source is not _UNMANAGED

    @property
    def restorable(self) -> bool:
        """Usable, and everything it needs is known to the catalog."""
        return self.chain_complete and self.source is not _UNMANAGED and self.status.usable


ORDER_KEY = attrgetter("time", "sequence", "path")
"""How records sort: oldest first, same-moment records by sequence, then by path so the order
is total. Computed in C: a million records sort in a fraction of a Python key function's time."""
