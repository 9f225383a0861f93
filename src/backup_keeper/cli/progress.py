"""Progress as the CLI shows it: a live ``rich`` bar on stderr when stderr is a terminal and the
output is for a person; a log line now and then (``-v``) otherwise; nothing with
``--no-progress``. Nothing of it ever reaches stdout, so ``--json`` stays one object."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from backup_keeper.door import NO_PROGRESS, LogProgress, Progress, Unit

if TYPE_CHECKING:
    import rich.progress


def progress_for(*, enabled: bool, json: bool, stream: TextIO | None = None) -> Progress:
    """The renderer for this run: the bar only for a person watching a terminal."""
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return NO_PROGRESS
    if not json and stream.isatty():
        return BarProgress(stream)
    return LogProgress()


class BarProgress:
    """One bar per step, left on screen when it ends (what was done stays readable above the
    report); bytes with a transfer rate, files and backups counted. ``rich`` is imported on
    the first step, so a command that has nothing long to do never pays for it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._bar: rich.progress.Progress | None = None

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        self.finish()
        self._bar = _bar(self._stream, unit)
        self._bar.start()
        self._bar.add_task(task, total=total)

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._bar.task_ids[0], amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _bar(stream: TextIO, unit: Unit) -> rich.progress.Progress:
    from rich.console import Console  # noqa: PLC0415 - loaded on the first long step
    from rich.progress import (  # noqa: PLC0415 - likewise
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    amount: list[ProgressColumn] = (
        [DownloadColumn(binary_units=True), TransferSpeedColumn()]
        if unit == "bytes"
        else [MofNCompleteColumn(), TextColumn(unit)]
    )
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        *amount,
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=stream, stderr=True),
        transient=False,
    )
