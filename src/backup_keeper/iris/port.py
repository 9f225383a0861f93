"""IrisPort: everything the jobs ask of IRIS, as one typed protocol.

Each method names the documented call it stands for (docs/iris-ledger.md). Adapters return these
typed results, never raw ``$LIST``s or ``%Status`` strings, and raise :class:`IrisError` (with
IRIS's own text) when IRIS reports an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Literal, Protocol, runtime_checkable

from backup_keeper.iris.checkpoint import ShardCheckpoint
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.kinds import BackupKind


class IrisError(RuntimeError):
    """IRIS answered with an error (a failed %Status, an ObjectScript error)."""


class IrisTimeout(IrisError):
    """An IRIS call did not return within its bound (see ``iris/bounded.py``).

    Unlike other IrisErrors this is not IRIS's answer: the call may still be running inside
    IRIS, and whatever it does when it finishes (a freeze, a lock taken) happens after the job
    has moved on. A job treats it as a failure whose outcome in IRIS is unknown.
    """

    def __init__(self, call: str, seconds: float) -> None:
        super().__init__(
            f"{call} did not return within {seconds:g} s (IRIS may still be running it)"
        )
        self.call, self.seconds = call, seconds


DBACK_TYPES: dict[BackupKind, Literal["F", "I", "C"]] = {
    BackupKind.FULL: "F",
    BackupKind.INCREMENTAL: "I",
    BackupKind.CUMULATIVE: "C",
}
"""TYPE argument of ``$$BACKUP^DBACK`` for each online backup kind."""


class OnlineResult(StrEnum):
    COMPLETED = "completed"
    WARNING = "warning"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BackupOutcome:
    """What ``$$BACKUP^DBACK`` returned: 0 failed, 1 completed, ``"1,w1~w2"`` with warnings."""

    result: OnlineResult
    warnings: tuple[str, ...] = ()
    raw: str = ""
    log_text: str | None = None
    """The backup's LOGFILE as the instance read it back (None: the adapter could not), so a
    remote caller can judge a log written on the server's disk."""


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    directory: str
    name: str = ""
    read_only: bool = False
    journaled: bool = True
    needs_full: bool = False
    """``GetDBNoBackupFlag`` said the next backup of this database must be a full."""


@dataclass(frozen=True, slots=True)
class SizeEstimate:
    """``$$INT^DBSIZE``: an estimate only (docs/iris-ledger.md, section 1)."""

    database_blocks: int
    directories: int
    bytes_for_file: int


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    """What ``Backup.General.GetBackupVolumeInfo`` reads from a .cbk label."""

    kind: BackupKind
    time: datetime | None
    """Naive, the instance's local time (``iris/labels.py``); None when the label's date could
    not be read, which the caller must say rather than skip silently."""
    description: str = ""
    status: str = ""
    log_file: str = ""
    journal_file: str = ""
    directories: tuple[str, ...] = ()
    time_text: str = ""
    """``BackupDate BackupTime`` as IRIS gave them, for a report to quote."""


class MirrorMember(IntEnum):
    """``$SYSTEM.Mirror.IsMember()``."""

    NONE = 0
    FAILOVER = 1
    ASYNC = 2


