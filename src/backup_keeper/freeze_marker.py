"""The freeze marker: written before ExternalFreeze, removed only after a verified thaw.

If the process holding a freeze dies (kill -9, a VM reset of the backup host), the marker is how
the next run, or ``backup-keeper doctor``, knows that an instance may have been left frozen by
us, and by whom. It lives in the backup directory as a file and, inside IRIS, as a global.

A marker written by a job names its process: it is stale once that process is gone. A marker
written by the ``freeze`` hook command has no process (the hook exits while the snapshot runs):
it is stale once its ``expires`` time has passed (the WDSuspendLimit or the freeze timeout).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from backup_keeper.small_files import TooLarge, read_small

MARKER_NAME = ".backup-keeper-freeze.json"


class FreezeMarker(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = "backup-keeper-freeze/1"
    host: str
    pid: int | None = None
    started: AwareDatetime
    expires: AwareDatetime
    label: str = ""
    instance: str = ""
    sharded_namespace: str | None = None

    def is_stale(self, now: datetime) -> bool:
        """Whether whoever froze is gone: a dead process on this host, or a hook past expiry."""
        if self.pid is not None and self.host == socket.gethostname():
            return not _alive(self.pid)
        return now >= self.expires

    def describe(self) -> str:
        who = f"pid {self.pid} on {self.host}" if self.pid else f"the freeze hook on {self.host}"
        return f"{who}, since {self.started.isoformat()} (label {self.label or '-'})"


def marker_path(directory: Path) -> Path:
    return directory / MARKER_NAME


def write_marker(directory: Path, marker: FreezeMarker) -> None:
    path = marker_path(directory)
    temp = path.with_name(f"{MARKER_NAME}.tmp-{os.getpid()}")
    with temp.open("w") as handle:
        handle.write(marker.model_dump_json())
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)


def read_marker(directory: Path) -> FreezeMarker | None:
    """The marker, or None. A marker that does not parse is still a marker: it is returned as an
    expired hook marker, so that it is looked at rather than ignored."""
    path = marker_path(directory)
    try:
        raw = read_small(path, limit=1 << 16)
    except FileNotFoundError:
        return None
    except (OSError, TooLarge):
        raw = b""
    return parse_marker(raw)


def parse_marker(raw: bytes | str) -> FreezeMarker | None:
    if not raw:
        return None
    try:
        return FreezeMarker.model_validate_json(raw)
    except ValidationError:
        epoch = datetime.fromtimestamp(0).astimezone()
        return FreezeMarker(host="unknown (unreadable marker)", started=epoch, expires=epoch)


def clear_marker(directory: Path) -> None:
    marker_path(directory).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
