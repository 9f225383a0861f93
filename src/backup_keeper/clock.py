"""The clock is passed in, never read from the wall inside the core, so every job and plan can
be replayed "as of" another moment (``--now``) and tested with a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
Stopwatch = Callable[[], float]
"""Seconds since some fixed start, never going back: how long something lasted (a freeze window)
is measured on it, so that a step of the wall clock cannot stretch or shrink a duration."""


def system_clock() -> datetime:
    """The real time, always timezone-aware UTC."""
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """A clock frozen at ``moment``; naive moments are refused because their zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware moment (add Z or +HH:MM)")
    frozen = moment.astimezone(UTC)
    return lambda: frozen


def system_stopwatch() -> float:
    """The real monotonic time."""
    return time.monotonic()
