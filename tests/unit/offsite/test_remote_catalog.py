"""The catalog of a destination: only what a stored sidecar describes is a managed backup."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backup_keeper.catalog.record import RecordSource
from backup_keeper.destinations.store import DestinationError
from backup_keeper.kinds import BackupKind
from backup_keeper.offsite.remote_catalog import discover_remote
from tests.builders import T0
from tests.destination_doubles import MemoryStore
from tests.remote_builders import store_backup, store_chain

BASE = "mem://bucket/prefix/PROD"


def test_a_stored_chain_is_catalogued_with_its_links_sidecars_and_logs() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FII")
    catalog = discover_remote(store)
    assert [r.path for r in catalog.records] == [f"{BASE}/{n}" for n in names]
    assert all(r.source is RecordSource.SIDECAR for r in catalog.records)
    assert catalog.records[2].chain == (f"{BASE}/{names[0]}", f"{BASE}/{names[1]}")
    assert catalog.records[0].companions == (
        f"{BASE}/{names[0]}.json",
        f"{BASE}/keeper_F_000.log",
    )
    assert catalog.warnings == []


def test_an_object_without_its_sidecar_is_an_unfinished_copy_and_unmanaged() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "F")
    store.objects["keeper_I_001.cbk"] = b"half"
    store.modified["keeper_I_001.cbk"] = T0
    catalog = discover_remote(store)
    unfinished = next(r for r in catalog.records if r.path.endswith("keeper_I_001.cbk"))
    assert unfinished.source is RecordSource.UNMANAGED
    assert "copy that did not finish" in (unfinished.note or "")


def test_a_sidecar_without_its_object_is_a_warning_and_no_record() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FI")
    del store.objects[names[1]]
    catalog = discover_remote(store)
    assert [r.path for r in catalog.records] == [f"{BASE}/{names[0]}"]
    assert catalog.warnings == [f"{BASE}/{names[1]}.json: sidecar without its backup object"]


@pytest.mark.parametrize(
    ("sidecar", "why"),
    [
        (b"{not json", "does not parse"),
        (b'{"format": "backup-keeper/1"}', "does not parse"),
        (b"", "empty"),
    ],
)
def test_a_sidecar_that_cannot_be_trusted_leaves_its_object_unmanaged(
    sidecar: bytes, why: str
) -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "F")
    store.objects[names[0] + ".json"] = sidecar
    catalog = discover_remote(store)
    (only,) = catalog.records
    assert only.source is RecordSource.UNMANAGED
    assert why in (only.note or "")
    assert any(why in w for w in catalog.warnings)


def test_a_sidecar_describing_another_file_does_not_make_this_one_managed() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FI")
    store.objects[names[1] + ".json"] = store.objects[names[0] + ".json"]
    catalog = discover_remote(store)
    second = next(r for r in catalog.records if r.path.endswith(names[1]))
    assert second.source is RecordSource.UNMANAGED


def test_a_huge_planted_sidecar_is_refused_after_its_first_chunk() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "F")
    store.objects[names[0] + ".json"] = b" " * (3 << 20)
    catalog = discover_remote(store)
    assert catalog.records[0].source is RecordSource.UNMANAGED
    assert any("larger than 1 MiB" in w for w in catalog.warnings)


def test_an_encrypted_copy_is_the_object_its_sidecar_describes() -> None:
    store = MemoryStore(BASE)
    stored = store_backup(store, "keeper_F.cbk", BackupKind.FULL, T0, encrypted=True)
    (only,) = discover_remote(store).records
    assert only.path == f"{BASE}/{stored}"
    assert only.source is RecordSource.SIDECAR


def test_both_a_plain_and_an_encrypted_object_for_one_sidecar_are_kept_unmanaged() -> None:
    store = MemoryStore(BASE)
    store_backup(store, "keeper_F.cbk", BackupKind.FULL, T0, encrypted=True)
    store.objects["keeper_F.cbk"] = b"plain"
    store.modified["keeper_F.cbk"] = T0
    catalog = discover_remote(store)
    assert all(r.source is RecordSource.UNMANAGED for r in catalog.records)
    assert any("could describe either" in w for w in catalog.warnings)


def test_a_stored_size_other_than_the_sidecars_is_noted() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "F")
    store.objects[names[0]] = b"truncated"
    (only,) = discover_remote(store).records
    assert "differs from the sidecar's" in (only.note or "")


def test_a_backup_dated_after_now_is_warned_about() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "F")
    catalog = discover_remote(store, now=T0 - timedelta(days=1))
    assert any("after now" in w for w in catalog.warnings)


def test_a_store_that_cannot_be_listed_is_an_error_not_an_empty_catalog() -> None:
    store = MemoryStore(BASE)
    store.fail("list", "credentials")
    with pytest.raises(DestinationError) as caught:
        discover_remote(store)
    assert caught.value.kind == "credentials"


def test_a_sidecar_that_cannot_be_read_leaves_its_object_unmanaged() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "F")
    store.fail("get", "unreachable", name=names[0] + ".json")
    catalog = discover_remote(store)
    assert catalog.records[0].source is RecordSource.UNMANAGED
