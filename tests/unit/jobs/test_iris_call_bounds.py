"""A hung IRIS call never hangs a job: through BoundedIris, every job that talks to IRIS gives a
failed report naming the call within about the bound, and tells its notifier."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.freeze_marker import MARKER_NAME
from backup_keeper.iris.bounded import BoundedIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import (
    run_doctor,
    run_external_backup,
    run_freeze,
    run_freshness_check,
    run_online_backup,
    run_restore,
    run_thaw,
    run_verify,
)
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import (
    BackupSettings,
    ExternalBackupSettings,
    FreezeHookSettings,
    FreshnessSettings,
    RestoreSettings,
    VerifySettings,
)
from tests.hang_guard import fails_if_blocked

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
BOUND = 0.3
HANG = 2.0
"""The fake's hang outlives the bound; its thread then finishes on its own, as IRIS might."""


class Told:
    """A notifier that remembers what it was told."""

    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    fake.configure(hang_seconds=HANG)
    return fake


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


@contextmanager
def within_the_bound() -> Iterator[None]:
    started = time.monotonic()
    with fails_if_blocked(10):
        yield
    assert time.monotonic() - started < HANG, "the job waited for the hung call"


def assert_failed_naming(report: JobReport, told: Told, call: str) -> None:
    assert report.status is JobStatus.FAILED, report.summary
    assert any(f"{call} did not return within {BOUND:g} s" in e for e in report.errors), (
        report.errors
    )
    assert told.reports == [report]


def take_full(fake: FakeIris, directory: Path) -> None:
    report = run_online_backup(
        BackupSettings(directory=directory, kind="full"), iris=fake, clock=fixed_clock(NOW)
    )
    assert report.status is JobStatus.OK, report.errors


@pytest.mark.parametrize("step", ["mirror", "databases", "size_estimate", "freeze_marker"])
def test_backup_with_a_hung_call_before_the_backup_fails_and_alerts(
    fake: FakeIris, directory: Path, step: str
) -> None:
    fake.fail(step, "hang")
    told = Told()
    with within_the_bound():
        report = run_online_backup(
            BackupSettings(directory=directory, kind="full"),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
            clock=fixed_clock(NOW),
        )
    assert_failed_naming(report, told, step)
    assert list(directory.glob("*.cbk")) == []
    fake.heal(step)
    assert fake.acquire_lock("BackupKeeper.Backup", 0), "the instance lock was not released"


def snapshot_settings(directory: Path) -> ExternalBackupSettings:
    return ExternalBackupSettings(directory=directory, command=["true"])


@pytest.mark.parametrize("step", ["mirror", "is_frozen", "databases", "set_freeze_marker"])
def test_snapshot_with_a_hung_call_before_the_freeze_fails_alerts_and_never_freezes(
    fake: FakeIris, directory: Path, step: str
) -> None:
    fake.fail(step, "hang")
    told = Told()
    with within_the_bound():
        report = run_external_backup(
            snapshot_settings(directory),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
            clock=fixed_clock(NOW),
        )
    assert_failed_naming(report, told, step)
    assert not fake.is_frozen()


def test_snapshot_with_a_hung_call_while_frozen_still_thaws(
    fake: FakeIris, directory: Path
) -> None:
    """``instance`` is asked for the command's environment, after ExternalFreeze."""
    fake.fail("instance", "hang")
    told = Told()
    with within_the_bound():
        report = run_external_backup(
            snapshot_settings(directory),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
            clock=fixed_clock(NOW),
        )
    assert_failed_naming(report, told, "instance")
    assert not fake.is_frozen(), "a hung call while frozen must not keep the instance frozen"
    assert not (directory / MARKER_NAME).exists()
    assert list(directory.glob("*.snapshot.json")) == []


def hook_settings(directory: Path) -> FreezeHookSettings:
    return FreezeHookSettings(directory=directory)


def test_freeze_with_a_hung_call_before_the_freeze_fails_and_alerts(
    fake: FakeIris, directory: Path
) -> None:
    fake.fail("is_frozen", "hang")
    told = Told()
    with within_the_bound():
        report = run_freeze(hook_settings(directory), iris=BoundedIris(fake, BOUND), notifier=told)
    assert_failed_naming(report, told, "is_frozen")
    fake.heal("is_frozen")
    assert not fake.is_frozen()


