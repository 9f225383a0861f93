"""The purge intent: decide and record first, then make the disk match.

Before deleting anything, the purge writes ``.backup-keeper-purge.json`` into each directory it
will touch, listing the backups it decided to remove. A purge killed half way (a manifest gone,
its ``.cbk`` still there) leaves that file behind, and the next run finishes the job instead of
finding a ``.cbk`` it no longer has facts about. pgBackRest's expire works the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from backup_keeper.small_files import TooLarge, read_small

INTENT_NAME = ".backup-keeper-purge.json"


class IntentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[^/\\]+(\.cbk|\.cbk\.zst|\.snapshot\.json)$")
    size: int = Field(ge=0)
    mtime_ns: int
    companions: list[str] = Field(default_factory=list)


class PurgeIntent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["backup-keeper-purge/1"] = "backup-keeper-purge/1"
    created: AwareDatetime
    entries: list[IntentEntry]


class IntentError(ValueError):
    """An intent file that cannot be read: reported, and the directory left untouched."""


def intent_path(directory: Path) -> Path:
    return directory / INTENT_NAME


def read_intent(directory: Path) -> PurgeIntent | None:
    path = intent_path(directory)
    try:
        raw = read_small(path, limit=64 << 20)
    except FileNotFoundError:
        return None
    except (OSError, TooLarge) as exc:
        raise IntentError(f"{path}: cannot be read: {exc}") from exc
    try:
        return PurgeIntent.model_validate_json(raw)
    except ValidationError as exc:
        raise IntentError(
            f"{path}: not a valid purge intent ({exc.error_count()} problems)"
        ) from exc


def write_intent(directory: Path, intent: PurgeIntent) -> None:
    path = intent_path(directory)
    temp = path.with_name(f"{INTENT_NAME}.tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(intent.model_dump_json(indent=1).encode())
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)


def clear_intent(directory: Path) -> None:
    intent_path(directory).unlink(missing_ok=True)
