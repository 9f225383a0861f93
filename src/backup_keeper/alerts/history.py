"""What the notifier remembers between runs: when each event key was last sent (dedupe), and
which jobs are failing (so the first success after a failure sends "recovered").

The state file usually lives in the backup directory, hostile ground: it is written only
through :mod:`backup_keeper.safe_files` and read without following a symlink or blocking on a
FIFO. A file that is there but cannot be used is reported, never taken for "no history"."""

from __future__ import annotations

import errno
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from backup_keeper.safe_files import write_atomic_path
from backup_keeper.small_files import TooLarge, read_small

STATE_NAME = ".backup-keeper-alerts.json"
"""The state file's name in a job's (first) directory, unless the alert settings name another."""
MAX_STATE_BYTES = 1 << 20
"""A state file holds a few keys; anything larger is not ours."""


class AlertHistory(BaseModel):
    model_config = ConfigDict(defer_build=True)

    sent: dict[str, AwareDatetime] = Field(default_factory=dict)
    failing: dict[str, AwareDatetime] = Field(default_factory=dict)

    def recently_sent(self, key: str, now: datetime, window_seconds: float) -> bool:
        last = self.sent.get(key)
        return last is not None and (now - last).total_seconds() < window_seconds


def load_history(path: Path | None) -> tuple[AlertHistory, str | None]:
    """The remembered state, and why the file there could not be used (None when it could, or
    when there is none). Either way the caller can go on afresh: an extra alert is better than
    a lost one, but the reader is told."""
    raw, problem = _read(path)
    if raw is None:
        return AlertHistory(), problem
    try:
        return AlertHistory.model_validate_json(raw), None
    except ValidationError:
        return AlertHistory(), "not a state file of backup-keeper"


def _read(path: Path | None) -> tuple[bytes | None, str | None]:
    if path is None:
        return None, None
    try:
        return read_small(path, limit=MAX_STATE_BYTES), None
    except FileNotFoundError:
        return None, None
    except TooLarge:
        return None, "larger than 1 MiB"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "a symbolic link, not followed"
        return None, exc.strerror or str(exc)


def save_history(path: Path | None, history: AlertHistory) -> None:
    """Replace the state file whole; raises OSError (or UnsafeName) when it cannot."""
    if path is None:
        return
    write_atomic_path(path, history.model_dump_json(indent=1).encode())
