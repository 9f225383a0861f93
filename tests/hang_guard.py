"""Turning a hang into a test failure, for tests of code that must never block."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hung(AssertionError):
    pass


@contextmanager
def fails_if_blocked(seconds: int = 10) -> Iterator[None]:
    """Fail the test (instead of hanging the suite) if the body has not returned in time."""

    def give_up(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
