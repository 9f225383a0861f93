"""The purge lock: one purge per directory, and a lock file that is never a way out."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from backup_keeper.purge.lock import LOCK_NAME, LockError, take_purge_locks
from tests.hang_guard import fails_if_blocked


def test_a_second_holder_waits_the_bounded_time_then_names_the_first(tmp_path: Path) -> None:
    with take_purge_locks([tmp_path], wait=0, shared=False):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(LockError) as refused:
            take_purge_locks([tmp_path], wait=0.1, shared=False)
    assert str(refused.value) == (
        f"another purge of {tmp_path} is running (pid {os.getpid()}); waited 0.1 s and "
        "changed nothing"
    )
    assert (tmp_path / LOCK_NAME).read_text() == ""  # the pid goes with the holder
    with take_purge_locks([tmp_path], wait=0, shared=False):
        pass


def test_dry_runs_share_the_lock_create_none_and_still_wait_for_a_real_purge(
    tmp_path: Path,
) -> None:
    with take_purge_locks([tmp_path], wait=0, shared=True):
        assert not (tmp_path / LOCK_NAME).exists()
    with take_purge_locks([tmp_path], wait=0, shared=False):
        pass
    with (
        take_purge_locks([tmp_path], wait=0, shared=True),
        take_purge_locks([tmp_path], wait=0, shared=True),
        pytest.raises(LockError, match=r"pid unknown: a dry run, or one just starting"),
    ):
        take_purge_locks([tmp_path], wait=0, shared=False)
    with (
        take_purge_locks([tmp_path], wait=0, shared=False),
        pytest.raises(LockError, match=rf"is running \(pid {os.getpid()}\)"),
    ):
        take_purge_locks([tmp_path], wait=0, shared=True)


def test_a_run_that_cannot_lock_every_directory_holds_none(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    with take_purge_locks([second], wait=0, shared=False):
        with pytest.raises(LockError):
            take_purge_locks([second, first], wait=0, shared=False)
        with take_purge_locks([first], wait=0, shared=False):
            pass


def test_a_symlink_planted_as_the_lock_file_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    precious = tmp_path / "precious"
    precious.write_text("not ours")
    (backups / LOCK_NAME).symlink_to(precious)
    with pytest.raises(LockError, match=r"cannot take the purge lock .*symbolic links"):
        take_purge_locks([backups], wait=0, shared=False)
    assert precious.read_text() == "not ours"


def test_a_hard_link_planted_as_the_lock_file_is_refused_and_never_written(
    tmp_path: Path,
) -> None:
    precious = tmp_path / "precious"
    precious.write_text("not ours")
    os.link(precious, tmp_path / LOCK_NAME)
    with pytest.raises(LockError, match="is a file with several links, not a lock file"):
        take_purge_locks([tmp_path], wait=0, shared=False)
    assert precious.read_text() == "not ours"


def test_a_fifo_planted_as_the_lock_file_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / LOCK_NAME)
    with fails_if_blocked(10), pytest.raises(LockError) as refused:
        take_purge_locks([tmp_path], wait=0, shared=False)
    assert str(refused.value) == (
        f"{tmp_path}/{LOCK_NAME} is not a regular file, not a lock file of backup-keeper: "
        f"nothing was changed; inspect it, then remove it to let purges of {tmp_path} run again"
    )


def test_a_directory_that_cannot_be_opened_is_a_lock_error(tmp_path: Path) -> None:
    with pytest.raises(LockError, match=r"cannot take the purge lock .*No such file"):
        take_purge_locks([tmp_path / "gone"], wait=0, shared=False)


def test_a_lock_file_replaced_while_being_locked_is_locked_again_by_its_new_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs creating the lock file at once: the one that locked the file no longer named
    so must not believe it holds the lock."""

    real_flock = fcntl.flock
    replaced: list[int] = []

    def flock_then_replace(fd: int, operation: int) -> None:
        real_flock(fd, operation)
        if not replaced:
            replaced.append(os.fstat(fd).st_ino)
            (tmp_path / "new").write_bytes(b"")
            (tmp_path / "new").replace(tmp_path / LOCK_NAME)

    monkeypatch.setattr(fcntl, "flock", flock_then_replace)
    with take_purge_locks([tmp_path], wait=0, shared=False):
        named = (tmp_path / LOCK_NAME).stat()
        assert named.st_ino != replaced[0]
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
