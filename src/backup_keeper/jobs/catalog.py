"""The catalog job: list what is in the backup directories and what each file is; given an IRIS
port, with the chains the instance's backup history shows broken by a backup taken elsewhere,
and how far the instance's journal files roll each backup forward."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.history import BROKEN
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.integrity import manifest_of
from backup_keeper.iris.port import IrisError, IrisPort
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.jobs import lifecycle
from backup_keeper.journal_coverage import Reach, coverage, required_journal
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import JobReport, PinEntry, RecordEntry, RollForward
from backup_keeper.settings import CatalogSettings
from backup_keeper.timezones import resolve_zone


def run_catalog(
    settings: CatalogSettings,
    *,
    clock: Clock = system_clock,
    iris: IrisPort | None = None,
    progress: Progress = NO_PROGRESS,
) -> JobReport:
    """``progress`` counts the files described, directory by directory."""
    with gc_paused():
        return _run_catalog(settings, clock, iris, progress)


def instance_history(iris: IrisPort | None, report: JobReport) -> list[HistoryEntry] | None:
    """The instance's backup history, when a port is given. One that cannot be read is an
    error (the caller asked for it: the chains cannot be confirmed), and the job goes on with
    what the files say."""
    if iris is None:
        return None
    try:
        return iris.backup_history()
    except IrisError as exc:
        report.errors.append(
            f"IRIS's backup history could not be read ({exc}): chains are as the files say, "
            "unconfirmed by the instance"
        )
        return None


def foreign_break_warnings(records: Sequence[BackupRecord]) -> list[str]:
    """One warning per backup whose chain a foreign backup broke: it cannot be restored from
    these directories."""
    return [
        f"{r.path}: not restorable from these directories: {r.note}"
        for r in records
        if r.note and r.note.startswith(BROKEN)
    ]


def _run_catalog(
    settings: CatalogSettings, clock: Clock, iris: IrisPort | None, progress: Progress
) -> JobReport:
    report = lifecycle.begin(
        "catalog",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options={"timezone": settings.timezone},
        iris=iris.adapter_name if iris else None,
    )
    history = instance_history(iris, report)
    try:
        catalog = discover(
            settings.directories,
            resolve_zone(settings.timezone),
            now=report.started,
            history=history,
            progress=progress,
        )
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        return lifecycle.end(
            report, clock=clock, summary="catalog failed: a directory could not be read"
        )
    report.records = catalog_entries(catalog.records, report.started)
    if iris is not None:
        _roll_forward(catalog.records, iris, report)
    report.warnings += catalog.warnings + foreign_break_warnings(catalog.records)
    managed = sum(1 for record in catalog.records if record.managed)
    unmanaged = len(catalog.records) - managed
    summary = f"{len(catalog.records)} backup file(s): {managed} managed, {unmanaged} unmanaged"
    return lifecycle.end(report, clock=clock, summary=summary)


def catalog_entries(records: Iterable[BackupRecord], now: datetime) -> list[RecordEntry]:
    """Each record as a catalog shows it, with its pin (an expired one marked so), which the
    record carries from the one read of its sidecar."""
    entries = []
    for record in records:
        entry = RecordEntry.of(record)
        if record.pin is not None:
            entry.pin = PinEntry.of(record.pin, now)
        entries.append(entry)
    return entries


def _roll_forward(records: Sequence[BackupRecord], iris: IrisPort, report: JobReport) -> None:
    """Each usable backup's roll-forward (journal_coverage.py); a journal list that cannot be
    read makes every one unknown, and says why."""
    try:
        journals = iris.journal_files()
    except IrisError as exc:
        journals = None
        report.warnings.append(
            f"IRIS's journal files could not be listed ({exc}): roll-forward unknown"
        )
    counts = dict.fromkeys(Reach, 0)
    for record in records:
        if not (record.managed and record.status.usable):
            continue
        cover = coverage(required_journal(record, manifest_of(record)), journals)
        counts[cover.reach] += 1
        report.roll_forward[record.path] = RollForward(
            reach=cover.reach.value, first_missing=cover.first_missing, words=cover.words
        )
    report.checked.append(
        f"roll-forward by the journals: {counts[Reach.NOW]} to now, {counts[Reach.BACKUP]} "
        f"only to their own moment, {counts[Reach.UNKNOWN]} unknown"
    )
