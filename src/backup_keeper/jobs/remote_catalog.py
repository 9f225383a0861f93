"""The catalog of a destination: what a second place holds, read as a directory's catalog is.

What the administrator asks before trusting an off-site copy: which backups are there, which of
them a stored sidecar describes (only those count), and which are leftovers of a copy that did
not finish.
"""

from __future__ import annotations

from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.destinations.remote_settings import RemoteCatalogSettings
from backup_keeper.destinations.store import DestinationError
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.catalog import catalog_entries
from backup_keeper.offsite.remote_catalog import discover_remote
from backup_keeper.report import JobReport


def run_remote_catalog(
    settings: RemoteCatalogSettings,
    *,
    clock: Clock = system_clock,
    opener: StoreOpener = open_destination,
) -> JobReport:
    where = settings.where
    report = lifecycle.begin(
        "catalog", clock=clock, directories=[where], options={"timezone": settings.timezone}
    )
    try:
        store = opener(settings.destination, settings.instance)
    except DestinationError as exc:
        report.errors.append(f"{where}: {exc}")
        return lifecycle.end(report, clock=clock, summary="catalog failed: destination not reached")
    try:
        catalog = discover_remote(store, now=report.started)
    except DestinationError as exc:
        report.errors.append(f"{where}: cannot list the backups: {exc}")
        return lifecycle.end(report, clock=clock, summary="catalog failed: destination not read")
    finally:
        store.close()
    report.records = catalog_entries(catalog.records, report.started)
    report.warnings += catalog.warnings
    managed = sum(1 for record in catalog.records if record.managed)
    summary = (
        f"{len(catalog.records)} stored backup(s): {managed} managed, "
        f"{len(catalog.records) - managed} unmanaged"
    )
    return lifecycle.end(report, clock=clock, summary=summary)
