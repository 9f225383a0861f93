"""Sizes for people: one way to write a byte count, so a summary line, a table and a live bar
say the same thing about the same file."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``: binary units, one decimal from KiB up; ``-`` when unknown."""
    if size is None or size < 0:
        return "-"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"
