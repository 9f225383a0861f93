"""The freeze marker: written before ExternalFreeze, removed only after a verified thaw.

If the process holding a freeze dies (kill -9, a VM reset of the backup host), the marker is how
the next run, or ``backup-keeper doctor``, knows that an instance may have been left frozen by
us, and by whom. It lives in the backup directory as a file and, inside IRIS, as a global.

A marker written by a job names its process: it is stale once that process is gone. A marker
written by the ``freeze`` hook command has no process (the hook exits while the snapshot runs):
it is stale once its ``expires`` time has passed (the WDSuspendLimit or the freeze timeout).

Each marker carries a random ``run`` id, so a run removes a marker only when the one it reads
back is the one it wrote: never another run's. A marker that is there but cannot be read or
understood (a symlink, a FIFO, too large, unreadable, not our format) means "frozen, perhaps,
by someone unknown": :class:`UnreadableMarker`, which callers report and never clear.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
from datetime import datetime, tzinfo
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from backup_keeper.processes import alive
from backup_keeper.safe_files import directory_fd, write_atomic
from backup_keeper.small_files import TooLarge, read_small
from backup_keeper.timezones import format_moment, machine_zone

MARKER_NAME = ".backup-keeper-freeze.json"
MARKER_LIMIT = 1 << 16


class UnreadableMarker(Exception):
    """A freeze marker exists but cannot be read or understood: whoever froze is unknown."""


class FreezeMarker(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    format: str = "backup-keeper-freeze/1"
    host: str
    pid: int | None = None
    started: AwareDatetime
    expires: AwareDatetime
    label: str = ""
    instance: str = ""
    sharded_namespace: str | None = None
    run: str = ""
    """Random per run (:func:`new_run_id`): how a run recognises its own marker."""

    def is_stale(self, now: datetime) -> bool:
        """Whether whoever froze is gone: a dead process on this host, or a hook past expiry."""
        if self.pid is not None and self.host == socket.gethostname():
            return not alive(self.pid)
        return now >= self.expires

    def describe(self, zone: tzinfo | None = None) -> str:
        """Who froze, since when (in ``zone``, the instance's; this machine's when not given)."""
        who = f"pid {self.pid} on {self.host}" if self.pid else f"the freeze hook on {self.host}"
        since = format_moment(self.started, zone or machine_zone())
        return f"{who}, since {since} (label {self.label or '-'})"


def new_run_id() -> str:
    return secrets.token_hex(8)


def marker_path(directory: Path) -> Path:
    return directory / MARKER_NAME


def write_marker(directory: Path, marker: FreezeMarker) -> None:
    """Exclusively created and renamed into place: a symlink planted at any name is never
    followed. Raises OSError (the caller has frozen nothing yet)."""
    write_atomic(directory, MARKER_NAME, marker.model_dump_json().encode())


def read_marker(directory: Path) -> FreezeMarker | None:
    """The marker in ``directory``, None when there is none; UnreadableMarker when one is there
    that cannot be read or parsed."""
    path = marker_path(directory)
    try:
        raw = read_small(path, limit=MARKER_LIMIT)
    except FileNotFoundError:
        return None
    except TooLarge as exc:
        raise UnreadableMarker(f"{path} is larger than {MARKER_LIMIT} bytes") from exc
    except OSError as exc:
        symlink = exc.errno == errno.ELOOP
        why = "is a symbolic link" if symlink else f"cannot be read: {exc.strerror}"
        raise UnreadableMarker(f"{path} {why}") from exc
    if not raw:
        raise UnreadableMarker(f"{path} is empty or not a regular file")
    return _parse(raw, str(path))


def parse_marker(raw: str | None) -> FreezeMarker | None:
    """The marker kept inside IRIS: None (or empty) is none; anything else must parse."""
    if not raw:
        return None
    return _parse(raw, "the freeze marker inside IRIS")


def _parse(raw: bytes | str, where: str) -> FreezeMarker:
    try:
        return FreezeMarker.model_validate_json(raw)
    except ValidationError as exc:
        raise UnreadableMarker(f"{where} is not a backup-keeper freeze marker") from exc


def clear_marker(directory: Path, ours: FreezeMarker, zone: tzinfo | None = None) -> str | None:
    """Remove the marker file if it is ``ours``; otherwise say why it was left (another run's,
    or unreadable). None when no marker of ours remains."""
    try:
        current = read_marker(directory)
    except UnreadableMarker as exc:
        return str(exc)
    if current is None:
        return None
    if current != ours:
        return f"{marker_path(directory)} now belongs to {current.describe(zone)}"
    with directory_fd(directory) as fd, contextlib.suppress(FileNotFoundError):
        os.unlink(MARKER_NAME, dir_fd=fd)
    return None
