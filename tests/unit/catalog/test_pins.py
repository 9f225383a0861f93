"""Pins: a purge keeps a pinned backup and everything a restore of it needs while the pin holds,
gives "pinned: <reason>" as the reason, and reads no sidecar for it beyond the catalog's one."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import read_manifest, sidecar_path, write_manifest
from backup_keeper.catalog.pin import Pin
from backup_keeper.catalog.pins import pin_holds, pins_of
from backup_keeper.catalog.record import ORDER_KEY, BackupRecord
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.report import JobReport
from backup_keeper.retention.plan import plan
from backup_keeper.settings import PurgeSettings, RetentionPolicy
from backup_keeper.timezones import resolve_zone
from tests.builders import KIND_BY_LETTER, T0, directory_state, names, record
from tests.copy_builders import local_chain
from tests.unit.purge.test_offsite_holds import URL, mark_copied
from tests.unit.purge.test_purge_properties import policies

NOW = T0 + timedelta(days=30)
UTC_ZONE = resolve_zone("UTC")


def pin(directory: Path, name: str, reason: str, until: datetime | None = None) -> None:
    manifest = read_manifest(sidecar_path(directory / name), expected_file=name)
    pinned = Pin(reason=reason, pinned=T0, until=until)
    write_manifest(directory / name, manifest.model_copy(update={"pin": pinned}))


def purge(directory: Path, *required: str, dry_run: bool = False) -> JobReport:
    settings = PurgeSettings.model_validate(
        {
            "directories": [directory],
            "timezone": "UTC",
            "retention": {"keep_last": 1},
            "require_offsite_copy": list(required),
            "dry_run": dry_run,
        }
    )
    return run_purge(settings, clock=fixed_clock(NOW))


def kept_reasons(report: JobReport) -> dict[str, tuple[str, ...]]:
    return {Path(e.path).name: e.reasons for e in report.keep}


def test_a_pinned_incremental_keeps_itself_and_its_chain_with_the_pin_as_reason(
    tmp_path: Path,
) -> None:
    chain = local_chain(tmp_path, "FIIFII")
    pin(tmp_path, chain[1], "legal hold #42")
    report = purge(tmp_path)
    assert names([e.path for e in report.delete]) == [chain[2]]
    assert not (tmp_path / chain[2]).exists()
    assert (tmp_path / chain[0]).exists() and (tmp_path / chain[1]).exists()
    reasons = kept_reasons(report)
    assert reasons[chain[1]] == ("pinned: legal hold #42",)
    assert any(r.startswith("chain: needed to restore kept") for r in reasons[chain[0]])


def test_the_text_report_gives_the_pin_as_the_reason(tmp_path: Path) -> None:
    from backup_keeper.cli.render import render_purge

    chain = local_chain(tmp_path, "FF")
    pin(tmp_path, chain[0], "before the upgrade")
    text = render_purge(purge(tmp_path, dry_run=True))
    [row] = [line for line in text.splitlines() if line.startswith("keep") and chain[0] in line]
    assert row.endswith("pinned: before the upgrade")


def test_an_expired_pin_holds_nothing(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FF")
    pin(tmp_path, chain[0], "quarter end", until=NOW - timedelta(seconds=1))
    assert names([e.path for e in purge(tmp_path).delete]) == [chain[0]]
    assert not (tmp_path / chain[0]).exists()


def test_a_pin_until_a_later_moment_holds(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FF")
    pin(tmp_path, chain[0], "quarter end", until=NOW + timedelta(seconds=1))
    assert purge(tmp_path).delete == []


def test_pins_and_offsite_holds_are_merged(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FFFF")
    pin(tmp_path, chain[0], "audit")
    mark_copied(tmp_path, chain[0])
    mark_copied(tmp_path, chain[2])
    report = purge(tmp_path, URL)
    assert names([e.path for e in report.delete]) == [chain[2]]
    reasons = kept_reasons(report)
    assert reasons[chain[0]] == ("pinned: audit",)
    assert f"not yet copied to {URL}" in reasons[chain[1]]


def test_the_catalog_carries_each_pin_from_its_sidecar(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FFF")
    pin(tmp_path, chain[0], "audit")
    pin(tmp_path, chain[1], "old", until=NOW - timedelta(days=1))
    records = {Path(r.path).name: r for r in discover([tmp_path], UTC_ZONE).records}
    assert records[chain[2]].pin is None
    assert records[chain[0]].pin == Pin(reason="audit", pinned=T0)
    assert pin_holds(records.values(), NOW) == {str(tmp_path / chain[0]): "pinned: audit"}


def test_a_dry_run_with_a_pin_changes_nothing_on_disk(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FIF")
    pin(tmp_path, chain[1], "keep")
    before = directory_state(tmp_path)
    report = purge(tmp_path, dry_run=True)
    assert report.delete == []
    assert directory_state(tmp_path) == before


def test_pins_of_gives_the_timeline_each_holding_pin(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FFF")
    pin(tmp_path, chain[0], "audit")
    pin(tmp_path, chain[1], "old", until=NOW - timedelta(days=1))
    records = discover([tmp_path], UTC_ZONE).records
    assert pins_of(records, NOW) == {str(tmp_path / chain[0]): "audit"}


# -- a property: nothing pinned, nor anything it needs, is ever planned for deletion --------

patterns = st.text(alphabet="FCIX", min_size=1, max_size=30)


def built(pattern: str) -> list[BackupRecord]:
    from backup_keeper.catalog.record import BackupStatus

    out = []
    for i, letter in enumerate(pattern):
        status = BackupStatus.FAILED if letter == "X" else BackupStatus.COMPLETED
        kind = KIND_BY_LETTER.get(letter, KIND_BY_LETTER["I"])
        out.append(record(f"b{i:03d}_{letter}.cbk", kind, T0 + timedelta(hours=12 * i), status))
    return sorted(link_chains(out), key=ORDER_KEY)


@given(patterns, st.data(), policies)
def test_no_pinned_backup_nor_its_chain_is_ever_deleted(
    pattern: str, data: st.DataObject, policy: dict[str, object]
) -> None:
    records = built(pattern)
    first = plan(records, RetentionPolicy.model_validate(policy), NOW, UTC_ZONE, ordered=True)
    pinned = set(data.draw(st.sets(st.sampled_from([r.path for r in records]))))
    for r in records:
        if r.path in pinned:
            until = data.draw(st.sampled_from([None, NOW - timedelta(days=1)]))
            r.pin = Pin(reason="why", pinned=T0, until=until)
    rules = RetentionPolicy.model_validate(policy)
    held = plan(records, rules, NOW, UTC_ZONE, ordered=True, held=pin_holds(records, NOW))
    deleted = {d.record.path for d in held.delete}
    assert deleted <= {d.record.path for d in first.delete}
    holding = {r.path for r in records if r.pin is not None and r.pin.until is None}
    needed = holding | {base for r in records if r.path in holding for base in r.chain}
    assert not (deleted & needed)
    for decision in held.keep:
        if decision.record.path in holding and decision.record.time <= NOW:
            assert "pinned: why" in decision.reasons


# -- pins cost nothing extra: every sidecar is read once, by the catalog ---------------------


def count_sidecar_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every read of a local sidecar goes through ``read_small`` in the manifest module."""
    from backup_keeper.catalog import manifest as manifest_module
    from backup_keeper.small_files import read_small as real

    reads: Counter[str] = Counter()

    def counting(path: str | Path, *, limit: int) -> bytes:
        reads[Path(path).name] += 1
        return real(path, limit=limit)

    monkeypatch.setattr(manifest_module, "read_small", counting)
    return reads


def test_a_purge_reads_each_sidecar_once_pins_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = local_chain(tmp_path, "FIFIF")
    pin(tmp_path, chain[1], "audit")
    reads = count_sidecar_reads(monkeypatch)
    report = purge(tmp_path, dry_run=True)
    assert kept_reasons(report)[chain[1]] == ("pinned: audit",)
    assert names([e.path for e in report.delete]) == chain[2:4]
    assert sorted(reads) == sorted(f"{name}.json" for name in chain)
    assert set(reads.values()) == {1}


def test_the_catalog_shows_pins_from_the_one_read_of_each_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backup_keeper.jobs import run_catalog
    from backup_keeper.settings import CatalogSettings

    chain = local_chain(tmp_path, "FIF")
    pin(tmp_path, chain[1], "audit")
    reads = count_sidecar_reads(monkeypatch)
    settings = CatalogSettings.model_validate({"directories": [tmp_path], "timezone": "UTC"})
    report = run_catalog(settings, clock=fixed_clock(NOW))
    shown = {Path(e.path).name: e.pin and e.pin.reason for e in report.records}
    assert shown == {chain[0]: None, chain[1]: "audit", chain[2]: None}
    assert set(reads.values()) == {1}
