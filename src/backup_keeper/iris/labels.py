"""Backup volume-label times, as ``Backup.General.GetBackupVolumeInfo`` gives them.

The class reference documents ``BackupDate`` like ``AUG 2 2012``, ``BackupTime`` like ``11:35AM``
and ``BackupTimeDH`` as the ``$H`` of the backup (docs/iris-ledger.md section 3); the 2024.1
label in a public transcript reads ``APR 26 2024 11:36AM``. All are the instance's local time:
the result is naive, and the caller attaches the instance's zone. ``$H`` carries seconds, so it
is preferred; the date and time are the fallback. Anything else is None, never a guess: ASCII
digits only, month names in English (a localised instance is not covered by any source).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DATE = re.compile(r"([A-Za-z]{3}) +([0-9]{1,2}) +([0-9]{4})", re.ASCII)
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2}) *([AaPp][Mm])", re.ASCII)
_HOROLOG = re.compile(r"([0-9]{1,7}),([0-9]{1,5})", re.ASCII)
_HOROLOG_DAY_ZERO = datetime(1840, 12, 31)
"""``$H`` counts days from 31 December 1840 (day 1 is 1 January 1841)."""


def label_time(date: str, time: str, horolog: str) -> datetime | None:
    """The label's time, naive instance-local; None when neither form reads."""
    return horolog_time(horolog) or _date_time(date, time)


def horolog_time(text: str) -> datetime | None:
    """``days,seconds`` of ``$H``; None for anything else (seconds past midnight included)."""
    m = _HOROLOG.fullmatch(text.strip())
    if m is None or int(m[2]) >= 86400:
        return None
    try:
        return _HOROLOG_DAY_ZERO + timedelta(days=int(m[1]), seconds=int(m[2]))
    except OverflowError:
        return None


def _date_time(date: str, time: str) -> datetime | None:
    d = _DATE.fullmatch(date.strip())
    t = _TIME.fullmatch(time.strip())
    if d is None or t is None or d[1].upper() not in _MONTHS:
        return None
    hour, minute = int(t[1]), int(t[2])
    if not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if t[3].upper() == "PM" else 0)
    try:
        return datetime(int(d[3]), _MONTHS.index(d[1].upper()) + 1, int(d[2]), hour, minute)
    except ValueError:
        return None
