"""IRIS's default backup file names, the fallback source of facts when there is no sidecar.

The built-in backup tasks write ``<TaskName>_<yyyymmdd>_<nnn>.cbk`` (and a ``.log`` of the same
stem), where the date is the instance's local date and ``nnn`` is the suffix of the journal file
switched to, so it orders same-day backups. Source: IRIS Data Integrity Guide, backup chapter.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from backup_keeper.kinds import BackupKind

TASK_KINDS: dict[str, BackupKind] = {
    "FullAllDatabases": BackupKind.FULL,
    "FullDBList": BackupKind.FULL,
    "IncrementalDBList": BackupKind.INCREMENTAL,
    "CumuIncrDBList": BackupKind.CUMULATIVE,
}
_NAME = re.compile(
    r"(?P<task>" + "|".join(TASK_KINDS) + r")_(?P<date>[0-9]{8})_(?P<nnn>[0-9]{3,6})\.cbk"
)
"""ASCII digits only: ``\\d`` also matches full-width and Arabic-Indic digits, which ``int()``
reads, so a planted ``FullDBList_２０２６１１０１_001.cbk`` would be dated and purged."""


_new_tuple = tuple.__new__


class IrisFileName(NamedTuple):
    """A tuple rather than a frozen dataclass: one is built per IRIS-named file, and a frozen
    dataclass's ``__init__`` costs several times a tuple's."""

    task: str
    kind: BackupKind
    day: date
    sequence: int


def parse_iris_file_name(name: str) -> IrisFileName | None:
    """The facts in a default IRIS backup file name, or None when it is not one.

    Case matters (IRIS writes these exact task names) and so does every digit: a near-miss such
    as ``FullDBList_2021103_003.cbk`` is not ours to reason about.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    task, raw_day, nnn = match.groups()  # one call, not three named look-ups: once per file
    day = _day(raw_day)
    if day is None:
        return None
    # tuple.__new__ directly: a NamedTuple's own __new__ is a Python function, one more call
    # per IRIS-named file of a 100,000-file directory for the same tuple.
    return _new_tuple(IrisFileName, (task, TASK_KINDS[task], day, int(nnn)))


@lru_cache(maxsize=4096)
def _day(raw: str) -> date | None:
    """``yyyymmdd`` as a date; cached because a directory holds many backups per day."""
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        return None
