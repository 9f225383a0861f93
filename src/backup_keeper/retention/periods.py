"""Calendar periods for the keep_daily / weekly / monthly / yearly rules.

Periods are the instance's local calendar (a backup taken at 00:30 in Paris belongs to that
Paris day) and ISO weeks (Monday to Sunday), as restic and borg count them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

PeriodKey = tuple[int, ...]


def day_of(moment: datetime, zone: tzinfo) -> PeriodKey:
    local = moment.astimezone(zone)
    return (local.year, local.month, local.day)


def week_of(moment: datetime, zone: tzinfo) -> PeriodKey:
    iso = moment.astimezone(zone).isocalendar()
    return (iso.year, iso.week)


def month_of(moment: datetime, zone: tzinfo) -> PeriodKey:
    local = moment.astimezone(zone)
    return (local.year, local.month)


def year_of(moment: datetime, zone: tzinfo) -> PeriodKey:
    return (moment.astimezone(zone).year,)


def _day_label(key: PeriodKey) -> str:
    return f"{key[0]:04d}-{key[1]:02d}-{key[2]:02d}"


def _week_label(key: PeriodKey) -> str:
    return f"{key[0]:04d}-W{key[1]:02d}"


def _month_label(key: PeriodKey) -> str:
    return f"{key[0]:04d}-{key[1]:02d}"


def _year_label(key: PeriodKey) -> str:
    return f"{key[0]:04d}"


PeriodOf = Callable[[datetime, tzinfo], PeriodKey]
PERIOD_RULES: tuple[tuple[str, PeriodOf, Callable[[PeriodKey], str]], ...] = (
    ("keep_daily", day_of, _day_label),
    ("keep_weekly", week_of, _week_label),
    ("keep_monthly", month_of, _month_label),
    ("keep_yearly", year_of, _year_label),
)
"""Each period rule: the policy field, how to find a backup's period, and how to name it."""
