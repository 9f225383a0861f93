"""The verify of a destination: stored bytes read back and checked against their copy records
(an encrypted copy without any key), every failure a finding, a failed report and an alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.remote_settings import RemoteVerifySettings
from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteStore
from backup_keeper.jobs import run_remote_verify
from backup_keeper.offsite.upload import UploadResult
from backup_keeper.report import JobReport, JobStatus, report_json
from tests.destination_doubles import MemoryStore
from tests.progress_recorder import RecordingProgress
from tests.remote_builders import age_identity, copy_chain, store_chain, take_chain
from tests.unit.offsite.backups import FakeTime

URL = "s3://bucket/prefix"
BASE = "s3://bucket/prefix/PROD"
TAKEN = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
NOW = TAKEN + timedelta(days=2)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


def opener_of(store: MemoryStore) -> StoreOpener:
    def opener(settings: DestinationSettings, instance: str) -> RemoteStore:
        assert settings.url == URL and instance == "PROD"
        return store

    return opener


def verify(
    store: MemoryStore, *, sample: int | None = None, notifier: Recorder | None = None
) -> JobReport:
    settings = RemoteVerifySettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD", "timezone": "UTC", "sample": sample}
    )
    store.calls.clear()  # what the copy read back is not the verify's
    return run_remote_verify(
        settings,
        clock=fixed_clock(NOW),
        opener=opener_of(store),
        notifier=notifier,
        transfer=FakeTime().transfer(attempts=2),
    )


@pytest.fixture
def copied(tmp_path: Path) -> tuple[MemoryStore, list[UploadResult]]:
    """A full and two incrementals copied, the first incremental encrypted to a key the
    verify never sees."""
    files = take_chain(
        tmp_path / "iris", tmp_path / "backups", ["full", "incremental", "incremental"], start=TAKEN
    )
    _, recipient = age_identity(tmp_path)
    store = MemoryStore(BASE)
    return store, copy_chain(files, store, at=TAKEN + timedelta(days=1), encrypted={1: [recipient]})


def stored(results: list[UploadResult], index: int) -> str:
    return results[index].copy.object


def test_an_intact_chain_is_verified_without_any_key(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    notifier = Recorder()
    report = verify(store, notifier=notifier)
    assert report.status is JobStatus.OK, report.errors
    assert report.summary == "verified 3 stored backup(s): all intact"
    assert [r.reasons for r in report.records] == [("verified",)] * 3
    assert stored(results, 1).endswith(".cbk.age")
    assert sorted(store.calls_of("get")) == sorted(
        [r.copy.object for r in results] + [r.backup + ".json" for r in results] * 2
    )
    assert report.directories == [BASE]
    assert notifier.reports == [report]
    assert store.closed
    json.loads(report_json(report))


def test_progress_counts_the_bytes_read_back(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    progress = RecordingProgress()
    settings = RemoteVerifySettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD"}
    )
    run_remote_verify(settings, clock=fixed_clock(NOW), opener=opener_of(store), progress=progress)
    [bar] = progress.named("verify")
    assert bar.unit == "bytes" and bar.finished
    assert bar.total == bar.done == sum(r.copy.size for r in results)


@pytest.mark.parametrize("index", [0, 1], ids=["plain", "encrypted"])
def test_a_corrupted_stored_object_fails_the_verify_and_alerts(
    copied: tuple[MemoryStore, list[UploadResult]], index: int
) -> None:
    store, results = copied
    store.damage(stored(results, index))
    notifier = Recorder()
    report = verify(store, notifier=notifier)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert error.startswith(f"{BASE}/{stored(results, index)}: corrupt: the stored bytes'")
    assert report.summary == "verified 3 stored backup(s): 1 problem(s)"
    assert notifier.reports[0].status is JobStatus.FAILED


@pytest.mark.parametrize("kind", ["unreachable", "throttled", "credentials", "failed"])
def test_a_read_failing_mid_stream_is_an_unreadable_finding(
    copied: tuple[MemoryStore, list[UploadResult]], kind: FaultKind
) -> None:
    store, results = copied
    store.fail("get", kind, name=stored(results, 2), after_bytes=1, times=5)
    report = verify(store)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert error.startswith(f"{BASE}/{stored(results, 2)}: unreadable: ")
    assert kind in error


def test_a_passing_fault_is_retried_and_noted(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    store.fail("get", "throttled", name=stored(results, 0), after_bytes=1)
    report = verify(store)
    assert report.status is JobStatus.OK, report.errors
    assert any("tried again" in w for w in report.warnings)


def test_an_object_gone_after_the_listing_is_missing(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    store.fail("get", "not-found", name=stored(results, 0))
    report = verify(store)
    assert report.errors == [
        f"{BASE}/{stored(results, 0)}: missing: listed, but the destination no longer holds it"
    ]


def test_a_sidecar_stored_without_its_object_is_missing(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    del store.objects[stored(results, 2)]
    report = verify(store)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"{BASE}/{results[2].backup}.json: missing: its sidecar is stored without its backup"
    ]


@pytest.mark.parametrize("change", [-1, 1], ids=["shorter", "longer"])
def test_a_stored_object_of_another_size_differs_without_being_read(
    copied: tuple[MemoryStore, list[UploadResult]], change: int
) -> None:
    store, results = copied
    name = stored(results, 0)
    data = store.objects[name]
    store.objects[name] = data[:-1] if change < 0 else data + b"x"
    report = verify(store)
    [error] = report.errors
    assert error.startswith(f"{BASE}/{name}: size differs: {len(data) + change} bytes stored")
    assert name not in store.calls_of("get")


class ServesOtherBytes(MemoryStore):
    """Lists the recorded size, serves ``extra`` bytes more (or fewer, when negative)."""

    def __init__(self, url: str, extra: int) -> None:
        super().__init__(url)
        self.extra = extra

    def get(self, name: str) -> Iterator[bytes]:
        chunks = super().get(name)
        if name.endswith(".json"):
            return chunks
        data = b"".join(chunks)
        return iter([data + b"x" * self.extra if self.extra > 0 else data[: self.extra]])


@pytest.mark.parametrize(
    ("extra", "finding"),
    [(1, "is larger than the"), (-1, "bytes read back, its copy record says")],
    ids=["more", "fewer"],
)
def test_bytes_served_other_than_listed_are_corrupt(
    tmp_path: Path, extra: int, finding: str
) -> None:
    files = take_chain(tmp_path / "iris", tmp_path / "b", ["full"], start=TAKEN)
    honest = MemoryStore(BASE)
    copy_chain(files, honest, at=NOW)
    store = ServesOtherBytes(BASE, extra)
    store.objects, store.modified = honest.objects, honest.modified
    report = verify(store)
    [error] = report.errors
    assert ": corrupt: " in error and finding in error


def test_a_sidecar_without_a_copy_record_is_a_finding() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "FI")
    report = verify(store)
    assert report.status is JobStatus.FAILED
    assert len(report.errors) == 2
    assert all(
        "no copy record: its sidecar records no verified copy of" in e for e in report.errors
    )


def test_a_hostile_sidecar_is_an_unreadable_sidecar_and_its_object_unmanaged(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    sidecar = results[2].backup + ".json"
    raw = json.loads(store.objects[sidecar])
    raw["copies"][0]["object"] = "../../etc/passwd"
    store.objects[sidecar] = json.dumps(raw).encode()
    report = verify(store)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert error.startswith(f"{BASE}/{sidecar}: unreadable sidecar: ")
    assert error.endswith("its backup is unmanaged until it is fixed")
    assert stored(results, 2) not in store.calls_of("get")
    assert report.summary == (
        "verified 2 stored backup(s): 1 problem(s); 1 unmanaged object(s), not verified"
    )


def test_a_huge_planted_sidecar_costs_one_chunk(
    copied: tuple[MemoryStore, list[UploadResult]],
) -> None:
    store, results = copied
    store.objects[results[0].backup + ".json"] = b"{" * (64 << 20)
    report = verify(store)
    assert report.status is JobStatus.FAILED
    assert any("unreadable sidecar: sidecar is larger than" in e for e in report.errors)


def test_a_sample_reads_back_only_the_newest_chains(tmp_path: Path) -> None:
    files = take_chain(
        tmp_path / "iris",
        tmp_path / "b",
        ["full", "incremental", "full", "incremental"],
        start=TAKEN,
    )
    store = MemoryStore(BASE)
    results = copy_chain(files, store, at=NOW)
    report = verify(store, sample=1)
    assert report.status is JobStatus.OK, report.errors
    read = {name for name in store.calls_of("get") if not name.endswith(".json")}
    assert read == {stored(results, 2), stored(results, 3)}
    assert report.summary == "verified 2 stored backup(s): all intact"


def test_an_unreachable_destination_fails_the_verify_and_alerts() -> None:
    def refused(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise DestinationError("unreachable", "connection refused")

    notifier = Recorder()
    settings = RemoteVerifySettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD"}
    )
    report = run_remote_verify(settings, clock=fixed_clock(NOW), opener=refused, notifier=notifier)
    assert report.status is JobStatus.FAILED
    assert report.summary == "verify failed: destination not reached"
    assert notifier.reports == [report]


def test_a_destination_that_cannot_be_listed_fails_the_verify() -> None:
    store = MemoryStore(BASE)
    store.fail("list", "credentials")
    report = verify(store)
    assert report.status is JobStatus.FAILED
    assert report.summary == "verify failed: destination not read"
    assert store.closed


def test_an_empty_destination_has_nothing_to_verify() -> None:
    report = verify(MemoryStore(BASE))
    assert report.status is JobStatus.OK
    assert report.summary == "nothing to verify: no backup found"


def test_an_object_no_sidecar_describes_is_listed_unmanaged_not_verified() -> None:
    store = MemoryStore(BASE)
    store.objects["stray.cbk"] = b"x"
    store.modified["stray.cbk"] = TAKEN
    report = verify(store)
    assert report.status is JobStatus.OK
    assert report.summary == "no stored backup verified: 1 unmanaged object(s), not verified"
