"""Restore planning and restore from a destination: the directory's planner over the stored
catalog, then the chain fetched (proved, decrypted) into a new staging directory and restored
from there by the local restore job; any fetch or decrypt failure restores nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.remote_settings import (
    RemoteRestorePlanSettings,
    RemoteRestoreSettings,
)
from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteStore
from backup_keeper.encryption import identity_fingerprints
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_remote_restore, run_remote_restore_plan
from backup_keeper.jobs.remote_restore_plan import FETCH_STEP
from backup_keeper.offsite.upload import UploadResult
from backup_keeper.report import JobReport, JobStatus, report_json
from tests.destination_doubles import MemoryStore
from tests.remote_builders import age_identity, copy_chain, take_chain
from tests.unit.offsite.backups import FakeTime

URL = "s3://bucket/prefix"
BASE = "s3://bucket/prefix/PROD"
TAKEN = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
NOW = TAKEN + timedelta(days=2)
USER = "/usr/irissys/mgr/user/"
STAGING = "/staging/user/"


@dataclass
class Copied:
    fake: FakeIris
    files: list[Path]
    results: list[UploadResult]
    store: MemoryStore
    identity: Path
    parent: Path
    """Where staging directories are made."""

    def stored(self, index: int) -> str:
        return self.results[index].copy.object


@pytest.fixture
def copied(tmp_path: Path) -> Copied:
    """A full and two incrementals by FakeIris, copied; the first incremental encrypted to an
    age key made here."""
    fake = FakeIris(tmp_path / "iris")
    files = take_chain(
        tmp_path / "iris", tmp_path / "backups", ["full", "incremental", "incremental"], start=TAKEN
    )
    identity, recipient = age_identity(tmp_path)
    store = MemoryStore(BASE)
    results = copy_chain(files, store, at=TAKEN + timedelta(days=1), encrypted={1: [recipient]})
    parent = tmp_path / "stage"
    parent.mkdir()
    store.calls.clear()
    return Copied(fake, files, results, store, identity, parent)


def opener_of(store: MemoryStore) -> StoreOpener:
    def opener(settings: DestinationSettings, instance: str) -> RemoteStore:
        assert settings.url == URL and instance == "PROD"
        return store

    return opener


def plan(store: MemoryStore, **fields: Any) -> JobReport:
    settings = RemoteRestorePlanSettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD", "timezone": "UTC"} | fields
    )
    return run_remote_restore_plan(settings, clock=fixed_clock(NOW), opener=opener_of(store))


def restore(copied: Copied, **fields: Any) -> JobReport:
    settings = RemoteRestoreSettings.model_validate(
        {
            "destination": {"url": URL},
            "instance": "PROD",
            "timezone": "UTC",
            "staging": copied.parent,
            "identity_file": copied.identity,
            "directory_map": {USER: STAGING},
        }
        | fields
    )
    return run_remote_restore(
        settings,
        iris=copied.fake,
        clock=fixed_clock(NOW),
        opener=opener_of(copied.store),
        transfer=FakeTime().transfer(attempts=2),
    )


def nothing_restored(copied: Copied) -> None:
    assert copied.fake.snapshot().restored == []
    assert list(copied.parent.iterdir()) == []


# -- the plan -----------------------------------------------------------------------------------


def test_the_plan_of_a_destination_names_the_stored_objects_in_restore_order(
    copied: Copied,
) -> None:
    report = plan(copied.store)
    assert report.status is JobStatus.OK, report.errors
    assert report.restore is not None
    assert [f.path for f in report.restore.files] == [
        f"{BASE}/{copied.stored(i)}" for i in range(3)
    ]
    assert copied.stored(1).endswith(".cbk.age")
    assert report.restore.steps[0] == FETCH_STEP
    assert USER in report.restore.databases
    assert report.restore.journal_start
    assert report.summary.startswith("restore 3 file(s) to ")
    assert report.dry_run and report.directories == [BASE]
    assert copied.store.calls_of("get") == [r.backup + ".json" for r in copied.results] * 2
    json.loads(report_json(report))


def test_a_plan_at_a_moment_restores_the_chain_up_to_it(copied: Copied) -> None:
    report = plan(copied.store, at=(TAKEN + timedelta(hours=5)).isoformat())
    assert report.restore is not None
    assert [f.path for f in report.restore.files] == [
        f"{BASE}/{copied.stored(i)}" for i in range(2)
    ]


def test_a_chain_without_a_copy_record_falls_back_to_the_newest_restorable_moment(
    copied: Copied,
) -> None:
    sidecar = copied.results[2].backup + ".json"
    raw = json.loads(copied.store.objects[sidecar])
    del raw["copies"]
    copied.store.objects[sidecar] = json.dumps(raw).encode()
    report = plan(copied.store)
    assert report.restore is not None
    assert len(report.restore.files) == 2
    assert report.restore.fallback and "no copy record" in report.restore.fallback


def test_a_destination_with_no_restorable_backup_has_no_plan() -> None:
    report = plan(MemoryStore(BASE))
    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("no restorable backup: no completed backup")


@pytest.mark.parametrize("where", ["open", "list"])
def test_a_destination_that_cannot_be_read_has_no_plan(where: str) -> None:
    store = MemoryStore(BASE)
    store.fail("list", "credentials")

    def refused(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise DestinationError("unreachable", "connection refused")

    settings = RemoteRestorePlanSettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD"}
    )
    opener = refused if where == "open" else opener_of(store)
    report = run_remote_restore_plan(settings, clock=fixed_clock(NOW), opener=opener)
    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("no plan: destination not")


# -- the restore ----------------------------------------------------------------------------------


def test_a_chain_restores_from_a_destination_through_staging_that_is_then_removed(
    copied: Copied,
) -> None:
    report = restore(copied)
    assert report.status is JobStatus.OK, report.errors
    restored = [Path(p) for p in copied.fake.snapshot().restored]
    assert [p.name for p in restored] == [f.name for f in copied.files]
    assert len({p.parent for p in restored}) == 1
    assert restored[0].parent.parent == copied.parent
    assert list(copied.parent.iterdir()) == []
    fetched = [line for line in report.checked if line.startswith("fetched ")]
    assert len(fetched) == 3 and ", decrypted," in fetched[1]
    assert report.summary == f"restored 3 file(s) (fetched from {BASE})"
    assert copied.store.closed


def test_a_kept_staging_directory_holds_the_chain_byte_for_byte(copied: Copied) -> None:
    report = restore(copied, keep_staging=True)
    assert report.status is JobStatus.OK, report.errors
    [staging] = list(copied.parent.iterdir())
    for original in copied.files:
        assert (staging / original.name).read_bytes() == original.read_bytes()
    assert str(staging) in report.summary


def test_an_encrypted_chain_without_an_identity_is_refused_before_any_fetch(
    copied: Copied,
) -> None:
    report = restore(copied, identity_file=None)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert "encrypted with age to age SHA256:" in error
    assert all(name.endswith(".json") for name in copied.store.calls_of("get"))
    nothing_restored(copied)


def test_a_wrong_identity_names_both_sides_fingerprints_before_any_fetch(
    copied: Copied, tmp_path: Path
) -> None:
    wrong, _ = age_identity(tmp_path, "wrong.txt")
    report = restore(copied, identity_file=wrong)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    [held] = identity_fingerprints(wrong)
    assert copied.results[1].copy.recipients[0] in error
    assert f"the identity file holds {held}" in error
    assert all(name.endswith(".json") for name in copied.store.calls_of("get"))
    nothing_restored(copied)


def test_an_identity_file_without_a_key_restores_nothing(copied: Copied, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not a key\n")
    report = restore(copied, identity_file=bad)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert error.startswith(f"{BASE}/{copied.stored(1)}: identity file ")
    assert "holds no age private key" in error
    nothing_restored(copied)


def test_an_identity_decryption_refuses_names_the_recipients_and_restores_nothing(
    copied: Copied, tmp_path: Path
) -> None:
    """An ssh identity has no age fingerprint to compare beforehand: age itself refuses."""
    ssh_key = tmp_path / "id_ed25519"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(ssh_key)
    report = restore(copied, identity_file=ssh_key)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert f"the identity file {ssh_key} cannot decrypt it" in error
    assert copied.results[1].copy.recipients[0] in error
    assert "the identity file holds no age key" in error
    nothing_restored(copied)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["full", "encrypted", "last"])
def test_a_corrupted_stored_object_restores_nothing_and_leaves_no_staging(
    copied: Copied, index: int
) -> None:
    copied.store.damage(copied.stored(index))
    report = restore(copied)
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert error.startswith(f"{BASE}/{copied.stored(index)}: corrupt: ")
    assert report.summary.startswith(f"restore not run: fetching file {index + 1} of 3")
    nothing_restored(copied)


@pytest.mark.parametrize("kind", ["unreachable", "throttled", "credentials", "failed"])
def test_a_fetch_failing_mid_stream_restores_nothing(copied: Copied, kind: FaultKind) -> None:
    copied.store.fail("get", kind, name=copied.stored(2), after_bytes=1, times=5)
    report = restore(copied)
    assert report.status is JobStatus.FAILED
    assert kind in report.errors[0]
    nothing_restored(copied)


def test_an_object_gone_after_the_plan_restores_nothing(copied: Copied) -> None:
    copied.store.fail("get", "not-found", name=copied.stored(1))
    report = restore(copied)
    assert report.status is JobStatus.FAILED
    nothing_restored(copied)


def test_restore_is_refused_on_a_mirror_primary_before_anything_is_fetched(
    copied: Copied,
) -> None:
    copied.fake.configure(mirror_member=1, mirror_primary=True)
    report = restore(copied)
    assert report.status is JobStatus.FAILED
    assert report.summary == "restore refused on the mirror primary"
    assert copied.store.calls == []
    nothing_restored(copied)


def test_restore_without_a_map_is_refused_before_anything_is_fetched(copied: Copied) -> None:
    report = restore(copied, directory_map={})
    assert report.status is JobStatus.FAILED
    assert "no --map given" in report.errors[0]
    assert copied.store.calls == []


def test_the_local_refusal_rules_apply_to_the_staged_chain(copied: Copied) -> None:
    """A map onto a system database in place is refused by the local restore, unchanged."""
    report = restore(copied, directory_map={"/usr/irissys/mgr/": "/usr/irissys/mgr/"})
    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("restore refused: ")
    nothing_restored(copied)


def test_an_unreachable_destination_restores_nothing(copied: Copied) -> None:
    def refused(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise DestinationError("unreachable", "connection refused")

    settings = RemoteRestoreSettings.model_validate(
        {
            "destination": {"url": URL},
            "instance": "PROD",
            "staging": copied.parent,
            "directory_map": {USER: STAGING},
        }
    )
    report = run_remote_restore(settings, iris=copied.fake, clock=fixed_clock(NOW), opener=refused)
    assert report.summary == "restore not run: destination not reached"
    nothing_restored(copied)


def test_nothing_restorable_at_a_destination_fetches_nothing(copied: Copied) -> None:
    report = restore(copied, at=(TAKEN - timedelta(days=1)).isoformat())
    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("nothing restorable: ")
    nothing_restored(copied)
