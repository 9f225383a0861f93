"""Reading the small files beside a backup (sidecars, IRIS logs, purge intents) safely and fast.

Never through a symlink (``O_NOFOLLOW``), never blocked by a FIFO planted under a sidecar's name
(``O_NONBLOCK``: it reads as empty), never more than a limit. The common case, a file of a few
hundred bytes, costs open + one read + close: a read from a regular file that returns less than
asked has reached the end, so no ``fstat`` is needed. At 100,000 sidecars every system call
saved is a tenth of a second.
"""

from __future__ import annotations

import os
from pathlib import Path

FIRST_READ = 64 * 1024
"""Enough for any sidecar or IRIS backup log in one read; small enough to stay off ``mmap``
in the allocator (a 1 MiB buffer per read cost more than the I/O)."""
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


class TooLarge(ValueError):
    """The file is larger than the caller's limit; nothing of it is returned."""


def read_small(path: str | Path, *, limit: int) -> bytes:
    """The whole file, if it is at most ``limit`` bytes. Raises OSError as ``os.open`` does."""
    fd = os.open(path, _FLAGS)
    try:
        first = os.read(fd, min(limit + 1, FIRST_READ))
        if len(first) <= limit and len(first) < FIRST_READ:
            return first
        if len(first) > limit or os.fstat(fd).st_size > limit:
            raise TooLarge(f"{path} is larger than {limit} bytes")
        rest = _read_up_to(fd, limit + 1 - len(first))
        if len(first) + len(rest) > limit:  # grew while being read
            raise TooLarge(f"{path} is larger than {limit} bytes")
        return first + rest
    finally:
        os.close(fd)


def read_tail(path: str | Path, *, size: int) -> bytes:
    """The last ``size`` bytes of the file (all of it when smaller)."""
    fd = os.open(path, _FLAGS)
    try:
        first = os.read(fd, size + 1)
        if len(first) <= size:
            return first
        length = os.fstat(fd).st_size
        start = max(0, length - size)
        os.lseek(fd, start, os.SEEK_SET)
        # A log still being written may have grown: read what is there now, keep the tail.
        return _read_up_to(fd, None)[-size:]
    finally:
        os.close(fd)


def _read_up_to(fd: int, most: int | None) -> bytes:
    """Read on until the end of the file, or until ``most`` bytes when given."""
    chunks: list[bytes] = []
    total = 0
    while most is None or total < most:
        want = FIRST_READ if most is None else min(FIRST_READ, most - total)
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
