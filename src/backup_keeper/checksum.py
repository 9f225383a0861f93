"""Checksums of backup files: BLAKE3 by default, SHA-256 accepted for manifests other tools wrote.

BLAKE3 runs memory-mapped on every core (the ``blake3`` package's Rust implementation), so a
multi-gigabyte ``.cbk`` is hashed at close to the disk's read speed; SHA-256 streams with a large
buffer through hashlib. See bench/checksum.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Algorithm = Literal["blake3", "sha256"]
_SHA256_BUFFER = 4 << 20


class Checksum(BaseModel):
    """A file's digest as a sidecar records it. Defined here, where it is computed, so the
    manifest depends on the checksum and never the other way round."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Algorithm
    hex: str = Field(pattern=r"^[0-9a-f]{64}$")


def file_checksum(path: Path, algorithm: Algorithm = "blake3") -> Checksum:
    """Hash the whole file at ``path``; raises OSError when it cannot be read."""
    if algorithm == "blake3":
        import blake3  # noqa: PLC0415 - loaded when a file is hashed, not when a command starts

        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(str(path))
        return Checksum(algorithm="blake3", hex=hasher.hexdigest())
    digest = hashlib.sha256()
    buffer = bytearray(_SHA256_BUFFER)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return Checksum(algorithm="sha256", hex=digest.hexdigest())