def test_thaw_with_a_hung_thaw_fails_critically_and_alerts(fake: FakeIris, directory: Path) -> None:
    fake.external_freeze(log_file="", text="t", freeze_timeout=10, wd_suspend_limit=0)
    fake.fail("external_thaw", "hang")
    told = Told()
    with within_the_bound():
        report = run_thaw(hook_settings(directory), iris=BoundedIris(fake, BOUND), notifier=told)
    assert_failed_naming(report, told, "external_thaw")
    assert report.summary.startswith("CRITICAL: the instance may still be frozen")


def test_doctor_with_a_hung_call_fails_and_alerts(fake: FakeIris, directory: Path) -> None:
    fake.fail("freeze_marker", "hang")
    told = Told()
    with within_the_bound():
        report = run_doctor(hook_settings(directory), iris=BoundedIris(fake, BOUND), notifier=told)
    assert_failed_naming(report, told, "freeze_marker")


def test_verify_with_a_hung_label_read_fails_and_alerts_once_not_per_backup(
    fake: FakeIris, directory: Path
) -> None:
    for _ in range(3):
        take_full(FakeIris(fake.state_dir, clock=fixed_clock(NOW)), directory)
        fake.configure(hang_seconds=HANG)
    fake.fail("volume_info", "hang")
    told = Told()
    with within_the_bound():
        report = run_verify(
            VerifySettings(directories=[directory]), iris=BoundedIris(fake, BOUND), notifier=told
        )
    assert_failed_naming(report, told, "volume_info")


def test_freshness_with_a_hung_history_read_fails_and_alerts(
    fake: FakeIris, directory: Path
) -> None:
    take_full(fake, directory)
    fake.fail("backup_history", "hang")
    told = Told()
    with within_the_bound():
        report = run_freshness_check(
            FreshnessSettings(directories=[directory], max_age="1000d"),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
        )
    assert_failed_naming(report, told, "backup_history")


def test_restore_with_a_hung_call_before_the_restore_fails_and_alerts(
    fake: FakeIris, directory: Path
) -> None:
    take_full(fake, directory)
    fake.fail("mirror", "hang")
    told = Told()
    with within_the_bound():
        report = run_restore(
            RestoreSettings(directories=[directory]),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
        )
    assert_failed_naming(report, told, "mirror")
    assert fake.snapshot().restored == []


def wait_until_frozen(fake: FakeIris) -> None:
    deadline = time.monotonic() + HANG + 3
    while not fake.is_frozen():
        assert time.monotonic() < deadline, "the late ExternalFreeze never landed"
        time.sleep(0.05)


def test_a_freeze_that_does_not_answer_keeps_the_markers_for_whoever_thaws_next(
    fake: FakeIris, directory: Path
) -> None:
    """No answer is not a refusal: IRIS may freeze after the job gave up on the call, and the
    markers are then the only record that backup-keeper froze it."""
    fake.fail("external_freeze", "hang")
    told = Told()
    with within_the_bound():
        report = run_external_backup(
            snapshot_settings(directory),
            iris=BoundedIris(fake, BOUND),
            notifier=told,
            clock=fixed_clock(NOW),
        )
    assert_failed_naming(report, told, "external_freeze")
    assert "may be frozen" in report.summary
    wait_until_frozen(fake)  # the call lands late, as IRIS's may
    assert (directory / MARKER_NAME).exists() and fake.freeze_marker() is not None
    fake.heal("external_freeze")
    thawed = run_thaw(hook_settings(directory), iris=BoundedIris(fake, BOUND))
    assert thawed.status is JobStatus.OK, thawed.errors
    assert not fake.is_frozen() and not (directory / MARKER_NAME).exists()


def test_a_freeze_hook_that_does_not_answer_keeps_its_markers(
    fake: FakeIris, directory: Path
) -> None:
    fake.fail("external_freeze", "hang")
    told = Told()
    with within_the_bound():
        report = run_freeze(hook_settings(directory), iris=BoundedIris(fake, BOUND), notifier=told)
    assert_failed_naming(report, told, "external_freeze")
    assert "may be frozen" in report.summary
    wait_until_frozen(fake)
    assert (directory / MARKER_NAME).exists() and fake.freeze_marker() is not None
