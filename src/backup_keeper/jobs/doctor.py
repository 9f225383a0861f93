"""``backup-keeper doctor``: what can be wrong between runs, and the one thing it repairs.

It thaws an instance left frozen by a backup-keeper process that is gone (as every job does at
its start), and reports what it must not touch: an instance frozen by someone else, a freeze
still in progress, a backup-keeper backup holding the instance lock.

An online backup's last pass suspends the write daemon with no freeze: while a backup-keeper
backup holds the instance lock, a suspended daemon without a marker is not called a foreign
freeze, and nothing is thawed (see :func:`.freeze_recovery.backup_running`).

It also reads IRIS's journal purge settings and warns when the retention policy keeps backups
that purge will strand, saying which setting to change (journal_coverage.py); without a policy
it only notes, as information, how many backups the directory holds are already past it.
"""

from __future__ import annotations

from datetime import datetime

from backup_keeper.catalog.discover import discover, leftover_temp_warnings
from backup_keeper.clock import Clock, system_clock
from backup_keeper.freeze_marker import UnreadableMarker
from backup_keeper.iris.port import IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.freeze_recovery import (
    SUSPENDED_BY_BACKUP,
    backup_running,
    current_marker,
    recover_frozen,
)
from backup_keeper.jobs.journal_purge import read_journal_settings
from backup_keeper.jobs.locking import INSTANCE_LOCK
from backup_keeper.journal_coverage import (
    held_line,
    policy_keeps,
    stranding,
    stranding_warning,
)
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import JobReport
from backup_keeper.settings import FreezeHookSettings, RetentionPolicy
from backup_keeper.timezones import resolve_zone


def run_doctor(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
    retention: RetentionPolicy | None = None,
) -> JobReport:
    """See ``_run_doctor``; the notifier is told of every outcome and decides what is news.
    ``retention``: the policy the directory is purged by, judged against IRIS's journal purge
    settings (without one, the backups the directory holds are)."""
    report = _run_doctor(settings, iris=iris, clock=clock, retention=retention)
    tell(notifier, report)
    return report


def _run_doctor(
    settings: FreezeHookSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    retention: RetentionPolicy | None = None,
) -> JobReport:
    report = lifecycle.begin(
        "doctor",
        clock=clock,
        directories=[str(settings.directory)],
        options={"retention": retention.model_dump(mode="json")} if retention else {},
        iris=iris.adapter_name,
    )
    try:
        _examine(settings, iris, report)
        if settings.directory.is_dir():
            _journal_purge(settings, iris, report, retention)
    except Exception as exc:  # noqa: BLE001 - a job never raises: the report says what failed
        report.errors.append(describe_fault(exc))
    problems = len(report.errors) + len(report.warnings)
    summary = "all clear" if problems == 0 else f"{problems} finding(s)"
    return lifecycle.end(report, clock=clock, summary=summary)


def _examine(settings: FreezeHookSettings, iris: IrisPort, report: JobReport) -> None:
    directory = settings.directory
    if not directory.is_dir():
        report.errors.append(f"{directory}: no such directory")
        return
    report.warnings += leftover_temp_warnings(directory)
    running = backup_running(iris)
    recover_frozen(directory, iris, report, report.started, running_backup=running)
    try:
        has_marker = current_marker(directory, iris) is not None
    except UnreadableMarker:
        has_marker = True  # recover_frozen has reported it
    frozen = iris.is_frozen()
    report.checked += [
        f"freeze marker: {'present' if has_marker else 'none'} (directory and IRIS)",
        f"instance frozen: {'yes' if frozen else 'no'}",
    ]
    if frozen and not has_marker:
        _unmarked_suspension(report, running)
    if running:
        report.checked.append(f"instance lock: held ({INSTANCE_LOCK})")
        report.warnings.append(
            f"a backup-keeper backup holds the instance lock {INSTANCE_LOCK} (running now?)"
        )
    else:
        report.checked.append(f"instance lock: free ({INSTANCE_LOCK})")


def _unmarked_suspension(report: JobReport, running: bool) -> None:
    """A suspended write daemon nobody's marker explains. Never thawed here either way."""
    if running:
        report.checked.append(
            "write daemon suspended while a backup-keeper backup runs: not a foreign freeze "
            f"({SUSPENDED_BY_BACKUP}); run doctor again once it has ended"
        )
        return
    report.errors.append(
        "the instance is frozen and no backup-keeper run froze it: another tool's snapshot "
        "may be in progress, or an online backup run outside backup-keeper (IRIS's own task) "
        f"is in its last pass ({SUSPENDED_BY_BACKUP}); left as it is (thaw it with "
        "`backup-keeper thaw` if it is neither)"
    )


def _journal_purge(
    settings: FreezeHookSettings,
    iris: IrisPort,
    report: JobReport,
    retention: RetentionPolicy | None,
) -> None:
    """Whether IRIS's journal purge will strand backups the policy keeps (iris-ledger.md
    section 14). Settings that cannot be read leave it unknown, and say so."""
    journal = read_journal_settings(iris, report)
    if journal is None:
        return
    now = report.started
    if retention is not None:
        warning = stranding_warning(
            stranding(policy_keeps(retention, now), journal, now=now), "the retention policy"
        )
        report.warnings += [warning] if warning else []
        return
    line = held_line(stranding(_held(settings, now), journal, now=now), f"{settings.directory}")
    report.checked += [line] if line else []


def _held(settings: FreezeHookSettings, now: datetime) -> list[datetime]:
    """The moments of the usable backups the directory holds (none dated after now)."""
    catalog = discover([settings.directory], resolve_zone(None), now=now)
    return [r.time for r in catalog.records if r.managed and r.status.usable and r.time <= now]
