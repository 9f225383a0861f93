from __future__ import annotations

import os
from pathlib import Path

import pytest

from backup_keeper.small_files import FIRST_READ, TooLarge, read_small, read_tail
from tests.hang_guard import fails_if_blocked


def test_reads_a_whole_small_file(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(b"0123456789")
    assert read_small(path, limit=10) == b"0123456789"


def test_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
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


def test_reads_files_larger_than_one_read_whole(tmp_path: Path) -> None:
    body = bytes(range(256)) * (FIRST_READ // 256 * 3 + 1)
    path = tmp_path / "big"
    path.write_bytes(body)
    assert read_small(path, limit=len(body)) == body
    with pytest.raises(TooLarge):
        read_small(path, limit=len(body) - 1)
    exact = tmp_path / "exact"
    exact.write_bytes(b"e" * FIRST_READ)
    assert read_small(exact, limit=FIRST_READ * 2) == b"e" * FIRST_READ


def test_tail_of_a_file_larger_than_one_read(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a" * (FIRST_READ * 2) + b"***FINISHED***\n")
    assert read_tail(path, size=FIRST_READ).endswith(b"***FINISHED***\n")
    assert len(read_tail(path, size=FIRST_READ)) == FIRST_READ


def test_a_fifo_reads_as_empty_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "X.cbk.json"
    os.mkfifo(fifo)
    with fails_if_blocked():
        assert read_small(fifo, limit=100) == b""
        assert read_tail(fifo, size=100) == b""
