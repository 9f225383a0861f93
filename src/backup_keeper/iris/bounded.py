"""BoundedIris: every IRIS call a job makes returns, or fails, within a bound.

A hung IRIS call (a database list behind a stuck lock, a size estimate on a dead mount, a
Native SDK connection whose server went away) would block a job forever: no report, no alert,
and for a snapshot job possibly a frozen instance. So each door wraps the adapter it builds in
``BoundedIris``, which runs each call on a worker thread and gives up after ``timeout``
seconds with :class:`IrisTimeout`, an :class:`IrisError`: every job's existing ``except
IrisError`` path turns it into a failed report, and the notifier is told.

What a bound cannot do: a call stuck inside IRIS (an embedded call in C, a socket read in the
Native SDK) cannot be interrupted from Python. The worker thread is a daemon left behind; it
ends with the process (a CLI run), or lingers in an IRIS process until the call returns (a
task, a production), and what the call does when it finally returns is not seen by the job.
The job reports and alerts instead of hanging; that is the promise, no more.

Not bounded here, because the job bounds them itself or because they may legitimately take
hours: ``online_backup`` (the job's own watchdog, ``--timeout``, which also asks IRIS to abort)
and ``restore_backup`` / ``restore_journals`` (a timeout that reported a restore failed while
^DBREST went on writing the databases would be worse than waiting). ``acquire_lock`` waits its
own timeout plus the bound. Calls are not serialised: a call made after a timed-out one (the
thaw after a hung call while frozen) must still get through.

Unsure: that embedded Python may call IRIS from a thread other than the one IRIS started it
on; the online backup's watchdog has relied on it since it was written.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from backup_keeper.iris.port import (
    BackupOutcome,
    DatabaseInfo,
    FreezeResult,
    InstanceInfo,
    IrisPort,
    IrisTimeout,
    JournalFiles,
    JournalOutcome,
    JournalSettings,
    MirrorState,
    RestoreOutcome,
    SensorValue,
    Severity,
    SizeEstimate,
    VolumeInfo,
)
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.kinds import BackupKind

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CALL_TIMEOUT = 120.0
"""Seconds one IRIS call may take: far above any healthy call, far below "forever"."""
MAX_CALL_TIMEOUT = 24 * 3600.0
TIMEOUT_ENV = "BACKUP_KEEPER_IRIS_CALL_TIMEOUT"
"""Sets the bound for every door (the CLI's ``--iris-call-timeout`` reads it as its default)."""
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+", re.ASCII)


def check_call_timeout(seconds: float) -> float:
    """``seconds`` when it is a usable bound (finite, above 0, at most a day); else ValueError."""
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_CALL_TIMEOUT):
        raise ValueError(
            f"must be a number of seconds above 0 and at most {MAX_CALL_TIMEOUT:g}, not {seconds!r}"
        )
    return seconds


def parse_call_timeout(text: str) -> float:
    """Seconds written in ASCII digits (``120``, ``0.5``); ValueError names what is wrong."""
    if not _SECONDS.fullmatch(text.strip()):
        raise ValueError(f"must be a number of seconds in ASCII digits, not {text!r}")
    return check_call_timeout(float(text.strip()))


