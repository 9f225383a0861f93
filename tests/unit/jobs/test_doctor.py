"""doctor while an online backup runs: its last pass suspends the write daemon with no freeze,
so a suspended daemon is neither a foreign freeze nor anything to thaw then."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.freeze_marker import FreezeMarker, read_marker, write_marker
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_doctor
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobStatus
from backup_keeper.settings import FreezeHookSettings, RetentionPolicy
from tests.builders import NEVER_ALIVE_PID, T0, write_managed_backup

BACKUP = [sys.executable, "-m", "backup_keeper", "backup", "--kind", "full"]


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


@pytest.fixture
def job(backups: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A backup-keeper online backup in another process, hung in its last pass."""
    fake = FakeIris()  # the instance every --iris fake process of this test shares
    fake.configure(hang_seconds=120)
    fake.fail("online_backup", "hang")
    job = subprocess.Popen(
        [*BACKUP, "--dir", str(backups), "--iris", "fake"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not fake.is_frozen():
            assert job.poll() is None, "the backup ended before its last pass"
            assert time.monotonic() < deadline, "the fake never suspended the write daemon"
            time.sleep(0.05)
        yield job
    finally:
        job.kill()
        job.wait(timeout=10)


@pytest.fixture
def hung_backup(job: subprocess.Popen[bytes]) -> FakeIris:
    return FakeIris()


def dead_freezer_marker(directory: Path) -> FreezeMarker:
    now = datetime.now(UTC)
    marker = FreezeMarker(
        host=socket.gethostname(),
        pid=NEVER_ALIVE_PID,
        started=now,
        expires=now + timedelta(hours=1),
    )
    write_marker(directory, marker)
    return marker


def test_doctor_during_a_running_online_backup_reports_no_foreign_freeze_and_thaws_nothing(
    hung_backup: FakeIris, backups: Path
) -> None:
    report = run_doctor(FreezeHookSettings(directory=backups), iris=hung_backup)
    assert report.errors == []
    assert report.status is JobStatus.OK, report
    assert any("not a foreign freeze" in line for line in report.checked), report.checked
    assert any("holds the instance lock" in w for w in report.warnings)
    assert hung_backup.snapshot().thaw_requests == 0
    assert hung_backup.is_frozen()


def test_a_stale_freeze_marker_is_not_thawed_under_a_running_online_backup(
    hung_backup: FakeIris, backups: Path
) -> None:
    marker = dead_freezer_marker(backups)
    report = run_doctor(FreezeHookSettings(directory=backups), iris=hung_backup)
    assert hung_backup.snapshot().thaw_requests == 0
    assert not any("CRITICAL" in line for line in report.warnings + report.errors)
    assert any("nothing thawed" in w for w in report.warnings), report.warnings
    assert read_marker(backups) == marker  # judged again once the backup has ended


def test_the_write_daemon_resumes_when_the_hung_backups_process_ends(
    backups: Path, hung_backup: FakeIris, job: subprocess.Popen[bytes]
) -> None:
    assert hung_backup.snapshot().last_pass_pid == job.pid
    job.kill()
    job.wait(timeout=10)
    assert not hung_backup.is_frozen()
    report = run_doctor(FreezeHookSettings(directory=backups), iris=hung_backup)
    assert report.summary == "all clear", report


PORTAL = "System Administration > Configuration > System Configuration > Journal Settings"


def journal_warnings(report_warnings: list[str]) -> list[str]:
    return [w for w in report_warnings if "journal" in w.lower()]


def test_doctor_warns_when_the_policy_keeps_backups_the_journal_purge_will_strand(
    tmp_path: Path, backups: Path
) -> None:
    fake = FakeIris(tmp_path / "iris")  # IRIS's defaults: 2 days, 2 backups
    policy = RetentionPolicy(keep_within=timedelta(days=14))
    report = run_doctor(FreezeHookSettings(directory=backups), iris=fake, retention=policy)
    assert "journal purge: DaysBeforePurge=2, BackupsBeforePurge=2, PurgeArchived=0" in (
        report.checked
    )
    [warning] = journal_warnings(report.warnings)
    assert warning.startswith("the retention policy: 1 kept backup(s) will be stranded by IRIS's ")
    assert "DaysBeforePurge purges first" in warning
    assert "raise DaysBeforePurge to at least 15" in warning
    assert "Config.Journal" in warning and PORTAL in warning


def test_doctor_is_quiet_about_journals_when_the_policy_stays_within_the_purge(
    tmp_path: Path, backups: Path
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(days_before_purge=30, backups_before_purge=0)
    policy = RetentionPolicy(keep_daily=14)
    report = run_doctor(FreezeHookSettings(directory=backups), iris=fake, retention=policy)
    assert journal_warnings(report.warnings) == []
    assert report.summary == "all clear"


def test_without_a_policy_doctor_only_notes_the_backups_held_past_the_purge(
    tmp_path: Path, backups: Path
) -> None:
    for day in range(5):
        write_managed_backup(backups, f"f{day}.cbk", BackupKind.FULL, T0 + timedelta(days=day))
    fake = FakeIris(tmp_path / "iris")
    report = run_doctor(
        FreezeHookSettings(directory=backups),
        iris=fake,
        clock=fixed_clock(T0 + timedelta(days=5)),
    )
    assert journal_warnings(report.warnings) == [] and report.summary == "all clear"
    assert (
        f"{backups}: 4 backup(s) held are past IRIS's journal purge (DaysBeforePurge): they "
        "restore only to their own moment; give the keep rules (--keep-*) to be told which "
        "setting to change"
    ) in report.checked


def test_with_purge_archived_doctor_says_the_archive_target_decides(
    tmp_path: Path, backups: Path
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(purge_archived=True)
    policy = RetentionPolicy(keep_last=3)
    report = run_doctor(FreezeHookSettings(directory=backups), iris=fake, retention=policy)
    [warning] = journal_warnings(report.warnings)
    assert "PurgeArchived is 1" in warning and "cannot see" in warning


def test_journal_settings_that_cannot_be_read_are_unknown_not_fine(
    tmp_path: Path, backups: Path
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.fail("journal_settings")
    policy = RetentionPolicy(keep_within=timedelta(days=14))
    report = run_doctor(FreezeHookSettings(directory=backups), iris=fake, retention=policy)
    [warning] = journal_warnings(report.warnings)
    assert "could not be read" in warning and "unknown" in warning
