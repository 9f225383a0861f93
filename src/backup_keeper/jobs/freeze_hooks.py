"""``freeze`` and ``thaw`` as separate steps, for snapshot tools that call a pre-freeze and a
post-thaw script (VMware Tools, Veeam, ...). The process that froze is gone by the time the
snapshot runs, so the marker it leaves names no process and expires after WDSuspendLimit;
``thaw`` (or any later run) clears it.

Neither ever raises: IRIS's and the disk's failures are failed reports, and no failure clears a
marker unless the instance has been seen running."""

from __future__ import annotations

import socket
from datetime import timedelta

from backup_keeper.catalog.discover import leftover_temp_warnings
from backup_keeper.clock import Clock, system_clock
from backup_keeper.freeze_marker import FreezeMarker, UnreadableMarker, new_run_id, write_marker
from backup_keeper.iris.port import IrisError, IrisPort, Severity
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.freeze_recovery import (
    backup_running,
    confirmed_thaw,
    console,
    current_marker,
    recover_frozen,
    release_markers,
    undo_failed_freeze,
    unknown_freezer,
)
from backup_keeper.notify import Notifier
from backup_keeper.report import BackupDetails, JobReport
from backup_keeper.settings import FreezeHookSettings


def run_freeze(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
) -> JobReport:
    """Freeze the instance and leave a marker naming no process; the notifier is told of every
    outcome and decides what is news."""
    report = _begin("freeze", settings, iris, clock)
    return lifecycle.conclude(
        report,
        lambda: _freeze(settings, iris, report),
        clock=clock,
        notifier=notifier,
        what="freeze",
    )


def _freeze(settings: FreezeHookSettings, iris: IrisPort, report: JobReport) -> str:
    """Until the marker is written, a failure propagates: there is nothing of ours to undo."""
    directory = settings.directory
    if not directory.is_dir():
        report.errors.append(f"{directory}: no such directory")
        return report.errors[-1]
    report.warnings += leftover_temp_warnings(directory)  # before the freeze: it costs a listing
    recover_frozen(directory, iris, report, report.started, running_backup=backup_running(iris))
    if report.errors:
        return f"nothing was frozen: {report.errors[-1]}"
    if iris.is_frozen():
        report.errors.append("the instance is already frozen; nothing was done")
        return report.errors[-1]
    limit = settings.wd_suspend_limit or settings.freeze_timeout or 600
    marker = FreezeMarker(
        host=socket.gethostname(),
        started=report.started,
        expires=report.started + timedelta(seconds=limit),
        label=settings.label,
        sharded_namespace=settings.sharded_namespace,
        run=new_run_id(),
    )
    write_marker(directory, marker)
    step = "recording the freeze marker inside IRIS"
    try:
        iris.set_freeze_marker(marker.model_dump_json())
        step = "ExternalFreeze"
        frozen = iris.external_freeze(
            log_file="",
            text=f"backup-keeper freeze {settings.label}".strip(),
            freeze_timeout=settings.freeze_timeout,
            wd_suspend_limit=settings.wd_suspend_limit,
            sharded_namespace=settings.sharded_namespace,
        )
    except IrisError as exc:
        return undo_failed_freeze(directory, iris, report, marker, exc, step=step)
    assert report.backup is not None
    report.backup.journal_required = frozen.required_journal
    return f"frozen; journal restore starts at {frozen.required_journal or '(unknown)'}"


def run_thaw(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
) -> JobReport:
    """Thaw the instance, whatever else fails; the notifier is told of every outcome."""
    report = _begin("thaw", settings, iris, clock)
    return lifecycle.conclude(
        report, lambda: _thaw(settings, iris, report), clock=clock, notifier=notifier, what="thaw"
    )


def _thaw(settings: FreezeHookSettings, iris: IrisPort, report: JobReport) -> str:
    """The thaw is asked for whatever the markers say: an unreadable one is reported and kept,
    a readable one (the hook's, by design) is released once the thaw is confirmed."""
    directory = settings.directory
    marker = _marker_to_release(settings, iris, report)
    namespace = marker.sharded_namespace if marker else settings.sharded_namespace
    why = confirmed_thaw(iris, log_file="", namespace=namespace)
    if why is not None:
        message = f"CRITICAL: the instance may still be frozen ({why})"
        report.errors.append(message)
        console(iris, message, Severity.FATAL)
        return message
    if marker is not None:
        release_markers(directory, iris, marker, report)
    return "thawed; the write daemon is running"


def _marker_to_release(
    settings: FreezeHookSettings, iris: IrisPort, report: JobReport
) -> FreezeMarker | None:
    if not settings.directory.is_dir():
        return None
    try:
        return current_marker(settings.directory, iris)
    except UnreadableMarker as problem:
        unknown_freezer(report, problem)
    except OSError as exc:
        unknown_freezer(report, UnreadableMarker(describe_fault(exc)))
    except IrisError as exc:
        report.warnings.append(f"the freeze marker inside IRIS could not be read: {exc}")
    return None


def _begin(job: str, settings: FreezeHookSettings, iris: IrisPort, clock: Clock) -> JobReport:
    report = lifecycle.begin(
        job,
        clock=clock,
        directories=[str(settings.directory)],
        options=settings.model_dump(mode="json", exclude={"directory"}),
        iris=iris.adapter_name,
    )
    report.backup = BackupDetails(requested_kind="external", kind="external")
    return report
