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
        sidecar, expected = sidecar_path(path), path.name
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
    size = path.stat().st_size
    if size != manifest.size:
        what = "truncated" if size < manifest.size else "modified"
        return f"{what}: {size} bytes, the manifest says {manifest.size}"
    if not rehash or manifest.checksum is None:
        return None
    try:
        actual = file_checksum(path, manifest.checksum.algorithm)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if actual.hex != manifest.checksum.hex:
        return f"modified: {manifest.checksum.algorithm} checksum differs from the manifest's"
    return None
