"""One purge per directory at a time.

Two purges of one directory would each read the other's live intent as an interrupted one and
"finish" it. So a purge holds an exclusive ``flock`` on ``.backup-keeper-purge.lock`` in each
directory for its whole run; a second one waits a bounded time, then gives up having changed
nothing, naming the pid that holds the lock.

Why a lock file and not ``flock`` on the directory descriptor itself: backup directories are
often NFS mounts, where Linux emulates ``flock`` with POSIX byte-range locks, and an exclusive
one needs a descriptor open for writing, which a directory never is. A lock file works there
too, and it can carry the holder's pid for the waiting run's message.

The lock file is hostile ground like everything in the directory. It is created once through
:mod:`backup_keeper.safe_files` (exclusively: two runs creating it at the same moment cannot
replace each other's) and never removed (removing it while a run waits on it would let a third
create a new one and run beside the first). It is opened relative to a descriptor of its
directory with ``O_NOFOLLOW``, must be a regular file with a single link (a planted symlink,
FIFO or hard link to a foreign file is refused, so nothing outside is ever written), and after
the lock is taken the name must still lead to the locked file. The holder writes its pid into
it in place: the lock lives on that inode, so it cannot be replaced by a rename as other files
are; the pid is only a hint for a waiting run's message, and the holder empties it on release.

A dry run changes nothing on disk, so it creates no lock file; when one exists it takes a shared
lock, so it waits for a running purge instead of reporting that purge's live intent as
interrupted, and dry runs never wait for each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backup_keeper.safe_files import write_atomic

LOCK_NAME = ".backup-keeper-purge.lock"
_POLL = 0.05
_ATTEMPTS = 10
"""How often the lock file may vanish or be replaced under us before we give up."""
_PID = re.compile(r"[0-9]{1,10}", re.ASCII)
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class LockError(Exception):
    """The purge lock of a directory could not be taken; nothing was changed."""


@dataclass(slots=True)
class _Held:
    fd: int
    writable: bool


class HeldLocks:
    """The purge locks a run holds; released when its ``with`` block ends."""

    def __init__(self) -> None:
        self._held: list[_Held] = []

    def __enter__(self) -> HeldLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def add(self, lock: _Held) -> None:
        self._held.append(lock)

    def release(self) -> None:
        while self._held:
            _release(self._held.pop())


def take_purge_locks(directories: Sequence[Path], *, wait: float, shared: bool) -> HeldLocks:
    """The purge lock of every directory, or LockError with none held.

    Directories are locked in one order (sorted), so two runs over overlapping directories can
    never each hold one the other waits for. ``wait`` bounds the whole wait, not each
    directory's.
    """
    deadline = time.monotonic() + wait
    held = HeldLocks()
    try:
        for directory in sorted(set(directories), key=str):
            lock = _take(directory, deadline, wait, shared)
            if lock is not None:
                held.add(lock)
    except BaseException:
        held.release()
        raise
    return held


def _take(directory: Path, deadline: float, wait: float, shared: bool) -> _Held | None:
    try:
        for _ in range(_ATTEMPTS):
            lock = _open(directory, create=not shared)
            if lock is None:
                return None
            try:
                _wait_for(lock.fd, directory, deadline, wait, shared)
                if _still_named(directory, lock.fd):
                    if not shared:
                        _say_pid(lock, f"{os.getpid()}\n".encode())
                    return lock
            except BaseException:
                os.close(lock.fd)
                raise
            os.close(lock.fd)
    except OSError as exc:
        raise LockError(
            f"{directory}: cannot take the purge lock {LOCK_NAME}: {exc.strerror or exc}; "
            "this run changed nothing"
        ) from None
    raise LockError(f"{directory}/{LOCK_NAME} keeps being replaced; this run changed nothing")


def _open(directory: Path, *, create: bool) -> _Held | None:
    """The lock file, opened without following a link; created (exclusively) when absent."""
    dir_fd = os.open(directory, _DIRECTORY)
    try:
        for _ in range(_ATTEMPTS):
            try:
                lock = _open_existing(dir_fd, writable=create)
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):
                    write_atomic(directory, LOCK_NAME, b"", replace=False)
                continue
            _check_lock_file(lock.fd, directory)
            return lock
    finally:
        os.close(dir_fd)
    raise LockError(f"{directory}/{LOCK_NAME} keeps vanishing; this run changed nothing")


def _open_existing(dir_fd: int, *, writable: bool) -> _Held:
    """Read-write to record our pid; read-only when the file is another user's (``flock``
    needs no write access on a local file system)."""
    if writable:
        with contextlib.suppress(PermissionError):
            return _Held(os.open(LOCK_NAME, os.O_RDWR | _OPEN, dir_fd=dir_fd), writable=True)
    return _Held(os.open(LOCK_NAME, os.O_RDONLY | _OPEN, dir_fd=dir_fd), writable=False)


def _check_lock_file(fd: int, directory: Path) -> None:
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and st.st_nlink <= 1:
        return
    os.close(fd)
    what = "a file with several links" if stat.S_ISREG(st.st_mode) else "not a regular file"
    raise LockError(
        f"{directory}/{LOCK_NAME} is {what}, not a lock file of backup-keeper: nothing was "
        f"changed; inspect it, then remove it to let purges of {directory} run again"
    )


def _wait_for(fd: int, directory: Path, deadline: float, wait: float, shared: bool) -> None:
    operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    while True:
        try:
            fcntl.flock(fd, operation)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockError(
                    f"another purge of {directory} is running ({_holder(fd)}); waited "
                    f"{wait:g} s and changed nothing"
                ) from None
            time.sleep(_POLL)


def _holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 16, 0).decode("ascii", "replace").strip()
    except OSError:
        raw = ""
    if _PID.fullmatch(raw):
        return f"pid {raw}"
    return "pid unknown: a dry run, or one just starting"


def _still_named(directory: Path, fd: int) -> bool:
    """Whether the name still leads to the file we locked (it may have been replaced)."""
    try:
        named = (directory / LOCK_NAME).lstat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)


def _say_pid(lock: _Held, data: bytes) -> None:
    """Best effort: the pid is a hint for a waiting run, never a reason to fail."""
    if not lock.writable:
        return
    with contextlib.suppress(OSError):
        os.ftruncate(lock.fd, 0)
        if data:
            os.pwrite(lock.fd, data, 0)


def _release(lock: _Held) -> None:
    _say_pid(lock, b"")
    os.close(lock.fd)  # closing the last descriptor releases the flock
