"""Real files for the hostile directories, and snapshots that prove what changed and what did not.

Names may not be UTF-8: they are carried as ``str`` with surrogate escapes (``os.fsdecode``), which
``pathlib`` and every ``os`` call turn back into the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

FIXED_MTIME_NS = int(datetime(2026, 11, 19, 23, 0, tzinfo=UTC).timestamp()) * 10**9
"""Every file built gets this mtime, so an honest copy and its hostile twin agree to the ns."""

_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK

Entry = tuple[object, ...]
"""What a snapshot records of one entry: its type and everything that would betray a change."""


def write_file(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """A regular file with ``data``; a symlink, FIFO or directory another hostile element put
    at ``path`` first is left as it is (writing would follow it, or block on it)."""
    if os.path.lexists(path) and not stat.S_ISREG(path.lstat().st_mode):
        return path
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))
    return path


def make_fifo(path: Path) -> Path:
    os.mkfifo(path, 0o644)
    return path


def make_symlink(path: Path, target: str | Path) -> Path:
    path.symlink_to(target)
    return path


def make_directory(path: Path) -> Path:
    path.mkdir()
    (path / "inside.txt").write_bytes(b"a directory that looks like a file must stay whole\n")
    return path


def pin_mtimes(directory: Path) -> None:
    """Regular files directly in ``directory`` get :data:`FIXED_MTIME_NS` (builders stamp now)."""
    for entry in directory.iterdir():
        if stat.S_ISREG(entry.lstat().st_mode):
            os.utime(entry, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))


def snapshot(root: Path, *, skip: Path | None = None) -> dict[str, Entry]:
    """Every entry below ``root`` (relative name -> what it is), never following a symlink.

    Regular files are hashed, so a file rewritten to the same size and mtime still shows; a
    symlink is recorded by its target text; ``skip`` (a subtree) is left out.
    """
    found: dict[str, Entry] = {}
    _walk(root, root, skip, found)
    return found


def _walk(root: Path, directory: Path, skip: Path | None, found: dict[str, Entry]) -> None:
    for path in sorted(directory.iterdir()):
        if skip is not None and path == skip:
            continue
        st = path.lstat()
        found[str(path.relative_to(root))] = describe(path, st)
        if stat.S_ISDIR(st.st_mode):
            _walk(root, path, skip, found)


def describe(path: Path, st: os.stat_result) -> Entry:
    mode = st.st_mode
    perms = stat.S_IMODE(mode)
    if stat.S_ISLNK(mode):
        return ("symlink", str(path.readlink()))
    if stat.S_ISREG(mode):
        return ("file", st.st_size, st.st_mtime_ns, perms, st.st_uid, _sha256(path))
    if stat.S_ISDIR(mode):
        return ("directory", perms, st.st_uid)
    if stat.S_ISFIFO(mode):
        return ("fifo", perms, st.st_uid)
    return ("other", mode)


def _sha256(path: Path) -> str:
    fd = os.open(path, _READ)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 16):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def differences(before: dict[str, Entry], after: dict[str, Entry]) -> dict[str, str]:
    """Each entry that appeared, vanished or changed (its name -> what happened, in words)."""
    changed = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            changed[name] = f"{name!r} appeared: {new}"
        elif new is None:
            changed[name] = f"{name!r} vanished (was {old})"
        else:
            changed[name] = f"{name!r} changed: {old} -> {new}"
    return changed


def exists(directory: Path, name: str) -> bool:
    """Whether ``name`` is still there, whatever it is (a dangling symlink counts)."""
    return os.path.lexists(directory / name)


def listing(directory: Path) -> list[str]:
    """The names in ``directory``, for a failure message a person can read."""
    return sorted(repr(p.name) for p in directory.iterdir())
