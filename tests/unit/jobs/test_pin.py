"""``pin`` / ``unpin``: the pin goes into the sidecar atomically, and bad input changes nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import manifest_bytes, read_manifest, sidecar_path
from backup_keeper.catalog.record import BackupStatus, RecordSource
from backup_keeper.checksum import Checksum, file_checksum
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_pin, run_unpin
from backup_keeper.jobs.pin import REFUSED, parse_until
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import PinSettings
from backup_keeper.timezones import resolve_zone
from tests.builders import T0, directory_state, write_iris_backup
from tests.copy_builders import local_chain

NOW = T0 + timedelta(days=10)
TOKYO = resolve_zone("Asia/Tokyo")


def pin(file: Path, reason: str | None = "legal hold", **extra: object) -> JobReport:
    settings = PinSettings.model_validate(
        {"file": str(file), "reason": reason, "timezone": "UTC", **extra}
    )
    return run_pin(settings, clock=fixed_clock(NOW))


def unpin(file: Path) -> JobReport:
    settings = PinSettings.model_validate({"file": str(file), "timezone": "UTC"})
    return run_unpin(settings, clock=fixed_clock(NOW))


def refused(report: JobReport) -> bool:
    return report.status is JobStatus.FAILED and report.options.get(REFUSED) is True


def test_pin_records_reason_moment_and_until_in_the_sidecar(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    report = pin(tmp_path / name, until="2026-12-01")
    assert report.status is JobStatus.OK, report.errors
    found = read_manifest(sidecar_path(tmp_path / name), expected_file=name).pin
    assert found is not None
    assert (found.reason, found.pinned) == ("legal hold", NOW)
    assert found.until is not None and found.until.isoformat() == "2026-12-02T00:00:00+00:00"
    assert f"{sidecar_path(tmp_path / name)}: sidecar updated" in report.checked
    assert "until 2026-12-02 00:00:00 UTC" in report.summary


def test_pinning_again_replaces_the_pin_and_says_so(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    pin(tmp_path / name, "first")
    report = pin(tmp_path / name, "second")
    assert "replaced the pin: first" in report.summary
    found = read_manifest(sidecar_path(tmp_path / name), expected_file=name).pin
    assert found is not None and found.reason == "second"


def test_unpin_takes_the_pin_away_and_the_sidecar_is_as_before(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    before = sidecar_path(tmp_path / name).read_bytes()
    pin(tmp_path / name)
    report = unpin(tmp_path / name)
    assert report.status is JobStatus.OK
    assert "unpinned" in report.summary and "was: legal hold" in report.summary
    assert sidecar_path(tmp_path / name).read_bytes() == before


def test_unpin_of_an_unpinned_backup_is_a_clear_no_op(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    before = directory_state(tmp_path)
    report = unpin(tmp_path / name)
    assert report.status is JobStatus.OK
    assert report.summary.endswith("is not pinned: nothing to do")
    assert directory_state(tmp_path) == before


@pytest.mark.parametrize(
    ("reason", "extra", "why"),
    [
        (None, {}, "--reason is required"),
        ("", {}, "--reason: must not be empty"),
        ("two\nlines", {}, "--reason: must be one line"),
        ("\x1b[31mred", {}, "--reason: must hold no control"),
        ("x" * 201, {}, "--reason: must be at most 200"),
        ("ok", {"until": "2026-11-01"}, "--until: .* is already past"),
        ("ok", {"until": "tomorrow"}, "--until: not an ISO 8601"),
        ("ok", {"until": "２０２７-01-01"}, "--until: not an ISO 8601"),
    ],
)
def test_bad_input_is_refused_and_nothing_on_disk_changes(
    tmp_path: Path, reason: str | None, extra: dict[str, object], why: str
) -> None:
    [name] = local_chain(tmp_path, "F")
    before = directory_state(tmp_path)
    report = pin(tmp_path / name, reason, **extra)
    assert refused(report)
    assert re.search(why, report.errors[0]), report.errors
    assert report.errors
    assert directory_state(tmp_path) == before


def test_an_unmanaged_file_is_refused_with_why(tmp_path: Path) -> None:
    (tmp_path / "stray.cbk").write_bytes(b"?")
    before = directory_state(tmp_path)
    report = pin(tmp_path / "stray.cbk")
    assert refused(report)
    assert "unmanaged" in report.errors[0] and "no purge rule ever deletes it" in report.errors[0]
    assert directory_state(tmp_path) == before


def test_a_file_that_is_not_there_is_refused(tmp_path: Path) -> None:
    report = pin(tmp_path / "missing.cbk")
    assert refused(report) and "no backup of that name" in report.errors[0]
    assert list(tmp_path.iterdir()) == []


def test_a_sidecar_that_does_not_parse_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    data = json.loads(
        manifest_bytes(read_manifest(sidecar_path(tmp_path / name), expected_file=name))
    )
    data["pin"] = {"reason": "bell\x07", "pinned": NOW.isoformat()}
    sidecar_path(tmp_path / name).write_text(json.dumps(data))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    report = pin(tmp_path / name, "fix it")
    assert refused(report)
    assert "unmanaged" in report.errors[0]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_backup_known_only_by_its_iris_name_gets_a_sidecar_built_from_its_facts(
    tmp_path: Path,
) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    report = pin(cbk, "before the upgrade")
    assert report.status is JobStatus.OK, report.errors
    assert "the backup had none; built from the catalog's facts" in report.summary
    [record] = discover([tmp_path], resolve_zone("UTC")).records
    assert record.source is RecordSource.SIDECAR
    manifest = read_manifest(sidecar_path(cbk), expected_file=cbk.name)
    assert manifest.pin is not None and manifest.pin.reason == "before the upgrade"
    assert manifest.iris_log == "FullDBList_20261101_001.log"
    assert manifest.kind is BackupKind.FULL and manifest.status is BackupStatus.COMPLETED
    assert manifest.checksum == file_checksum(cbk)


def test_a_backup_that_changes_while_it_is_checksummed_gets_no_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backup_keeper.jobs import pin as pin_job

    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1)

    def changing(path: Path, **options: object) -> Checksum:
        found = file_checksum(path)
        path.write_bytes(b"IRIS wrote more" * 10)
        return found

    monkeypatch.setattr(pin_job, "file_checksum", changing)
    report = pin(cbk)
    assert report.status is JobStatus.FAILED and not refused(report)
    assert "changed while it was checksummed" in report.errors[0]
    assert not sidecar_path(cbk).exists()


def test_a_sidecar_that_would_reorder_a_same_day_chain_is_refused(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    inc = write_iris_backup(tmp_path, "IncrementalDBList", "20261101", 2)
    write_iris_backup(tmp_path, "IncrementalDBList", "20261101", 3)
    before = directory_state(tmp_path)
    report = pin(inc)
    assert refused(report) and "change a chain" in report.errors[0]
    assert directory_state(tmp_path) == before


def test_an_unreadable_iris_log_is_refused(tmp_path: Path) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1, log=False)
    (tmp_path / "FullDBList_20261101_001.log").mkdir()
    report = pin(cbk)
    assert refused(report) and "IRIS log cannot be read" in report.errors[0]


def test_until_is_read_in_the_instances_zone() -> None:
    assert parse_until("2027-01-31", TOKYO).isoformat() == "2027-02-01T00:00:00+09:00"
    assert parse_until("2027-01-31T08:00", TOKYO).isoformat() == "2027-01-31T08:00:00+09:00"
    assert parse_until("2027-01-31T08:00Z", TOKYO).isoformat() == "2027-01-31T08:00:00+00:00"


def test_pin_waits_for_a_running_purge_and_writes_nothing_while_it_holds_the_directory(
    tmp_path: Path,
) -> None:
    """A purge plans from the pins its catalog read under its lock: a pin written meanwhile
    could come too late for that plan, so the pin job takes the same lock first."""
    from backup_keeper.purge.lock import take_purge_locks

    [name] = local_chain(tmp_path, "F")
    before = sidecar_path(tmp_path / name).read_bytes()
    with take_purge_locks([tmp_path], wait=0, shared=False):  # a purge is running
        report = pin(tmp_path / name, lock_wait=0)
    assert report.status is JobStatus.FAILED and not refused(report)
    assert sidecar_path(tmp_path / name).read_bytes() == before
    assert pin(tmp_path / name).status is JobStatus.OK
