"""The restore planner over records: what it picks, and what it never picks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.record import BackupRecord, BackupStatus
from backup_keeper.kinds import BackupKind
from backup_keeper.report import RestorePlan
from backup_keeper.restore.plan import plan_restore
from tests.builders import T0, names, record, series

NOW = T0 + timedelta(days=30)
FAR = datetime(2099, 1, 1, tzinfo=UTC)


def intact(record: BackupRecord) -> str | None:
    return None


def plan(records: list[BackupRecord], at: datetime | None = None) -> RestorePlan:
    return plan_restore(link_chains(records), at, intact, now=NOW)


def test_the_newest_restorable_backup_is_the_default_restore_point() -> None:
    result = plan(series("FII"))
    assert names([f.path for f in result.files]) == ["b000_F.cbk", "b001_I.cbk", "b002_I.cbk"]
    assert result.fallback is None


def test_a_backup_dated_in_the_future_is_never_the_default_restore_point() -> None:
    """A sidecar saying 2099 once made restore-plan "restore to 2099"."""
    records = [*series("FI"), record("forged.cbk", BackupKind.FULL, FAR)]
    result = plan(records)
    assert result.restores_to == records[1].time
    assert names([f.path for f in result.files]) == ["b000_F.cbk", "b001_I.cbk"]


def test_a_backup_dated_in_the_future_is_never_picked_even_for_a_later_moment() -> None:
    records = [*series("F"), record("forged.cbk", BackupKind.FULL, FAR)]
    result = plan(records, at=FAR + timedelta(days=1))
    assert names([f.path for f in result.files]) == ["b000_F.cbk"]


def test_only_future_backups_is_no_plan_and_says_why() -> None:
    result = plan([record("forged.cbk", BackupKind.FULL, FAR)])
    assert not result.ok
    assert result.problems == [
        "no completed backup at or before that moment; 1 backup(s) dated after now "
        "(2026-12-01 02:00:00 UTC) are never restore points: forged.cbk"
    ]


def test_a_chain_across_an_unreadable_backup_falls_back_to_before_it() -> None:
    """An incremental holds what changed since the last backup of any kind: if the unreadable
    one did complete, the next incremental builds on it, so a plan skipping it is wrong."""
    records = series("FIII")
    records[2].status = BackupStatus.UNREADABLE
    result = plan(records)
    assert names([f.path for f in result.files]) == ["b000_F.cbk", "b001_I.cbk"]
    assert result.fallback is not None
    assert "b002_I.cbk" in result.fallback and "cannot be read" in result.fallback


def test_an_unreadable_backup_before_the_chain_base_does_not_matter() -> None:
    records = series("FIFI")
    records[1].status = BackupStatus.UNREADABLE
    result = plan(records)
    assert names([f.path for f in result.files]) == ["b002_F.cbk", "b003_I.cbk"]
    assert result.fallback is None


def test_an_unreadable_backup_is_never_restored() -> None:
    records = series("FI")
    records[1].status = BackupStatus.UNREADABLE
    result = plan(records)
    assert names([f.path for f in result.files]) == ["b000_F.cbk"]


def test_nothing_at_all_is_no_plan() -> None:
    assert plan([]).problems == ["no completed backup at or before that moment"]
