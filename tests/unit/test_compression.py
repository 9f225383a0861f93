"""zstd compression: round trips, corruption caught, nothing overwritten, nothing followed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zstandard

from backup_keeper.compression import compress_file, decompress_file, decompressed_beside
from backup_keeper.safe_files import is_temp_name


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


def test_symlinks_planted_at_the_old_temporary_name_are_never_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.write_bytes(b"precious")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "a.cbk").write_bytes(b"IRIS block " * 10_000)
    (backups / f".a.cbk.zst.tmp-{os.getpid()}").symlink_to(precious)
    compress_file(backups / "a.cbk", backups / "a.cbk.zst")
    assert precious.read_bytes() == b"precious"
    assert not (backups / "a.cbk.zst").is_symlink()


def test_a_symlink_planted_as_the_source_is_not_compressed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not a backup")
    (tmp_path / "a.cbk").symlink_to(secret)
    with pytest.raises(OSError, match="symbolic links"):
        compress_file(tmp_path / "a.cbk", tmp_path / "a.cbk.zst")
    assert not (tmp_path / "a.cbk.zst").exists()


def test_a_corrupt_file_leaves_no_partial_output(tmp_path: Path) -> None:
    (tmp_path / "bad.cbk.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 100)
    with pytest.raises(zstandard.ZstdError):
        decompress_file(tmp_path / "bad.cbk.zst", tmp_path / "out.cbk")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cbk.zst"]


def test_the_decompressed_copy_is_a_temporary_file_gone_afterwards(tmp_path: Path) -> None:
    (tmp_path / "a.cbk").write_bytes(b"IRIS block " * 10_000)
    compress_file(tmp_path / "a.cbk", tmp_path / "a.cbk.zst")
    with decompressed_beside(tmp_path / "a.cbk.zst") as copy:
        assert copy.parent == tmp_path and is_temp_name(copy.name)
        assert copy.read_bytes() == (tmp_path / "a.cbk").read_bytes()
    assert not copy.exists()
