"""copy_to on the backup jobs (FakeIris): the new backup reaches each destination before the
local purge, and a failed copy fails the job, alerts as a copy failure and deletes nothing
locally that is not copied."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.alerts.events import EventKind, events_for
from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.store import RemoteStore
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_external_backup, run_online_backup
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import BackupSettings, ExternalBackupSettings
from tests.copy_builders import copies_of, local_chain
from tests.destination_doubles import MemoryStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
URL = "s3://bucket/prefix"


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    return FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


def opener_of(store: MemoryStore, seen: list[str]) -> StoreOpener:
    def opener(settings: DestinationSettings, instance: str) -> RemoteStore:
        seen.append(instance)
        store.url = f"{URL}/{instance}/"
        return store

    return opener


def backup(
    fake: FakeIris, target: Path, store: MemoryStore, day: int, *, seen: list[str] | None = None
) -> JobReport:
    fake.clock = fixed_clock(NOW + timedelta(days=day))
    return run_online_backup(
        BackupSettings.model_validate(
            {
                "directory": target,
                "kind": "full",
                "timezone": "UTC",
                "retention": {"keep_last": 1},
                "copy_to": [{"destination": {"url": URL}}],
            }
        ),
        iris=fake,
        clock=fixed_clock(NOW + timedelta(days=day)),
        opener=opener_of(store, seen if seen is not None else []),
    )


def cbks(target: Path) -> list[str]:
    return sorted(p.name for p in target.glob("*.cbk"))


def test_each_backup_is_copied_before_the_local_purge_which_then_may_delete_it(
    fake: FakeIris, target: Path
) -> None:
    store = MemoryStore()
    seen: list[str] = []
    reports = [backup(fake, target, store, day, seen=seen) for day in range(3)]
    assert [r.status for r in reports] == [JobStatus.OK] * 3, reports[-1].errors
    sidecars = sorted(n for n in store.objects if n.endswith(".cbk.json"))
    assert len(sidecars) == 3  # all three reached the destination
    assert len(cbks(target)) == 1  # and the local purge then kept the newest only
    assert copies_of(target, cbks(target)[0]) == [store.url]
    assert "; copied 1 backup(s)" in reports[-1].summary
    assert seen == [fake.instance().name] * 3


def test_a_failed_copy_fails_the_job_alerts_as_a_copy_failure_and_keeps_the_uncopied(
    fake: FakeIris, target: Path
) -> None:
    store = MemoryStore()
    store.fail("put", "credentials", times=999)
    first = backup(fake, target, store, 0)
    second = backup(fake, target, store, 1)
    for report in (first, second):
        assert report.status is JobStatus.FAILED
        assert report.backup is not None and report.backup.result == "completed"
        assert all(e.startswith("copy: ") for e in report.errors)
        assert [e.kind for e in events_for(report, "IRIS", NOW)] == [EventKind.COPY_FAILED]
    assert len(cbks(target)) == 2  # keep_last 1 would delete the first: it is not copied
    held = {Path(e.path).name: e.reasons for e in second.keep}
    assert any(r.startswith(f"not yet copied to {URL}") for r in held[cbks(target)[0]])
    assert store.stored == []


def test_a_copy_that_recovers_copies_every_backup_not_yet_there_oldest_first(
    fake: FakeIris, target: Path
) -> None:
    store = MemoryStore()
    store.fail("put", "full", times=999)
    backup(fake, target, store, 0)
    store.faults.clear()
    report = backup(fake, target, store, 1)
    assert report.status is JobStatus.OK, report.errors
    backups = [n for n in store.stored if n.endswith(".cbk")]
    assert backups == sorted(backups) and len(backups) == 2
    assert len(cbks(target)) == 1


def test_a_snapshot_job_copies_the_directorys_backup_files_not_yet_there(
    fake: FakeIris, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    names = local_chain(catalog, "FI", instance="IRIS")
    store = MemoryStore()
    report = run_external_backup(
        ExternalBackupSettings.model_validate(
            {
                "directory": catalog,
                "command": [sys.executable, "-c", "print('snap-1')"],
                "copy_to": [{"destination": {"url": URL}}],
            }
        ),
        iris=fake,
        clock=fixed_clock(NOW),
        opener=opener_of(store, []),
    )
    assert report.status is JobStatus.OK, report.errors
    assert [n for n in store.stored if n.endswith(".cbk")] == names
    assert any("nothing to copy" in line for line in report.checked)
    assert report.options["copy_to"] == [URL]