def call_timeout_from_environment() -> float:
    """The bound ``BACKUP_KEEPER_IRIS_CALL_TIMEOUT`` sets, else the default. A door must always
    give a report, so a bad value is logged and the default used, never raised."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    if not raw:
        return DEFAULT_CALL_TIMEOUT
    try:
        return parse_call_timeout(raw)
    except ValueError as exc:
        log.warning("%s %s; using %g s", TIMEOUT_ENV, exc, DEFAULT_CALL_TIMEOUT)
        return DEFAULT_CALL_TIMEOUT


class BoundedIris:
    """An IrisPort that forwards to ``port``, each call bounded by ``timeout`` seconds."""

    def __init__(self, port: IrisPort, timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.port = port
        self.timeout = check_call_timeout(timeout)
        self.adapter_name = port.adapter_name

    def _bounded(self, name: str, call: Callable[[], T], *, extra: float = 0.0) -> T:
        """``call()``'s result or exception, or IrisTimeout after ``timeout + extra`` s."""
        bound = min(self.timeout + extra, threading.TIMEOUT_MAX)
        outcome: list[tuple[bool, object]] = []
        returned = threading.Event()

        def work() -> None:
            try:
                outcome.append((True, call()))
            except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
                outcome.append((False, exc))
            finally:
                returned.set()

        threading.Thread(target=work, name=f"iris-{name}", daemon=True).start()
        if not returned.wait(bound):
            log.error("IRIS call %s did not return within %g s; left running", name, bound)
            raise IrisTimeout(name, bound)
        ok, value = outcome[0]
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]  # call() returned it: a T

    # -- bounded ----------------------------------------------------------------------------

    def instance(self) -> InstanceInfo:
        return self._bounded("instance", self.port.instance)

    def abort_backup(self) -> None:
        self._bounded("abort_backup", self.port.abort_backup)

    def backup_database_list(self) -> list[str]:
        return self._bounded("backup_database_list", self.port.backup_database_list)

    def set_backup_database_list(self, databases: Sequence[str]) -> None:
        names = list(databases)
        self._bounded("set_backup_database_list", lambda: self.port.set_backup_database_list(names))

    def databases(self) -> list[DatabaseInfo]:
        return self._bounded("databases", self.port.databases)

    def size_estimate(self, kind: BackupKind) -> SizeEstimate:
        return self._bounded("size_estimate", lambda: self.port.size_estimate(kind))

    def backup_history(self) -> list[HistoryEntry]:
        return self._bounded("backup_history", self.port.backup_history)

    def volume_info(self, file: str) -> VolumeInfo:
        return self._bounded("volume_info", lambda: self.port.volume_info(file))

    def mirror(self) -> MirrorState:
        return self._bounded("mirror", self.port.mirror)

    def write_console_log(self, message: str, severity: Severity) -> None:
        self._bounded("write_console_log", lambda: self.port.write_console_log(message, severity))

    def acquire_lock(self, name: str, timeout: float) -> bool:
        return self._bounded(
            "acquire_lock", lambda: self.port.acquire_lock(name, timeout), extra=max(timeout, 0)
        )

    def release_lock(self, name: str) -> None:
        self._bounded("release_lock", lambda: self.port.release_lock(name))

    def external_freeze(
        self,
        *,
        log_file: str,
        text: str,
        freeze_timeout: int,
        wd_suspend_limit: int,
        sharded_namespace: str | None = None,
    ) -> FreezeResult:
        return self._bounded(
            "external_freeze",
            lambda: self.port.external_freeze(
                log_file=log_file,
                text=text,
                freeze_timeout=freeze_timeout,
                wd_suspend_limit=wd_suspend_limit,
                sharded_namespace=sharded_namespace,
            ),
        )

    def external_thaw(self, *, log_file: str, sharded_namespace: str | None = None) -> None:
        self._bounded(
            "external_thaw",
            lambda: self.port.external_thaw(log_file=log_file, sharded_namespace=sharded_namespace),
        )

    def is_frozen(self) -> bool:
        return self._bounded("is_frozen", self.port.is_frozen)

    def external_set_history(self, *, log_file: str, description: str) -> None:
        self._bounded(
            "external_set_history",
            lambda: self.port.external_set_history(log_file=log_file, description=description),
        )

    def mirror_qos_timeout_ms(self) -> int | None:
        return self._bounded("mirror_qos_timeout_ms", self.port.mirror_qos_timeout_ms)

    def freeze_marker(self) -> str | None:
        return self._bounded("freeze_marker", self.port.freeze_marker)

    def set_freeze_marker(self, marker: str | None) -> None:
        self._bounded("set_freeze_marker", lambda: self.port.set_freeze_marker(marker))

    def publish_metrics(self, values: Sequence[SensorValue]) -> None:
        self._bounded("publish_metrics", lambda: self.port.publish_metrics(values))

    def journal_files(self) -> JournalFiles:
        return self._bounded("journal_files", self.port.journal_files)

    def journal_settings(self) -> JournalSettings:
        return self._bounded("journal_settings", self.port.journal_settings)

    def credentials_password(self, credentials_id: str) -> str:
        return self._bounded(
            "credentials_password", lambda: self.port.credentials_password(credentials_id)
        )

    # -- bounded elsewhere, or not at all (see the module's docstring) -----------------------

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        return self.port.online_backup(
            kind,
            description=description,
            file=file,
            log_file=log_file,
            quiet_timeout=quiet_timeout,
        )

    def restore_backup(self, file: str, directory_map: Mapping[str, str]) -> RestoreOutcome:
        return self.port.restore_backup(file, directory_map)

    def restore_journals(
        self, first_file: str, *, select: Sequence[str], redirect: Mapping[str, str]
    ) -> JournalOutcome:
        return self.port.restore_journals(first_file, select=select, redirect=redirect)


def bounded(port: IrisPort, timeout: float | None = None) -> IrisPort:
    """``port`` with every call bounded by ``timeout`` (default: the environment's, else
    DEFAULT_CALL_TIMEOUT); a port already bounded is returned as it is, so a door that wraps
    twice never stacks two bounds."""
    if isinstance(port, BoundedIris):
        return port
    return BoundedIris(port, call_timeout_from_environment() if timeout is None else timeout)
