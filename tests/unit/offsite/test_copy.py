"""copy_backups with the store double: which backups go, in which order, and what a failure at
each step leaves behind (never a backup that looks complete there, never a local record of a
copy that is not there)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup_keeper.catalog.manifest import parse_manifest
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteObject, RemoteStore
from backup_keeper.offsite.copy import CopyOutcome, copy_backups, purged_count
from backup_keeper.report import FileOutcome
from backup_keeper.settings import CopyTarget
from tests.builders import T0, write_iris_backup
from tests.copy_builders import copies_of, local_chain
from tests.destination_doubles import MemoryStore, Operation
from tests.unit.offsite.backups import FakeTime

URL = "s3://bucket/prefix"
BASE = "s3://bucket/prefix/PROD/"
UTC = ZoneInfo("UTC")
NOW = T0 + timedelta(days=30)


def clock() -> datetime:
    return NOW


def target(**fields: object) -> CopyTarget:
    return CopyTarget.model_validate({"destination": {"url": URL}, **fields})


def opener_of(store: MemoryStore, *, instance: str = "PROD") -> StoreOpener:
    def opener(settings: DestinationSettings, asked: str) -> RemoteStore:
        assert settings.url == URL and asked == instance
        return store

    return opener


def copy(
    directory: Path,
    store: MemoryStore,
    *,
    to: CopyTarget | None = None,
    only: list[str] | None = None,
    dry_run: bool = False,
    attempts: int = 2,
) -> CopyOutcome:
    return copy_backups(
        [directory],
        to or target(),
        opener=opener_of(store),
        zone=UTC,
        clock=clock,
        only=only,
        dry_run=dry_run,
        transfer=FakeTime().transfer(attempts=attempts),
    )


def complete_there(store: MemoryStore) -> set[str]:
    """The backups a remote catalog would trust: those whose sidecar is stored."""
    return {name.removesuffix(".json") for name in store.objects if name.endswith(".cbk.json")}


def test_a_chain_is_copied_oldest_first_each_sidecar_last_and_recorded_locally(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "FII")
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store)
    assert outcome.errors == []
    assert [r.backup for r in outcome.copied] == names
    expected: list[str] = []
    for name in names:
        expected += [name, name.removesuffix(".cbk") + ".log", name + ".json"]
    assert store.stored == expected
    assert all(copies_of(tmp_path, name) == [BASE] for name in names)
    assert outcome.stores == [BASE]
    sent = [a for a in outcome.actions if a.outcome is FileOutcome.COPIED]
    assert [a.path for a in sent][:3] == [f"{BASE}{n}" for n in expected[:3]]
    assert outcome.bytes_sent > 3 * 4096


def test_a_second_run_sends_nothing_and_says_each_backup_is_already_copied(tmp_path: Path) -> None:
    names = local_chain(tmp_path, "FII")
    store = MemoryStore(BASE)
    copy(tmp_path, store)
    store.calls.clear()
    again = copy(tmp_path, store)
    assert again.errors == [] and again.copied == []
    assert again.already == names
    assert store.calls_of("put") == [] and store.calls_of("get") == []
    assert all(a.outcome is FileOutcome.SKIPPED for a in again.actions)
    assert again.actions[0].detail.startswith("already copied (verified 2026-12-01T02:00:00")


def test_a_recorded_copy_that_is_gone_is_sent_again_with_a_warning(tmp_path: Path) -> None:
    names = local_chain(tmp_path, "F")
    store = MemoryStore(BASE)
    copy(tmp_path, store)
    del store.objects[names[0]]
    again = copy(tmp_path, store)
    assert [r.backup for r in again.copied] == names
    assert again.warnings == [f"{BASE}{names[0]}: its recorded copy is gone: sent again"]


def test_with_a_destination_policy_a_recorded_copy_that_is_gone_is_not_sent_again(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "FF")
    store = MemoryStore(BASE)
    to = target(retention={"keep_last": 1})
    copy(tmp_path, store, to=to)
    assert names[0] not in store.objects  # purged there by its own policy
    store.calls.clear()
    again = copy(tmp_path, store, to=to)
    assert again.copied == [] and again.errors == []
    assert store.calls_of("put") == [".backup-keeper-purge-intent.json"] or not store.calls_of(
        "put"
    )
    assert any("purged by the destination's policy" in n for n in again.notes)


def test_the_destination_is_purged_by_its_own_policy_after_a_copy_without_error(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "FIIFII")
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store, to=target(retention={"keep_last": 1}))
    assert outcome.errors == []
    assert purged_count(outcome, dry_run=False) == 3
    assert complete_there(store) == set(names[3:])
    assert all(copies_of(tmp_path, name) == [BASE] for name in names)  # local keeps its records


def test_a_copy_with_an_error_does_not_purge_the_destination(tmp_path: Path) -> None:
    local_chain(tmp_path, "FIIF")
    store = MemoryStore(BASE)
    store.damage_next_put("keeper_F_003.cbk")
    outcome = copy(tmp_path, store, to=target(retention={"keep_last": 1}))
    assert outcome.errors and outcome.purges == []
    assert store.calls_of("delete") == []
    assert f"{BASE.rstrip('/')}: not purged by its policy: the copy had errors" in outcome.warnings


def test_a_dry_run_sends_nothing_and_says_what_would_go(tmp_path: Path) -> None:
    names = local_chain(tmp_path, "FI")
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store, dry_run=True)
    assert outcome.planned == names
    assert store.calls_of("put") == []
    assert [a.outcome for a in outcome.actions] == [FileOutcome.WOULD_COPY] * 2
    assert all(copies_of(tmp_path, name) == [] for name in names)


def test_only_copies_the_named_backup_and_what_a_restore_of_it_needs(tmp_path: Path) -> None:
    names = local_chain(tmp_path, "FIIFI")
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store, only=[names[2]])
    assert [r.backup for r in outcome.copied] == names[:3]


def test_a_backup_known_only_by_its_iris_name_is_not_copied_and_the_run_says_why(
    tmp_path: Path,
) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store)
    assert store.calls == []
    assert outcome.warnings == [
        "1 backup(s) (FullDBList_20261101_001.cbk): not copied: no sidecar describes them, so no "
        "checksum could prove a copy and no remote sidecar could say it is complete (a copy "
        "must be verifiable); back up with backup-keeper to get copies"
    ]


def test_a_pinned_backup_known_only_by_its_iris_name_is_copied(tmp_path: Path) -> None:
    from backup_keeper.checksum import file_checksum
    from backup_keeper.jobs import run_pin
    from backup_keeper.settings import PinSettings
    from tests.progress_recorder import RecordingProgress

    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    progress = RecordingProgress()
    settings = PinSettings.model_validate({"file": str(cbk), "reason": "audit", "timezone": "UTC"})
    assert run_pin(settings, progress=progress).errors == []
    [hashed] = progress.named("checksum")
    assert (hashed.total, hashed.done, hashed.finished) == (cbk.stat().st_size,) * 2 + (True,)
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store, to=target(instance="PROD"))
    assert outcome.errors == [] and outcome.warnings == []
    assert [r.backup for r in outcome.copied] == [cbk.name]
    stored = parse_manifest(store.objects[f"{cbk.name}.json"], expected_file=cbk.name)
    assert stored.checksum == file_checksum(cbk)
    assert stored.pin is not None and stored.pin.reason == "audit"


def test_a_backup_whose_sidecar_names_no_instance_needs_the_target_instance(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "F", instance=None)
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store)
    assert outcome.copied == [] and "set the copy target's instance" in outcome.warnings[0]
    named = copy(tmp_path, store, to=target(instance="PROD"))
    assert [r.backup for r in named.copied] == names


def test_a_backup_that_cannot_be_copied_keeps_its_chain_back_but_not_the_others(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "FIIFI")
    store = MemoryStore(BASE)
    store.damage_next_put(names[0])
    outcome = copy(tmp_path, store)
    assert [r.backup for r in outcome.copied] == names[3:]
    assert outcome.failed == names[:3]
    assert len(outcome.errors) == 1 and "stored bytes differ" in outcome.errors[0]
    assert f"{names[1]}: not copied to {BASE.rstrip('/')}: it builds on {names[0]}" in " ".join(
        outcome.warnings
    )
    assert complete_there(store) == set(names[3:])


def test_a_local_file_that_no_longer_matches_its_sidecar_is_an_error_for_it_alone(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "FF")
    (tmp_path / names[0]).write_bytes(os.urandom(4096))
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store)
    assert [r.backup for r in outcome.copied] == [names[1]]
    assert outcome.errors[0].startswith(f"{names[0]}: not copied to {BASE.rstrip('/')}:")
    assert copies_of(tmp_path, names[0]) == []


@pytest.mark.parametrize("kind", ["credentials", "missing", "full", "unreachable"])
def test_trouble_of_the_destination_itself_stops_the_run_and_says_why(
    tmp_path: Path, kind: FaultKind
) -> None:
    names = local_chain(tmp_path, "FF")
    store = MemoryStore(BASE)
    store.fail("put", kind, times=99)
    outcome = copy(tmp_path, store)
    assert outcome.copied == []
    assert outcome.failed == names
    assert len(outcome.errors) == 1
    assert outcome.stopped is not None and outcome.stopped.startswith(
        f"copy stopped: {BASE.rstrip('/')} is"
    )
    assert store.stored == []


@pytest.mark.parametrize("kind", ["throttled", "corrupt", "failed", "not-found"])
def test_trouble_with_one_backup_does_not_stop_the_others(tmp_path: Path, kind: FaultKind) -> None:
    names = local_chain(tmp_path, "FF")
    store = MemoryStore(BASE)
    store.fail("put", kind, name=names[0], times=99)
    outcome = copy(tmp_path, store)
    assert [r.backup for r in outcome.copied] == [names[1]]
    assert outcome.stopped is None and len(outcome.errors) == 1


def test_a_destination_that_cannot_be_opened_is_an_error_and_nothing_is_copied(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "F")

    def refusing(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise DestinationError("credentials", "access denied (no secret here)")

    outcome = copy_backups([tmp_path], target(), opener=refusing, zone=UTC, clock=clock)
    assert outcome.errors == [f"{BASE.rstrip('/')}: access denied (no secret here)"]
    assert outcome.failed == names and outcome.stopped is not None


OPERATIONS: list[Operation] = ["list", "head", "put", "get", "delete"]
KINDS: list[FaultKind] = [
    "unreachable",
    "credentials",
    "missing",
    "not-found",
    "full",
    "throttled",
    "corrupt",
    "invalid",
    "failed",
]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", [1, 3, 6])
def test_any_store_call_failing_leaves_no_false_record_and_nothing_falsely_complete(
    tmp_path: Path, operation: Operation, kind: FaultKind, call: int
) -> None:
    """Whatever call fails, with whatever kind: the run ends with an outcome (never raises), a
    local record of a copy exists only for a backup whose sidecar and bytes are stored, and a
    stored sidecar is only ever beside its whole backup."""
    names = local_chain(tmp_path, "FII")
    store = MemoryStore(BASE)
    store.fail(operation, kind, call=call, times=99)
    outcome = copy(tmp_path, store, to=target(retention={"keep_last": 1}), attempts=1)
    for name in names:
        if copies_of(tmp_path, name):
            assert name + ".json" in store.objects
    for name in complete_there(store):
        local = (tmp_path / name).read_bytes()
        assert store.objects[name] == local
        stored = parse_manifest(store.objects[name + ".json"], expected_file=name)
        assert stored.checksum is not None
    if outcome.errors:
        assert outcome.purges == []


class SidecarSaboteur(MemoryStore):
    """Stores as usual, but once a sidecar is stored, the local one is swapped for a symlink:
    the local record of the copy can then not be written (a sidecar is never followed)."""

    def __init__(self, url: str, directory: Path) -> None:
        super().__init__(url)
        self.directory = directory

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        stored = super().put(name, chunks)
        if name.endswith(".cbk.json"):
            local = self.directory / name
            moved = local.with_name(name + ".moved")
            local.rename(moved)
            local.symlink_to(moved)
        return stored


def test_a_local_sidecar_that_cannot_record_the_copy_is_an_error_that_says_so(
    tmp_path: Path,
) -> None:
    names = local_chain(tmp_path, "F")
    store = SidecarSaboteur(BASE, tmp_path)
    outcome = copy(tmp_path, store)
    assert outcome.copied == []
    assert len(outcome.errors) == 1
    assert "is copied and verified at" in outcome.errors[0]
    assert "its local sidecar could not record it" in outcome.errors[0]
    assert names[0] + ".json" in store.objects  # the copy itself is complete there


def test_a_snapshot_record_is_noted_not_copied(tmp_path: Path) -> None:
    from backup_keeper.catalog.manifest import Manifest, write_manifest
    from backup_keeper.kinds import BackupKind

    write_manifest(
        tmp_path / "keeper_external_20261101T020000Z.snapshot",
        Manifest(
            file="keeper_external_20261101T020000Z.snapshot",
            kind=BackupKind.EXTERNAL,
            status="completed",
            started=T0,
            size=0,
            instance="PROD",
            tool_version="0.1.0",
        ),
    )
    store = MemoryStore(BASE)
    outcome = copy(tmp_path, store)
    assert store.calls == [] and outcome.errors == []
    assert outcome.notes and "nothing to copy" in outcome.notes[0]


def test_a_pin_made_after_the_copy_travels_with_the_next_copy_run(tmp_path: Path) -> None:
    from backup_keeper.catalog.manifest import read_manifest, sidecar_path, write_manifest
    from backup_keeper.catalog.pin import Pin

    names = local_chain(tmp_path, "FI")
    store = MemoryStore(BASE)
    copy(tmp_path, store)
    local = read_manifest(sidecar_path(tmp_path / names[0]), expected_file=names[0])
    pinned = Pin(reason="legal hold", pinned=NOW)
    write_manifest(tmp_path / names[0], local.model_copy(update={"pin": pinned}))
    store.calls.clear()
    dry = copy(tmp_path, store, dry_run=True)
    assert store.calls_of("put") == []
    assert [a.path for a in dry.actions if a.outcome is FileOutcome.WOULD_COPY] == [
        f"{BASE}{names[0]}.json"
    ]
    again = copy(tmp_path, store)
    assert again.errors == []
    assert store.calls_of("put") == [f"{names[0]}.json"]
    stored = parse_manifest(store.objects[f"{names[0]}.json"], expected_file=names[0])
    assert stored.pin == pinned
    assert stored == read_manifest(sidecar_path(tmp_path / names[0]), expected_file=names[0])
    store.calls.clear()
    third = copy(tmp_path, store)
    assert store.calls_of("put") == [] and store.calls_of("get") == []
    assert third.already == names


def test_an_unpin_travels_too(tmp_path: Path) -> None:
    from backup_keeper.catalog.manifest import read_manifest, sidecar_path, write_manifest
    from backup_keeper.catalog.pin import Pin

    [name] = local_chain(tmp_path, "F")
    local = read_manifest(sidecar_path(tmp_path / name), expected_file=name)
    write_manifest(tmp_path / name, local.model_copy(update={"pin": Pin(reason="r", pinned=NOW)}))
    store = MemoryStore(BASE)
    copy(tmp_path, store)
    assert parse_manifest(store.objects[f"{name}.json"], expected_file=name).pin is not None
    local = read_manifest(sidecar_path(tmp_path / name), expected_file=name)
    write_manifest(tmp_path / name, local.model_copy(update={"pin": None}))
    store.calls.clear()
    copy(tmp_path, store)
    assert store.calls_of("put") == [f"{name}.json"]
    assert parse_manifest(store.objects[f"{name}.json"], expected_file=name).pin is None
