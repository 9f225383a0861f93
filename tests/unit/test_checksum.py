from __future__ import annotations

import hashlib
from pathlib import Path

import blake3
import pytest

from backup_keeper.checksum import Checksum, file_checksum


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "a.cbk"
    path.write_bytes(bytes(range(256)) * 40_000)  # ~10 MiB: several buffers, several threads
    return path


def test_blake3_and_sha256_agree_with_reference_implementations(volume: Path) -> None:
    data = volume.read_bytes()
    assert file_checksum(volume).hex == blake3.blake3(data).hexdigest()
    assert file_checksum(volume, "sha256").hex == hashlib.sha256(data).hexdigest()


def test_each_algorithm_sees_a_single_bit_flip(volume: Path) -> None:
    recorded_sha = file_checksum(volume, "sha256")
    recorded_b3 = file_checksum(volume)
    with volume.open("r+b") as handle:
        handle.seek(5_000_000)
        byte = handle.read(1)
        handle.seek(5_000_000)
        handle.write(bytes([byte[0] ^ 1]))
    assert file_checksum(volume, "sha256").hex != recorded_sha.hex
    assert file_checksum(volume).hex != recorded_b3.hex


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "e.cbk"
    empty.write_bytes(b"")
    expected = Checksum(algorithm="sha256", hex=hashlib.sha256(b"").hexdigest())
    assert file_checksum(empty, "sha256") == expected
    with pytest.raises(OSError):
        file_checksum(tmp_path / "missing.cbk")
