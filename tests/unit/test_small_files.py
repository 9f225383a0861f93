from __future__ import annotations

from pathlib import Path

import pytest

from backup_keeper.small_files import TooLarge, read_small, read_tail


def test_reads_a_whole_small_file(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"0123456789")
    assert read_small(path, limit=10) == b"0123456789"


def test_refuses_a_file_over_the_limit_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"x" * 11)
    with pytest.raises(TooLarge):
        read_small(path, limit=10)


def test_never_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("secret")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OSError):
        read_small(tmp_path / "link", limit=100)
    with pytest.raises(OSError):
        read_tail(tmp_path / "link", size=100)


def test_tail_gives_the_last_bytes_or_all_of_a_short_file(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a" * 100 + b"END")
    assert read_tail(path, size=3) == b"END"
    assert read_tail(path, size=1000) == b"a" * 100 + b"END"
    (tmp_path / "empty").write_bytes(b"")
    assert read_tail(tmp_path / "empty", size=10) == b""
