"""The external (snapshot) backup job: freeze, snapshot, always thaw, record.

Steps: lock, thaw anything a dead run left frozen, mirror role, refuse an already frozen
instance, warn about non-journaled databases, write the freeze marker, ExternalFreeze, run the
snapshot command, ExternalThaw in ``finally`` and check the write daemon really resumed, then,
only when both the snapshot and the thaw worked, ExternalSetHistory and the catalog record. The
freeze window is measured from ExternalFreeze returning to ExternalThaw returning.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from backup_keeper import __version__
from backup_keeper.catalog.discover import SNAPSHOT_SUFFIX, leftover_temp_warnings
from backup_keeper.catalog.manifest import Manifest, MirrorInfo, write_manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.clock import Clock, Stopwatch, system_clock, system_stopwatch
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.freeze_marker import FreezeMarker, UnreadableMarker, new_run_id, write_marker
from backup_keeper.iris.port import (
    FreezeResult,
    IrisError,
    IrisPort,
    MirrorMember,
    MirrorState,
    Severity,
)
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.freeze_recovery import (
    confirmed_thaw,
    console,
    current_marker,
    recover_frozen,
    release_markers,
    undo_failed_freeze,
)
from backup_keeper.jobs.locking import INSTANCE_LOCK, lock_refusal
from backup_keeper.jobs.offsite_step import copy_to_target
from backup_keeper.kinds import BackupKind
from backup_keeper.mirror_policy import role_refusal
from backup_keeper.notify import Notifier
from backup_keeper.progress import NO_PROGRESS
from backup_keeper.report import BackupDetails, JobReport, JobStatus
from backup_keeper.settings import (
    DEFAULT_FREEZE_TIMEOUT,
    FREEZE_TIMEOUT_CAP,
    ExternalBackupSettings,
)
from backup_keeper.snapshot_command import CommandResult, run_snapshot_command
from backup_keeper.timezones import resolve_zone


def run_external_backup(
    settings: ExternalBackupSettings,
    *,
    iris: IrisPort,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
    stopwatch: Stopwatch = system_stopwatch,
    opener: StoreOpener = open_destination,
) -> JobReport:
    """Take one snapshot backup; the instance is thawed on every path out of here, and every
    failure (IRIS's, the disk's, this tool's) is a failed report the notifier is told of.
    The freeze window is measured on ``stopwatch``, the rest on ``clock``; ``opener`` reaches
    the ``copy_to`` destinations."""
    report = lifecycle.begin(
        "snapshot",
        clock=clock,
        directories=[str(settings.directory)],
        options=settings.model_dump(mode="json", exclude={"directory", "copy_to"})
        | (
            {"copy_to": [t.location.redacted() for t in settings.copy_to]}
            if settings.copy_to
            else {}
        ),
        iris=iris.adapter_name,
    )
    report.backup = BackupDetails(requested_kind="external", kind="external")
    return lifecycle.conclude(
        report,
        lambda: _locked(settings, iris, report, _Clocks(clock, stopwatch), opener),
        clock=clock,
        notifier=notifier,
        what="external backup",
    )


@dataclass(frozen=True, slots=True)
class _Clocks:
    wall: Clock
    stopwatch: Stopwatch


def _locked(
    settings: ExternalBackupSettings,
    iris: IrisPort,
    report: JobReport,
    clock: _Clocks,
    opener: StoreOpener,
) -> str:
    if not iris.acquire_lock(INSTANCE_LOCK, settings.lock_timeout):
        report.errors.append(lock_refusal(settings.lock_timeout))
        return f"external backup failed: {report.errors[-1]}"
    try:
        summary = _steps(settings, iris, report, clock)
    finally:
        iris.release_lock(INSTANCE_LOCK)
    return summary + _copy(settings, report, clock.wall, opener)


def _copy(
    settings: ExternalBackupSettings, report: JobReport, clock: Clock, opener: StoreOpener
) -> str:
    """After a completed snapshot, outside the instance lock: the directory's backup files
    not yet at each ``copy_to`` target (the snapshot itself is the storage's, not a file)."""
    details = report.backup
    if not settings.copy_to or details is None or details.result != "completed":
        return ""
    lines = [
        copy_to_target(
            [settings.directory],
            target,
            report=report,
            opener=opener,
            zone=resolve_zone(settings.timezone),
            clock=clock,
            progress=NO_PROGRESS,
        )
        for target in settings.copy_to
    ]
    return "".join(f"; {line}" for line in lines)


def _steps(
    settings: ExternalBackupSettings, iris: IrisPort, report: JobReport, clock: _Clocks
) -> str:
    directory = settings.directory
    if not directory.is_dir():
        report.errors.append(f"{directory}: no such directory")
        return f"external backup failed: {report.errors[-1]}"
    report.warnings += leftover_temp_warnings(directory)
    recover_frozen(directory, iris, report, report.started)
    if report.errors:
        return f"external backup failed: nothing was frozen: {report.errors[-1]}"
    mirror = iris.mirror()
    why = role_refusal(settings.run_on, mirror)
    if why is not None:
        report.status = JobStatus.SKIPPED
        report.warnings.append(f"skipped: {why}")
        return f"external backup skipped: {why}"
    if iris.is_frozen():
        try:
            marker = current_marker(directory, iris)
            who = (
                marker.describe(lifecycle.zone_of(report))
                if marker
                else "something other than backup-keeper"
            )
        except UnreadableMarker as problem:
            who = f"someone unknown ({problem})"
        report.errors.append(f"the instance is already frozen, by {who}; nothing was done")
        return f"external backup failed: {report.errors[-1]}"
    unjournaled = [d.directory for d in iris.databases() if not d.journaled]
    if unjournaled:
        report.warnings.append(
            "not journaled, so updates made while frozen may be lost on a crash: "
            + ", ".join(unjournaled)
        )
    return _freeze_snapshot_thaw(settings, iris, report, clock, directory, mirror)


def _freeze_snapshot_thaw(
    settings: ExternalBackupSettings,
    iris: IrisPort,
    report: JobReport,
    clock: _Clocks,
    directory: Path,
    mirror: MirrorState,
) -> str:
    details = report.backup
    assert details is not None
    started = report.started
    limit = settings.wd_suspend_limit or settings.freeze_timeout or 600
    marker = FreezeMarker(
        host=socket.gethostname(),
        pid=os.getpid(),
        started=started,
        expires=started + timedelta(seconds=limit),
        label=settings.label,
        sharded_namespace=settings.sharded_namespace,
        run=new_run_id(),
    )
    write_marker(directory, marker)  # an OSError here: nothing is frozen, no marker is left
    log = str(directory / f"{settings.prefix}_external_{started:%Y%m%dT%H%M%SZ}.log")
    step = "recording the freeze marker inside IRIS"
    try:
        iris.set_freeze_marker(marker.model_dump_json())
        step = "ExternalFreeze"
        frozen = iris.external_freeze(
            log_file=log,
            text=f"backup-keeper {settings.label}".strip(),
            freeze_timeout=settings.freeze_timeout,
            wd_suspend_limit=settings.wd_suspend_limit,
            sharded_namespace=settings.sharded_namespace,
        )
    except IrisError as exc:  # an IrisTimeout included: undo_failed_freeze keeps the markers
        summary = undo_failed_freeze(directory, iris, report, marker, exc, step=step, log_file=log)
        return f"external backup failed: {summary}"
    frozen_at = clock.stopwatch()
    details.journal_required, details.log = frozen.required_journal, log
    details.checkpoint = frozen.checkpoint.as_record() if frozen.checkpoint else None
    result: CommandResult | None = None
    try:
        result = run_snapshot_command(
            settings.command,
            shell=settings.shell,
            timeout=settings.command_timeout,
            env=_command_env(iris, settings, frozen),
        )
        if not iris.is_frozen():
            report.errors.append(
                "the instance resumed before the snapshot command ended (WDSuspendLimit "
                "reached, or thawed by someone else): the snapshot is not a good backup"
            )
    finally:  # the thaw: whatever happened above, an exception or a BaseException included
        thawed = _thaw(iris, report, settings, marker, directory, log)
        window_ms = int((clock.stopwatch() - frozen_at) * 1000)
        details.freeze_window_ms = window_ms
    _judge_window(iris, report, settings, window_ms, mirror)
    return _record(settings, iris, report, clock.wall, directory, result, thawed, frozen, window_ms)


def _command_env(
    iris: IrisPort, settings: ExternalBackupSettings, frozen: FreezeResult
) -> dict[str, str]:
    return {
        "BACKUP_KEEPER_INSTANCE": iris.instance().name,
        "BACKUP_KEEPER_JOURNAL": frozen.required_journal or "",
        "BACKUP_KEEPER_LABEL": settings.label,
    }


def _thaw(
    iris: IrisPort,
    report: JobReport,
    settings: ExternalBackupSettings,
    marker: FreezeMarker,
    directory: Path,
    log: str,
) -> bool:
    """Thaw and verify. A failure here is the worst outcome this tool has: say so loudly, and
    keep the markers for ``thaw`` and the next run."""
    why = confirmed_thaw(iris, log_file=log, namespace=settings.sharded_namespace)
    if why is not None:
        message = (
            f"CRITICAL: the instance may still be frozen ({why}); run `backup-keeper thaw` "
            "or `iris stat <instance> -W` now"
        )
        report.errors.append(message)
        console(iris, message, Severity.FATAL)
        return False
    release_markers(directory, iris, marker, report)
    return True


def _judge_window(
    iris: IrisPort,
    report: JobReport,
    settings: ExternalBackupSettings,
    window_ms: int,
    mirror: MirrorState,
) -> None:
    """The documented risk is a freeze outliving ``ExternalFreezeTimeOut``: processes updating
    the databases block, and on the primary failover member the mirror may fail over (DIG
    4.3.1). The mirror's QoS timeout is recorded as information only."""
    failover = mirror.member is MirrorMember.FAILOVER
    qos = iris.mirror_qos_timeout_ms() if failover else None
    if qos:
        report.checked.append(
            f"mirror QoS timeout {qos} ms (information: the freeze is judged against "
            "ExternalFreezeTimeOut)"
        )
    timeout = min(settings.freeze_timeout or DEFAULT_FREEZE_TIMEOUT, FREEZE_TIMEOUT_CAP)
    if window_ms > timeout * 1000:
        consequence = "processes updating the databases were blocked until the thaw"
        if failover and mirror.primary:
            consequence += ", and on the primary failover member the mirror may fail over"
        report.warnings.append(
            f"freeze window {window_ms} ms outlived ExternalFreezeTimeOut ({timeout} s): "
            f"{consequence}"
        )
    limit = settings.wd_suspend_limit * 1000
    if limit and window_ms > 0.8 * limit:
        report.warnings.append(
            f"freeze window {window_ms} ms is near WDSuspendLimit ({limit} ms): past it IRIS "
            "resumes by itself and the snapshot is not a good backup"
        )


def _record(
    settings: ExternalBackupSettings,
    iris: IrisPort,
    report: JobReport,
    clock: Clock,
    directory: Path,
    result: CommandResult | None,
    thawed: bool,
    frozen: FreezeResult,
    window_ms: int,
) -> str:
    details = report.backup
    assert details is not None and result is not None
    details.command_output = [*result.stdout_tail, *result.stderr_tail]
    details.snapshot_id = result.snapshot_id
    report.warnings += [f"snapshot command: {note}" for note in result.notes]
    if not result.ok:
        what = (
            f"timed out after {settings.command_timeout:g} s and was killed"
            if result.returncode is None
            else f"exited {result.returncode}"
        )
        report.errors.append(f"the snapshot command {what}; nothing was recorded as a backup")
    if not thawed or not result.ok or report.errors:
        details.result = "failed"
        return f"external backup failed: {report.errors[-1]}"
    stamp = report.started.strftime("%Y%m%dT%H%M%SZ")
    name = f"{settings.prefix}_external_{stamp}{SNAPSHOT_SUFFIX}"
    iris.external_set_history(log_file="", description=f"backup-keeper {name}")
    mirror = iris.mirror()
    manifest = Manifest(
        file=name,
        kind=BackupKind.EXTERNAL,
        status=BackupStatus.COMPLETED,
        started=report.started,
        finished=clock(),
        databases=[d.directory for d in iris.databases()],
        size=0,
        journal_file_required=frozen.required_journal,
        instance=iris.instance().name,
        mirror=MirrorInfo(name=mirror.name, role=mirror.role) if mirror.role != "none" else None,
        tool_version=__version__,
        warnings=list(report.warnings),
        snapshot_id=result.snapshot_id,
        freeze_window_ms=window_ms,
        checkpoint=frozen.checkpoint.as_record() if frozen.checkpoint else None,
    )
    try:
        sidecar = write_manifest(directory / name, manifest)
    except OSError as exc:
        report.errors.append(
            f"snapshot {result.snapshot_id or '(no id printed)'} was taken and is in IRIS's "
            f"backup history, but its record {name}.json could not be written: "
            f"{describe_fault(exc)}"
        )
        details.result = "failed"
        return f"external backup failed: {report.errors[-1]}"
    details.result, details.manifest = "completed", str(sidecar)
    return (
        f"external backup completed: snapshot {result.snapshot_id or '(no id printed)'}, "
        f"frozen for {window_ms} ms"
    )
