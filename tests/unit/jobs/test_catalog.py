from __future__ import annotations

import errno
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_catalog
from backup_keeper.report import JobStatus
from backup_keeper.settings import CatalogSettings
from tests.builders import T0, write_iris_backup


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
