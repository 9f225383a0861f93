from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime

from backup_keeper.catalog.record import (
    BackupKind,
    BackupRecord,
    BackupStatus,
    RecordSource,
    TimePrecision,
)
from backup_keeper.report import RecordEntry


def test_a_report_entry_carries_each_fact_of_its_record_under_its_own_name() -> None:
    """``RecordEntry.of`` passes its fields by position for speed: this pins every one."""
    record = BackupRecord(
        path="/b/IncrementalDBList_20261101_004.cbk",
        kind=BackupKind.INCREMENTAL,
        status=BackupStatus.FAILED,
        source=RecordSource.FILE_NAME,
        time=datetime(2026, 10, 31, 23, tzinfo=UTC),
        size=1234,
        mtime_ns=5,
        precision=TimePrecision.DAY,
        day=date(2026, 11, 1),
        chain=("/b/FullDBList_20261101_001.cbk",),
        chain_complete=False,
        note="IRIS log has no finish line",
    )
    entry = RecordEntry.of(record, ("because",))
    assert {f.name: getattr(entry, f.name) for f in fields(entry)} == {
        "path": "/b/IncrementalDBList_20261101_004.cbk",
        "kind": "incremental",
        "time": datetime(2026, 10, 31, 23, tzinfo=UTC),
        "status": "failed",
        "source": "file-name",
        "size": 1234,
        "time_precision": "day",
        "local_day": date(2026, 11, 1),
        "chain": ("/b/FullDBList_20261101_001.cbk",),
        "chain_complete": False,
        "reasons": ("because", "IRIS log has no finish line"),
    }
    assert type(entry.kind) is str  # plain strings in the report, not enum members
    assert RecordEntry.of(record).reasons == ("IRIS log has no finish line",)
