"""The purge intent: decide and record first, then make the disk match.

Before deleting anything, the purge writes ``.backup-keeper-purge.json`` into each directory it
will touch, listing the backups it decided to remove. A purge killed half way leaves that file
behind, and the next run finishes the job. pgBackRest's expire works the same way.

The file lies in a directory anyone with write access can plant things in, so it is a hint,
never an order: every name in it must be a bare backup name (the purge's own naming rules, the
same ones :func:`check_backup_name` applies to every target), and a backup's companions can
only be its own sidecar and the IRIS log named after its own stem. An intent that breaks any of
this is refused whole, and its directory is left untouched until a person has looked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from backup_keeper.catalog.discover import (
    BACKUP_SUFFIX,
    COMPRESSED_SUFFIX,
    LOG_SUFFIX,
    SNAPSHOT_RECORD_SUFFIX,
)
from backup_keeper.catalog.manifest import SUFFIX as MANIFEST_SUFFIX
from backup_keeper.safe_files import check_bare_name, write_atomic
from backup_keeper.small_files import TooLarge, read_small

INTENT_NAME = ".backup-keeper-purge.json"
BACKUP_SUFFIXES = (BACKUP_SUFFIX, COMPRESSED_SUFFIX, SNAPSHOT_RECORD_SUFFIX)
"""What the purge may delete as a backup: a ``.cbk``, its compressed form, a snapshot record."""
_MAX_PROBLEMS_SHOWN = 3


def check_backup_name(name: str) -> str:
    """``name`` itself when the purge may delete a backup by that name; else ValueError.

    A bare name (no separator, not ``.``/``..``, no NUL), text an intent can hold (a name that is
    not UTF-8 cannot be written to JSON and read back), ending in a managed backup suffix.
    """
    check_bare_name(name)
    if not name.endswith(BACKUP_SUFFIXES):
        raise ValueError(f"{name!r} is not a .cbk, .cbk.zst or .snapshot.json name")
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{name!r} is not valid UTF-8") from None
    return name


def own_companions(name: str) -> tuple[str, ...]:
    """The only files that go with backup ``name``: the sidecar of its ``.cbk`` name and the IRIS
    log named after its own stem. A snapshot record is its own manifest and has none."""
    if name.endswith(SNAPSHOT_RECORD_SUFFIX):
        return ()
    original = name.removesuffix(".zst")
    return (original + MANIFEST_SUFFIX, original[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX)


def forms(name: str) -> tuple[str, ...]:
    """Every name one backup can have on disk: ``X.cbk`` and, once compressed, ``X.cbk.zst``
    (both share ``X.cbk.json`` and ``X.log``)."""
    if name.endswith(SNAPSHOT_RECORD_SUFFIX):
        return (name,)
    original = name.removesuffix(".zst")
    return (original, original + ".zst")


class IntentEntry(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    name: str
    size: int = Field(ge=0)
    mtime_ns: int
    companions: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _a_bare_backup_name(cls, value: str) -> str:
        return check_backup_name(value)

    @model_validator(mode="after")
    def _only_its_own_companions(self) -> IntentEntry:
        own = own_companions(self.name)
        foreign = [c for c in self.companions if c not in own]
        if foreign:
            raise ValueError(
                f"{foreign!r} {'is' if len(foreign) == 1 else 'are'} not the sidecar or the "
                f"log of {self.name!r}"
            )
        return self


class PurgeIntent(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    format: Literal["backup-keeper-purge/1"] = "backup-keeper-purge/1"
    created: AwareDatetime
    entries: list[IntentEntry]


class IntentError(ValueError):
    """An intent file that cannot be read or trusted: reported with how to recover, and its
    directory left untouched."""


def intent_path(directory: Path) -> Path:
    return directory / INTENT_NAME


def read_intent(directory: Path) -> PurgeIntent | None:
    path = intent_path(directory)
    try:
        raw = read_small(path, limit=64 << 20)
    except FileNotFoundError:
        return None
    except TooLarge:
        raise IntentError(_refusal(directory, "is larger than 64 MiB")) from None
    except OSError as exc:
        raise IntentError(_refusal(directory, f"cannot be read ({exc.strerror or exc})")) from None
    try:
        return PurgeIntent.model_validate_json(raw)
    except ValidationError as exc:
        raise IntentError(
            _refusal(directory, f"not a valid purge intent: {_problems(exc)}")
        ) from None


def _problems(exc: ValidationError) -> str:
    """The first few problems, each at its place (``entries.0.companions``); names are shown as
    repr, so a control character in a planted name cannot forge a line of the report."""
    errors = exc.errors(include_url=False, include_input=False)
    shown = [
        f"{'.'.join(str(p) for p in e['loc']) or 'document'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in errors[:_MAX_PROBLEMS_SHOWN]
    ]
    more = len(errors) - len(shown)
    return "; ".join(shown) + (f" (and {more} more)" if more else "")


def _refusal(directory: Path, problem: str) -> str:
    """Item 28: a corrupt intent says what it blocks and how to recover."""
    path = intent_path(directory)
    return (
        f"{path}: {problem}; nothing in {directory} was deleted. It lists the backups an "
        "interrupted purge meant to delete: inspect it and those files, then remove "
        f"{path} to let purges of {directory} run again"
    )


def write_intent(directory: Path, intent: PurgeIntent) -> None:
    write_atomic(directory, INTENT_NAME, intent.model_dump_json(indent=1).encode())


def clear_intent(directory: Path) -> None:
    intent_path(directory).unlink(missing_ok=True)
