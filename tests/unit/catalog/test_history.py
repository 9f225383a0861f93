"""The instance's backup history as a chain source: a backup taken outside the catalog breaks
the chains that rest on it, and nothing else changes."""

from __future__ import annotations

from datetime import timedelta

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.history import BROKEN, mark_foreign_breaks
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.kinds import BackupKind
from backup_keeper.timezones import format_moment, machine_zone
from tests.builders import T0, record

HOUR = timedelta(hours=1)


def entry(path: str, kind: BackupKind, hours: int, status: str = "Completed") -> HistoryEntry:
    return HistoryEntry(T0 + hours * HOUR, kind, status, device=path)


def newest_first(*entries: HistoryEntry) -> list[HistoryEntry]:
    return list(reversed(entries))


def chain_a() -> list[BackupRecord]:
    """Directory A: a full, two incrementals, a cumulative."""
    return link_chains(
        [
            record("f.cbk", "full", T0),
            record("i1.cbk", "incremental", T0 + 2 * HOUR),
            record("i2.cbk", "incremental", T0 + 4 * HOUR),
            record("c.cbk", "cumulative", T0 + 6 * HOUR),
        ]
    )


def test_a_full_elsewhere_between_two_incrementals_breaks_the_second_and_what_rests_on_it() -> None:
    records = chain_a()
    history = newest_first(
        entry("/backups/f.cbk", BackupKind.FULL, 0),
        entry("/backups/i1.cbk", BackupKind.INCREMENTAL, 2),
        entry("/elsewhere/B.cbk", BackupKind.FULL, 3),
        entry("/backups/i2.cbk", BackupKind.INCREMENTAL, 4),
        entry("/backups/c.cbk", BackupKind.CUMULATIVE, 6),
    )
    assert mark_foreign_breaks(records, history) == 2
    f, i1, i2, c = records
    assert f.restorable and i1.restorable
    assert not i2.restorable
    assert (
        i2.note == f"{BROKEN} /elsewhere/B.cbk at {format_moment((T0 + 3 * HOUR), machine_zone())}"
    )
    assert not c.restorable and c.note is not None and "/elsewhere/B.cbk" in c.note


def test_an_incremental_elsewhere_does_not_break_a_cumulative_which_rests_on_the_full() -> None:
    records = chain_a()
    history = newest_first(
        entry("/backups/f.cbk", BackupKind.FULL, 0),
        entry("/backups/i1.cbk", BackupKind.INCREMENTAL, 2),
        entry("/backups/i2.cbk", BackupKind.INCREMENTAL, 4),
        entry("/elsewhere/x.cbk", BackupKind.INCREMENTAL, 5),
        entry("/backups/c.cbk", BackupKind.CUMULATIVE, 6),
    )
    assert mark_foreign_breaks(records, history) == 0
    assert all(r.restorable for r in records)


def test_failed_backups_elsewhere_and_backups_the_history_does_not_list_change_nothing() -> None:
    records = chain_a()
    history = newest_first(
        entry("/backups/f.cbk", BackupKind.FULL, 0),
        entry("/elsewhere/B.cbk", BackupKind.FULL, 1, status="Failed"),
        entry("/backups/i1.cbk", BackupKind.INCREMENTAL, 2),
    )
    assert mark_foreign_breaks(records, history) == 0
    assert all(r.restorable for r in records)


def test_a_compressed_backup_is_the_cbk_iris_wrote_and_a_foreign_snapshot_breaks_too() -> None:
    records = link_chains(
        [
            record("f.cbk.zst", "full", T0),
            record("i1.cbk", "incremental", T0 + 2 * HOUR),
            record("i2.cbk", "incremental", T0 + 4 * HOUR),
        ]
    )
    snapshot = HistoryEntry(T0 + 3 * HOUR, BackupKind.EXTERNAL, "Completed", description="vss")
    history = newest_first(
        entry("/backups/f.cbk", BackupKind.FULL, 0),
        entry("/backups/i1.cbk", BackupKind.INCREMENTAL, 2),
        snapshot,
        entry("/backups/i2.cbk", BackupKind.INCREMENTAL, 4),
    )
    assert mark_foreign_breaks(records, history) == 1
    assert records[1].restorable
    assert (
        records[2].note
        == f"{BROKEN} external backup 'vss' at {format_moment(snapshot.time, machine_zone())}"
    )


def test_this_tools_own_snapshot_in_the_catalog_is_no_foreign_backup() -> None:
    records = link_chains(
        [
            record("backup-keeper_external_x.snapshot.json", "external", T0),
            record("i1.cbk", "incremental", T0 + 2 * HOUR),
        ]
    )
    own = HistoryEntry(
        T0,
        BackupKind.EXTERNAL,
        "Completed",
        description="backup-keeper backup-keeper_external_x.snapshot",
    )
    history = newest_first(own, entry("/backups/i1.cbk", BackupKind.INCREMENTAL, 2))
    assert mark_foreign_breaks(records, history) == 0
    assert records[1].restorable
