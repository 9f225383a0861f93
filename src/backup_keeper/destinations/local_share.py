"""A mounted share (NFS, SMB) as a destination: ``file:///mnt/share`` holds ``<instance>/``.

Why our own code rather than a library's local-file store: a share is written by other hosts
and other users, so it is hostile ground like a backup directory. Everything here acts through a
descriptor of the instance directory opened without following a symlink, creates files only
through :func:`backup_keeper.safe_files.atomic_file` (exclusive temporary + rename: a reader on
another host sees the old object or the whole new one), and never opens, lists or deletes a
symlink or anything else that is not a regular file. The base directory itself is the
administrator's mount point and may be reached through a symlink; nothing below it may.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteObject
from backup_keeper.safe_files import UnsafeName, atomic_file, check_bare_name, is_temp_name

READ_CHUNK: Final = 1024 * 1024
DIRECTORY_MODE: Final = 0o750
FILE_MODE: Final = 0o640
_DIRECTORY: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NO_LINK: Final = os.O_NOFOLLOW
_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
"""O_NONBLOCK: a FIFO planted under an object's name must not hang the open."""
_KINDS: Final[dict[int, FaultKind]] = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EACCES: "credentials",
    errno.EPERM: "credentials",
    errno.ENOENT: "not-found",
    errno.ETIMEDOUT: "unreachable",
    errno.EHOSTDOWN: "unreachable",
    errno.ESTALE: "unreachable",
    errno.EIO: "unreachable",
}


