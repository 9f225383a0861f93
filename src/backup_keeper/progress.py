"""How long work says it is alive: one interface the jobs call and each door renders.

A job is handed a :class:`Progress` as it is handed a clock or a notifier, and never knows who
is watching: the CLI draws a bar on a terminal, every other door writes a log line now and then
(``door.LogProgress``). The default, :data:`NO_PROGRESS`, does nothing, so a caller that does
not care pays one method call per chunk of work. Tasks are sequential: one is started, advanced
and finished before the next starts; ``total`` is None when the amount is not known ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, Protocol

Unit = Literal["bytes", "files", "backups"]


class Progress(Protocol):
    """What a job reports of one long step: what it is, how much there is, how far it got."""

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        """A step begins; ``total`` in ``unit`` (None: not known ahead)."""

    def advance(self, amount: int) -> None:
        """``amount`` more of the step's unit is done."""

    def finish(self) -> None:
        """The step ended (done or not): the next ``start`` is another step."""


class _Silent:
    """Nobody is watching."""

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


NO_PROGRESS: Progress = _Silent()


@contextmanager
def step(progress: Progress, task: str, total: int | None, unit: Unit) -> Iterator[Progress]:
    """``start`` now, ``finish`` however the block ends, so a failing step never leaves a bar
    drawn over the report that says why."""
    progress.start(task, total, unit)
    try:
        yield progress
    finally:
        progress.finish()


class Tally:
    """Passes everything on to ``progress`` and counts what was advanced, so a step can top
    the bar up to what it planned when part of the work was skipped (a file too short to
    hash, a backup with no checksum): the totals a reader sees always add up."""

    def __init__(self, progress: Progress) -> None:
        self.progress, self.done = progress, 0

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        self.progress.start(task, total, unit)

    def advance(self, amount: int) -> None:
        self.done += amount
        self.progress.advance(amount)

    def finish(self) -> None:
        self.progress.finish()

    def top_up(self, planned: int) -> None:
        """Advance by what is left of ``planned`` since the tally began (never backwards)."""
        if planned > self.done:
            self.advance(planned - self.done)
