"""The purge job: remove the backups a retention policy no longer keeps, never one a restore
needs. Reads as its steps: finish an interrupted purge, catalog, plan, record the intent,
delete, clear the intent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from backup_keeper.catalog.discover import discover
from backup_keeper.clock import Clock, system_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.jobs import lifecycle
from backup_keeper.notify import Notifier, tell
from backup_keeper.purge.executor import (
    Outcome,
    PurgeTarget,
    Remove,
    delete_targets,
    targets_from_plan,
    unlink_in,
)
from backup_keeper.purge.intent import (
    IntentError,
    PurgeIntent,
    clear_intent,
    read_intent,
    write_intent,
)
from backup_keeper.report import FileOutcome, JobReport, RecordEntry
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import PurgeSettings
from backup_keeper.timezones import resolve_zone


def run_purge(
    settings: PurgeSettings,
    *,
    clock: Clock = system_clock,
    remove: Remove = unlink_in,
    notifier: Notifier | None = None,
) -> JobReport:
    """Purge ``settings.directories`` by ``settings.retention`` as of ``clock()``.

    ``remove`` is how a file is deleted; tests pass one that fails to prove the rest still runs.
    ``notifier`` is told of every outcome and decides what is news.
    """
    with gc_paused():
        report = _run_purge(settings, clock, remove)
    tell(notifier, report)
    return report


def _run_purge(settings: PurgeSettings, clock: Clock, remove: Remove) -> JobReport:
    report = lifecycle.begin(
        "purge",
        clock=clock,
        dry_run=settings.dry_run,
        directories=[str(d) for d in settings.directories],
        options={
            "timezone": settings.timezone,
            **settings.retention.model_dump(mode="json", exclude_none=True),
        },
    )
    now = report.started
    dry_run = settings.dry_run
    zone = resolve_zone(settings.timezone)
    try:
        _finish_interrupted(settings.directories, report, dry_run=dry_run, remove=remove)
        catalog = discover(settings.directories, zone)
    except (OSError, IntentError) as exc:
        report.errors.append(f"cannot read backups: {exc}")
        return lifecycle.end(
            report, clock=clock, summary="purge failed before planning: nothing deleted"
        )
    report.warnings += catalog.warnings
    decided = plan(catalog.records, settings.retention, now, zone)
    _record_plan(report, decided)
    targets, refused = targets_from_plan(decided.delete, settings.directories)
    report.errors += refused
    if not dry_run:
        try:
            _write_intents(targets, now)
        except OSError as exc:
            report.errors.append(f"cannot record what the purge will delete: {exc}")
            return lifecycle.end(
                report, clock=clock, summary="purge failed before deleting: nothing deleted"
            )
    outcome = delete_targets(targets, dry_run=dry_run, remove=remove)
    _fold(report, outcome)
    if not dry_run:
        try:
            _leave_intents_for(outcome.failed, {t.directory for t in targets}, now)
        except OSError as exc:
            report.errors.append(f"cannot update the purge intent: {exc}")
    return lifecycle.end(report, clock=clock, summary=_summary(report, decided, dry_run))


def _finish_interrupted(
    directories: list[Path], report: JobReport, *, dry_run: bool, remove: Remove
) -> None:
    for directory in directories:
        intent = read_intent(directory)
        if intent is None:
            continue
        report.warnings.append(
            f"{directory}: a purge started at {intent.created.isoformat()} was interrupted; "
            + ("it would be finished" if dry_run else "finishing it")
        )
        targets = [PurgeTarget.from_intent(directory, entry) for entry in intent.entries]
        outcome = delete_targets(targets, dry_run=dry_run, remove=remove, recovering=True)
        _fold(report, outcome)
        if not dry_run:
            _leave_intents_for(outcome.failed, {directory}, intent.created)


def _record_plan(report: JobReport, decided: Plan) -> None:
    report.keep = [RecordEntry.of(d.record, d.reasons) for d in decided.keep]
    report.delete = [RecordEntry.of(d.record, d.reasons) for d in decided.delete]
    report.unmanaged = [RecordEntry.of(d.record, d.reasons) for d in decided.unmanaged]
    report.warnings += decided.warnings


def _write_intents(targets: list[PurgeTarget], now: datetime) -> None:
    """Phase one: say, durably, what is about to go, before anything goes."""
    by_directory: dict[Path, list[PurgeTarget]] = {}
    for target in targets:
        by_directory.setdefault(target.directory, []).append(target)
    for directory, group in by_directory.items():
        write_intent(directory, PurgeIntent(created=now, entries=[t.as_intent() for t in group]))


def _leave_intents_for(failed: list[PurgeTarget], directories: set[Path], now: datetime) -> None:
    """Keep in the intent only what could not be deleted, so the next run tries again."""
    for directory in directories:
        left = list({t.name: t for t in failed if t.directory == directory}.values())
        if left:
            write_intent(directory, PurgeIntent(created=now, entries=[t.as_intent() for t in left]))
        else:
            clear_intent(directory)


def _fold(report: JobReport, outcome: Outcome) -> None:
    report.actions += outcome.actions
    report.warnings += outcome.warnings
    report.errors += outcome.errors


def _summary(report: JobReport, decided: Plan, dry_run: bool) -> str:
    gone = sum(
        1 for a in report.actions if a.outcome is FileOutcome.DELETED and a.path.endswith(".cbk")
    )
    size = sum(d.record.size for d in decided.delete)
    verb = (
        f"would delete {len(decided.delete)}"
        if dry_run
        else f"deleted {gone} of {len(decided.delete)}"
    )
    text = (
        f"{verb} backup(s) ({_human_size(size)}), kept {len(decided.keep)}, "
        f"{len(decided.unmanaged)} unmanaged"
    )
    if report.errors:
        text += f"; {len(report.errors)} error(s)"
    if report.warnings:
        text += f"; {len(report.warnings)} warning(s)"
    return ("dry run: " if dry_run else "") + text


def _human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
