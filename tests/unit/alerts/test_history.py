"""The notifier's state file on hostile ground: a planted symlink never redirects a write, and
a state file that is there but cannot be used is a warning, never silently "no history"."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_keeper.alerts.channels import ConsoleChannel
from backup_keeper.alerts.events import AlertSeverity
from backup_keeper.alerts.history import AlertHistory, load_history, save_history
from backup_keeper.alerts.notifier import AlertNotifier
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.safe_files import is_temp_name

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
OUTSIDE = b"root:x:0:0:not ours\n"


def history() -> AlertHistory:
    return AlertHistory(sent={"backup-failed/IRIS/backup": NOW}, failing={"IRIS/backup": NOW})


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_bytes(OUTSIDE)
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    directory = tmp_path / "backups"
    directory.mkdir()
    return directory / ".backup-keeper-alerts.json"


def test_a_symlink_at_the_predictable_temporary_name_leaves_its_target_untouched(
    state: Path, outside: Path
) -> None:
    planted = state.with_name(f"{state.name}.tmp-{os.getpid()}")
    planted.symlink_to(outside)
    save_history(state, history())
    assert outside.read_bytes() == OUTSIDE
    assert load_history(state) == (history(), None)
    assert not [p for p in state.parent.iterdir() if is_temp_name(p.name)]


def test_a_symlink_at_the_state_file_is_neither_read_nor_written_through(
    state: Path, outside: Path
) -> None:
    state.symlink_to(outside)
    loaded, problem = load_history(state)
    assert loaded == AlertHistory()
    assert problem == "a symbolic link, not followed"
    save_history(state, history())
    assert outside.read_bytes() == OUTSIDE
    assert not state.is_symlink() and load_history(state) == (history(), None)


@pytest.mark.parametrize(
    ("plant", "problem"),
    [
        (lambda p: p.write_text("{not json"), "not a state file of backup-keeper"),
        (lambda p: p.write_bytes(b"x" * (2 << 20)), "larger than 1 MiB"),
        (os.mkfifo, "not a state file of backup-keeper"),
        (lambda p: p.mkdir(), "Is a directory"),
    ],
)
def test_a_state_file_that_cannot_be_used_is_a_problem_not_an_absence(
    state: Path, plant: object, problem: str
) -> None:
    plant(state)  # type: ignore[operator]
    assert load_history(state) == (AlertHistory(), problem)


def test_a_missing_state_file_is_simply_a_fresh_start(state: Path) -> None:
    assert load_history(state) == (AlertHistory(), None)
    assert load_history(None) == (AlertHistory(), None)


def test_an_unreadable_state_file_warns_still_alerts_and_is_replaced(
    state: Path, tmp_path: Path
) -> None:
    """An extra alert is accepted (dedupe forgot what was sent); a silent reset is not."""
    fake = FakeIris(tmp_path / "iris")
    state.write_text("{not json")
    notifier = AlertNotifier(
        instance="IRIS",
        console=ConsoleChannel(fake, AlertSeverity.INFO),
        state_file=state,
        clock=fixed_clock(NOW),
    )
    report = JobReport(job="backup", started=NOW, status=JobStatus.OK, summary="ok")
    notifier.notify(report)
    assert report.warnings == [
        f"alert state {state} unreadable (not a state file of backup-keeper): dedupe and "
        "'recovered' start afresh, so an alert may repeat"
    ]
    assert load_history(state) == (AlertHistory(), None)  # replaced: the next run is quiet
    failed = JobReport(job="backup", started=NOW, status=JobStatus.FAILED, errors=["x"])
    notifier.notify(failed)
    assert failed.warnings == []
    assert any("backup-failed" in text for _, text in fake.snapshot().console_log)


def test_a_state_file_that_cannot_be_written_is_a_warning(state: Path, tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    notifier = AlertNotifier(
        instance="IRIS",
        console=ConsoleChannel(fake, AlertSeverity.INFO),
        state_file=state.parent / "missing-dir" / state.name,
        clock=fixed_clock(NOW),
    )
    report = JobReport(job="backup", started=NOW, status=JobStatus.FAILED, errors=["x"])
    notifier.notify(report)
    assert report.warnings == [
        "alert state not saved (No such file or directory): dedupe may repeat"
    ]
