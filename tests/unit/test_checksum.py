from __future__ import annotations

import hashlib
from pathlib import Path

import blake3
import pytest

from backup_keeper.catalog.manifest import Checksum
from backup_keeper.checksum import file_checksum, matches


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "a.cbk"
    path.write_bytes(bytes(range(256)) * 40_000)  # ~10 MiB: several buffers, several threads
    return path


def test_blake3_and_sha256_agree_with_reference_implementations(volume: Path) -> None:
    data = volume.read_bytes()
    assert file_checksum(volume).hex == blake3.blake3(data).hexdigest()
    assert file_checksum(volume, "sha256").hex == hashlib.sha256(data).hexdigest()


def test_matches_uses_the_manifests_algorithm_and_sees_a_bit_flip(volume: Path) -> None:
    recorded_sha = file_checksum(volume, "sha256")
    recorded_b3 = file_checksum(volume)
    assert matches(volume, recorded_sha) and matches(volume, recorded_b3)
    with volume.open("r+b") as handle:
        handle.seek(5_000_000)
        byte = handle.read(1)
        handle.seek(5_000_000)
        handle.write(bytes([byte[0] ^ 1]))
    assert not matches(volume, recorded_sha)
    assert not matches(volume, recorded_b3)


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "e.cbk"
    empty.write_bytes(b"")
    assert matches(empty, Checksum(algorithm="sha256", hex=hashlib.sha256(b"").hexdigest()))
    with pytest.raises(OSError):
        file_checksum(tmp_path / "missing.cbk")
