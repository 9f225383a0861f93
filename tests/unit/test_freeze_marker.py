"""The freeze marker on hostile ground: written without following any planted symlink, and a
marker that is there but cannot be read is never mistaken for no marker."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup_keeper.freeze_marker import (
    MARKER_LIMIT,
    MARKER_NAME,
    FreezeMarker,
    UnreadableMarker,
    clear_marker,
    new_run_id,
    parse_marker,
    read_marker,
    write_marker,
)
from tests.builders import NEVER_ALIVE_PID

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def marker(**changes: object) -> FreezeMarker:
    fields: dict[str, object] = {
        "host": socket.gethostname(),
        "started": NOW,
        "expires": NOW + timedelta(hours=1),
        "run": new_run_id(),
    }
    return FreezeMarker.model_validate({**fields, **changes})


def test_a_marker_reads_back_as_written(tmp_path: Path) -> None:
    written = marker(label="nightly")
    write_marker(tmp_path, written)
    assert read_marker(tmp_path) == written
    assert [p.name for p in tmp_path.iterdir()] == [MARKER_NAME]


def test_no_marker_is_none(tmp_path: Path) -> None:
    assert read_marker(tmp_path) is None
    assert parse_marker(None) is None
    assert parse_marker("") is None


def test_symlinks_planted_at_the_old_temporary_name_and_the_marker_are_never_followed(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious"
    precious.write_bytes(b"precious")
    directory = tmp_path / "backups"
    directory.mkdir()
    (directory / f"{MARKER_NAME}.tmp-{os.getpid()}").symlink_to(precious)
    (directory / MARKER_NAME).symlink_to(precious)
    written = marker()
    write_marker(directory, written)
    assert precious.read_bytes() == b"precious"
    assert not (directory / MARKER_NAME).is_symlink()
    assert read_marker(directory) == written


def _symlink_to_a_valid_marker(directory: Path) -> None:
    real = directory.parent / "real-marker.json"
    real.write_text(marker().model_dump_json())
    (directory / MARKER_NAME).symlink_to(real)


def _fifo(directory: Path) -> None:
    os.mkfifo(directory / MARKER_NAME)


def _directory(directory: Path) -> None:
    (directory / MARKER_NAME).mkdir()


def _oversized(directory: Path) -> None:
    (directory / MARKER_NAME).write_text(" " * (MARKER_LIMIT + 1))


def _empty(directory: Path) -> None:
    (directory / MARKER_NAME).write_bytes(b"")


def _garbage(directory: Path) -> None:
    (directory / MARKER_NAME).write_bytes(b"\xff{not json")


def _foreign_format(directory: Path) -> None:
    (directory / MARKER_NAME).write_text('{"host": "x", "who": "someone else"}')


UNREADABLE = [_symlink_to_a_valid_marker, _fifo, _directory, _oversized, _empty, _garbage]
UNREADABLE += [_foreign_format]


@pytest.mark.parametrize("plant", UNREADABLE, ids=lambda f: f.__name__.strip("_"))
def test_a_marker_that_cannot_be_read_is_unreadable_never_none(
    tmp_path: Path, plant: Callable[[Path], object]
) -> None:
    directory = tmp_path / "backups"
    directory.mkdir()
    plant(directory)
    with pytest.raises(UnreadableMarker, match=MARKER_NAME):
        read_marker(directory)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_marker_this_user_may_not_read_is_unreadable(tmp_path: Path) -> None:
    write_marker(tmp_path, marker())
    (tmp_path / MARKER_NAME).chmod(0)
    with pytest.raises(UnreadableMarker, match="cannot be read"):
        read_marker(tmp_path)


def test_a_marker_inside_iris_that_does_not_parse_is_unreadable() -> None:
    with pytest.raises(UnreadableMarker, match="inside IRIS"):
        parse_marker("garbage")


def test_clear_removes_only_the_marker_it_is_given(tmp_path: Path) -> None:
    ours, theirs = marker(), marker()
    write_marker(tmp_path, theirs)
    why = clear_marker(tmp_path, ours)
    assert why is not None and "now belongs to" in why
    assert read_marker(tmp_path) == theirs
    assert clear_marker(tmp_path, theirs) is None
    assert read_marker(tmp_path) is None
    assert clear_marker(tmp_path, theirs) is None  # already gone: nothing of ours remains


def test_clear_leaves_an_unreadable_marker(tmp_path: Path) -> None:
    _symlink_to_a_valid_marker(tmp_path)
    why = clear_marker(tmp_path, marker())
    assert why is not None and "symbolic link" in why
    assert (tmp_path / MARKER_NAME).is_symlink()


def test_a_marker_is_stale_when_its_process_here_is_gone_whatever_its_expiry() -> None:
    long_past = NOW + timedelta(days=30)
    assert not marker(pid=os.getpid()).is_stale(long_past)  # alive: its freeze is under way
    assert marker(pid=NEVER_ALIVE_PID).is_stale(NOW)  # gone, though not yet expired


def test_a_marker_of_another_host_or_a_hook_is_stale_only_once_expired() -> None:
    for other in (marker(host="elsewhere.example.org", pid=os.getpid()), marker()):
        assert not other.is_stale(NOW + timedelta(minutes=59))
        assert other.is_stale(NOW + timedelta(hours=1))


def test_a_marker_says_since_when_in_the_zone_it_is_given() -> None:
    hook = marker(label="vmware")
    assert hook.describe(ZoneInfo("Asia/Tokyo")).endswith(
        ", since 2026-11-22 12:00:00 JST (label vmware)"
    )
