from __future__ import annotations

import json
import os
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource, TimePrecision
from backup_keeper.kinds import BackupKind
from backup_keeper.report import (
    JobReport,
    RecordEntry,
    escape_surrogates,
    report_data,
    report_json,
)


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
        "pin": None,  # a purge's entry gives a pin as its reason; the catalog fills this
    }
    assert type(entry.kind) is str  # plain strings in the report, not enum members
    assert RecordEntry.of(record).reasons == ("IRIS log has no finish line",)


def _report_naming(*names: str) -> JobReport:
    started = datetime(2026, 11, 1, tzinfo=UTC)
    report = JobReport(job="purge", started=started, directories=["/b"])
    report.keep = [
        RecordEntry(f"/b/{n}", "full", started, "completed", "file-name", 1, chain=(f"/b/{n}",))
        for n in names
    ]
    report.warnings = [f"{n}: odd" for n in names]
    report.options = {n: n for n in names}
    return report


def test_a_name_that_is_not_utf8_is_escaped_byte_by_byte_in_json() -> None:
    name = os.fsdecode(b"caf\xe9\xff.cbk")
    text = report_json(_report_naming(name, "plain.cbk"))
    data = json.loads(text)
    assert data["keep"][0]["path"] == "/b/caf\\xe9\\xff.cbk"
    assert data["keep"][0]["chain"] == ["/b/caf\\xe9\\xff.cbk"]
    assert data["warnings"][0] == "caf\\xe9\\xff.cbk: odd"
    assert "caf\\xe9\\xff.cbk" in data["options"]
    assert data["keep"][1]["path"] == "/b/plain.cbk"
    text.encode("utf-8")  # strict: no surrogate left
    assert report_data(_report_naming(name)) == json.loads(report_json(_report_naming(name)))


def test_a_lone_surrogate_that_no_byte_explains_is_escaped_too() -> None:
    data = report_data(_report_naming("odd\ud800.cbk"))
    assert data["keep"][0]["path"] == "/b/odd\\ud800.cbk"


def test_clean_reports_serialise_the_same_by_either_road() -> None:
    report = _report_naming("été.cbk", "plain.cbk")
    assert json.loads(report_json(report)) == report_data(report)
    assert "été.cbk" in report_json(report)  # readable, not \\u-escaped


def test_escape_surrogates_leaves_valid_text_alone() -> None:
    assert escape_surrogates("été ✓") == "été ✓"
    assert escape_surrogates(os.fsdecode(b"\x80")) == "\\x80"


def test_the_task_door_reports_a_name_that_is_not_utf8_as_json(tmp_path: Path) -> None:
    from backup_keeper.iris.fake import FakeIris
    from backup_keeper.tasks import run_task_with

    (tmp_path / os.fsdecode(b"caf\xe9.cbk")).write_bytes(b"x")
    settings = json.dumps({"directories": [str(tmp_path)], "retention": {"keep_last": 1}})
    answer = json.loads(run_task_with("purge", settings, "", iris=FakeIris(tmp_path / "fake")))
    assert [Path(e["path"]).name for e in answer["report"]["unmanaged"]] == ["caf\\xe9.cbk"]
