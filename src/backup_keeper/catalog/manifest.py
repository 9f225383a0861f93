"""Sidecar manifests (``NAME.cbk.json``): the best source of facts about a backup.

Written by this project once a backup file is complete, atomically (``safe_files``: temp file,
fsync, rename, fsync of the directory), so a reader sees either no manifest or a whole one.
A manifest that does not parse makes its backup unmanaged, never deletable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

from backup_keeper.catalog.pin import Pin
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import Checksum
from backup_keeper.kinds import BackupKind
from backup_keeper.safe_files import check_bare_name, write_atomic
from backup_keeper.small_files import TooLarge, read_small

SUFFIX = ".json"
MAX_MANIFEST_BYTES = 1 << 20
"""A sidecar is a few hundred bytes; anything this large is not one of ours."""


class ManifestError(ValueError):
    """A sidecar that cannot be trusted; the message says why, for the report."""


class MirrorInfo(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    name: str
    role: str = Field(examples=["primary", "backup", "async"])


class RemoteCopy(BaseModel):
    """One verified copy of the backup at a destination, as the copy recorded it.

    Why the stored bytes' checksum and not the original's: that is what a later ``verify`` of
    the destination can check without the private key (an encrypted copy) or decompressing.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    destination: str = Field(
        description="The destination's URL with its instance, as reports show it (no secret).",
        examples=["s3://backups/iris/PROD"],
    )
    object: str = Field(
        description="Name of the stored backup file there (.cbk, .cbk.zst, + .age when "
        "encrypted), without directory."
    )
    size: int = Field(ge=0, description="Size of the stored object in bytes.")
    checksum: Checksum = Field(description="Checksum of the stored bytes (the ciphertext).")
    verified: AwareDatetime = Field(description="When the stored bytes were last proved.")
    how: Literal["provider-checksum", "read-back"] = Field(
        description="How: the provider's own integrity checksum, or reading the bytes back."
    )
    encryption: Literal["age"] | None = None
    recipients: list[str] = Field(
        default_factory=list,
        description="Fingerprints of the public keys that can decrypt it "
        "(encryption.recipient_fingerprint).",
    )
    sent_pin: Pin | None = Field(
        default=None,
        description="The pin the sidecar stored there carries; when the local pin differs, the "
        "next copy sends the sidecar again.",
    )

    @field_validator("object")
    @classmethod
    def _bare(cls, name: str) -> str:
        """A name read from a sidecar on hostile ground never leads outside a directory."""
        return check_bare_name(name)


class Manifest(BaseModel):
    """Version 1 of the sidecar format. Unknown keys are refused so a typo is never ignored."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    format: Literal["backup-keeper/1"] = "backup-keeper/1"
    file: str = Field(description="Name of the backup file, without directory.")
    kind: Literal[
        BackupKind.FULL, BackupKind.CUMULATIVE, BackupKind.INCREMENTAL, BackupKind.EXTERNAL
    ]
    status: Literal[
        BackupStatus.COMPLETED, BackupStatus.WARNING, BackupStatus.FAILED, BackupStatus.ABORTED
    ]
    started: AwareDatetime
    finished: AwareDatetime | None = None
    databases: list[str] = Field(default_factory=list)
    size: int = Field(ge=0)
    checksum: Checksum | None = None
    iris_log: str | None = Field(default=None, description="Name of IRIS's backup log file.")
    journal_file_required: str | None = Field(
        default=None, description="First journal file a restore of this backup must apply."
    )
    instance: str | None = None
    mirror: MirrorInfo | None = None
    chain_parent: str | None = Field(
        default=None, description="File name of the backup this one was taken on top of."
    )
    tool_version: str
    warnings: list[str] = Field(default_factory=list)
    snapshot_id: str | None = Field(
        default=None, description="External backups: what the snapshot command printed last."
    )
    freeze_window_ms: int | None = Field(
        default=None, description="External backups: ExternalFreeze returned -> thaw returned."
    )
    compression: Literal["zstd"] | None = Field(
        default=None,
        description="Stored compressed as <file>.zst; size and checksum are the original's.",
    )
    stored_size: int | None = Field(default=None, ge=0, description="Size of the .zst on disk.")
    stored_checksum: Checksum | None = Field(default=None, description="Checksum of the .zst.")
    checkpoint: dict[str, JsonValue] | None = Field(
        default=None, description="Sharded clusters: Backup.ShardedCluster checkpoint info."
    )
    copies: list[RemoteCopy] = Field(
        default_factory=list,
        description="Verified off-site copies, one per destination; left out when there is none.",
    )
    pin: Pin | None = Field(
        default=None, description="Why and until when no purge may remove it; left out when none."
    )

    @model_serializer(mode="wrap")
    def _without_empty_copies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A backup never copied is written exactly as before copies existed."""
        data: dict[str, Any] = handler(self)
        if not self.copies:
            data.pop("copies", None)
        return data


def sidecar_path(backup: Path) -> Path:
    return backup.with_name(backup.name + SUFFIX)


def parse_manifest(raw: bytes, *, expected_file: str) -> Manifest:
    """Validate sidecar bytes; raise ManifestError with one readable line otherwise."""
    if not raw.strip():
        raise ManifestError("sidecar is empty")
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ManifestError(f"sidecar does not parse: {where}: {first['msg']}{more}") from exc
    if manifest.file != expected_file:
        raise ManifestError(f"sidecar describes {manifest.file!r}, not {expected_file!r}")
    return manifest


def read_manifest(path: str | Path, *, expected_file: str) -> Manifest:
    """Read and validate one sidecar; never follows a symlink."""
    try:
        raw = read_small(path, limit=MAX_MANIFEST_BYTES)
    except TooLarge as exc:
        raise ManifestError("sidecar is larger than 1 MiB") from exc
    except OSError as exc:
        raise ManifestError(f"sidecar cannot be read: {exc.strerror}") from exc
    return parse_manifest(raw, expected_file=expected_file)


def with_copy(manifest: Manifest, copy: RemoteCopy) -> Manifest:
    """``manifest`` with ``copy`` recorded, replacing any earlier record for the same
    destination: one destination holds one copy of a backup, the latest one proved."""
    kept = [c for c in manifest.copies if c.destination != copy.destination]
    return manifest.model_copy(update={"copies": [*kept, copy]})


def manifest_bytes(manifest: Manifest) -> bytes:
    """The sidecar's bytes: the same locally and at a destination."""
    return manifest.model_dump_json(indent=2, exclude_none=True).encode() + b"\n"


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    """Write ``manifest`` beside ``backup`` atomically and durably; return the sidecar's path.

    Through :mod:`backup_keeper.safe_files`, as every file the tool creates: an unguessable
    temporary name, never through a symlink, fsync, rename, fsync of the directory.
    """
    if manifest.file != backup.name:
        raise ValueError(f"manifest names {manifest.file!r} but the backup is {backup.name!r}")
    check_bare_name(backup.name)
    return write_atomic(backup.parent, sidecar_path(backup).name, manifest_bytes(manifest))
