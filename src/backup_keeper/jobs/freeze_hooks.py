"""``freeze`` and ``thaw`` as separate steps, for snapshot tools that call a pre-freeze and a
post-thaw script (VMware Tools, Veeam, ...). The process that froze is gone by the time the
snapshot runs, so the marker it leaves names no process and expires after WDSuspendLimit;
``thaw`` (or any later run) clears it."""

from __future__ import annotations

import socket
from datetime import timedelta

from backup_keeper.clock import Clock, system_clock
from backup_keeper.freeze_marker import FreezeMarker, read_marker, write_marker
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout, Severity
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.freeze_recovery import (
    clear_freeze,
    console,
    freeze_unanswered,
    recover_frozen,
)
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import BackupDetails, JobReport
from backup_keeper.settings import FreezeHookSettings


def run_freeze(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
) -> JobReport:
    """See ``_run_freeze``; the notifier is told of every outcome and decides what is news."""
    report = _run_freeze(settings, iris=iris, clock=clock)
    tell(notifier, report)
    return report


def _run_freeze(
    settings: FreezeHookSettings, *, iris: IrisPort, clock: Clock = system_clock
) -> JobReport:
    report = _begin("freeze", settings, iris, clock)
    directory = settings.directory
    try:
        if not directory.is_dir():
            report.errors.append(f"{directory}: no such directory")
            return lifecycle.end(report, clock=clock, summary=report.errors[-1])
        recover_frozen(directory, iris, report, report.started)
        if iris.is_frozen():
            report.errors.append("the instance is already frozen; nothing was done")
            return lifecycle.end(report, clock=clock, summary=report.errors[-1])
        limit = settings.wd_suspend_limit or settings.freeze_timeout or 600
        marker = FreezeMarker(
            host=socket.gethostname(),
            started=report.started,
            expires=report.started + timedelta(seconds=limit),
            label=settings.label,
            sharded_namespace=settings.sharded_namespace,
        )
        write_marker(directory, marker)
        iris.set_freeze_marker(marker.model_dump_json())
        frozen = iris.external_freeze(
            log_file="",
            text=f"backup-keeper freeze {settings.label}".strip(),
            freeze_timeout=settings.freeze_timeout,
            wd_suspend_limit=settings.wd_suspend_limit,
            sharded_namespace=settings.sharded_namespace,
        )
    except IrisError as exc:
        if isinstance(exc, IrisTimeout) and exc.call == "external_freeze":
            report.errors.append(freeze_unanswered(iris, exc))
        else:
            clear_freeze(directory, iris)
            report.errors.append(f"ExternalFreeze failed, the instance is not frozen: {exc}")
        return lifecycle.end(report, clock=clock, summary=report.errors[-1])
    assert report.backup is not None
    report.backup.journal_required = frozen.required_journal
    summary = f"frozen; journal restore starts at {frozen.required_journal or '(unknown)'}"
    return lifecycle.end(report, clock=clock, summary=summary)


def run_thaw(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
) -> JobReport:
    """See ``_run_thaw``; the notifier is told of every outcome and decides what is news."""
    report = _run_thaw(settings, iris=iris, clock=clock)
    tell(notifier, report)
    return report


def _run_thaw(
    settings: FreezeHookSettings, *, iris: IrisPort, clock: Clock = system_clock
) -> JobReport:
    report = _begin("thaw", settings, iris, clock)
    marker = read_marker(settings.directory) if settings.directory.is_dir() else None
    namespace = marker.sharded_namespace if marker else settings.sharded_namespace
    try:
        iris.external_thaw(log_file="", sharded_namespace=namespace)
        still = iris.is_frozen()
        why = "ExternalThaw returned but the write daemon is still suspended"
    except IrisError as exc:
        still, why = True, f"ExternalThaw failed: {exc}"
    if still:
        message = f"CRITICAL: the instance may still be frozen ({why})"
        report.errors.append(message)
        console(iris, message, Severity.FATAL)
        return lifecycle.end(report, clock=clock, summary=message)
    if settings.directory.is_dir():
        clear_freeze(settings.directory, iris)
    return lifecycle.end(report, clock=clock, summary="thawed; the write daemon is running")


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
