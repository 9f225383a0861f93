"""The freshness check: the alarm for a schedule that stopped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.record import BackupStatus
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_freshness_check
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import FreshnessSettings, RetentionPolicy
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


def test_the_checked_lines_give_times_in_the_instances_zone(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(hours=20))
    report = check(tmp_path, timezone="Asia/Tokyo")
    assert f"full: newest completed 2026-11-22 01:00:00 JST, 20h old: {tmp_path / 'f.cbk'}" in (
        report.checked
    ), report.checked


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


def test_a_failed_newest_backup_is_dated_in_the_instances_zone(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "IncrementalDBList", "20261122", 2, finished=False)
    report = check(tmp_path, timezone="Asia/Tokyo")
    assert report.errors[0].startswith("the newest backup failed:")
    assert report.errors[0].endswith(" JST"), report.errors


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


# --- backups dated in the future (issue 11, item 20) ---


def test_a_backup_dated_in_the_future_never_counts_as_fresh(tmp_path: Path) -> None:
    """A sidecar saying 2099 once made check-freshness report fresh for 73 years."""
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(days=3))
    write_managed_backup(tmp_path, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    report = check(tmp_path, kinds=["full"])
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"newest completed full backup is 3d old (max 1d2h): {tmp_path / 'f.cbk'}"
    ]
    assert any(w.startswith(f"{tmp_path / 'forged.cbk'}: dated 2099") for w in report.warnings)


def test_an_iris_file_named_for_a_future_day_never_counts_as_fresh(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20991231", 1)
    report = check(tmp_path, kinds=["full"])
    assert report.errors == ["no completed full backup found at all"]
    assert any("FullDBList_20991231_001.cbk: dated" in w for w in report.warnings)


def test_a_failed_backup_dated_in_the_future_is_not_the_newest_backup(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(hours=2))
    write_managed_backup(
        tmp_path,
        "x.cbk",
        BackupKind.FULL,
        datetime(2099, 1, 1, tzinfo=UTC),
        BackupStatus.FAILED,
    )
    report = check(tmp_path, kinds=["full"])
    assert report.status is JobStatus.OK, report.errors
    assert report.warnings


def test_iris_history_dated_in_the_future_never_counts_as_fresh(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(datetime(2099, 1, 1, tzinfo=UTC)))
    fake.online_backup(
        BackupKind.FULL, description="", file=str(tmp_path / "x.cbk"), log_file="", quiet_timeout=1
    )
    catalog_dir = tmp_path / "empty"
    catalog_dir.mkdir()
    report = check(catalog_dir, iris=fake, kinds=["full"])
    assert report.errors == ["no completed full backup found at all"]
    assert any("IRIS history" in w and "after now" in w for w in report.warnings), report.warnings


# --- logs that cannot be read (issue 11, item 4) ---


def test_a_newest_backup_whose_log_cannot_be_read_is_a_finding_not_fresh(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261119", 1)
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261122", 2, log=False)
    cbk.with_suffix(".log").mkdir()
    report = check(tmp_path, kinds=["full"], timezone="UTC")
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(
        f"the newest backup's IRIS log cannot be read: {cbk} at 2026-11-22"
    )
    assert report.errors[1].startswith("newest completed full backup is 3d")
    assert any("1 IRIS log(s) cannot be read" in w for w in report.warnings)


def test_iris_history_at_the_end_of_the_calendar_is_left_out_with_a_warning(
    tmp_path: Path,
) -> None:
    """IRIS's history holds instance-local times; the last hour of 9999 west of UTC is past
    what a moment can hold."""
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW - timedelta(hours=3)))
    fake.online_backup(
        BackupKind.FULL, description="", file=str(tmp_path / "x.cbk"), log_file="", quiet_timeout=1
    )
    state_file = fake.state_dir / "state.json"
    state = json.loads(state_file.read_text())
    state["history"][0]["time"] = "9999-12-31T23:00:00"
    state_file.write_text(json.dumps(state))
    catalog_dir = tmp_path / "empty"
    catalog_dir.mkdir()
    report = check(catalog_dir, iris=fake, kinds=["full"], timezone="America/New_York")
    assert report.errors == ["no completed full backup found at all"]
    assert any("cannot be represented" in w for w in report.warnings), report.warnings


def test_with_iris_a_policy_the_journal_purge_strands_is_warned_about_and_still_fresh(
    tmp_path: Path,
) -> None:
    write_managed_backup(tmp_path, "f.cbk", BackupKind.FULL, NOW - timedelta(hours=3))
    fake = FakeIris(tmp_path / "iris")  # IRIS's defaults: 2 days, 2 backups
    settings = FreshnessSettings.model_validate({"directories": [tmp_path], "max_age": "26h"})
    policy = RetentionPolicy(keep_within=timedelta(days=14))
    report = run_freshness_check(
        settings, iris=fake, notifier=None, clock=fixed_clock(NOW), retention=policy
    )
    assert report.status is JobStatus.OK and report.errors == []
    [warning] = [w for w in report.warnings if "journal purge" in w]
    assert warning.startswith(
        "the retention policy: 1 kept backup(s) will be stranded by IRIS's journal purge"
    )
    assert "raise DaysBeforePurge to at least 15" in warning
    assert "journal purge: DaysBeforePurge=2, BackupsBeforePurge=2, PurgeArchived=0" in (
        report.checked
    )


def test_without_a_policy_the_backups_found_past_the_purge_are_only_noted(
    tmp_path: Path,
) -> None:
    for days in (0.2, 1, 3):
        write_managed_backup(tmp_path, f"f{days}.cbk", BackupKind.FULL, NOW - timedelta(days=days))
    fake = FakeIris(tmp_path / "iris")
    fake.configure(days_before_purge=10, backups_before_purge=0)
    assert not [w for w in check(tmp_path, iris=fake).warnings if "journal purge" in w]
    fake.configure(days_before_purge=2)
    checked = check(tmp_path, iris=fake)
    assert not [w for w in checked.warnings if "journal purge" in w]
    assert any(
        line.startswith("the backup directories: 1 backup(s) held are past IRIS's journal purge")
        for line in checked.checked
    )
    fake.fail("journal_settings")
    assert any("could not be read" in w for w in check(tmp_path, iris=fake).warnings)
