"""The last purge's freed bytes and the last verify's findings, kept per directory for the
metrics, on hostile ground: written whole, read without trusting what is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backup_keeper.last_run import (
    MAX_BYTES,
    LastPurge,
    LastVerify,
    read_last,
    record_purge,
    record_verify,
)


def test_a_purge_leaves_the_bytes_it_freed_in_each_directory_zero_where_nothing_went(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()

    warnings = record_purge([a, b], {a: 128})

    assert warnings == []
    assert read_last(a, LastPurge) == (LastPurge(freed_bytes=128), None)
    assert read_last(b, LastPurge) == (LastPurge(freed_bytes=0), None)


def test_a_verify_counts_the_findings_naming_a_file_of_each_directory(tmp_path: Path) -> None:
    a, ab = tmp_path / "a", tmp_path / "ab"
    a.mkdir()
    ab.mkdir()
    errors = [f"{a}/x.cbk: checksum differs", f"{ab}/y.cbk: gone", "IRIS: timed out"]

    assert record_verify([a, ab], errors) == []

    assert read_last(a, LastVerify)[0] == LastVerify(findings=1)
    assert read_last(ab, LastVerify)[0] == LastVerify(findings=1)


def test_no_file_means_no_run_yet_and_no_problem(tmp_path: Path) -> None:
    assert read_last(tmp_path, LastPurge) == (None, None)


@pytest.mark.parametrize(
    ("plant", "said"),
    [
        (lambda p: p.write_text("not json"), "not a state file"),
        (lambda p: p.write_text('{"freed_bytes": -1}'), "not a"),
        (
            lambda p: p.write_text('{"freed_bytes": "9"}'),
            "not a",
        ),
        (lambda p: p.write_bytes(b"{" + b" " * MAX_BYTES + b"}"), "larger than"),
        (lambda p: p.mkdir(), "directory"),
        (lambda p: p.symlink_to(p.parent / "elsewhere.json"), "symbolic link"),
        (os.mkfifo, "not a state file"),
    ],
    ids=["garbage", "negative", "string", "huge", "directory", "symlink", "fifo"],
)
def test_a_file_that_is_there_but_unusable_is_never_taken_for_no_run(
    tmp_path: Path, plant: object, said: str
) -> None:
    (tmp_path / "elsewhere.json").write_text(LastPurge(freed_bytes=5).model_dump_json())
    plant(tmp_path / LastPurge.NAME)  # type: ignore[operator]

    state, problem = read_last(tmp_path, LastPurge)

    assert state is None
    assert problem is not None and said in problem


def test_a_planted_symlink_is_replaced_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / LastVerify.NAME).symlink_to(outside)

    assert record_verify([backups], []) == []

    assert outside.read_text() == "keep me"
    assert read_last(backups, LastVerify)[0] == LastVerify(findings=0)


def test_a_directory_it_cannot_write_in_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    missing = tmp_path / "gone"

    warnings = record_purge([missing], {})

    assert len(warnings) == 1
    assert str(missing) in warnings[0] and "not written" in warnings[0]