class _FromChunks(Exception):
    """Carries an exception raised by the caller's chunks past our OSError handling, so a
    local read error reaches the caller unchanged rather than as a share fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class LocalShareStore:
    """A :class:`~backup_keeper.destinations.store.RemoteStore` in ``<base>/<instance>/``."""

    def __init__(self, base: Path, *, instance: str) -> None:
        if not base.is_absolute():
            raise DestinationError("invalid", f"{base} is not an absolute path")
        self._base = base
        self._instance = _bare(instance, "instance name")

    @property
    def proves_uploads(self) -> bool:
        """A read-back on a share is a local read: cheap, and the only proof a mount gives."""
        return False

    def describe(self) -> str:
        return f"file://{self._base.as_posix().rstrip('/')}/{self._instance}/"

    def list(self) -> Iterator[RemoteObject]:
        """Regular files directly in the instance directory, under bare names; temporaries of
        an interrupted put, symlinks, directories and anything else are skipped."""
        with self._instance_fd(create=False) as fd:
            if fd is None:
                return iter([])
            try:
                found = [
                    _remote(entry.name, entry.stat(follow_symlinks=False))
                    for entry in os.scandir(fd)
                    if _is_object_name(entry.name) and entry.is_file(follow_symlinks=False)
                ]
            except OSError as exc:
                raise self._fault(exc, "list") from None
        return iter(found)

    def head(self, name: str) -> RemoteObject | None:
        key = _bare(name, "object name")
        with self._instance_fd(create=False) as fd:
            if fd is None:
                return None
            try:
                info = os.stat(key, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise self._fault(exc, f"look at {key}") from None
        self._regular(key, info)
        return _remote(key, info)

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        """Written to an exclusive temporary in the instance directory, fsynced, renamed onto
        ``name``: all or nothing, memory one chunk. Creates ``<base>/<instance>/`` (0750) on
        first use, never the base, whose absence means the share is not mounted."""
        key = _bare(name, "object name")
        source = iter(chunks)
        with self._instance_fd(create=True) as fd:
            assert fd is not None  # created when missing
            try:
                with atomic_file(fd, key, mode=FILE_MODE) as handle:
                    while (chunk := _pull(source)) is not None:
                        handle.write(chunk)
            except _FromChunks as carried:
                raise carried.original from None
            except OSError as exc:
                raise self._fault(exc, f"store {key}") from None
            try:
                info = os.stat(key, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                raise self._fault(exc, f"look at {key}") from None
        return _remote(key, info)

    def get(self, name: str) -> Iterator[bytes]:
        """Opened now (a missing or refused object is an error here), read in chunks of
        :data:`READ_CHUNK` bytes as the caller iterates."""
        key = _bare(name, "object name")
        with self._instance_fd(create=False) as fd:
            if fd is None:
                raise DestinationError("not-found", f"no {key} at {self.describe()}")
            try:
                handle = os.open(key, _READ, dir_fd=fd)
            except OSError as exc:
                raise self._fault(exc, f"read {key}", link_means_refused=True) from None
        try:
            self._regular(key, os.fstat(handle))
            os.set_blocking(handle, True)
        except BaseException:
            os.close(handle)
            raise
        return self._chunks(handle, key)

    def delete(self, name: str) -> None:
        key = _bare(name, "object name")
        with self._instance_fd(create=False) as fd:
            if fd is None:
                raise DestinationError("not-found", f"no {key} at {self.describe()}")
            try:
                self._regular(key, os.stat(key, dir_fd=fd, follow_symlinks=False))
                os.unlink(key, dir_fd=fd)
            except OSError as exc:
                raise self._fault(exc, f"delete {key}") from None

    def close(self) -> None:
        """No descriptor outlives a call."""

    def _chunks(self, handle: int, key: str) -> Iterator[bytes]:
        try:
            while chunk := os.read(handle, READ_CHUNK):
                yield chunk
        except OSError as exc:
            raise self._fault(exc, f"read {key}") from None
        finally:
            os.close(handle)

    @contextmanager
    def _instance_fd(self, *, create: bool) -> Iterator[int | None]:
        """A descriptor of ``<base>/<instance>``, opened without following a symlink; None when
        it does not exist and ``create`` is false."""
        try:
            base = os.open(self._base, _DIRECTORY)
        except FileNotFoundError:
            raise DestinationError(
                "missing",
                f"{self._base} does not exist: is the share mounted? (nothing is created there "
                "until it is)",
            ) from None
        except OSError as exc:
            raise self._fault(exc, "open the share") from None
        try:
            fd = self._open_instance(base, create=create)
        finally:
            os.close(base)
        if fd is None:
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def _open_instance(self, base: int, *, create: bool) -> int | None:
        for attempt in (0, 1):
            try:
                return os.open(self._instance, _DIRECTORY | _NO_LINK, dir_fd=base)
            except FileNotFoundError:
                if not create or attempt:
                    return None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise DestinationError(
                        "failed",
                        f"{self.describe()} is not a directory (a symbolic link or a file): "
                        "refused, nothing is read or written through it",
                    ) from None
                raise self._fault(exc, "open the instance directory") from None
            try:
                os.mkdir(self._instance, DIRECTORY_MODE, dir_fd=base)
            except FileExistsError:
                pass  # another run made it meanwhile; open it on the next round
            except OSError as exc:
                raise self._fault(exc, "create the instance directory") from None
        return None  # pragma: no cover - the loop returns or raises

    def _regular(self, key: str, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise DestinationError(
                "failed", f"{key} at {self.describe()} is {what}: refused, never followed"
            )

    def _fault(
        self, exc: OSError, action: str, *, link_means_refused: bool = False
    ) -> DestinationError:
        if link_means_refused and exc.errno == errno.ELOOP:
            return DestinationError(
                "failed",
                f"could not {action} at {self.describe()}: a symbolic link, refused, "
                "never followed",
            )
        kind = _KINDS.get(exc.errno or 0, "failed")
        words = exc.strerror or type(exc).__name__
        return DestinationError(kind, f"could not {action} at {self.describe()}: {words}")


def _pull(source: Iterator[bytes]) -> bytes | None:
    try:
        return next(source, None)
    except BaseException as exc:
        raise _FromChunks(exc) from exc


def _bare(name: str, what: str) -> str:
    try:
        return check_bare_name(name)
    except UnsafeName:
        raise DestinationError("invalid", f"{name!r} is not a bare {what}") from None


def _is_object_name(name: str) -> bool:
    try:
        check_bare_name(name)
    except UnsafeName:
        return False
    return not is_temp_name(name)


def _remote(name: str, info: os.stat_result) -> RemoteObject:
    return RemoteObject(
        name=name, size=info.st_size, modified=datetime.fromtimestamp(info.st_mtime, UTC)
    )
