"""The copy job's entry point: its report, its summary, and that it never raises."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from backup_keeper.alerts.events import EventKind, events_for
from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.store import RemoteStore
from backup_keeper.jobs import run_copy
from backup_keeper.report import FileOutcome, JobReport, report_json
from backup_keeper.settings import CopySettings
from tests.builders import T0
from tests.copy_builders import local_chain
from tests.destination_doubles import MemoryStore

URL = "s3://bucket/prefix"
BASE = "s3://bucket/prefix/PROD/"
NOW = T0 + timedelta(days=30)


class Told:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


def settings(directory: Path, **to: object) -> CopySettings:
    dry_run = bool(to.pop("dry_run", False))
    return CopySettings.model_validate(
        {
            "directories": [directory],
            "timezone": "UTC",
            "dry_run": dry_run,
            "to": {"destination": {"url": URL}, **to},
        }
    )


def opener_of(store: MemoryStore) -> StoreOpener:
    def opener(settings: DestinationSettings, instance: str) -> RemoteStore:
        return store

    return opener


def test_a_copy_reports_each_object_and_sums_up_what_went_and_what_was_there(
    tmp_path: Path,
) -> None:
    local_chain(tmp_path, "FIIFII", size=1024)
    store = MemoryStore(BASE)
    told = Told()
    first = run_copy(
        settings(tmp_path, retention={"keep_last": 1}),
        clock=fixed_clock(NOW),
        notifier=told,
        opener=opener_of(store),
    )
    assert first.job == "copy" and first.status == "ok"
    assert first.summary == (
        "copied 6 backup(s) (6.0 KiB) to s3://bucket/prefix/PROD, 0 already there; purged 3 there"
    )
    assert first.options["to"] == URL and first.options["keep_last"] == 1
    assert {a.outcome for a in first.actions} == {FileOutcome.COPIED, FileOutcome.DELETED}
    assert told.reports == [first]
    second = run_copy(
        settings(tmp_path, retention={"keep_last": 1}),
        clock=fixed_clock(NOW),
        opener=opener_of(store),
    )
    assert second.summary == (
        "copied 0 backup(s) (0 B) to s3://bucket/prefix/PROD, 6 already there; purged 0 there"
    )
    assert second.status == "ok"
    assert '"to": "s3://bucket/prefix"' in report_json(first)


def test_a_dry_run_copies_nothing_and_says_what_would_go(tmp_path: Path) -> None:
    local_chain(tmp_path, "FI")
    store = MemoryStore(BASE)
    report = run_copy(
        settings(tmp_path, dry_run=True), clock=fixed_clock(NOW), opener=opener_of(store)
    )
    assert report.dry_run and store.stored == []
    assert (
        report.summary
        == "dry run: would copy 2 backup(s) to s3://bucket/prefix/PROD, 0 already there"
    )


def test_a_failed_copy_fails_the_job_and_reaches_the_notifier_as_a_copy_failure(
    tmp_path: Path,
) -> None:
    local_chain(tmp_path, "FF")
    store = MemoryStore(BASE)
    store.fail("put", "credentials", times=99)
    told = Told()
    report = run_copy(
        settings(tmp_path), clock=fixed_clock(NOW), notifier=told, opener=opener_of(store)
    )
    assert report.status == "failed"
    assert "2 not copied" in report.summary
    assert report.errors[-1].startswith("copy stopped: s3://bucket/prefix/PROD is refusing")
    assert told.reports == [report]
    events = events_for(report, "PROD", NOW)
    assert [e.kind for e in events] == [EventKind.COPY_FAILED]


def test_an_opener_that_raises_anything_is_a_failed_report_never_a_traceback(
    tmp_path: Path,
) -> None:
    local_chain(tmp_path, "F")

    def broken(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise RuntimeError("a bug in a store")

    report = run_copy(settings(tmp_path), clock=fixed_clock(NOW), opener=broken)
    assert report.status == "failed"
    assert report.summary.startswith("copy failed: ")
