"""The restore job against a FakeIris that follows the ledger: EXTSELCT map semantics, journal
restore select and redirect, the label checked against the instance's backup history, system
databases never overwritten in place, a mirror backup member's skips reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeDatabase, FakeIris
from backup_keeper.jobs import run_online_backup, run_restore, run_restore_plan
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import BackupSettings, RestorePlanSettings, RestoreSettings
from tests.unit.jobs.foreign import broken_chain

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
MGR = "/usr/irissys/mgr/"
USER = "/usr/irissys/mgr/user/"
APP = "/usr/irissys/mgr/irisapp/"
STAGING = "/staging/user/"


def take_chain(fake: FakeIris, target: Path, kinds: list[str]) -> list[Path]:
    files = []
    for i, kind in enumerate(kinds):
        at = NOW + timedelta(hours=4 * i)
        instance = FakeIris(fake.state_dir, clock=fixed_clock(at))
        report = run_online_backup(
            BackupSettings(directory=target, kind=kind), iris=instance, clock=fixed_clock(at)
        )
        assert report.status is JobStatus.OK and report.backup and report.backup.file
        files.append(Path(report.backup.file))
    return files


@pytest.fixture
def chain(tmp_path: Path) -> tuple[FakeIris, Path, list[Path]]:
    """USER and IRISAPP backed up: a full and an incremental, four hours apart."""
    fake = FakeIris(tmp_path / "iris")
    target = tmp_path / "backups"
    target.mkdir()
    return fake, target, take_chain(fake, target, ["full", "incremental"])


def restore(
    target: Path, fake: FakeIris, mapping: dict[str, str], journals: bool = True
) -> JobReport:
    settings = RestoreSettings(directories=[target], directory_map=mapping, apply_journals=journals)
    return run_restore(settings, iris=fake, clock=fixed_clock(NOW + timedelta(hours=6)))


def test_a_mapped_restore_selects_every_restored_database_and_redirects_the_mapped_one(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    report = restore(target, fake, {USER: STAGING, APP: APP})
    assert report.status is JobStatus.OK, report.errors
    [run] = fake.snapshot().journal_restores
    assert sorted(run.selected) == [APP, USER]
    assert run.redirected == {USER: STAGING}
    assert sorted(run.replayed_into) == [STAGING, APP]
    assert fake.snapshot().restored == [str(f) for f in files]


def test_a_journal_restore_never_touches_a_database_the_plan_did_not_restore(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, _ = chain
    report = restore(target, fake, {USER: STAGING})
    assert report.status is JobStatus.OK, report.errors
    state = fake.snapshot()
    assert state.restored_into == [STAGING, STAGING]
    [run] = state.journal_restores
    assert run.replayed_into == [STAGING]
    assert USER not in run.replayed_into and APP not in run.replayed_into
    assert any("left unapplied" in line and APP in line for line in report.checked)


def test_without_a_selection_the_fake_replays_every_database_into_the_originals_as_iris_does(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    """What today's main did: redirect without SelectUpdates. The simulator shows the harm."""
    fake, _, _ = chain
    fake.restore_journals(f"{MGR}journal/20261122.002", select=[], redirect={USER: STAGING})
    assert sorted(fake.snapshot().journal_restores[0].replayed_into) == [APP, USER]


