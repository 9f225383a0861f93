"""zstd compression of completed backup files: streaming (constant memory whatever the size),
on every core, written beside the original through a temporary name and renamed when whole.

The online backup job uses it when ``compress`` is set (the manifest then records the .zst's
size and checksum); catalog, verify, restore-plan, restore and purge all read ``.cbk.zst``.
bench/compress.py measures it against the zstd command-line tool.
"""

from __future__ import annotations

import os
from pathlib import Path

import zstandard

DEFAULT_LEVEL = 3
CHUNK = 4 << 20


def compress_file(
    source: Path, target: Path, *, level: int = DEFAULT_LEVEL, threads: int = -1
) -> int:
    """Compress ``source`` into ``target`` (never overwriting it); return the compressed size.
    ``threads=-1`` uses every core, as ``zstd -T0`` does."""
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    compressor = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
    try:
        with source.open("rb") as reader, temp.open("xb") as writer:
            compressor.copy_stream(reader, writer, read_size=CHUNK, write_size=CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        if target.exists():
            raise FileExistsError(f"{target} exists")
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return target.stat().st_size


def decompress_file(source: Path, target: Path) -> int:
    """Decompress ``source`` into ``target``; zstd's own frame checksum catches corruption
    (``zstandard.ZstdError``). Returns the decompressed size."""
    decompressor = zstandard.ZstdDecompressor()
    with source.open("rb") as reader, target.open("xb") as writer:
        _, written = decompressor.copy_stream(reader, writer, read_size=CHUNK, write_size=CHUNK)
    return int(written)
