"""The one way files are created: exclusive, never through a symlink, whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.safe_files import (
    TEMP_SUFFIX,
    UnsafeName,
    atomic_file,
    check_bare_name,
    is_temp_name,
    remove_temp,
    write_atomic,
    write_atomic_path,
)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside" / "precious"
    target.parent.mkdir()
    target.write_bytes(b"precious")
    return target


def test_write_atomic_creates_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    write_atomic(tmp_path, "state.json", b"{}")

    assert (tmp_path / "state.json").read_bytes() == b"{}"
    assert _names(tmp_path) == ["state.json"]


def test_write_atomic_replaces_a_symlink_at_the_name_instead_of_writing_through_it(
    tmp_path: Path,
) -> None:
    target = _outside(tmp_path)
    directory = tmp_path / "backups"
    directory.mkdir()
    (directory / "state.json").symlink_to(target)

    write_atomic(directory, "state.json", b"new")

    assert target.read_bytes() == b"precious"
    assert not (directory / "state.json").is_symlink()
    assert (directory / "state.json").read_bytes() == b"new"


def test_no_predictable_temporary_name_is_used(tmp_path: Path) -> None:
    """A symlink planted under every name the old writers used is never followed."""
    target = _outside(tmp_path)
    directory = tmp_path / "backups"
    directory.mkdir()
    for planted in ("state.json.tmp", f"state.json.tmp-{os.getpid()}", ".state.json.tmp"):
        (directory / planted).symlink_to(target)

    write_atomic(directory, "state.json", b"new")

    assert target.read_bytes() == b"precious"


def test_replace_false_refuses_an_existing_name_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "X.cbk.zst").write_bytes(b"old")

    with pytest.raises(FileExistsError):
        write_atomic(tmp_path, "X.cbk.zst", b"new", replace=False)

    assert (tmp_path / "X.cbk.zst").read_bytes() == b"old"
    assert _names(tmp_path) == ["X.cbk.zst"]


def test_replace_false_refuses_a_dangling_symlink_at_the_name(tmp_path: Path) -> None:
    (tmp_path / "X.cbk.zst").symlink_to(tmp_path / "nowhere")

    with pytest.raises(FileExistsError):
        write_atomic(tmp_path, "X.cbk.zst", b"new", replace=False)

    assert not (tmp_path / "nowhere").exists()


def test_a_failure_while_writing_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_file(tmp_path, "state.json") as handle:
        handle.write(b"half")
        raise RuntimeError("disk full")

    assert (tmp_path / "state.json").read_bytes() == b"old"
    assert _names(tmp_path) == ["state.json"]


def test_write_atomic_path_writes_by_whole_path(tmp_path: Path) -> None:
    assert write_atomic_path(tmp_path / "a.json", b"1") == tmp_path / "a.json"
    assert (tmp_path / "a.json").read_bytes() == b"1"


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "/etc/passwd", "a/b", "a\\b", "a\0b"])
def test_names_that_leave_the_directory_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeName):
        check_bare_name(name)
    with pytest.raises(UnsafeName):
        write_atomic(tmp_path, name, b"x")
    assert _names(tmp_path) == []


@given(st.text(min_size=1, max_size=40))
def test_every_accepted_name_stays_directly_inside_the_directory(name: str) -> None:
    try:
        check_bare_name(name)
    except UnsafeName:
        return
    assert "/" not in name
    assert name not in (".", "..")


def test_temporary_names_are_recognised_and_only_they(tmp_path: Path) -> None:
    seen: list[str] = []

    with atomic_file(tmp_path, "X.cbk.json") as handle:
        seen += _names(tmp_path)
        handle.write(b"{}")

    assert len(seen) == 1
    assert is_temp_name(seen[0])
    assert seen[0].endswith(TEMP_SUFFIX)
    assert not is_temp_name("X.cbk.json")
    assert not is_temp_name(".X.cbk.json.tmp-123")
    assert not is_temp_name(".X.cbk.json.١٢٣٤٥٦٧٨٩٠١٢.bk-tmp")


def test_remove_temp_removes_a_leftover_and_refuses_anything_else(tmp_path: Path) -> None:
    leftover = ".X.cbk.json.0123456789ab" + TEMP_SUFFIX
    (tmp_path / leftover).write_bytes(b"")
    (tmp_path / "X.cbk").write_bytes(b"backup")

    remove_temp(tmp_path, leftover)
    with pytest.raises(UnsafeName):
        remove_temp(tmp_path, "X.cbk")

    assert _names(tmp_path) == ["X.cbk"]


def test_a_very_long_name_still_gets_a_temporary_name_that_fits(tmp_path: Path) -> None:
    name = "b" * 250

    write_atomic(tmp_path, name, b"x")

    assert (tmp_path / name).read_bytes() == b"x"
