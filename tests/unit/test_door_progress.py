"""The log-line renderer of progress, every door's but the CLI's on a terminal."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backup_keeper.door import LogProgress, run_named_job
from backup_keeper.iris.fake import FakeIris
from tests.progress_recorder import RecordingProgress


class Stopwatch:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "backup_keeper.jobs"]


def test_a_line_at_most_every_interval_with_amount_rate_and_time_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Stopwatch()
    progress = LogProgress(every=10, stopwatch=clock)
    progress.start("checksum a.cbk", 4 << 30, "bytes")
    for _ in range(9):  # 9 seconds, 9 chunks: not yet
        clock.now += 1
        progress.advance(128 << 20)
    assert lines(caplog) == []
    clock.now += 1
    progress.advance(128 << 20)
    assert lines(caplog) == [
        "checksum a.cbk: 1.2 GiB of 4.0 GiB (31%), 128.0 MiB/s, about 22 s left"
    ]
    clock.now += 5
    progress.advance(1 << 20)
    assert len(lines(caplog)) == 1
    clock.now += 5
    progress.advance(1 << 20)
    progress.finish()
    assert len(lines(caplog)) == 3
    assert lines(caplog)[-1] == "checksum a.cbk: done, 1.3 GiB in 20 s"


def test_a_short_step_says_nothing_and_items_are_counted_as_items(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Stopwatch()
    progress = LogProgress(every=10, stopwatch=clock)
    progress.start("catalog /b", 40_000, "files")
    clock.now += 3
    progress.advance(40_000)
    progress.finish()
    assert lines(caplog) == []
    progress.start("catalog /b", None, "files")
    clock.now += 12
    progress.advance(1_500)
    assert lines(caplog) == ["catalog /b: 1,500 files, 125 files/s"]


def test_a_door_job_reports_to_the_progress_it_is_given(tmp_path: Path) -> None:
    recorder = RecordingProgress()
    report = run_named_job(
        "purge",
        {"directories": [str(tmp_path)], "retention": {"keep_last": 1}},
        iris=FakeIris(tmp_path / "iris"),
        alerts_config=None,
        progress=recorder,
    )
    assert report.status.value == "ok", report.errors
    assert [s.task for s in recorder.steps] == [f"catalog {tmp_path}"]
