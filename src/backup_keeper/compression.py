"""zstd compression of completed backup files: streaming (constant memory whatever the size),
on every core, written beside the original through ``safe_files`` (an unpredictable temporary
name, created exclusively, never through a symlink) and put in place only when whole.

The online backup job uses it when ``compress`` is set (the manifest then records the .zst's
size and checksum); catalog, verify, restore-plan, restore and purge all read ``.cbk.zst``.
bench/compress.py measures it against the zstd command-line tool.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import zstandard

from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.safe_files import TEMP_SUFFIX, atomic_file, is_temp_name, remove_temp

DEFAULT_LEVEL = 3
CHUNK = 4 << 20
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def compress_file(
    source: Path,
    target: Path,
    *,
    level: int = DEFAULT_LEVEL,
    threads: int = -1,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Compress ``source`` into ``target`` (never overwriting it: FileExistsError, nothing
    changed); return the compressed size. ``threads=-1`` uses every core, as ``zstd -T0``.
    ``progress`` is advanced by every chunk of ``source`` read (the caller frames the step)."""
    compressor = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
    with (
        _open_source(source) as reader,
        atomic_file(target.parent, target.name, replace=False) as writer,
    ):
        _, written = compressor.copy_stream(
            _Counted.around(reader, progress), writer, read_size=CHUNK, write_size=CHUNK
        )
    return int(written)


def decompress_file(source: Path, target: Path, *, progress: Progress = NO_PROGRESS) -> int:
    """Decompress ``source`` into ``target`` (never overwriting it); zstd's own frame checksum
    catches corruption (``zstandard.ZstdError``, nothing left behind). Returns the size.
    ``progress`` counts the compressed bytes read, the only total known ahead."""
    decompressor = zstandard.ZstdDecompressor()
    with (
        _open_source(source) as reader,
        atomic_file(target.parent, target.name, replace=False) as writer,
    ):
        _, written = decompressor.copy_stream(
            _Counted.around(reader, progress), writer, read_size=CHUNK, write_size=CHUNK
        )
    return int(written)


class _Counted:
    """A reader that tells ``progress`` how much each read returned: zstandard's
    ``copy_stream`` has no callback of its own, and calls only ``read``."""

    def __init__(self, reader: BinaryIO, progress: Progress) -> None:
        self._reader, self._progress = reader, progress

    @classmethod
    def around(cls, reader: BinaryIO, progress: Progress) -> BinaryIO:
        """Typed as the file it reads, which is all ``copy_stream`` asks of it."""
        return cast(BinaryIO, cls(reader, progress))

    def read(self, size: int = -1) -> bytes:
        data = self._reader.read(size)
        self._progress.advance(len(data))
        return data


@contextmanager
def decompressed_beside(
    source: Path, purpose: str = "restore", *, progress: Progress = NO_PROGRESS
) -> Iterator[Path]:
    """A decompressed copy of ``source`` in its directory, for as long as the block runs. Its
    name is unpredictable and one ``safe_files.is_temp_name`` recognises, so a run killed
    meanwhile leaves a leftover the next run can report and remove."""
    name = f".{source.name.removesuffix('.zst')}.{purpose}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    assert is_temp_name(name)
    decompress_file(source, source.parent / name, progress=progress)
    try:
        yield source.parent / name
    finally:
        with contextlib.suppress(FileNotFoundError):
            remove_temp(source.parent, name)


@contextmanager
def _open_source(source: Path) -> Iterator[BinaryIO]:
    """The file itself, never what a symlink planted under its name points to."""
    with os.fdopen(os.open(source, _READ), "rb") as reader:
        yield reader
