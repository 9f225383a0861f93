"""The one way this tool creates a file: exclusively, never through a symlink, whole or not at all.

A backup directory is hostile ground: anyone who can write there can plant a symlink under a
name we are about to write (``X.tmp-1234`` -> ``/etc/shadow``), and a root-run job that opens it
with ``open("w")`` overwrites the target. So every file is first created under an unpredictable
temporary name with ``O_CREAT|O_EXCL|O_NOFOLLOW`` relative to a descriptor of its directory,
written, fsynced, renamed (or hard-linked, when an existing file must not be replaced) onto its
final name inside that same descriptor, and the directory fsynced. A crash leaves either the old
file, the new one, or a temporary file whose name :func:`is_temp_name` recognises, so the next
run can report it. Names are checked to be bare names first: a name read from a hostile file
never leads outside the directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".bk-tmp"
"""Every temporary file this module creates ends so: ``.<name>.<12 hex>.bk-tmp``."""
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX), re.ASCII | re.DOTALL)
_MAX_STEM = 200
"""Longest part of the final name kept in a temporary name (file names stop at 255 bytes)."""
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class UnsafeName(ValueError):
    """A name that is not a plain file name inside one directory."""


def check_bare_name(name: str) -> str:
    """``name`` itself, when it names a file directly inside a directory; else UnsafeName.

    Refused: empty, ``.`` and ``..``, anything with a ``/`` (absolute or relative paths), a
    backslash (a Windows separator that may reach an SMB share) or a NUL byte.
    """
    # Three membership tests, not a generator over the separators: this runs once per name.
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UnsafeName(f"{name!r} is not a bare file name")
    return name


def is_bare_name(name: str) -> bool:
    """Whether :func:`check_bare_name` accepts ``name``: for listings that skip what they may
    not act on rather than fail on it."""
    try:
        check_bare_name(name)
    except UnsafeName:
        return False
    return True


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_file` (left by a killed run)."""
    return _TEMP_NAME.fullmatch(name) is not None


def _temp_name(name: str) -> str:
    return f".{name[:_MAX_STEM]}.{secrets.token_hex(6)}{TEMP_SUFFIX}"


@contextmanager
def directory_fd(directory: str | os.PathLike[str] | int) -> Iterator[int]:
    """A descriptor of ``directory`` to act inside it, so a directory renamed or swapped for a
    symlink while we work is never acted in under its new meaning. An ``int`` is a descriptor
    the caller already holds (a directory it opened without following a symlink, on a share):
    used as it is and left open."""
    if isinstance(directory, int):
        yield directory
        return
    fd = os.open(directory, _DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def atomic_file(
    directory: str | os.PathLike[str] | int,
    name: str,
    *,
    mode: int = 0o644,
    replace: bool = True,
) -> Iterator[BinaryIO]:
    """Write ``directory/name`` through the returned binary handle; it appears, whole and
    durable, only when the block ends without an exception.

    ``replace=False`` refuses to replace an existing ``name`` (FileExistsError at the end,
    nothing changed): hard-linking the finished temporary file onto the name fails when the name
    exists, where a rename would silently replace it.
    """
    check_bare_name(name)
    with directory_fd(directory) as dir_fd:
        temp = _temp_name(name)
        fd = os.open(temp, _CREATE, mode, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:
                os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
                os.unlink(temp, dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)


def write_atomic(
    directory: str | os.PathLike[str],
    name: str,
    data: bytes,
    *,
    mode: int = 0o644,
    replace: bool = True,
) -> Path:
    """Write ``data`` as ``directory/name`` (see :func:`atomic_file`); return the path."""
    with atomic_file(directory, name, mode=mode, replace=replace) as handle:
        handle.write(data)
    return Path(directory, name)


def write_atomic_path(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """:func:`write_atomic` for a file given by its whole path (state files in settings)."""
    target = Path(path)
    return write_atomic(target.parent, target.name, data, mode=mode)


def remove_temp(directory: str | os.PathLike[str], name: str) -> None:
    """Remove a leftover temporary file of :func:`atomic_file` by name, never anything else."""
    if not is_temp_name(check_bare_name(name)):
        raise UnsafeName(f"{name!r} is not a temporary file of backup-keeper")
    with directory_fd(directory) as dir_fd:
        os.unlink(name, dir_fd=dir_fd)
