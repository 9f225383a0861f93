"""The restore-plan job on real directories, with the job's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_restore_plan
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobStatus
from backup_keeper.settings import RestorePlanSettings
from backup_keeper.timezones import format_moment, machine_zone
from tests.builders import T0, write_managed_backup
from tests.unit.jobs.foreign import FOREIGN, FOREIGN_AT, broken_chain
from tests.unit.jobs.foreign import NOW as FOREIGN_NOW

NOW = T0 + timedelta(days=1)


def test_a_backup_dated_2099_is_a_warning_and_never_what_the_plan_restores_to(
    tmp_path: Path,
) -> None:
    write_managed_backup(tmp_path, "good.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    report = run_restore_plan(
        RestorePlanSettings(directories=[tmp_path], timezone="UTC"), clock=fixed_clock(NOW)
    )
    assert report.status is JobStatus.OK
    assert report.summary == "restore 1 file(s) to 2026-11-01 02:00:00 UTC"
    assert report.restore is not None and report.restore.restores_to == T0
    assert any(w.startswith(f"{tmp_path / 'forged.cbk'}: dated 2099") for w in report.warnings), (
        report.warnings
    )


def test_the_plan_says_when_it_restores_to_in_the_instances_zone(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    settings = RestorePlanSettings(directories=[tmp_path], timezone="Asia/Tokyo")
    report = run_restore_plan(settings, clock=fixed_clock(NOW))
    assert report.summary == "restore 1 file(s) to 2026-11-01 11:00:00 JST"
    assert report.restore is not None and report.restore.restores_to == T0


def test_a_fallback_and_the_future_are_dated_in_the_instances_zone(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(FOREIGN_NOW))
    backups = tmp_path / "a"
    backups.mkdir()
    broken_chain(fake, backups)
    write_managed_backup(backups, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    later = FOREIGN_NOW + timedelta(days=1)
    settings = RestorePlanSettings(directories=[backups], timezone="Asia/Tokyo")
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    assert report.restore is not None and report.restore.fallback is not None
    assert report.restore.fallback.startswith(
        "restoring to 2026-11-22 13:00:00 JST, the newest moment that can be restored: "
    ), report.restore.fallback
    assert report.restore.fallback.endswith(f"{FOREIGN} at 2026-11-22 14:00:00 JST")
    assert any(
        w.endswith(
            "forged.cbk: dated 2099-01-01 09:00:00 JST, after now (2026-11-23 11:00:00 JST)"
            ": a clock or its sidecar is wrong; it is kept, never counted as fresh and never the "
            "default restore point"
        )
        for w in report.warnings
    ), report.warnings
    only_future = tmp_path / "b"
    only_future.mkdir()
    write_managed_backup(only_future, "f.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    settings = RestorePlanSettings(directories=[only_future], timezone="Asia/Tokyo")
    failed = run_restore_plan(settings, clock=fixed_clock(later))
    assert "dated after now (2026-11-23 11:00:00 JST)" in failed.summary, failed.summary


def test_the_plan_follows_the_jobs_clock_not_the_wall(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(hours=2))
    report = run_restore_plan(
        RestorePlanSettings(directories=[tmp_path]), clock=fixed_clock(T0 + timedelta(hours=1))
    )
    assert report.restore is not None and report.restore.restores_to == T0


def test_only_future_backups_is_a_failed_plan_that_says_why(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    report = run_restore_plan(RestorePlanSettings(directories=[tmp_path]), clock=fixed_clock(NOW))
    assert report.status is JobStatus.FAILED
    assert "dated after now" in report.summary and "forged.cbk" in report.summary


def test_restore_plan_reports_leftover_temporary_files(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "good.cbk", BackupKind.FULL, T0)
    (tmp_path / ".good.cbk.zst.tmp-999999999").write_bytes(b"partial")
    report = run_restore_plan(RestorePlanSettings(directories=[tmp_path]), clock=fixed_clock(NOW))
    assert any(".good.cbk.zst.tmp-999999999: a temporary file" in w for w in report.warnings)


def test_with_iris_the_plan_never_restores_a_chain_a_full_elsewhere_broke(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(FOREIGN_NOW))
    backups = tmp_path / "a"
    backups.mkdir()
    full, first, second = broken_chain(fake, backups)
    settings = RestorePlanSettings(directories=[backups])
    later = fixed_clock(FOREIGN_NOW + timedelta(days=1))
    blind = run_restore_plan(settings, clock=later)
    assert blind.restore is not None and blind.restore.files[-1].path == str(second)
    report = run_restore_plan(settings, clock=later, iris=fake)
    assert report.status is JobStatus.OK and report.iris == "fake"
    assert report.restore is not None
    assert [f.path for f in report.restore.files] == [str(full), str(first)]
    assert report.restore.problems == [
        f"{second.name} cannot be restored: chain broken by a foreign backup {FOREIGN} at "
        f"{format_moment(FOREIGN_AT, machine_zone())}"
    ]
    assert report.restore.fallback is not None and FOREIGN in report.restore.fallback
