"""The freshness check: the alarm for a schedule that stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.record import BackupKind, BackupStatus
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_freshness_check
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import FreshnessSettings
from tests.builders import write_iris_backup, write_managed_backup

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


def check(
    directory: Path, max_age: str = "26h", iris: FakeIris | None = None, **extra: object
) -> JobReport:
    settings = FreshnessSettings.model_validate(
        {"directories": [directory], "max_age": max_age, **extra}
    )
    recorder = Recorder()
    report = run_freshness_check(settings, iris=iris, notifier=recorder, clock=fixed_clock(NOW))
    assert recorder.reports == [report]
    return report


def test_fresh_backups_pass(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(hours=20))
    write_managed_backup(tmp_path, "i.cbk", BackupKind.INCREMENTAL, NOW - timedelta(hours=2))
    report = check(tmp_path)
    assert report.status is JobStatus.OK and report.summary == "backups are fresh"


def test_a_kind_whose_newest_good_backup_is_too_old_fails(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(days=3))
    write_managed_backup(tmp_path, "i.cbk", BackupKind.INCREMENTAL, NOW - timedelta(hours=1))
    report = check(tmp_path)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"newest completed full backup is 3d old (max 1d2h): {tmp_path / 'f.cbk'}"
    ]


def test_no_full_at_all_and_a_failed_newest_backup_are_findings(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "IncrementalDBList", "20261122", 2, finished=False)
    report = check(tmp_path)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("the newest backup failed:")
    assert "no completed full backup found at all" in report.errors


def test_iris_history_counts_too(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW - timedelta(hours=3)))
    fake.online_backup(
        BackupKind.FULL, description="", file=str(tmp_path / "x.cbk"), log_file="", quiet_timeout=1
    )
    catalog_dir = tmp_path / "empty"
    catalog_dir.mkdir()
    report = check(catalog_dir, iris=fake, kinds=["full"])
    assert report.status is JobStatus.OK, report.errors
    assert report.iris == "fake"


def test_unreadable_history_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    write_managed_backup(
        tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(hours=1), BackupStatus.COMPLETED
    )
    fake = FakeIris(tmp_path / "iris")
    fake.fail("backup_history")
    report = check(tmp_path, iris=fake)
    assert report.status is JobStatus.OK
    assert report.warnings[0].startswith("IRIS backup history not read:")


def test_bad_max_age_is_a_settings_error(tmp_path: Path) -> None:
    from backup_keeper.settings import SettingsError, validate_settings

    with pytest.raises(SettingsError, match="max_age: invalid duration"):
        validate_settings(FreshnessSettings, {"directories": [tmp_path], "max_age": "a day"})
