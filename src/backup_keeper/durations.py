"""Durations as administrators write them (``36h``, ``14d``, ``8w``, ``1w2d``).

Months and years are refused on purpose: their length varies, and a retention rule whose meaning
shifts with the calendar is a surprise at the worst moment. Use keep_monthly / keep_yearly.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")
HELP = "a number with a unit s, m, h, d or w, or several (e.g. 36h, 14d, 8w, 1w2d)"


def parse_duration(text: str) -> timedelta:
    """Turn ``"1w2d"`` into a timedelta; raise ValueError naming the accepted forms otherwise."""
    cleaned = text.strip().lower()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"invalid duration {text!r}: use {HELP}")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    return timedelta(seconds=seconds)


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
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A pydantic field type: accepts ``"14d"`` or a timedelta, writes ``"2w"`` back in JSON."""
