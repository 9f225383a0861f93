from __future__ import annotations

import os
from pathlib import Path

import pytest
import zstandard

from backup_keeper.compression import compress_file, decompress_file


def test_round_trip_with_real_zstd_frames(tmp_path: Path) -> None:
    original = tmp_path / "a.cbk"
    original.write_bytes(os.urandom(1 << 16) + b"\0" * (3 << 20))
    size = compress_file(original, tmp_path / "a.cbk.zst")
    assert 0 < size < original.stat().st_size
    decompress_file(tmp_path / "a.cbk.zst", tmp_path / "back.cbk")
    assert (tmp_path / "back.cbk").read_bytes() == original.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_corrupt_compressed_file_is_detected(tmp_path: Path) -> None:
    original = tmp_path / "a.cbk"
    original.write_bytes(b"IRIS block " * 100_000)
    compress_file(original, tmp_path / "a.cbk.zst")
    data = bytearray((tmp_path / "a.cbk.zst").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.cbk.zst").write_bytes(bytes(data))
    with pytest.raises(zstandard.ZstdError):
        decompress_file(tmp_path / "bad.cbk.zst", tmp_path / "out.cbk")


def test_an_existing_target_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "a.cbk").write_bytes(b"x" * 1000)
    (tmp_path / "a.cbk.zst").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        compress_file(tmp_path / "a.cbk", tmp_path / "a.cbk.zst")
    assert (tmp_path / "a.cbk.zst").read_bytes() == b"precious"
