"""The catalog job: list what is in the backup directories and what each file is."""

from __future__ import annotations

from backup_keeper.catalog.discover import discover
from backup_keeper.clock import Clock, system_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.jobs import lifecycle
from backup_keeper.report import JobReport, RecordEntry
from backup_keeper.settings import CatalogSettings
from backup_keeper.timezones import resolve_zone


def run_catalog(settings: CatalogSettings, *, clock: Clock = system_clock) -> JobReport:
    with gc_paused():
        return _run_catalog(settings, clock)


def _run_catalog(settings: CatalogSettings, clock: Clock) -> JobReport:
    report = lifecycle.begin(
        "catalog",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options={"timezone": settings.timezone},
    )
    try:
        catalog = discover(
            settings.directories, resolve_zone(settings.timezone), now=report.started
        )
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        return lifecycle.end(
            report, clock=clock, summary="catalog failed: a directory could not be read"
        )
    report.records = [RecordEntry.of(record) for record in catalog.records]
    report.warnings += catalog.warnings
    managed = sum(1 for record in catalog.records if record.managed)
    unmanaged = len(catalog.records) - managed
    summary = f"{len(catalog.records)} backup file(s): {managed} managed, {unmanaged} unmanaged"
    return lifecycle.end(report, clock=clock, summary=summary)
