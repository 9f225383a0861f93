"""The restore-plan job on real directories, with the job's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_restore_plan
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings, RestorePlanSettings
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


DAY0 = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)


def daily_fulls(fake: FakeIris, directory: Path, days: int) -> list[Path]:
    """One full a day from DAY0, each taken by the online backup job through the fake, whose
    journal purge (defaults 2 days / 2 backups) runs after each."""
    for day in range(days):
        moment = DAY0 + timedelta(days=day)
        fake.clock = fixed_clock(moment)
        settings = BackupSettings.model_validate(
            {"directory": directory, "kind": "full", "timezone": "UTC"}
        )
        report = run_online_backup(settings, iris=fake, clock=fixed_clock(moment))
        assert report.status is JobStatus.OK, report.errors
    return sorted(directory.glob("*.cbk"))


def test_a_restore_plan_names_the_journal_file_iris_purged(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 5)
    # the oldest full's own moment is still restorable, but its journals are gone
    at = DAY0
    later = DAY0 + timedelta(days=4, hours=2)
    settings = RestorePlanSettings(directories=[backups], timezone="UTC", at=at)
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    plan = report.restore
    assert plan is not None and plan.ok, report.errors
    required = plan.journal_start
    assert required is not None and required not in {j.path for j in fake.snapshot().journals}
    assert plan.journal_missing == required
    assert plan.roll_forward == (
        f"only to its own moment: its required journal file {required} is missing, so "
        "transactions open at backup time cannot be rolled back"
    )
    assert any("cannot roll this backup forward" in step for step in plan.steps)


def test_the_newest_backup_rolls_forward_to_now(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 3)
    later = DAY0 + timedelta(days=2, hours=5)
    settings = RestorePlanSettings(directories=[backups], timezone="UTC")
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    assert report.restore is not None and report.restore.roll_forward == "to now"
    assert report.restore.journal_missing is None


def test_a_moment_past_a_purged_journal_is_refused_naming_the_missing_file(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 5)
    at = DAY0 + timedelta(hours=12)  # after the first full, before the second
    later = DAY0 + timedelta(days=4, hours=2)
    settings = RestorePlanSettings(directories=[backups], timezone="UTC", at=at)
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    assert report.status is JobStatus.FAILED
    assert report.restore is not None and not report.restore.ok
    problem = report.errors[0]
    assert problem.startswith("no journal reaches 2026-11-10 13:00:00 UTC: "), problem
    assert "its required journal file /usr/irissys/mgr/journal/20261110.001 is missing" in problem


def test_a_moment_after_now_is_refused_when_the_journals_are_known(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 1)
    later = DAY0 + timedelta(hours=3)
    at = later + timedelta(days=1)
    settings = RestorePlanSettings(directories=[backups], timezone="UTC", at=at)
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        "no journal reaches 2026-11-11 04:00:00 UTC: the journals reach only now "
        "(2026-11-10 04:00:00 UTC)"
    ]


def test_without_a_journal_list_the_roll_forward_is_unknown_and_nothing_is_refused(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 1)
    later = DAY0 + timedelta(hours=3)
    settings = RestorePlanSettings(directories=[backups], timezone="UTC", at=later)
    report = run_restore_plan(settings, clock=fixed_clock(later))
    assert report.status is JobStatus.OK
    assert report.restore is not None
    assert report.restore.roll_forward == "unknown: journal files not listed (no IRIS)"
    fake.fail("journal_files")
    report = run_restore_plan(settings, clock=fixed_clock(later), iris=fake)
    assert report.status is JobStatus.OK and report.restore is not None
    assert report.restore.roll_forward == "unknown: journal files not listed (no IRIS)"
    assert any("journal files could not be listed" in w for w in report.warnings)


def test_a_journal_lost_between_backup_and_now_is_named_and_the_plan_stops_at_the_backup(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(days_before_purge=0, backups_before_purge=0)
    backups = tmp_path / "b"
    backups.mkdir()
    daily_fulls(fake, backups, 3)
    lost = "/usr/irissys/mgr/journal/20261111.003"
    fake.lose_journal(lost)
    later = DAY0 + timedelta(days=2, hours=5)
    own = RestorePlanSettings(directories=[backups], timezone="UTC", at=DAY0)
    plan = run_restore_plan(own, clock=fixed_clock(later), iris=fake).restore
    # the fake numbers on across days, so the file missing between two days is described
    missing = f"a journal file between {lost[:-12]}20261110.002 and {lost[:-12]}20261112.004"
    assert plan is not None and plan.ok and plan.journal_missing == missing
    assert plan.roll_forward == f"only to its own moment: first missing journal file {missing}"
    past_gap = own.model_copy(update={"at": DAY0 + timedelta(days=1, hours=12)})
    report = run_restore_plan(past_gap, clock=fixed_clock(later), iris=fake)
    assert report.status is JobStatus.FAILED
    assert f"first missing journal file {missing}" in report.errors[0]
