"""The in-production scheduler: what is due when, and what the service sends."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from backup_keeper.interop.messages import BackupRequest, FreshnessRequest, PurgeRequest
from backup_keeper.interop.schedule import Schedule, due_jobs, parse_clock_time
from backup_keeper.interop.services import STATE_NAME, SchedulerService

SCHEDULE = Schedule(time(2, 0), timedelta(hours=4), time(3, 0), timedelta(hours=1))
DAY = datetime(2026, 11, 22)


def test_first_poll_runs_everything_due_and_full_replaces_incremental() -> None:
    assert due_jobs(DAY.replace(hour=3, minute=5), {}, SCHEDULE) == ["full", "purge", "freshness"]


def test_daily_jobs_run_once_per_day_after_their_time() -> None:
    last = {
        "full": DAY.replace(hour=2, minute=1),
        "purge": DAY.replace(hour=3),
        "freshness": DAY.replace(hour=3),
    }
    assert due_jobs(DAY.replace(hour=3, minute=30), last, SCHEDULE) == []
    assert due_jobs(DAY.replace(hour=6, minute=5), last, SCHEDULE) == ["incremental", "freshness"]
    tomorrow = DAY + timedelta(days=1, hours=1)
    assert "full" not in due_jobs(tomorrow, last, SCHEDULE)  # before 02:00
    assert "full" in due_jobs(tomorrow + timedelta(hours=1, minutes=1), last, SCHEDULE)


def test_switched_off_jobs_never_run() -> None:
    off = Schedule(time(2, 0), None, None, None)
    assert due_jobs(DAY.replace(hour=12), {"full": DAY.replace(hour=2)}, off) == []


@pytest.mark.parametrize(
    "text", ["2", "25:00", "ab:cd", "", "０２:００", "٠٢:٠٠", "+2:00", "2:-0", "1_2:00", "2: 00"]
)
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock_time(text)


def make_service(
    state_directory: Path,
) -> tuple[SchedulerService, list[tuple[str, object]], list[str]]:
    """The service as IRIS makes it (no ``__init__``), with its settings' defaults; what it
    sends and what it logs (warnings and errors) are recorded."""
    service = SchedulerService.__new__(SchedulerService)
    service.state_directory = str(state_directory)
    for name in (
        "full_at",
        "incremental_every_hours",
        "purge_at",
        "freshness_every_hours",
        "backup_target",
        "purge_target",
    ):
        setattr(
            service,
            name,
            getattr(SchedulerService, name).default
            if hasattr(getattr(SchedulerService, name), "default")
            else getattr(SchedulerService, name),
        )
    sent: list[tuple[str, object]] = []
    logged: list[str] = []
    service.send_request_async = lambda target, request: sent.append((target, request))
    service.log_warning = lambda message, to_console=None: logged.append(message)  # type: ignore[method-assign]
    service.log_error = lambda message, to_console=None: logged.append(message)  # type: ignore[method-assign]
    return service, sent, logged


def test_the_service_sends_what_is_due_and_remembers_it(tmp_path: Path) -> None:
    service, sent, logged = make_service(tmp_path)
    service.on_poll()
    kinds = [type(r).__name__ for _, r in sent]
    assert "FreshnessRequest" in kinds
    assert all(isinstance(r, BackupRequest | PurgeRequest | FreshnessRequest) for _, r in sent)
    sent.clear()
    service.on_poll()
    assert sent == []  # nothing is due twice in a row
    assert logged == []


def test_a_symlink_planted_at_the_state_file_or_a_temporary_name_redirects_nothing(
    tmp_path: Path,
) -> None:
    import os

    outside = tmp_path / "outside"
    outside.write_bytes(b"not ours\n")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / STATE_NAME).symlink_to(outside)
    (state_dir / f"{STATE_NAME}.tmp-{os.getpid()}").symlink_to(outside)
    service, sent, logged = make_service(state_dir)
    service.on_poll()
    assert outside.read_bytes() == b"not ours\n"
    assert sent and logged == [
        f"schedule state {state_dir / STATE_NAME} unreadable (a symbolic link, not followed): "
        "starting afresh, so a job may run once more than planned"
    ]
    assert not (state_dir / STATE_NAME).is_symlink()
    sent.clear()
    service.on_poll()
    assert sent == []


def test_a_corrupt_state_is_a_warning_and_is_replaced(tmp_path: Path) -> None:
    (tmp_path / STATE_NAME).write_text('{"full": "not a time"}')
    service, sent, logged = make_service(tmp_path)
    service.on_poll()
    assert sent and logged == [
        f"schedule state {tmp_path / STATE_NAME} unreadable (not a state file of "
        "backup-keeper): starting afresh, so a job may run once more than planned"
    ]
    logged.clear()
    sent.clear()
    service.on_poll()
    assert sent == [] and logged == []


def test_a_state_that_cannot_be_saved_sends_nothing(tmp_path: Path) -> None:
    """A run that is not remembered would be sent again at every poll: a full backup a minute
    until the disk is full. Nothing is sent, and the error says why."""
    service, sent, logged = make_service(tmp_path / "missing")
    service.on_poll()
    assert sent == []
    assert logged == [
        f"schedule state {tmp_path / 'missing' / STATE_NAME} not saved (No such file or "
        "directory): nothing sent, so that no job runs at every poll"
    ]


@pytest.mark.parametrize("hours", ["٤", "４", "+4", "4_0", "-1"])
def test_scheduler_hours_that_are_not_ascii_digits_are_refused(hours: str) -> None:
    service = SchedulerService.__new__(SchedulerService)
    service.full_at, service.purge_at = "02:00", ""
    service.incremental_every_hours, service.freshness_every_hours = hours, 0
    with pytest.raises(ValueError, match="whole number"):
        service._schedule()
