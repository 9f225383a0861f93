"""Chunks of bytes on their way to or from a destination: read, hashed, counted, bounded.

Every byte that leaves or arrives is hashed as it passes, in the same pass that moves it: a
second pass over a 400 GB file to hash it would double the disk reads of every copy.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from backup_keeper.checksum import Algorithm, Checksum
from backup_keeper.destinations.store import DestinationError

CHUNK = 4 << 20
"""Bytes read from a local file at a time: large enough for BLAKE3 to hash on every core and
for a store to fill its parts, small enough that a few in flight stay well within memory."""
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class LocalBackupError(Exception):
    """The local backup cannot be copied as it is (nothing of it was stored under its name),
    or its copy was made but the local sidecar could not record it; the message says which."""


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


def _hasher(algorithm: Algorithm) -> _Hasher:
    if algorithm == "sha256":
        return hashlib.sha256()
    import blake3  # noqa: PLC0415 - loaded when bytes are hashed, not when a command starts

    hasher: _Hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    return hasher


class Tap:
    """Hashes and counts every chunk that passes through :meth:`through`."""

    def __init__(self, algorithm: Algorithm) -> None:
        self.algorithm: Algorithm = algorithm
        self.size = 0
        self._hasher = _hasher(algorithm)

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._hasher.update(chunk)
            self.size += len(chunk)
            yield chunk

    def checksum(self) -> Checksum:
        return Checksum(algorithm=self.algorithm, hex=self._hasher.hexdigest())


def open_regular(path: Path) -> int:
    """A descriptor of ``path`` for reading, never through a symlink and never a FIFO or
    device planted under a backup's name; OSError otherwise."""
    fd = os.open(path, _READ_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_chunks(path: Path, size: int = CHUNK) -> Generator[bytes, None, None]:
    """The file's bytes, ``size`` at a time; LocalBackupError when it cannot be read."""
    try:
        fd = open_regular(path)
    except OSError as exc:
        raise LocalBackupError(f"{path} cannot be read: {exc.strerror}") from exc
    try:
        while True:
            try:
                chunk = os.read(fd, size)
            except OSError as exc:
                raise LocalBackupError(f"{path} cannot be read: {exc.strerror}") from exc
            if not chunk:
                return
            yield chunk
    finally:
        os.close(fd)


def at_most(chunks: Iterable[bytes], limit: int, what: str) -> Iterator[bytes]:
    """``chunks`` while they add up to no more than ``limit`` bytes; a destination that sends
    more than its sidecar recorded is refused before the excess is written anywhere."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise DestinationError("corrupt", f"{what} is larger than the {limit} bytes expected")
        yield chunk
