"""Is a backup file still what its manifest says it is: present, readable, whole, unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from backup_keeper.catalog.discover import SNAPSHOT_RECORD_SUFFIX
from backup_keeper.catalog.manifest import Manifest, ManifestError, read_manifest, sidecar_path
from backup_keeper.catalog.record import BackupRecord, RecordSource
from backup_keeper.checksum import file_checksum


def manifest_of(record: BackupRecord) -> Manifest | None:
    """The manifest behind a record, when it has one that still parses."""
    if record.source is not RecordSource.SIDECAR:
        return None
    path = Path(record.path)
    if record.path.endswith(SNAPSHOT_RECORD_SUFFIX):
        sidecar, expected = path, path.name.removesuffix(".json")
    else:
        original = path.with_name(path.name.removesuffix(".zst"))
        sidecar, expected = sidecar_path(original), original.name
    try:
        return read_manifest(sidecar, expected_file=expected)
    except ManifestError:
        return None


def problem_with(record: BackupRecord, *, rehash: bool = True) -> str | None:
    """Why this backup cannot be trusted for a restore, or None when it can."""
    if record.path.endswith(SNAPSHOT_RECORD_SUFFIX):
        return None  # an external backup: the snapshot lives in the storage system
    path = Path(record.path)
    problem = _file_problem(path)
    manifest = manifest_of(record)
    if problem is not None or manifest is None:
        return problem
    return _content_problem(path, manifest, rehash=rehash)


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


def _content_problem(path: Path, manifest: Manifest, *, rehash: bool) -> str | None:
    """Size, then checksum; for a compressed backup, of the .zst as stored."""
    compressed = path.name.endswith(".zst")
    expected_size = manifest.stored_size if compressed else manifest.size
    expected_sum = manifest.stored_checksum if compressed else manifest.checksum
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        what = "truncated" if size < expected_size else "modified"
        return f"{what}: {size} bytes, the manifest says {expected_size}"
    if not rehash or expected_sum is None:
        return None
    try:
        actual = file_checksum(path, expected_sum.algorithm)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if actual.hex != expected_sum.hex:
        return f"modified: {expected_sum.algorithm} checksum differs from the manifest's"
    return None
