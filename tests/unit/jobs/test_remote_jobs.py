"""Catalog and purge of a destination through the job entry points, with the store double."""

from __future__ import annotations

import json
from datetime import timedelta

from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.remote_settings import RemoteCatalogSettings, RemotePurgeSettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.jobs import run_remote_catalog, run_remote_purge
from backup_keeper.offsite.remote_purge import INTENT_OBJECT
from backup_keeper.report import JobReport, report_json
from tests.builders import T0
from tests.destination_doubles import MemoryStore
from tests.remote_builders import store_chain

URL = "s3://bucket/prefix"
BASE = "s3://bucket/prefix/PROD"
NOW = T0 + timedelta(days=30)


def opener_of(store: MemoryStore) -> StoreOpener:
    def opener(settings: DestinationSettings, instance: str) -> RemoteStore:
        assert settings.url == URL and instance == "PROD"
        return store

    return opener


def purge(store: MemoryStore, *, dry_run: bool) -> JobReport:
    settings = RemotePurgeSettings.model_validate(
        {
            "destination": {"url": URL},
            "instance": "PROD",
            "timezone": "UTC",
            "retention": {"keep_last": 1},
            "dry_run": dry_run,
        }
    )
    return run_remote_purge(settings, clock=fixed_clock(NOW), opener=opener_of(store))


def test_the_catalog_of_a_destination_lists_its_stored_backups() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "FII")
    settings = RemoteCatalogSettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD"}
    )
    report = run_remote_catalog(settings, clock=fixed_clock(NOW), opener=opener_of(store))
    assert report.status == "ok"
    assert report.directories == [BASE]
    assert len(report.records) == 3
    assert report.summary == "3 stored backup(s): 3 managed, 0 unmanaged"
    assert store.closed


def test_a_dry_run_purge_of_a_destination_changes_nothing_and_says_why() -> None:
    store = MemoryStore(BASE)
    store_chain(store, "FIIFI")
    before = dict(store.objects)
    report = purge(store, dry_run=True)
    assert report.status == "ok", report.errors
    assert store.objects == before
    assert report.summary.startswith("dry run: would delete 3 of 3 stored backup(s)")
    assert all(e.reasons for e in report.delete)
    json.loads(report_json(report))


def test_a_purge_deletes_the_old_chain_and_keeps_the_newest() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    report = purge(store, dry_run=False)
    assert report.status == "ok", report.errors
    assert names[0] not in store.objects and names[3] in store.objects
    assert INTENT_OBJECT not in store.objects


def test_an_unreachable_destination_is_a_failed_report_and_deletes_nothing() -> None:
    def refusing(settings: DestinationSettings, instance: str) -> RemoteStore:
        raise DestinationError("unreachable", "connection refused")

    settings = RemotePurgeSettings.model_validate(
        {"destination": {"url": URL}, "instance": "PROD", "retention": {"keep_last": 1}}
    )
    report = run_remote_purge(settings, clock=fixed_clock(NOW), opener=refusing)
    assert report.status == "failed"
    assert report.errors == [f"{BASE}: connection refused"]


def test_an_intent_that_cannot_be_trusted_stops_the_purge_of_that_destination() -> None:
    store = MemoryStore(BASE)
    names = store_chain(store, "FIIFI")
    store.objects[INTENT_OBJECT] = b"garbage"
    store.modified[INTENT_OBJECT] = T0
    report = purge(store, dry_run=False)
    assert report.status == "failed"
    assert names[0] in store.objects
    assert "removed by hand" in report.errors[0]
