"""FakeIris: an instance in a directory, following IRIS's documented backup semantics.

Not a yes-machine: an incremental or cumulative without a full of every database fails as IRIS
refuses it, read-only databases give the ``"1,w1~w2"`` warning return, each backup switches the
journal and is written to history, the ``.cbk`` and its ``.log`` are real files (the log in the
format of docs/iris-ledger.md section 12). Any step can be told to fail, warn, hang or fill the
disk.

The simulated instance lives in a state directory of its own (``state.json``, re-read on every
call under a file lock, and the named locks), by default the user's
``$XDG_STATE_HOME/backup-keeper/fake-iris`` (``BACKUP_KEEPER_FAKE_STATE`` moves it), so
successive CLI commands (``--iris fake``), concurrent processes and every backup directory see
one instance, as they would one real IRIS. Inside a backup directory the fake writes only what
IRIS itself writes there: the ``.cbk`` and the logs the job names.
The wording of the fake's own error lines is the fake's: IRIS's text for them was never seen.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backup_keeper.clock import Clock, system_clock
from backup_keeper.iris import dbrest
from backup_keeper.iris.checkpoint import parse_checkpoint
from backup_keeper.iris.labels import label_time
from backup_keeper.iris.port import (
    DBACK_TYPES,
    BackupOutcome,
    DatabaseInfo,
    FreezeResult,
    InstanceInfo,
    IrisError,
    JournalFile,
    JournalFiles,
    JournalOutcome,
    JournalSettings,
    MirrorMember,
    MirrorState,
    RestoreOutcome,
    SensorValue,
    Severity,
    SizeEstimate,
    VolumeInfo,
)
from backup_keeper.iris.replies import parse_backup_return
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER
from backup_keeper.kinds import BackupKind
from backup_keeper.processes import alive
from backup_keeper.safe_files import write_atomic
from backup_keeper.timezones import resolve_zone

STATE_FILE = "state.json"
STATE_ENV = "BACKUP_KEEPER_FAKE_STATE"
"""Where the simulated instance lives, when set (it must then name a directory)."""
_LOCK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)
_OPEN_LOCK = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
BLOCK = 8192
FailMode = Literal["raise", "return0", "warn", "hang", "disk_full", "unfinished_log", "stay_frozen"]
"""``unfinished_log``: the call returns 1 but the log stops before ***FINISHED BACKUP***;
``stay_frozen``: ExternalThaw returns OK but the write daemon stays suspended."""


class FakeDatabase(BaseModel):
    model_config = ConfigDict(defer_build=True)

    directory: str
    name: str
    read_only: bool = False
    journaled: bool = True
    needs_full: bool = False
    blocks: int = 1000
    fulls: int = Field(default=0, description="Completed full backups that included it.")
    server: str = Field(
        default="", description="Remote (ECP) database: the data server that serves it."
    )
    mirrored: bool = Field(
        default=False, description="An active mirrored database: skipped on a backup member."
    )


class FakeJournalRestore(BaseModel):
    """One Journal.Restore run: what it was told, and where updates really went."""

    model_config = ConfigDict(defer_build=True)

    first_file: str
    selected: list[str] = Field(default_factory=list)
    redirected: dict[str, str] = Field(default_factory=dict)
    replayed_into: list[str] = Field(
        default_factory=list, description="Every database directory the run updated."
    )


class FakeHistory(BaseModel):
    model_config = ConfigDict(defer_build=True)

    time: datetime
    type: Literal["F", "I", "C", "E"]
    status: Literal["Completed", "Warning", "Failed", "Aborted"]
    device: str = ""
    log: str = ""
    description: str = ""
    journal: str = ""
    directories: list[str] = Field(default_factory=list)


class FakeJournalFile(BaseModel):
    """A journal file of the simulated instance, and when it was created (its name's date is
    that day in the instance's zone); it completed when the next one was created."""

    model_config = ConfigDict(defer_build=True)

    path: str
    created: datetime
    size: int = 1024


class MetricRow(BaseModel):
    model_config = ConfigDict(defer_build=True)

    sensor: str
    value: float
    labels: dict[str, str] = Field(default_factory=dict)


class FakeState(BaseModel):
    model_config = ConfigDict(defer_build=True)

    instance: str = "IRIS"
    version: str = "IRIS for UNIX (Ubuntu Server LTS for x86-64 Containers) 2025.1 (fake)"
    manager_directory: str = "/usr/irissys/mgr/"
    timezone: str | None = Field(
        default=None,
        description="The instance's local zone (IANA name); None: this machine's, as an "
        "instance running here. Its logs and volume labels are written in it.",
    )
    databases: list[FakeDatabase] = Field(
        default_factory=lambda: [
            FakeDatabase(directory="/usr/irissys/mgr/user/", name="USER", blocks=18950),
            FakeDatabase(directory="/usr/irissys/mgr/irisapp/", name="IRISAPP", blocks=4100),
        ]
    )
    backup_list: list[str] = Field(default_factory=list)
    history: list[FakeHistory] = Field(default_factory=list)
    mirror_member: int = 0
    mirror_primary: bool = False
    mirror_backup: bool = False
    mirror_name: str = ""
    journal_sequence: int = 1
    journal_file: str = Field(default="", description="The journal file in use now.")
    journals: list[FakeJournalFile] = Field(
        default_factory=list,
        description="The journal files on disk, oldest first (IRIS purges them; see "
        "_purge_journals).",
    )
    journal_prefix: str = Field(default="", description="JournalFilePrefix (e.g. MIRROR-X-).")
    days_before_purge: int = Field(default=2, ge=0, le=100)
    backups_before_purge: int = Field(default=2, ge=0, le=10)
    purge_archived: bool = False
    console_log: list[tuple[int, str]] = Field(default_factory=list)
    backup_bytes: int = 64 * 1024
    warnings: list[str] = Field(default_factory=list, description="Extra warnings to return.")
    failures: dict[str, FailMode] = Field(default_factory=dict)
    frozen: bool = Field(default=False, description="Write daemon suspended (ExternalFreeze).")
    frozen_at: float = 0.0
    wd_suspend_limit: int = 0
    auto_resumed: bool = Field(default=False, description="WDSuspendLimit ended a freeze.")
    last_pass_pid: int | None = Field(
        default=None,
        description="Process of an online backup hung in its last pass, which suspends the "
        "write daemon (ledger: IsWDSuspended during an online backup, assumed 1).",
    )
    thaw_requests: int = Field(default=0, description="ExternalThaw calls, for tests.")
    freeze_marker: str | None = None
    metrics: list[MetricRow] = Field(default_factory=list)
    """The snapshot ``BackupKeeper.Metrics`` would show (``publish_metrics``)."""
    credentials: dict[str, str] = Field(default_factory=dict, description="Ens.Config.Credentials")
    restored: list[str] = Field(default_factory=list, description="Files restored, in order.")
    restored_into: list[str] = Field(
        default_factory=list, description="Every database directory ^DBREST overwrote."
    )
    restore_log: list[str] = Field(
        default_factory=list, description="Restores and journal restores, in the order run."
    )
    journals_restored_from: str | None = None
    journal_restores: list[FakeJournalRestore] = Field(default_factory=list)
    restore_fail_after: int | None = Field(
        default=None, description="Fail the restore of the file after this many succeeded."
    )
    mirror_qos_timeout_ms: int = 8000
    checkpoints: list[dict[str, str]] = Field(default_factory=list)
    hang_seconds: float = 3600.0
    abort_requests: int = 0
    disk_full_after: int = 16 * 1024


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$BACKUP_KEEPER_FAKE_STATE``, else ``$XDG_STATE_HOME/backup-keeper/fake-iris``, else
    ``~/.local/state/backup-keeper/fake-iris``: one instance per user, never per backup
    directory. An empty ``BACKUP_KEEPER_FAKE_STATE`` is an error (it never means "here"); an
    empty or relative ``XDG_STATE_HOME`` is ignored, as the XDG specification says."""
    env = os.environ if environ is None else environ
    if STATE_ENV in env:
        if not env[STATE_ENV].strip():
            raise IrisError(f"{STATE_ENV} is set but empty: name a directory for the fake IRIS")
        return Path(env[STATE_ENV])
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "backup-keeper" / "fake-iris"
    try:
        home = Path.home()
    except RuntimeError as exc:
        raise IrisError(f"no home directory for the fake IRIS's state: set {STATE_ENV}") from exc
    return home / ".local" / "state" / "backup-keeper" / "fake-iris"


class FakeIris:
    """An IrisPort over a state directory (default: :func:`default_state_dir`). ``fail(step,
    mode)`` arms a failure for a step (a port method name); it stays armed until ``heal``."""

    adapter_name = "fake"

    def __init__(self, state_dir: Path | None = None, *, clock: Clock = system_clock) -> None:
        self.state_dir = default_state_dir() if state_dir is None else state_dir
        self.clock = clock
        self._held: dict[str, tuple[int, int]] = {}
        """Lock name -> (descriptor, count): this client is one IRIS process, whose ``LOCK +``
        of a lock it holds counts up."""
        self._held_guard = threading.Lock()
        try:
            (self.state_dir / "locks").mkdir(mode=0o700, parents=True, exist_ok=True)
            if not (self.state_dir / STATE_FILE).exists():
                with self._state() as _:
                    pass
        except OSError as exc:
            raise IrisError(
                f"the fake IRIS's state directory {self.state_dir} cannot be used: "
                f"{exc.strerror or exc} (set {STATE_ENV} to move it)"
            ) from exc

    # -- state ------------------------------------------------------------------------------

    @contextmanager
    def _state(self) -> Iterator[FakeState]:
        """The state, read under an exclusive lock and written back (when changed) as the block
        ends; a block that raises changes nothing, as a failed IRIS call would not."""
        guard = os.open(self.state_dir / ".state.lock", _OPEN_LOCK, 0o600)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            before = self._read_state()
            state = before.model_copy(deep=True)
            yield state
            if state != before or not (self.state_dir / STATE_FILE).exists():
                write_atomic(
                    self.state_dir, STATE_FILE, state.model_dump_json(indent=1).encode(), mode=0o600
                )
        finally:
            os.close(guard)

    def _read_state(self) -> FakeState:
        """The stored state; a state file that exists but cannot be read is an error, never a
        fresh instance (that would forget every backup and freeze the instance knows of)."""
        path = self.state_dir / STATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return FakeState()
        except OSError as exc:
            raise IrisError(f"the fake IRIS's state {path} cannot be read: {exc.strerror}") from exc
        try:
            return FakeState.model_validate_json(raw)
        except ValidationError as exc:
            raise IrisError(
                f"the fake IRIS's state {path} is corrupt: {exc.error_count()} "
                "problem(s); move it away to start a fresh instance"
            ) from exc

    def configure(self, **changes: object) -> None:
        """Change the simulated instance: ``configure(mirror_member=1, mirror_primary=True)``."""
        with self._state() as state:
            for key, value in FakeState.model_validate({**state.model_dump(), **changes}):
                setattr(state, key, value)

    def fail(self, step: str, mode: FailMode = "raise") -> None:
        with self._state() as state:
            state.failures[step] = mode

    def heal(self, step: str) -> None:
        with self._state() as state:
            state.failures.pop(step, None)

    def snapshot(self) -> FakeState:
        with self._state() as state:
            return state.model_copy(deep=True)

    def _gate(self, step: str) -> FailMode | None:
        """The failure armed for ``step``: raised or slept out here, outside the state lock,
        so a hung call never blocks the instance's other clients (as a hung IRIS job would not)."""
        with self._state() as state:
            mode, hang = state.failures.get(step), state.hang_seconds
        if mode == "raise":
            raise IrisError(f"ERROR #5001: injected failure in {step}")
        if mode == "hang":
            time.sleep(hang)
        return mode

    # -- port -------------------------------------------------------------------------------

    def instance(self) -> InstanceInfo:
        self._gate("instance")
        with self._state() as state:
            return InstanceInfo(state.instance, state.version, state.manager_directory)

    def backup_database_list(self) -> list[str]:
        self._gate("backup_database_list")
        with self._state() as state:
            return list(state.backup_list)

    def set_backup_database_list(self, databases: Sequence[str]) -> None:
        self._gate("set_backup_database_list")
        with self._state() as state:
            known = {d.name for d in state.databases}
            for name in databases:
                if name.upper() == "IRISTEMP":
                    raise IrisError("ERROR #5001: cannot add the system TEMP database to the list")
                if name not in known:
                    raise IrisError(f"ERROR #5001: database {name} does not exist")
            state.backup_list = list(databases)

    def databases(self) -> list[DatabaseInfo]:
        self._gate("databases")
        with self._state() as state:
            return [_info(d) for d in _in_scope(state)]

    def size_estimate(self, kind: BackupKind) -> SizeEstimate:
        self._gate("size_estimate")
        with self._state() as state:
            scope = _in_scope(state)
            blocks = sum(d.blocks for d in scope)
            return SizeEstimate(blocks, len(scope), max(state.backup_bytes, blocks * BLOCK // 100))

    def backup_history(self) -> list[HistoryEntry]:
        self._gate("backup_history")
        with self._state() as state:
            return [_entry(h) for h in reversed(state.history)]

    def volume_info(self, file: str) -> VolumeInfo:
        self._gate("volume_info")
        with self._state() as state:
            for h in reversed(state.history):
                if h.device == file:
                    date, clock, horolog = _label_date(h.time, _zone(state))
                    return VolumeInfo(
                        kind=_KIND_OF[h.type],
                        time=label_time(date, clock, horolog),
                        time_text=f"{date} {clock}",
                        description=h.description,
                        status=h.status,
                        log_file=h.log,
                        journal_file=h.journal,
                        directories=tuple(h.directories),
                    )
            raise IrisError(f"ERROR #5001: {file} is not a backup volume known to this instance")

    def mirror(self) -> MirrorState:
        self._gate("mirror")
        with self._state() as state:
            return MirrorState(
                member=MirrorMember(state.mirror_member),
                primary=state.mirror_primary,
                backup=state.mirror_backup,
                name=state.mirror_name,
            )

    def write_console_log(self, message: str, severity: Severity) -> None:
        self._gate("write_console_log")
        with self._state() as state:
            state.console_log.append((int(severity), message))

    def external_freeze(
        self,
        *,
        log_file: str,
        text: str,
        freeze_timeout: int,
        wd_suspend_limit: int,
        sharded_namespace: str | None = None,
    ) -> FreezeResult:
        self._gate("external_freeze")
        with self._state() as state:
            _resume_if_limit_passed(state)
            if state.frozen:
                raise IrisError("ERROR #5001: the write daemon is already suspended")
            required, _switched = _switch_journal(state, self.clock())
            state.frozen, state.frozen_at = True, time.time()
            state.wd_suspend_limit, state.auto_resumed = wd_suspend_limit, False
            checkpoint = None
            if sharded_namespace is not None:
                number = str(len(state.checkpoints) + 1)
                state.checkpoints.append({"namespace": sharded_namespace, "number": number})
                checkpoint = parse_checkpoint(  # the shape Port.cls walks: number, (host, port)
                    {
                        "top": number,
                        "nodes": [{"subscripts": ["localhost", 1972], "value": required}],
                    }
                )
            _append_log(log_file, f"Backup.General.ExternalFreeze: {text}: system suspended")
            return FreezeResult(required_journal=required, checkpoint=checkpoint)

    def external_thaw(self, *, log_file: str, sharded_namespace: str | None = None) -> None:
        mode = self._gate("external_thaw")
        with self._state() as state:
            state.thaw_requests += 1
            _resume_if_limit_passed(state)
            message = "System resumed" if state.frozen else "Already resumed"
            if mode != "stay_frozen":
                state.frozen = False
            _append_log(log_file, f"Backup.General.ExternalThaw: {message}")

    def is_frozen(self) -> bool:
        self._gate("is_frozen")
        with self._state() as state:
            _resume_if_limit_passed(state)
            return state.frozen or _in_last_pass(state)

    def external_set_history(self, *, log_file: str, description: str) -> None:
        self._gate("external_set_history")
        with self._state() as state:
            state.history.append(
                FakeHistory(
                    time=self.clock(),
                    type="E",
                    status="Completed",
                    log=log_file,
                    description=description,
                )
            )
            _purge_journals(state, self.clock())

    def mirror_qos_timeout_ms(self) -> int | None:
        self._gate("mirror_qos_timeout_ms")
        with self._state() as state:
            return state.mirror_qos_timeout_ms if state.mirror_member else None

    def freeze_marker(self) -> str | None:
        self._gate("freeze_marker")
        with self._state() as state:
            return state.freeze_marker

    def set_freeze_marker(self, marker: str | None) -> None:
        self._gate("set_freeze_marker")
        with self._state() as state:
            state.freeze_marker = marker

    def publish_metrics(self, values: Sequence[SensorValue]) -> None:
        """The snapshot replaced whole, as ``PublishMetrics`` does; each value a number."""
        self._gate("publish_metrics")
        with self._state() as state:
            state.metrics = [
                MetricRow(sensor=v.sensor, value=float(v.value), labels=dict(v.labels))
                for v in values
            ]

    def restore_backup(self, file: str, directory_map: Mapping[str, str]) -> RestoreOutcome:
        """``EXTSELCT^DBREST``: the databases of the volume the map names are restored, every
        other one skipped (``Starting skip of <dir>.``, JP-Online), so an empty map restores
        nothing; a label the instance's history does not hold is ``-2``; on a mirror backup
        member an active mirrored database is skipped (DIG 4.8.5)."""
        self._gate("restore_backup")
        with self._state() as state:
            done = len(state.restored)
            if state.restore_fail_after is not None and done >= state.restore_fail_after:
                raise IrisError(dbrest.failure("-1", file) or "")
            label = _read_label(file)
            if label is None:
                raise IrisError(dbrest.failure("-1", file) or "")
            if not any(_matches(h, label) for h in state.history):
                raise IrisError(dbrest.failure("-2", file) or "")
            text = _restore_text(state, label, directory_map, self.clock())
            state.restored.append(file)
            state.restore_log.append(f"backup {file}")
            outcome = dbrest.parse_output(dbrest.SUCCESS, text)
            state.restored_into += list(outcome.restored.values())
            return outcome

    def restore_journals(
        self, first_file: str, *, select: Sequence[str], redirect: Mapping[str, str]
    ) -> JournalOutcome:
        """``Journal.Restore`` as its class reference says: only selected databases are
        replayed, a redirection counts only for a selected database, and with nothing
        selected every database in the files is replayed into its original directory. The
        files hold updates for every journaled database of the instance."""
        self._gate("restore_journals")
        with self._state() as state:
            if not _JOURNAL_FILE.fullmatch(first_file.removeprefix(state.manager_directory)):
                raise IrisError(f"ERROR #5001: journal file {first_file} not found")
            in_files = [dbrest.canonical(d.directory) for d in state.databases if d.journaled]
            chosen = [d for d in in_files if d in select] if select else in_files
            replayed = [redirect.get(d, d) if select else d for d in chosen]
            state.journal_restores.append(
                FakeJournalRestore(
                    first_file=first_file,
                    selected=list(select),
                    redirected=dict(redirect),
                    replayed_into=replayed,
                )
            )
            state.journals_restored_from = first_file
            state.restore_log.append(f"journals {first_file}")
            return JournalOutcome(tuple(select), dict(redirect), tuple(in_files))

    def journal_files(self) -> JournalFiles:
        """The files on disk, newest first, as ByTimeReverseOrder lists them."""
        self._gate("journal_files")
        with self._state() as state:
            _ensure_first_journal(state, self.clock())
            files = [JournalFile(j.path, j.size) for j in reversed(state.journals)]
            return JournalFiles(current=state.journal_file, files=tuple(files))

    def journal_settings(self) -> JournalSettings:
        self._gate("journal_settings")
        with self._state() as state:
            return JournalSettings(
                days_before_purge=state.days_before_purge,
                backups_before_purge=state.backups_before_purge,
                purge_archived=state.purge_archived,
                directory=f"{state.manager_directory}journal/",
                prefix=state.journal_prefix,
            )

    def purge_journals(self) -> list[str]:
        """IRIS's own journal purge (it runs after a successful backup, and may run at any
        time: docs/iris-ledger.md section 14), for a test to run now; the files it removed."""
        with self._state() as state:
            return _purge_journals(state, self.clock())

    def lose_journal(self, path: str) -> None:
        """A journal file deleted behind IRIS's back (an administrator, a full disk)."""
        with self._state() as state:
            state.journals = [j for j in state.journals if j.path != path]

    def credentials_password(self, credentials_id: str) -> str:
        self._gate("credentials_password")
        with self._state() as state:
            if credentials_id not in state.credentials:
                raise IrisError(f"ERROR #5809: no credentials {credentials_id!r}")
            return state.credentials[credentials_id]

    def abort_backup(self) -> None:
        self._gate("abort_backup")
        with self._state() as state:
            state.abort_requests += 1

    def acquire_lock(self, name: str, timeout: float) -> bool:
        """A real cross-process lock (``flock``), as ``LOCK +^name:timeout`` would be: another
        client waits for it, and this client taking it again counts up (docs/iris-ledger.md,
        section 10), to be released as many times."""
        if not _LOCK_NAME.fullmatch(name):
            raise IrisError(f"ERROR #5001: {name!r} is not a valid lock name")
        with self._held_guard:
            if name in self._held:
                fd, count = self._held[name]
                self._held[name] = (fd, count + 1)
                return True
        fd = os.open(self.state_dir / "locks" / f"{name}.lock", _OPEN_LOCK, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            with self._held_guard:
                self._held[name] = (fd, 1)
            return True

    def release_lock(self, name: str) -> None:
        """``LOCK -``: one count down; the lock is free once none is left."""
        with self._held_guard:
            fd, count = self._held.pop(name, (-1, 0))
            if count > 1:
                self._held[name] = (fd, count - 1)
                return
        if count == 1:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        """Run a backup as ``$$BACKUP^DBACK`` does and return what it would return."""
        if kind not in DBACK_TYPES:
            raise IrisError(f"ERROR #5001: {kind} is not an online backup type")
        with self._last_pass_while_hung():
            mode = self._gate("online_backup")
        with self._state() as state:
            return _run_backup(state, kind, description, file, log_file, mode, self.clock())

    @contextmanager
    def _last_pass_while_hung(self) -> Iterator[None]:
        """A backup told to hang hangs in its last pass, which suspends the write daemon
        (DIG 4.3.2; the log's "Suspending write daemon"): IsWDSuspended() is 1 meanwhile, with
        no freeze. It ends with the call, or with the process (as IRIS's backup job would)."""
        with self._state() as state:
            hangs = state.failures.get("online_backup") == "hang"
            if hangs:
                state.last_pass_pid = os.getpid()
        try:
            yield
        finally:
            if hangs:
                with self._state() as state:
                    state.last_pass_pid = None


def _append_log(log_file: str, line: str) -> None:
    """A line in the LogFile the caller named, as IRIS appends to it; a log that cannot be
    written fails the call (raised inside the state block, so the call changes nothing)."""
    if not log_file:
        return
    try:
        with Path(log_file).open("a") as log:
            log.write(line + "\n")
    except OSError as exc:
        raise IrisError(f"ERROR #5001: cannot write log file {log_file}: {exc.strerror}") from exc


_LABEL = b"IRIS-FAKE-VOLUME-LABEL "
_JOURNAL_FILE = re.compile(r"journal/[A-Za-z0-9_-]*[0-9]{8}\.[0-9]{3}", re.ASCII)


def _label(now: datetime, kind: BackupKind, scope: list[FakeDatabase]) -> bytes:
    """The volume label, first in the file as IRIS writes one: when, what kind, which
    databases (what ``^DBREST`` checks against the history and offers to restore)."""
    label = {
        "time": now.isoformat(),
        "type": DBACK_TYPES[kind],
        "dirs": [d.directory for d in scope],
    }
    return _LABEL + json.dumps(label).encode() + b"\n"


def _read_label(file: str) -> dict[str, object] | None:
    """The label of a volume, None when the file cannot be opened or holds none."""
    try:
        with open(file, "rb") as handle:  # noqa: PTH123 - read only
            head = handle.readline(65536)
    except OSError:
        return None
    if not head.startswith(_LABEL):
        return None
    try:
        label = json.loads(head[len(_LABEL) :])
    except ValueError:
        return None
    return label if isinstance(label, dict) else None


def _matches(entry: FakeHistory, label: dict[str, object]) -> bool:
    return entry.time.isoformat() == label.get("time") and entry.type == label.get("type")


def _restore_text(
    state: FakeState, label: dict[str, object], directory_map: Mapping[str, str], now: datetime
) -> str:
    """What ``EXTSELCT^DBREST`` writes for one pass (JP-Online's 2024.1 run), the mirror
    skip in the fake's own words (IRIS's were never seen)."""
    wanted = {dbrest.canonical(k): dbrest.canonical(v) for k, v in directory_map.items()}
    skip_mirrored = state.mirror_member == 1 and state.mirror_backup
    mirrored = {dbrest.canonical(d.directory) for d in state.databases if d.mirrored}
    lines = []
    dirs = label.get("dirs")
    for source in [str(d) for d in dirs] if isinstance(dirs, list) else []:
        target = wanted.get(dbrest.canonical(source))
        if target is None:
            lines += [
                f"Starting skip of {source}.",
                "",
                "     skipped 1 blocks in .000005 seconds.",
            ]
        elif skip_mirrored and dbrest.canonical(source) in mirrored:
            lines.append(f"{source} is an active mirrored database on this member: skipped")
        else:
            into = "" if target == dbrest.canonical(source) else f" to {target}"
            lines += [f"***Restoring {source}{into} at {now:%H:%M:%S}", "1 blocks restored"]
    return "\n".join(lines) + "\n"


def _switch_journal(state: FakeState, now: datetime) -> tuple[str, str]:
    """``(required, switched_to)``: a new journal file, named as IRIS names them
    (``yyyymmdd.nnn``), and the oldest file a restore needs, which IRIS names as the one in use
    before the switch (the ledger's RequiredFile row: JP-Online switched to ``.003`` and
    required ``.002``), not the file switched to."""
    required = _ensure_first_journal(state, now)
    state.journal_sequence += 1
    state.journal_file = _journal_name(state, now)
    state.journals.append(FakeJournalFile(path=state.journal_file, created=now))
    return required, state.journal_file


def _ensure_first_journal(state: FakeState, now: datetime) -> str:
    """The file in use now, on disk: an instance always has one, from its start."""
    if not state.journal_file:
        state.journal_file = _journal_name(state, now)
    if not any(j.path == state.journal_file for j in state.journals):
        state.journals.append(FakeJournalFile(path=state.journal_file, created=now))
    return state.journal_file


def _journal_name(state: FakeState, now: datetime) -> str:
    """``[prefix]YYYYMMDD.NNN``; NNN counts on across days (whether IRIS restarts it at 001
    each day is not known: docs/iris-ledger.md section 14)."""
    return (
        f"{state.manager_directory}journal/{state.journal_prefix}"
        f"{now:%Y%m%d}.{state.journal_sequence:03d}"
    )


def _purge_journals(state: FakeState, now: datetime) -> list[str]:
    """IRIS's purge: a completed file goes once DaysBeforePurge days have passed since it
    completed, or once BackupsBeforePurge successful backups were taken after it completed,
    whichever comes first (0 switches a criterion off, both 0 purge nothing); with
    PurgeArchived every completed file goes (it was copied to the archive target). The current
    file stays. A backup switches the journal as it starts, so the file it requires completes
    at its own moment: it goes once BackupsBeforePurge backups were taken after it (the
    ledger's rule: older than the BackupsBeforePurge-th most recent backup)."""
    successes = [h.time for h in state.history if h.status in ("Completed", "Warning")]
    kept: list[FakeJournalFile] = []
    purged: list[str] = []
    for index, journal in enumerate(state.journals):
        after = state.journals[index + 1 :]
        if journal.path == state.journal_file or not after:
            kept.append(journal)
            continue
        completed = after[0].created
        days, backups = state.days_before_purge, state.backups_before_purge
        old = days > 0 and (now - completed).total_seconds() >= days * 86400
        superseded = backups > 0 and sum(1 for t in successes if t > completed) >= backups
        if state.purge_archived or old or superseded:
            purged.append(journal.path)
        else:
            kept.append(journal)
    state.journals = kept
    return purged


def _resume_if_limit_passed(state: FakeState) -> None:
    """WDSuspendLimit: the write daemon resumes by itself once the limit has passed."""
    limit = state.wd_suspend_limit
    if state.frozen and limit > 0 and time.time() - state.frozen_at > limit:
        state.frozen, state.auto_resumed = False, True


def _in_last_pass(state: FakeState) -> bool:
    """An online backup's last pass is under way: its process is still alive."""
    return state.last_pass_pid is not None and alive(state.last_pass_pid)


_KIND_OF = {
    "F": BackupKind.FULL,
    "I": BackupKind.INCREMENTAL,
    "C": BackupKind.CUMULATIVE,
    "E": BackupKind.EXTERNAL,
}


OUT_OF_DEFAULT_SCOPE = frozenset({"IRISTEMP", "IRISLIB", "IRISLOCALDATA"})
"""What a backup with an empty list leaves out (docs/iris-ledger.md, section 1)."""


def _zone(state: FakeState) -> tzinfo:
    return resolve_zone(state.timezone)


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_HOROLOG_DAY_ZERO = datetime(1840, 12, 31).date()


def _label_date(when: datetime, zone: tzinfo) -> tuple[str, str, str]:
    """``BackupDate``, ``BackupTime``, ``BackupTimeDH`` as GetBackupVolumeInfo gives them
    (``AUG 2 2012``, ``11:35AM``, ``$H``), in the instance's local time."""
    local = when.astimezone(zone)
    date = f"{_MONTHS[local.month - 1]} {local.day} {local.year}"
    clock = f"{local.hour % 12 or 12:02d}:{local.minute:02d}{'PM' if local.hour >= 12 else 'AM'}"
    days = (local.date() - _HOROLOG_DAY_ZERO).days
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    return date, clock, f"{days},{seconds}"


def _in_scope(state: FakeState) -> list[FakeDatabase]:
    """The backup list, or every database but the three IRIS leaves out; never a remote (ECP)
    database, which its data server backs up."""
    local = [d for d in state.databases if not d.server]
    if not state.backup_list:
        return [d for d in local if d.name.upper() not in OUT_OF_DEFAULT_SCOPE]
    chosen = set(state.backup_list)
    return [d for d in local if d.name in chosen]


def _info(d: FakeDatabase) -> DatabaseInfo:
    return DatabaseInfo(d.directory, d.name, d.read_only, d.journaled, d.needs_full or d.fulls == 0)


def _entry(h: FakeHistory) -> HistoryEntry:
    return HistoryEntry(h.time, _KIND_OF[h.type], h.status, h.device, h.log, h.description)


def _run_backup(
    state: FakeState,
    kind: BackupKind,
    description: str,
    file: str,
    log_file: str,
    mode: FailMode | None,
    now: datetime,
) -> BackupOutcome:
    scope = _in_scope(state)
    required, journal = _switch_journal(state, now)
    failure = _refusal(scope, kind, mode)
    if failure is None:
        try:
            _write_volume(file, state, mode, _label(now, kind, scope))
        except OSError as exc:
            failure = f"ERROR: cannot write {file}: {exc.strerror}"
    warnings = [
        *state.warnings,
        *(f"Database {d.directory} is read-only" for d in scope if d.read_only),
    ]
    if mode == "warn":
        warnings.append("injected warning")
    text = _log_text(
        kind, file, description, scope, (required, journal), now.astimezone(_zone(state)), failure
    )
    if mode == "unfinished_log":
        text = text[: text.index(FINISHED_MARKER)]
    if log_file:
        try:
            Path(log_file).write_text(text)
        except OSError as exc:
            raise IrisError(f"ERROR: cannot open log file {log_file}: {exc.strerror}") from exc
    if failure is None and kind is BackupKind.FULL:
        for d in scope:
            d.fulls += 1
            d.needs_full = False
    status: Literal["Completed", "Warning", "Failed"] = (
        "Failed" if failure else ("Warning" if warnings else "Completed")
    )
    state.history.append(
        FakeHistory(
            time=now,
            type=DBACK_TYPES[kind],
            status=status,
            device=file,
            log=log_file,
            description=description,
            journal=journal,
            directories=[d.directory for d in scope],
        )
    )
    log_text = text if log_file else None
    if failure is None:
        _purge_journals(state, now)
    if failure is not None:
        return parse_backup_return(0, log_text)
    return parse_backup_return("1," + "~".join(warnings) if warnings else 1, log_text)


def _refusal(scope: list[FakeDatabase], kind: BackupKind, mode: FailMode | None) -> str | None:
    """Why IRIS would fail this backup before writing anything, if it would."""
    lacking = [d for d in scope if d.fulls == 0 or d.needs_full]
    if kind is not BackupKind.FULL and lacking:
        return (
            f"ERROR: database {lacking[0].directory} has no full backup; "
            f"a {kind} backup needs a full first"
        )
    if mode == "return0":
        return "ERROR: backup aborted (injected failure)"
    return None


def _log_text(
    kind: BackupKind,
    file: str,
    description: str,
    scope: list[FakeDatabase],
    journals: tuple[str, str],
    local: datetime,
    failure: str | None,
) -> str:
    """The log in the shape of a real 2024.1 task log (docs/iris-ledger.md section 12): the
    time header, the banner, the kind, ``Description`` on its own line with the text on the
    next, every time the instance's local time; a failed run stops after pass 1."""
    at = local.strftime("%m/%d/%Y %H:%M:%S")
    required, journal = journals  # IRIS may name an earlier file than it switched to
    lines = [f"*** The time is: {local:%Y-%m-%d %H:%M:%S} ***", ""]
    lines += [f"{' ' * 14}InterSystems IRIS Backup Utility", f"{' ' * 14}{'-' * 32}"]
    lines += [_PERFORMING[kind], f"Backing up to device: {file}", "Description", description, ""]
    lines += ["Backing up the following directories:", *[f" {d.directory}" for d in scope], ""]
    lines += ["Journal file switched to:", journal, ""]
    for number in (1, 2, 3):
        lines.append(f"Starting backup pass {number}")
        if number == 3:
            lines += [
                f"Journal file '{required}' and the subsequent ones are required for recovery "
                "purpose if the backup were to be restored",
                "Journal marker set at",
                f"offset 197572 of {journal}",
                " - This is the last pass - Suspending write daemon",
            ]
        for db in scope:
            lines += [
                f"Backing up {db.directory} at {at}",
                f"Copied {db.blocks if number == 1 else 2} blocks in 0.01 seconds",
                f"Finished this pass of copying {db.directory}",
            ]
        if failure:
            lines.append(failure)
            break
        lines.append(f"Backup pass {number} complete at {at}")
    else:
        lines += ["", FINISHED_MARKER, "", "Global references are enabled.", "", "Backup complete."]
    return "\n".join(lines) + "\n"


_PERFORMING = {
    BackupKind.FULL: "Performing a Full backup.",
    BackupKind.INCREMENTAL: "Performing an Incremental backup.",
    BackupKind.CUMULATIVE: "Performing a Cumulative Incremental backup.",
}
"""The full form is a real log's; the other two follow the label's words for the kinds
(``Incremental``, ``Cumulative Incremental``): no transcript of them was found."""


def _write_volume(file: str, state: FakeState, mode: FailMode | None, label: bytes) -> None:
    """A real file of ``backup_bytes``, its label first; ``disk_full`` stops part way with
    ENOSPC, leaving the partial file behind as IRIS would."""
    size = state.backup_bytes
    stop_at = min(size, state.disk_full_after) if mode == "disk_full" else size
    chunk = (b"IRIS-FAKE-BACKUP-VOLUME " * 2800)[:65536]
    written = 0
    with open(file, "xb") as handle:  # noqa: PTH123 - IRIS refuses an existing device too
        head = label[:stop_at]
        handle.write(head)
        written += len(head)
        while written < stop_at:
            part = chunk[: min(len(chunk), stop_at - written)]
            handle.write(part)
            written += len(part)
        if written < size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), file)
