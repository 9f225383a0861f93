from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource
from tests.builders import T0, names, record, series


def chains(records: list[BackupRecord]) -> dict[str, tuple[list[str], bool]]:
    return {
        r.path.rsplit("/", 1)[1]: (names(list(r.chain)), r.chain_complete)
        for r in link_chains(records)
    }


def test_full_then_incrementals_chain_back_to_the_full() -> None:
    got = chains(series("FII"))
    assert got["b002_I.cbk"] == (["b000_F.cbk", "b001_I.cbk"], True)
    assert got["b000_F.cbk"] == ([], True)


def test_cumulative_needs_only_the_last_full() -> None:
    got = chains(series("FIIC"))
    assert got["b003_C.cbk"] == (["b000_F.cbk"], True)


def test_external_backup_starts_a_new_chain() -> None:
    got = chains(series("FIEI"))
    assert got["b003_I.cbk"] == (["b002_E.cbk"], True)


def test_failed_backups_are_not_bases_and_have_no_chain() -> None:
    got = chains(series("FXI"))
    assert got["b002_I.cbk"] == (["b000_F.cbk"], True)
    assert got["b001_X.cbk"] == ([], True)


def test_incremental_with_no_full_before_it_is_incomplete_and_so_are_those_after_it() -> None:
    got = chains(series("IICF"))
    assert got["b000_I.cbk"] == ([], False)
    assert got["b001_I.cbk"] == ([], False)
    assert got["b002_C.cbk"] == ([], False)


def test_same_time_records_are_ordered_by_sequence() -> None:
    full = record("z_full.cbk", "full", T0)
    full.sequence = 1
    incr = record("a_incr.cbk", "incremental", T0)
    incr.sequence = 2
    got = chains([incr, full])
    assert got["a_incr.cbk"] == (["z_full.cbk"], True)


def test_instances_never_share_a_chain() -> None:
    a = record("a_full.cbk", "full", T0, instance="A")
    b = record("b_incr.cbk", "incremental", T0 + timedelta(hours=1), instance="B")
    got = chains([a, b])
    assert got["b_incr.cbk"] == ([], False)


def test_a_backup_whose_log_cannot_be_read_is_never_a_chain_base() -> None:
    """It may have failed: IRIS then took the next backup on the last one that worked."""
    records = series("FICI")
    records[1].status = BackupStatus.UNREADABLE
    records[2].status = BackupStatus.UNREADABLE
    got = chains(records)
    assert got["b003_I.cbk"] == (["b000_F.cbk"], True)
    assert got["b001_I.cbk"] == ([], True)


def test_a_recorded_parent_missing_from_the_catalog_breaks_the_chain_and_says_which() -> None:
    full, first, second = series("FII")
    first.parent_name, second.parent_name = "b000_F.cbk", "gone_I.cbk.zst"
    got = chains([full, first, second])
    assert got["b001_I.cbk"] == (["b000_F.cbk"], True)
    assert got["b002_I.cbk"][1] is False
    assert second.note == "the backup it was taken on, gone_I.cbk.zst, is missing"
    assert first.note is None


_KINDS = ("full", "incremental", "cumulative", "external")
_STATUSES = (BackupStatus.COMPLETED, BackupStatus.FAILED, BackupStatus.UNREADABLE)


@st.composite
def mixed_records(draw: st.DrawFn) -> list[BackupRecord]:
    """Backups of up to three instances interleaved in time, some unmanaged, some naming a
    parent (present or not), in any order."""
    count = draw(st.integers(min_value=0, max_value=24))
    out = []
    for i in range(count):
        made = record(
            f"b{i:03d}.cbk",
            draw(st.sampled_from(_KINDS)),
            T0 + timedelta(hours=draw(st.integers(min_value=0, max_value=30))),
            draw(st.sampled_from(_STATUSES)),
            instance=draw(st.sampled_from((None, "A", "B"))),
            source=draw(st.sampled_from((RecordSource.SIDECAR, RecordSource.UNMANAGED))),
        )
        made.sequence = i
        if draw(st.booleans()):
            made.parent_name = f"b{draw(st.integers(min_value=0, max_value=30)):03d}.cbk"
        out.append(made)
    return draw(st.permutations(out))


def _linked(records: list[BackupRecord]) -> dict[str, tuple[tuple[str, ...], bool, str | None]]:
    return {r.path: (r.chain, r.chain_complete, r.note) for r in link_chains(records)}


@settings(max_examples=300, deadline=None)
@given(mixed_records())
def test_mixed_instances_link_as_each_instance_alone_would(records: list[BackupRecord]) -> None:
    """The one-walk path stops at a second instance and regroups: what it left half done on
    the way must not show, and no instance's names may judge another's recorded parents."""
    together = _linked(copy.deepcopy(records))
    alone: dict[str, tuple[tuple[str, ...], bool, str | None]] = {}
    for instance in {r.instance for r in records}:
        own = [copy.deepcopy(r) for r in records if r.instance == instance]
        alone |= _linked(own)
    managed = {r.path for r in records if r.source is not RecordSource.UNMANAGED}
    assert {p: v for p, v in together.items() if p in managed} == {
        p: v for p, v in alone.items() if p in managed
    }
