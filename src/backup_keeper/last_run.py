"""What the last purge freed and what the last verify found, per backup directory.

A job's report is gone once it is returned, yet the metrics must say how many bytes the last
purge freed and how many problems the last verify found. So each of those jobs leaves one small
state file in every directory it ran in, one file per job (``.backup-keeper-last-purge.json``,
``.backup-keeper-last-verify.json``): two jobs never rewrite each other's file, so neither can
lose the other's number.

The directory is hostile ground: the files are written only through
:mod:`backup_keeper.safe_files` (whole or not at all, never through a planted symlink) and read
without following a symlink or blocking on a FIFO, at most a few KiB. A file that is there but
cannot be used is never taken for "no run yet": the reader is told why, and the metric it
feeds is left out rather than shown as 0.
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from backup_keeper.safe_files import UnsafeName, write_atomic
from backup_keeper.small_files import TooLarge, read_small

MAX_BYTES = 4096
"""A state file holds two fields; anything larger is not ours."""


class _LastRun(BaseModel):
    """No time is kept: a second run that finds the same is no change on disk (the file is
    rewritten only when what it says changes), and the job's report says when it ran."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)
    NAME: ClassVar[str]


class LastPurge(_LastRun):
    NAME: ClassVar[str] = ".backup-keeper-last-purge.json"
    freed_bytes: StrictInt = Field(ge=0, description="Bytes of the backups it deleted here.")


class LastVerify(_LastRun):
    NAME: ClassVar[str] = ".backup-keeper-last-verify.json"
    findings: StrictInt = Field(ge=0, description="Problems it found with the files here.")


S = TypeVar("S", bound=_LastRun)


def record_purge(directories: Iterable[Path], freed: Mapping[Path, int]) -> list[str]:
    """Leave in each directory the bytes the purge freed there (``freed``, as the executor
    counted them as the backups went; 0 when nothing went); return a warning for each
    directory where that could not be written."""
    return [
        problem
        for directory in directories
        if (problem := _write(directory, LastPurge(freed_bytes=freed.get(directory, 0))))
    ]


def record_verify(directories: Iterable[Path], errors: Iterable[str]) -> list[str]:
    """Leave in each directory the number of findings naming a file in it (each finding of the
    verify job starts with the path of the file it is about); return a warning for each
    directory where that could not be written."""
    chosen = list(directories)
    found: Counter[Path] = Counter(dict.fromkeys(chosen, 0))
    for error in errors:
        owner = next((d for d in chosen if error.startswith(f"{d}/")), None)
        if owner is not None:
            found[owner] += 1
    return [
        problem
        for directory, count in found.items()
        if (problem := _write(directory, LastVerify(findings=count)))
    ]


def _write(directory: Path, state: _LastRun) -> str | None:
    if read_last(directory, type(state)) == (state, None):
        return None
    try:
        write_atomic(directory, state.NAME, state.model_dump_json().encode())
    except (OSError, UnsafeName) as exc:
        return f"{directory}/{state.NAME}: not written ({exc}); the metrics will not show this run"
    return None


def read_last(directory: Path, model: type[S]) -> tuple[S | None, str | None]:
    """The state ``model`` names in ``directory``: (it, None); (None, None) when no such job
    has run there; (None, why) when a file is there but cannot be used."""
    try:
        raw = read_small(directory / model.NAME, limit=MAX_BYTES)
    except FileNotFoundError:
        return None, None
    except TooLarge:
        return None, f"larger than {MAX_BYTES} bytes"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "a symbolic link, not followed"
        return None, exc.strerror or str(exc)
    try:
        return model.model_validate_json(raw), None
    except ValidationError:
        return None, "not a state file of backup-keeper"
