"""When the in-production scheduler runs what: a pure function of the time, the schedule and
the last runs, so it is tested without a production or a clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class Schedule:
    full_at: time
    incremental_every: timedelta | None
    purge_at: time | None
    freshness_every: timedelta | None


_CLOCK_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
"""ASCII digits only: ``int()`` alone would also take full-width digits, signs and underscores."""


def parse_clock_time(text: str) -> time:
    """``"02:00"`` -> 02:00; ValueError names the expected form."""
    match = _CLOCK_TIME.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        return time(int(match[1]), int(match[2]))
    except ValueError as exc:
        raise ValueError(f"invalid time of day {text!r}: use HH:MM, e.g. 02:00") from exc


def due_jobs(now: datetime, last: dict[str, datetime], schedule: Schedule) -> list[str]:
    """The jobs due at ``now`` (instance-local, naive): ``full``, ``incremental``, ``purge``,
    ``freshness``. A daily job is due once its time has passed today and it has not run since;
    an interval job once the interval has passed since its last run (for incrementals, since the
    last backup of either kind). A due full replaces a due incremental."""
    due: list[str] = []
    if _daily_due(now, last.get("full"), schedule.full_at):
        due.append("full")
    elif schedule.incremental_every and _interval_due(
        now, _latest(last.get("incremental"), last.get("full")), schedule.incremental_every
    ):
        due.append("incremental")
    if schedule.purge_at and _daily_due(now, last.get("purge"), schedule.purge_at):
        due.append("purge")
    if schedule.freshness_every and _interval_due(
        now, last.get("freshness"), schedule.freshness_every
    ):
        due.append("freshness")
    return due


def _latest(*moments: datetime | None) -> datetime | None:
    """The latest backup of any kind: an incremental's interval counts from a full too."""
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _daily_due(now: datetime, last: datetime | None, at: time) -> bool:
    slot = datetime.combine(now.date(), at)
    if now < slot:
        slot -= timedelta(days=1)
    return last is None or last < slot


def _interval_due(now: datetime, last: datetime | None, every: timedelta) -> bool:
    return last is None or now - last >= every
