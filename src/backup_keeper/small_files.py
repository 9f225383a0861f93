"""Reading the small files beside a backup (sidecars, IRIS logs, purge intents) safely and fast.

Never through a symlink (``O_NOFOLLOW``), never more than a limit, and sized by ``fstat`` rather
than a large read buffer: at 100,000 sidecars a 1 MiB buffer per read costs more than the I/O.
"""

from __future__ import annotations

import os
from pathlib import Path


class TooLarge(ValueError):
    """The file is larger than the caller's limit; nothing of it was read."""


def read_small(path: str | Path, *, limit: int) -> bytes:
    """The whole file, if it is at most ``limit`` bytes. Raises OSError as ``os.open`` does."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise TooLarge(f"{path} is larger than {limit} bytes")
        return _read_all(fd, size)
    finally:
        os.close(fd)


def read_tail(path: str | Path, *, size: int) -> bytes:
    """The last ``size`` bytes of the file (all of it when smaller)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        length = os.fstat(fd).st_size
        start = max(0, length - size)
        os.lseek(fd, start, os.SEEK_SET)
        return _read_all(fd, length - start)
    finally:
        os.close(fd)


def _read_all(fd: int, expected: int) -> bytes:
    chunks = [os.read(fd, expected + 1)]
    # A file still growing (an IRIS log being written) may give more; read to its end.
    while chunks[-1] and sum(map(len, chunks)) <= expected:
        more = os.read(fd, 65536)
        if not more:
            break
        chunks.append(more)
    return b"".join(chunks)