@dataclass(frozen=True, slots=True)
class MirrorState:
    member: MirrorMember = MirrorMember.NONE
    primary: bool = False
    backup: bool = False
    name: str = ""

    @property
    def role(self) -> str:
        """primary, backup, async, failover (neither yet) or none."""
        if self.member is MirrorMember.NONE:
            return "none"
        if self.primary:
            return "primary"
        if self.backup:
            return "backup"
        return "async" if self.member is MirrorMember.ASYNC else "failover"


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    name: str
    version: str
    manager_directory: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SensorValue:
    """One number for IRIS's monitor (``BackupKeeper.Metrics``): the sensor, which IRIS shows
    as ``backupkeeper_<sensor>``, its value and its labels."""

    sensor: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FreezeResult:
    """What ``ExternalFreeze`` said: the journal file a journal restore after this snapshot
    starts from (its ``RequiredFile``), and for a sharded cluster the checkpoint info."""

    required_journal: str | None = None
    checkpoint: ShardCheckpoint | None = None


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    """What ``EXTSELCT^DBREST`` did with one file. ``code`` is its raw return value, kept for
    the report because the success value is unverified (iris-ledger.md section 4); ``restored``
    (source -> target) and ``skipped`` are read from its output (``***Restoring <s> [to <t>]
    at``, ``Starting skip of <d>.``). ``output_read`` False: no output came back, so which
    databases it restored is unknown."""

    code: str
    restored: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    output_read: bool = True


@dataclass(frozen=True, slots=True)
class JournalOutcome:
    """What ``Journal.Restore`` was told and found: the databases selected (``SelectUpdates``),
    those redirected (``RedirectDatabase``), and every database the journal files hold updates
    for (``SourceDatabases`` after ``CheckJournalIntegrity(1)``), so the report can name what
    was left unapplied."""

    selected: tuple[str, ...]
    redirected: dict[str, str] = field(default_factory=dict)
    journal_databases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class JournalFile:
    """One journal file as IRIS lists it (``%SYS.Journal.File:ByTimeReverseOrder``): its path
    and its size on disk (None when IRIS gave none)."""

    path: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class JournalFiles:
    """The instance's journal files, newest first as IRIS listed them, and the file in use now.
    ``complete`` False: the list was cut at the adapter's bound, so a file older than the
    oldest listed is not known to be missing."""

    current: str
    files: tuple[JournalFile, ...] = ()
    complete: bool = True


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """The ``[Journal]`` purge settings (``Config.Journal.Get``; docs/iris-ledger.md section
    14). 0 switches a criterion off; when both are above 0 IRIS purges by whichever is shorter.
    ``purge_archived`` None: IRIS named neither ``PurgeArchived`` nor ``PurgeArchive``."""

    days_before_purge: int
    backups_before_purge: int
    purge_archived: bool | None = False
    directory: str = ""
    alternate_directory: str = ""
    prefix: str = ""


class Severity(IntEnum):
    """``%SYS.System.WriteToConsoleLog`` severities."""

    INFO = 0
    WARNING = 1
    SEVERE = 2
    FATAL = 3


