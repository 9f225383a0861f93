"""Durations as administrators write them (``36h``, ``14d``, ``8w``, ``1w2d``).

Months and years are refused on purpose: their length varies, and a retention rule whose meaning
shifts with the calendar is a surprise at the worst moment. Use keep_monthly / keep_yearly.

Only ASCII digits and units are read (``re.ASCII``: Python's ``\\d`` and ``int()`` take any
Unicode digit), and a duration is at most 100 years, so that ``now - duration`` stays a date
for any plausible now instead of overflowing at the worst moment.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"([0-9]+)([smhdw])", re.ASCII)
_WHOLE = re.compile(r"(?:[0-9]+[smhdw])+", re.ASCII)
_LONGEST_TEXT = 64
MAX_DURATION = timedelta(days=36500)
"""100 years: longer is a typo, and would overflow a date when subtracted from now."""
HELP = "a number with a unit s, m, h, d or w, or several (e.g. 36h, 14d, 8w, 1w2d)"


def parse_duration(text: str) -> timedelta:
    """Turn ``"1w2d"`` into a timedelta; raise ValueError naming the accepted forms otherwise."""
    cleaned = text.strip().lower()
    if len(cleaned) > _LONGEST_TEXT or not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"invalid duration {_shown(text)}: use {HELP}")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(cleaned))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"invalid duration {_shown(text)}: longer than 100 years")
    return check_duration(timedelta(seconds=seconds), text)


def check_duration(value: timedelta, text: object = None) -> timedelta:
    """``value`` if it is longer than zero and at most 100 years; ValueError otherwise."""
    shown = _shown(text if text is not None else format_duration(value))
    if value <= timedelta(0):
        raise ValueError(f"invalid duration {shown}: it must be longer than zero")
    if value > MAX_DURATION:
        raise ValueError(f"invalid duration {shown}: longer than 100 years")
    return value


def _shown(text: object) -> str:
    """The input as typed, cut short: a 5,000-character flag is not echoed whole."""
    shown = repr(text)
    return shown if len(shown) <= _LONGEST_TEXT else shown[: _LONGEST_TEXT - 4] + "...'"


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of ``value`` in the same units that ``parse_duration`` reads."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts: list[str] = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _coerce(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta):
        return check_duration(value)
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A pydantic field type: accepts ``"14d"`` or a timedelta, writes ``"2w"`` back in JSON."""
