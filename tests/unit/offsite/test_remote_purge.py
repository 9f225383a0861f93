"""Purging a destination: the local purge's two phases and refusals, through a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from backup_keeper.catalog.record import RecordSource
from backup_keeper.destinations.store import DestinationError
from backup_keeper.offsite.remote_catalog import discover_remote
from backup_keeper.offsite.remote_purge import (
    INTENT_OBJECT,
    RemoteIntent,
    RemoteIntentEntry,
    purge_remote,
    read_remote_intent,
    remote_targets,
)
from backup_keeper.report import FileOutcome
from backup_keeper.retention.plan import Action, Decision, plan
from backup_keeper.settings import RetentionPolicy
from tests.builders import T0
from tests.destination_doubles import MemoryStore
from tests.remote_builders import store_chain

BASE = "mem://bucket/prefix/PROD"
NOW = T0 + timedelta(days=30)
UTC_ZONE = ZoneInfo("UTC")


def planned(store: MemoryStore, keep_last: int = 1) -> list[Decision]:
    catalog = discover_remote(store)
    return plan(catalog.records, RetentionPolicy(keep_last=keep_last), NOW, UTC_ZONE).delete


def test_a_dry_run_says_what_would_go_and_changes_nothing() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "FIIFI")
    before = dict(store.objects)
    targets, refused = remote_targets(planned(store), BASE)
    outcome = purge_remote(store, targets, now=NOW, dry_run=True)
    assert refused == []
    assert store.objects == before
    assert store.calls_of("put") == [] and store.calls_of("delete") == []
    assert {a.path for a in outcome.actions} == {
        f"{BASE}/{name}"
        for i in range(3)
        for name in (f"keeper_{'FII'[i]}_{i:03d}.cbk", f"keeper_{'FII'[i]}_{i:03d}.cbk.json")
    } | {f"{BASE}/keeper_{'FII'[i]}_{i:03d}.log" for i in range(3)}
    assert all(a.outcome is FileOutcome.WOULD_DELETE for a in outcome.actions)


def test_the_old_chain_goes_backup_then_sidecar_then_log_between_intent_and_its_removal() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    targets, _ = remote_targets(planned(store), BASE)
    outcome = purge_remote(store, targets, now=NOW, dry_run=False)
    assert outcome.errors == []
    assert sorted(store.objects) == sorted(
        n for name in names[3:] for n in (name, name + ".json", name[:-4] + ".log")
    )
    order = [name for op, name in store.calls if op in ("put", "delete")]
    assert order[0] == INTENT_OBJECT and order[-1] == INTENT_OBJECT
    newest_first = names[2]
    assert order[1:4] == [newest_first, newest_first + ".json", newest_first[:-4] + ".log"]


def test_a_failed_delete_keeps_the_backup_whole_and_in_the_intent_and_the_rest_still_goes() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    store.fail("delete", "unreachable", name=names[1])
    targets, _ = remote_targets(planned(store), BASE)
    outcome = purge_remote(store, targets, now=NOW, dry_run=False)
    assert len(outcome.errors) == 1 and names[1] in outcome.errors[0]
    assert {names[1], names[1] + ".json"} <= set(store.objects)
    assert names[0] not in store.objects and names[2] not in store.objects
    intent = read_remote_intent(store)
    assert intent is not None
    assert [e.name for e in intent.entries] == [names[1]]


def test_a_purge_killed_after_a_backup_went_is_finished_by_the_next_run() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    store.fail("delete", "unreachable", name=names[2] + ".json")
    targets, _ = remote_targets(planned(store), BASE)
    purge_remote(store, targets, now=NOW, dry_run=False)
    assert names[2] not in store.objects and names[2] + ".json" in store.objects
    interrupted = read_remote_intent(store)
    targets, _ = remote_targets(planned(store), BASE)
    outcome = purge_remote(store, targets, now=NOW, dry_run=False, interrupted=interrupted)
    assert outcome.errors == []
    assert names[2] + ".json" not in store.objects
    assert INTENT_OBJECT not in store.objects


def test_an_interrupted_entry_whose_backup_is_still_stored_and_kept_by_the_plan_is_kept() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FI")
    interrupted = RemoteIntent(
        created=NOW,
        entries=[RemoteIntentEntry(name=names[1], size=1, companions=[names[1] + ".json"])],
    )
    outcome = purge_remote(store, [], now=NOW, dry_run=False, interrupted=interrupted)
    assert names[1] in store.objects and names[1] + ".json" in store.objects
    assert any("does not delete it: kept" in w for w in outcome.warnings)


def test_an_object_replaced_since_the_plan_is_not_deleted() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    targets, _ = remote_targets(planned(store), BASE)
    store.objects[names[0]] = b"a different, longer object"
    outcome = purge_remote(store, targets, now=NOW, dry_run=False)
    assert names[0] in store.objects and names[0] + ".json" in store.objects
    assert any("changed since it was planned" in w for w in outcome.warnings)


def test_unmanaged_foreign_and_outside_records_are_refused() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    deletions = planned(store)
    first = deletions[0].record
    unmanaged = Decision(replace(first, source=RecordSource.UNMANAGED), Action.DELETE, ())
    outside = Decision(replace(first, path="mem://other/PROD/" + names[0]), Action.DELETE, ())
    foreign = Decision(replace(first, companions=(f"{BASE}/{names[3]}.json",)), Action.DELETE, ())
    targets, refused = remote_targets([unmanaged, outside, foreign], BASE)
    assert len(refused) == 3
    assert [t.companions for t in targets] == [()]


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b'{"format": "backup-keeper-remote-purge/1", "created": "2026-11-01T00:00:00Z", '
        b'"entries": [{"name": "../x.cbk", "size": 1}]}',
        b"not json",
    ],
)
def test_an_intent_that_cannot_be_trusted_stops_the_purge_there(raw: bytes) -> None:
    store = MemoryStore(BASE)
    store.objects[INTENT_OBJECT] = raw
    store.modified[INTENT_OBJECT] = T0
    with pytest.raises(DestinationError) as caught:
        read_remote_intent(store)
    assert caught.value.kind == "corrupt"
    assert "removed by hand" in str(caught.value)


# -- pins recorded in the stored sidecars ---------------------------------------------------


def pin_stored(store: MemoryStore, name: str, reason: str, until: object = None) -> None:
    from backup_keeper.catalog.manifest import Manifest
    from backup_keeper.catalog.pin import Pin

    manifest = Manifest.model_validate_json(store.objects[name + ".json"])
    pinned = Pin.model_validate({"reason": reason, "pinned": T0, "until": until})
    store.objects[name + ".json"] = (
        manifest.model_copy(update={"pin": pinned}).model_dump_json(exclude_none=True).encode()
    )


def test_a_destinations_purge_keeps_a_pinned_chain_and_reads_no_sidecar_twice() -> None:
    from backup_keeper.offsite.remote_purge import purge_by_policy

    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    pin_stored(store, names[1], "legal hold")
    done = purge_by_policy(
        store, RetentionPolicy(keep_last=1), now=NOW, zone=UTC_ZONE, dry_run=False
    )
    assert [d.record.path.rpartition("/")[2] for d in done.plan.delete] == [names[2]]
    kept = {d.record.path.rpartition("/")[2]: d.reasons for d in done.plan.keep}
    assert kept[names[1]] == ("pinned: legal hold",)
    assert names[0] in store.objects and names[1] in store.objects
    assert names[2] not in store.objects
    sidecars = [name for name in store.calls_of("get") if name.endswith(".cbk.json")]
    assert sorted(sidecars) == sorted(f"{name}.json" for name in names)  # the catalog's reads


def test_an_expired_stored_pin_holds_nothing() -> None:
    from backup_keeper.offsite.remote_purge import purge_by_policy

    store = MemoryStore(BASE)
    names = store_chain(store, "FF")
    pin_stored(store, names[0], "old", until=NOW - timedelta(days=1))
    done = purge_by_policy(
        store, RetentionPolicy(keep_last=1), now=NOW, zone=UTC_ZONE, dry_run=True
    )
    assert [d.record.path.rpartition("/")[2] for d in done.plan.delete] == [names[0]]


def test_the_remote_catalog_shows_a_stored_pin() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FI")
    pin_stored(store, names[0], "legal hold")
    pins = {
        r.path.rpartition("/")[2]: r.pin and r.pin.reason for r in discover_remote(store).records
    }
    assert pins == {names[0]: "legal hold", names[1]: None}
