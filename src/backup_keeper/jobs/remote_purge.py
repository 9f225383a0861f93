"""The purge of a destination by its own policy: the same planner, safety floor, dry run,
intent and reasons as a directory's purge (:mod:`backup_keeper.jobs.purge`), through a store.

Steps: reach the destination, read what an interrupted purge left there (an intent that cannot
be trusted stops the purge), catalog, plan, refuse anything outside the rules, record the
intent, delete, clear the intent.
"""

from __future__ import annotations

from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.destinations.remote_settings import RemotePurgeSettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.jobs import lifecycle
from backup_keeper.notify import Notifier, tell
from backup_keeper.offsite.remote_purge import RemoteOutcome, purge_by_policy
from backup_keeper.report import FileOutcome, JobReport, RecordEntry
from backup_keeper.retention.plan import Plan
from backup_keeper.sizes import human_size
from backup_keeper.timezones import resolve_zone


def run_remote_purge(
    settings: RemotePurgeSettings,
    *,
    clock: Clock = system_clock,
    opener: StoreOpener = open_destination,
    notifier: Notifier | None = None,
) -> JobReport:
    where = settings.where
    report = lifecycle.begin(
        "purge",
        clock=clock,
        dry_run=settings.dry_run,
        directories=[where],
        options={
            "timezone": settings.timezone,
            **settings.retention.model_dump(mode="json", exclude_none=True),
        },
    )
    try:
        store = opener(settings.destination, settings.instance)
    except DestinationError as exc:
        report.errors.append(f"{where}: {exc}")
        report = lifecycle.end(report, clock=clock, summary="purge not run: nothing deleted")
    else:
        try:
            report = _purge(store, settings, report, clock)
        finally:
            store.close()
    tell(notifier, report)
    return report


def _purge(
    store: RemoteStore, settings: RemotePurgeSettings, report: JobReport, clock: Clock
) -> JobReport:
    where = report.directories[0]
    zone = resolve_zone(settings.timezone)
    try:
        done = purge_by_policy(
            store, settings.retention, now=report.started, zone=zone, dry_run=settings.dry_run
        )
    except DestinationError as exc:
        report.errors.append(f"{where}: {exc}")
        return lifecycle.end(report, clock=clock, summary="purge not run: nothing deleted")
    _record(report, done.plan)
    report.actions += done.outcome.actions
    report.warnings += done.warnings
    report.errors += done.errors
    return lifecycle.end(report, clock=clock, summary=_summary(report, done.plan, done.outcome))


def _record(report: JobReport, decided: Plan) -> None:
    report.keep = [RecordEntry.of(d.record, d.reasons) for d in decided.keep]
    report.delete = [RecordEntry.of(d.record, d.reasons) for d in decided.delete]
    report.unmanaged = [RecordEntry.of(d.record, d.reasons) for d in decided.unmanaged]


def _summary(report: JobReport, decided: Plan, outcome: RemoteOutcome) -> str:
    done = FileOutcome.WOULD_DELETE if report.dry_run else FileOutcome.DELETED
    went = {a.path for a in outcome.actions if a.outcome is done}
    gone = [e for e in report.delete if e.path in went]
    verb = "would delete" if report.dry_run else "deleted"
    text = (
        f"{verb} {len(gone)} of {len(decided.delete)} stored backup(s) "
        f"({human_size(sum(e.size for e in gone))}), kept {len(decided.keep)}, "
        f"{len(decided.unmanaged)} unmanaged"
    )
    if report.errors:
        text += f"; {len(report.errors)} error(s)"
    return ("dry run: " if report.dry_run else "") + text
