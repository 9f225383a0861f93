from __future__ import annotations

import pytest

from backup_keeper.progress import NO_PROGRESS, Tally, step
from tests.progress_recorder import RecordingProgress


def test_a_step_finishes_even_when_its_work_fails() -> None:
    recorder = RecordingProgress()
    with pytest.raises(OSError), step(recorder, "checksum a.cbk", 10, "bytes") as progress:
        progress.advance(4)
        raise OSError("the disk")
    assert [(s.task, s.done, s.finished) for s in recorder.steps] == [("checksum a.cbk", 4, True)]


def test_a_tally_tops_up_to_what_was_planned_and_never_goes_back() -> None:
    recorder = RecordingProgress()
    with step(recorder, "verify", 100, "bytes"):
        tally = Tally(recorder)
        tally.advance(30)
        tally.top_up(50)
        tally.top_up(20)
    assert (recorder.steps[0].done, tally.done) == (50, 50)


def test_nobody_watching_accepts_every_call() -> None:
    with step(NO_PROGRESS, "anything", None, "files") as progress:
        progress.advance(1)
    assert progress is NO_PROGRESS
