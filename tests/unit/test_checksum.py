from __future__ import annotations

import hashlib
from pathlib import Path

import blake3
import pytest

from backup_keeper import checksum
from backup_keeper.checksum import Algorithm, Checksum, file_checksum
from tests.progress_recorder import RecordingProgress


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


@pytest.mark.parametrize("algorithm", ["blake3", "sha256"])
def test_hashing_advances_progress_by_every_byte_read(
    volume: Path, algorithm: Algorithm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checksum, "_BLAKE3_CHUNK", 1 << 20)  # several chunks, as a large file
    recorder = RecordingProgress()
    recorder.start("checksum", volume.stat().st_size, "bytes")
    file_checksum(volume, algorithm, progress=recorder)
    assert recorder.steps[0].done == volume.stat().st_size
    expected = (blake3.blake3 if algorithm == "blake3" else hashlib.sha256)(volume.read_bytes())
    assert file_checksum(volume, algorithm).hex == expected.hexdigest()
