from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_catalog
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobStatus
from backup_keeper.settings import CatalogSettings
from backup_keeper.timezones import format_moment, machine_zone
from tests.builders import T0, write_iris_backup, write_managed_backup
from tests.unit.jobs.foreign import FOREIGN, FOREIGN_AT, NOW, broken_chain


def test_catalog_reports_every_file_with_its_facts(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    (tmp_path / "odd.cbk").write_bytes(b"x")
    report = run_catalog(CatalogSettings(directories=[tmp_path]), clock=fixed_clock(T0))
    assert report.status is JobStatus.OK
    assert report.summary == "2 backup file(s): 1 managed, 1 unmanaged"
    # oldest first: the IRIS file's named day comes before the odd file's mtime (today)
    assert [e.source for e in report.records] == ["file-name", "unmanaged"]


def test_catalog_of_an_unreadable_directory_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(path: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("backup_keeper.catalog.discover.os.scandir", denied)
    report = run_catalog(CatalogSettings(directories=[tmp_path]), clock=fixed_clock(T0))
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("cannot read backups:")


def test_catalog_warns_about_backups_dated_after_its_clock(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    write_managed_backup(tmp_path, "good.cbk", BackupKind.FULL, T0)
    report = run_catalog(CatalogSettings(directories=[tmp_path]), clock=fixed_clock(T0))
    assert report.status is JobStatus.OK
    assert len(report.warnings) == 1 and "forged.cbk: dated 2099" in report.warnings[0]
    later = run_catalog(
        CatalogSettings(directories=[tmp_path]), clock=fixed_clock(datetime(2100, 1, 1, tzinfo=UTC))
    )
    assert later.warnings == []


def test_catalog_shows_unreadable_logs_and_leftover_temporary_files(tmp_path: Path) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1, log=False)
    os.mkfifo(cbk.with_suffix(".log"))
    (tmp_path / ".x.cbk.zst.tmp-123").write_bytes(b"")
    report = run_catalog(CatalogSettings(directories=[tmp_path]), clock=fixed_clock(T0))
    assert [e.status for e in report.records] == ["unreadable"]
    assert len(report.warnings) == 2
    assert "1 IRIS log(s) cannot be read (not a regular file)" in report.warnings[0]
    assert ".x.cbk.zst.tmp-123: a temporary file" in report.warnings[1]


def test_with_iris_the_catalog_marks_the_chain_a_full_elsewhere_broke(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    backups = tmp_path / "a"
    backups.mkdir()
    full, first, second = broken_chain(fake, backups)
    settings = CatalogSettings(directories=[backups], timezone="UTC")
    plain = run_catalog(settings, clock=fixed_clock(NOW + timedelta(days=1)))
    assert [e.chain_complete for e in plain.records] == [True, True, True]  # the files alone
    report = run_catalog(settings, clock=fixed_clock(NOW + timedelta(days=1)), iris=fake)
    assert report.status is JobStatus.OK and report.iris == "fake"
    assert [Path(e.path).name for e in report.records] == [full.name, first.name, second.name]
    assert [e.chain_complete for e in report.records] == [True, True, False]
    why = (
        f"chain broken by a foreign backup {FOREIGN} at {format_moment(FOREIGN_AT, machine_zone())}"
    )
    assert why in report.records[2].reasons
    assert report.warnings == [f"{second}: not restorable from these directories: {why}"]


def test_a_catalog_whose_history_cannot_be_read_fails_and_lists_what_the_files_say(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    write_managed_backup(tmp_path, "good.cbk", BackupKind.FULL, T0)
    fake.fail("backup_history")
    report = run_catalog(CatalogSettings(directories=[tmp_path]), clock=fixed_clock(T0), iris=fake)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("IRIS's backup history could not be read")
    assert [e.chain_complete for e in report.records] == [True]
