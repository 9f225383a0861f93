"""Is a backup file still what its manifest says it is: present, readable, whole, unchanged."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from backup_keeper.catalog.discover import SNAPSHOT_RECORD_SUFFIX
from backup_keeper.catalog.manifest import Manifest, ManifestError, read_manifest, sidecar_path
from backup_keeper.catalog.record import BackupRecord, RecordSource
from backup_keeper.checksum import file_checksum
from backup_keeper.kinds import BackupKind
from backup_keeper.progress import NO_PROGRESS, Progress


@dataclass(frozen=True, slots=True)
class Check:
    """What checking one backup found: a problem or none, and whether its content was hashed
    against a recorded checksum (without one, "no problem" only means present and whole)."""

    problem: str | None
    hashed: bool = False


def sidecar_of(record_path: str) -> tuple[Path, str]:
    """The sidecar that describes a record's file, and the file name it must name."""
    path = Path(record_path)
    if record_path.endswith(SNAPSHOT_RECORD_SUFFIX):
        return path, path.name.removesuffix(".json")
    original = path.with_name(path.name.removesuffix(".zst"))
    return sidecar_path(original), original.name


def manifest_of(record: BackupRecord) -> Manifest | None:
    """The manifest behind a record, when it has one that still parses."""
    if record.source is not RecordSource.SIDECAR:
        return None
    sidecar, expected = sidecar_of(record.path)
    try:
        return read_manifest(sidecar, expected_file=expected)
    except ManifestError:
        return None


def broken_manifest(record: BackupRecord) -> tuple[Path, str] | None:
    """For an unmanaged record: its sidecar and why it cannot be trusted, when one is there
    (a file, a symlink, anything by that name) and does not parse or names another file."""
    sidecar, expected = sidecar_of(record.path)
    if not os.path.lexists(sidecar):
        return None
    try:
        manifest = read_manifest(sidecar, expected_file=expected)
    except ManifestError as exc:
        return sidecar, str(exc)
    if record.path.endswith(SNAPSHOT_RECORD_SUFFIX) and manifest.kind is not BackupKind.EXTERNAL:
        return sidecar, f"snapshot record of kind {manifest.kind}, not external"
    return None


def problem_with(record: BackupRecord, *, rehash: bool = True) -> str | None:
    """Why this backup cannot be trusted for a restore, or None when it can."""
    return check(record, rehash=rehash).problem


def check(record: BackupRecord, *, rehash: bool = True, progress: Progress = NO_PROGRESS) -> Check:
    """Present, a regular readable file, the manifest's size, then its checksum (advancing
    ``progress`` by the bytes hashed)."""
    if record.path.endswith(SNAPSHOT_RECORD_SUFFIX):
        return Check(None)  # an external backup: the snapshot lives in the storage system
    path = Path(record.path)
    problem = _file_problem(path)
    manifest = manifest_of(record)
    if problem is not None or manifest is None:
        return Check(problem)
    return _content_check(path, manifest, rehash=rehash, progress=progress)


def _file_problem(path: Path) -> str | None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return "missing from disk"
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return None if os.access(path, os.R_OK) else "unreadable"


def _content_check(path: Path, manifest: Manifest, *, rehash: bool, progress: Progress) -> Check:
    """Size, then checksum; for a compressed backup, of the .zst as stored."""
    compressed = path.name.endswith(".zst")
    expected_size = manifest.stored_size if compressed else manifest.size
    expected_sum = manifest.stored_checksum if compressed else manifest.checksum
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Check(f"unreadable: {exc.strerror}")
    if expected_size is not None and size != expected_size:
        what = "truncated" if size < expected_size else "modified"
        return Check(f"{what}: {size} bytes, the manifest says {expected_size}")
    if not rehash or expected_sum is None:
        return Check(None)
    try:
        actual = file_checksum(path, expected_sum.algorithm, progress=progress)
    except OSError as exc:
        return Check(f"unreadable: {exc.strerror}")
    if actual.hex != expected_sum.hex:
        return Check(
            f"modified: {expected_sum.algorithm} checksum differs from the manifest's", True
        )
    return Check(None, hashed=True)