def test_an_empty_map_restores_nothing(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    fake, target, _ = chain
    report = restore(target, fake, {})
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("nothing to restore: no --map given")
    state = fake.snapshot()
    assert state.restored == [] and state.restored_into == [] and state.journal_restores == []


def test_the_port_given_an_empty_map_skips_every_database_as_extselct_does(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, _, files = chain
    outcome = fake.restore_backup(str(files[0]), {})
    assert outcome.restored == {} and sorted(outcome.skipped) == [APP, USER]
    assert fake.snapshot().restored_into == []


@pytest.mark.parametrize(
    ("directory", "name"),
    [(MGR, "IRISSYS"), (f"{MGR}irisaudit/", "IRISAUDIT"), (f"{MGR}irissecurity", "IRISSECURITY")],
)
def test_a_system_database_is_never_restored_in_place(
    tmp_path: Path, directory: str, name: str
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(
        databases=[
            FakeDatabase(directory=USER, name="USER"),
            FakeDatabase(directory=directory.rstrip("/") + "/", name=name),
        ]
    )
    target = tmp_path / "backups"
    target.mkdir()
    take_chain(fake, target, ["full"])
    report = restore(target, fake, {directory: directory, USER: USER})
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(f"refused: --map {directory}={directory} would restore")
    assert f"over {name} ({directory}) in place" in report.errors[0]
    assert fake.snapshot().restored == []


def test_a_system_database_may_be_restored_to_another_directory(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(databases=[FakeDatabase(directory=MGR, name="IRISSYS")])
    target = tmp_path / "backups"
    target.mkdir()
    take_chain(fake, target, ["full"])
    report = restore(target, fake, {MGR: "/staging/irissys/"}, journals=False)
    assert report.status is JobStatus.OK, report.errors
    assert fake.snapshot().restored_into == ["/staging/irissys/"]


def test_a_label_the_history_does_not_hold_fails_with_minus_2_explained(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    fake.configure(history=[])
    report = restore(target, fake, {USER: USER})
    assert report.status is JobStatus.FAILED
    error = report.errors[0]
    assert error.startswith(f"restore failed at file 1 of 2 ({files[0].name}): ")
    assert "^DBREST returned -2" in error
    assert "does not match the label in this instance's backup history" in error


def test_the_raw_reply_of_every_file_is_in_the_report(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    report = restore(target, fake, {USER: STAGING}, journals=False)
    assert report.checked[0] == (
        f"file 1 ({files[0].name}): ^DBREST returned '1'; restored {USER} -> {STAGING}; "
        f"skipped {APP}"
    )


def test_the_chain_is_restored_file_after_file_and_the_journals_only_after_the_last(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    assert restore(target, fake, {USER: USER}).status is JobStatus.OK
    log = fake.snapshot().restore_log
    assert log[:2] == [f"backup {f}" for f in files] and log[2].startswith("journals ")


def test_a_mirror_backup_members_skipped_databases_are_reported_and_not_journaled(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(
        databases=[
            FakeDatabase(directory=USER, name="USER"),
            FakeDatabase(directory=APP, name="IRISAPP", mirrored=True),
        ]
    )
    target = tmp_path / "backups"
    target.mkdir()
    take_chain(fake, target, ["full"])
    fake.configure(mirror_member=1, mirror_backup=True)
    report = restore(target, fake, {USER: USER, APP: APP})
    assert report.status is JobStatus.OK, report.errors
    assert any(f"^DBREST did not restore {APP}" in w for w in report.warnings), report.warnings
    [run] = fake.snapshot().journal_restores
    assert run.selected == [USER] and run.replayed_into == [USER]


def test_a_map_source_the_backup_does_not_hold_is_refused_before_any_file(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, _ = chain
    report = restore(target, fake, {"/usr/irissys/mgr/nosuch/": STAGING})
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("--map /usr/irissys/mgr/nosuch/: not a database")
    assert fake.snapshot().restored == []


def test_the_plan_steps_describe_the_same_journal_procedure(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, _ = chain
    plan = run_restore_plan(RestorePlanSettings(directories=[target])).restore
    assert plan is not None
    journal = plan.steps[-1]
    assert "SelectUpdates(<source>) for every restored database" in journal
    assert "RedirectDatabase(<source>,<target>) for each one mapped elsewhere" in journal
    assert "Never Run with nothing selected" in journal
    assert any("nothing updating the target databases between them" in s for s in plan.steps)
    assert "an empty map restores nothing" in plan.steps[0]
    assert "IRISSYS, IRISAUDIT or IRISSECURITY in place" in plan.steps[0]


def test_a_chain_a_foreign_backup_broke_is_never_restored(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    target = tmp_path / "backups"
    target.mkdir()
    files = broken_chain(fake, target)
    settings = RestoreSettings(directories=[target], directory_map={USER: STAGING})
    report = run_restore(settings, iris=fake, clock=fixed_clock(NOW + timedelta(hours=6)))
    assert report.status is JobStatus.OK, report.errors
    assert fake.snapshot().restored == [str(f) for f in files[:2]]


def test_a_restore_whose_history_cannot_be_read_restores_nothing(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, _ = chain
    fake.fail("backup_history")
    report = restore(target, fake, {USER: STAGING})
    assert report.status is JobStatus.FAILED
    assert "history" in report.summary
    assert fake.snapshot().restored == []