@runtime_checkable
class IrisPort(Protocol):
    """The calls the jobs make. Time-consuming calls take the timeouts the jobs pass."""

    adapter_name: str
    """``fake``, ``embedded`` or ``native``: shown in every report."""

    def instance(self) -> InstanceInfo:
        """Instance name, version and manager directory."""
        ...

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        """``$$BACKUP^DBACK("",TYPE,DESC,FILE,"Y",LOG,"NOINPUT","Y","Y","",QUIETTIMEOUT)``, with
        the log it wrote."""
        ...

    def abort_backup(self) -> None:
        """``Backup.General.AbortBackup``: ask a running backup to stop (it may take a while)."""
        ...

    def backup_database_list(self) -> list[str]:
        """Databases in the backup list (empty: all of them)."""
        ...

    def set_backup_database_list(self, databases: Sequence[str]) -> None:
        """``ClearDatabaseList`` then ``AddDatabaseToList`` for each name."""
        ...

    def databases(self) -> list[DatabaseInfo]:
        """Databases a backup would cover, with read-only, journaled and needs-full flags."""
        ...

    def size_estimate(self, kind: BackupKind) -> SizeEstimate:
        """``$$INT^DBSIZE``."""
        ...

    def backup_history(self) -> list[HistoryEntry]:
        """``Backup.Task:History``, newest first."""
        ...

    def volume_info(self, file: str) -> VolumeInfo:
        """``Backup.General.GetBackupVolumeInfo``."""
        ...

    def mirror(self) -> MirrorState:
        """``$SYSTEM.Mirror.IsMember/IsPrimary/IsBackup/MirrorName``."""
        ...

    def write_console_log(self, message: str, severity: Severity) -> None:
        """``%SYS.System.WriteToConsoleLog`` (messages.log)."""
        ...

    def acquire_lock(self, name: str, timeout: float) -> bool:
        """A named cross-process lock; False when another process holds it after ``timeout``."""
        ...

    def external_freeze(
        self,
        *,
        log_file: str,
        text: str,
        freeze_timeout: int,
        wd_suspend_limit: int,
        sharded_namespace: str | None = None,
    ) -> FreezeResult:
        """``Backup.General.ExternalFreeze(LogFile, Text, 1, , , , ExternalFreezeTimeOut, , ,
        WDSuspendLimit, .RequiredFile)``, or ``Backup.ShardedCluster.ExternalFreeze``. Raises
        IrisError when IRIS refuses; the system is then not frozen (docs/iris-ledger.md,
        section 2)."""
        ...

    def external_thaw(self, *, log_file: str, sharded_namespace: str | None = None) -> None:
        """``ExternalThaw``; raises IrisError on failure, when the system may still be frozen."""
        ...

    def is_frozen(self) -> bool:
        """``Backup.General.IsWDSuspended()``."""
        ...

    def external_set_history(self, *, log_file: str, description: str) -> None:
        """``ExternalSetHistory``: record the snapshot in IRIS's backup history."""
        ...

    def mirror_qos_timeout_ms(self) -> int | None:
        """The mirror's QoS timeout in milliseconds, None when not a mirror member."""
        ...

    def freeze_marker(self) -> str | None:
        """The freeze marker kept inside IRIS (a global), or None."""
        ...

    def restore_backup(self, file: str, directory_map: Mapping[str, str]) -> RestoreOutcome:
        """``EXTSELCT^DBREST(1,0,file,dirlist,4,"","")`` with one ``source,target,Y`` line per
        map entry: only the databases the map names are restored, the others skipped. Never
        ``EXTALL``; an empty map restores nothing (IrisError, IRIS not called). Raises IrisError
        with ^DBREST's code, explained, on failure (iris-ledger.md section 4)."""
        ...

    def restore_journals(
        self, first_file: str, *, select: Sequence[str], redirect: Mapping[str, str]
    ) -> JournalOutcome:
        """``Journal.Restore`` from ``first_file`` on: ``SelectUpdates`` for each database of
        ``select`` (only those are replayed), ``RedirectDatabase`` for each of ``redirect``
        (which takes effect only for a selected database). With nothing selected IRIS would
        replay every database in the files into its original directory: the real adapters
        refuse that (IrisError) rather than run it (iris-ledger.md section 5)."""
        ...

    def credentials_password(self, credentials_id: str) -> str:
        """The password of ``Ens.Config.Credentials`` ``credentials_id`` (alert channel secrets);
        raises IrisError when there is no such entry."""
        ...

    def set_freeze_marker(self, marker: str | None) -> None:
        """Set (or clear, with None) the freeze marker kept inside IRIS."""
        ...

    def publish_metrics(self, values: Sequence[SensorValue]) -> None:
        """Replace, whole, the snapshot ``BackupKeeper.Metrics`` shows in /api/monitor/metrics:
        the scrape only copies these numbers, it never reads a backup directory."""
        ...

    def journal_files(self) -> JournalFiles:
        """``%SYS.Journal.System.GetCurrentFileName()`` and the files of
        ``%SYS.Journal.File:ByTimeReverseOrder``, newest first (docs/iris-ledger.md section 14)."""
        ...

    def journal_settings(self) -> JournalSettings:
        """``Config.Journal.Get(.props)`` in %SYS: DaysBeforePurge, BackupsBeforePurge,
        PurgeArchived and where the journals are."""
        ...

    def release_lock(self, name: str) -> None: ...
