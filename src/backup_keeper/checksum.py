"""Checksums of backup files: BLAKE3 by default, SHA-256 accepted for manifests other tools wrote.

BLAKE3 runs memory-mapped on every core (the ``blake3`` package's Rust implementation), so a
multi-gigabyte ``.cbk`` is hashed at close to the disk's read speed; SHA-256 streams with a large
buffer through hashlib. See bench/checksum.py.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from io import FileIO
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backup_keeper.progress import NO_PROGRESS, Progress

Algorithm = Literal["blake3", "sha256"]
_SHA256_BUFFER = 4 << 20
_BLAKE3_CHUNK = 256 << 20
"""Large enough that every core hashes its share at full speed (bench/checksum.py), small enough
that a multi-gigabyte file reports progress several times a second."""


class Checksum(BaseModel):
    """A file's digest as a sidecar records it. Defined here, where it is computed, so the
    manifest depends on the checksum and never the other way round."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    algorithm: Algorithm
    hex: str = Field(pattern=r"^[0-9a-f]{64}$")


def file_checksum(
    path: Path, algorithm: Algorithm = "blake3", *, progress: Progress = NO_PROGRESS
) -> Checksum:
    """Hash the whole file at ``path``, advancing ``progress`` by every chunk read (the caller
    frames the step: one file, or many under one bar); raises OSError when it cannot be read."""
    with path.open("rb", buffering=0) as handle:
        if algorithm == "blake3":
            return Checksum(algorithm="blake3", hex=_blake3(handle.fileno(), progress))
        return Checksum(algorithm="sha256", hex=_sha256(handle, progress))


def _size(fd: int) -> int:
    return os.fstat(fd).st_size


def _blake3(fd: int, progress: Progress) -> str:
    """Memory-mapped, on every core, a chunk at a time (an empty file cannot be mapped)."""
    import blake3  # noqa: PLC0415 - loaded when a file is hashed, not when a command starts

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if _size(fd) == 0:
        return hasher.hexdigest()
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as whole:
        for offset in range(0, len(whole), _BLAKE3_CHUNK):
            with whole[offset : offset + _BLAKE3_CHUNK] as chunk:
                hasher.update(chunk)
                progress.advance(len(chunk))
    return hasher.hexdigest()


def _sha256(handle: FileIO, progress: Progress) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(_SHA256_BUFFER)
    view = memoryview(buffer)
    while count := handle.readinto(buffer):
        digest.update(view[:count])
        progress.advance(count)
    return digest.hexdigest()
