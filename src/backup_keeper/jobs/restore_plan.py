"""The restore-plan job: the plan for a moment, as a report (and ``restore-plan --json``)."""

from __future__ import annotations

from datetime import datetime

from backup_keeper.catalog.discover import discover
from backup_keeper.clock import Clock, system_clock
from backup_keeper.integrity import problem_with
from backup_keeper.iris.port import IrisError, IrisPort, JournalFiles
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.catalog import instance_history
from backup_keeper.report import JobReport, RestorePlan
from backup_keeper.restore.plan import plan_restore
from backup_keeper.settings import RestorePlanSettings
from backup_keeper.timezones import format_moment, resolve_zone


def make_restore_plan(
    settings: RestorePlanSettings,
    *,
    now: datetime | None = None,
    history: list[HistoryEntry] | None = None,
    journals: JournalFiles | None = None,
) -> RestorePlan:
    """The plan as of ``now`` (the job's clock; the system clock when not given): a backup
    dated after it is never a restore point. The catalog's warnings ride on the plan. Given the
    instance's ``history``, a chain a foreign backup broke is never restored; given its
    ``journals``, the plan says how far they roll the backup forward and refuses a moment they
    do not reach."""
    moment = system_clock() if now is None else now
    zone = resolve_zone(settings.timezone)
    catalog = discover(settings.directories, zone, now=moment, history=history)
    plan = plan_restore(
        catalog.records, settings.at, problem_with, now=moment, zone=zone, journals=journals
    )
    plan.warnings = catalog.warnings + plan.warnings
    return plan


def run_restore_plan(
    settings: RestorePlanSettings, *, clock: Clock = system_clock, iris: IrisPort | None = None
) -> JobReport:
    report = lifecycle.begin(
        "restore-plan",
        clock=clock,
        dry_run=True,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name if iris else None,
    )
    history = instance_history(iris, report)
    journals = _journal_files(iris, report)
    try:
        plan = make_restore_plan(settings, now=report.started, history=history, journals=journals)
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        return lifecycle.end(report, clock=clock, summary="no plan: unreadable directory")
    report.restore = plan
    report.warnings += plan.warnings
    if plan.fallback:
        report.warnings.append(plan.fallback)
    if not plan.ok:
        report.errors += plan.problems or ["nothing to restore"]
        return lifecycle.end(
            report, clock=clock, summary="no restorable backup: " + report.errors[0]
        )
    assert plan.restores_to is not None
    when = format_moment(plan.restores_to, resolve_zone(settings.timezone))
    summary = f"restore {len(plan.files)} file(s) to {when}"
    return lifecycle.end(report, clock=clock, summary=summary)


def _journal_files(iris: IrisPort | None, report: JobReport) -> JournalFiles | None:
    """The instance's journal files, when a port is given; a list that cannot be read leaves
    the roll-forward unknown (said so), never assumed."""
    if iris is None:
        return None
    try:
        return iris.journal_files()
    except IrisError as exc:
        report.warnings.append(
            f"IRIS's journal files could not be listed ({exc}): how far the journals roll the "
            "backup forward is unknown"
        )
        return None
