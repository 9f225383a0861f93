"""Discovering backup records in directories (never below them, never through a symlink)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from pathlib import Path

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.iris_names import parse_iris_file_name
from backup_keeper.catalog.manifest import SUFFIX, Manifest, ManifestError, read_manifest
from backup_keeper.catalog.record import (
    BackupKind,
    BackupRecord,
    BackupStatus,
    RecordSource,
    TimePrecision,
)
from backup_keeper.iris.backup_log import FINISHED_MARKER
from backup_keeper.small_files import read_tail

BACKUP_SUFFIX = ".cbk"
LOG_SUFFIX = ".log"
SIDECAR_SUFFIX = BACKUP_SUFFIX + SUFFIX
SNAPSHOT_SUFFIX = ".snapshot"
"""An external backup has no file here; its record is ``<name>.snapshot.json``."""
SNAPSHOT_RECORD_SUFFIX = SNAPSHOT_SUFFIX + SUFFIX
COMPRESSED_SUFFIX = BACKUP_SUFFIX + ".zst"
_LOG_TAIL_BYTES = 64 * 1024
_FINISHED = FINISHED_MARKER.encode()
# Enum members bound once: attribute look-ups on enum classes are slow in a 100,000-file loop.
_UNKNOWN, _COMPLETED, _FAILED = BackupStatus.UNKNOWN, BackupStatus.COMPLETED, BackupStatus.FAILED
_SIDECAR, _FILE_NAME, _UNMANAGED = (
    RecordSource.SIDECAR,
    RecordSource.FILE_NAME,
    RecordSource.UNMANAGED,
)
_DAY = TimePrecision.DAY


@dataclass(slots=True)
class Catalog:
    """Every ``.cbk`` found, oldest first, with chains linked, and what looked wrong."""

    records: list[BackupRecord]
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Listing:
    backups: dict[str, os.stat_result] = field(default_factory=dict)
    odd_backups: dict[str, tuple[os.stat_result, str]] = field(default_factory=dict)
    sidecars: set[str] = field(default_factory=set)
    snapshots: dict[str, os.stat_result] = field(default_factory=dict)
    compressed: dict[str, os.stat_result] = field(default_factory=dict)
    logs: set[str] = field(default_factory=set)


def discover(directories: Sequence[Path], zone: tzinfo) -> Catalog:
    """Read each directory's ``.cbk`` files and what describes them.

    ``directories`` must already be absolute and resolved (settings do that), so that every
    record's path is the one the purge will act on.
    """
    catalog = Catalog(records=[])
    for directory in directories:
        _discover_one(str(directory), zone, catalog)
    catalog.records = link_chains(catalog.records)
    return catalog


def _list(directory: str) -> _Listing:
    """One pass over the directory; tests ordered by how often they hit (backups, sidecars,
    logs), because at 100,000 files each needless ``endswith`` shows."""
    listing = _Listing()
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name.endswith(BACKUP_SUFFIX):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    listing.backups[name] = st
                elif stat.S_ISLNK(st.st_mode):
                    listing.odd_backups[name] = (
                        st,
                        "a symbolic link: never followed, never deleted",
                    )
                else:
                    listing.odd_backups[name] = (st, "not a regular file")
            elif name.endswith(SIDECAR_SUFFIX):
                listing.sidecars.add(name)
            elif name.endswith(LOG_SUFFIX):
                if entry.is_file(follow_symlinks=False):
                    listing.logs.add(name)
            elif name.endswith(COMPRESSED_SUFFIX):
                if entry.is_file(follow_symlinks=False):
                    listing.compressed[name] = entry.stat(follow_symlinks=False)
            elif name.endswith(SNAPSHOT_RECORD_SUFFIX) and entry.is_file(follow_symlinks=False):
                listing.snapshots[name] = entry.stat(follow_symlinks=False)
    return listing


def _discover_one(directory: str, zone: tzinfo, catalog: Catalog) -> None:
    """Paths are joined as strings: pathlib costs more than the I/O at 100,000 files."""
    listing = _list(directory)
    for name, st in listing.backups.items():
        catalog.records.append(_record_for(directory, name, st, listing, zone, catalog.warnings))
    for name, st in listing.compressed.items():
        catalog.records.append(_compressed_record(directory, name, st, listing, catalog.warnings))
    for name, st in listing.snapshots.items():
        catalog.records.append(_snapshot_record(directory, name, st, catalog.warnings))
    for name, (st, why) in listing.odd_backups.items():
        catalog.records.append(_unmanaged(f"{directory}/{name}", st, why))
    backups, odd, compressed = listing.backups, listing.odd_backups, listing.compressed
    orphans = [
        sidecar
        for sidecar in listing.sidecars
        if (backup := sidecar[: -len(SUFFIX)]) not in backups
        and backup not in odd
        and backup + ".zst" not in compressed
    ]
    for sidecar in sorted(orphans):
        catalog.warnings.append(f"{directory}/{sidecar}: sidecar without its backup file")


def _record_for(
    directory: str,
    name: str,
    st: os.stat_result,
    listing: _Listing,
    zone: tzinfo,
    warnings: list[str],
) -> BackupRecord:
    path = f"{directory}/{name}"
    sidecar = name + SUFFIX
    if sidecar in listing.sidecars:
        try:
            manifest = read_manifest(f"{directory}/{sidecar}", expected_file=name)
        except ManifestError as exc:
            warnings.append(f"{path}: {exc}; the file is treated as unmanaged")
            return _unmanaged(path, st, f"its {exc}")
        if manifest.compression == "zstd" and name + ".zst" in listing.compressed:
            return _unmanaged(path, st, f"uncompressed leftover of {name}.zst")
        return _described(directory, path, name, manifest, manifest.size, st, listing, warnings)
    parsed = parse_iris_file_name(name)
    if parsed is None:
        return _unmanaged(path, st, "neither IRIS's default backup name nor described by a sidecar")
    log = _same_stem_log(name)
    log_companions: tuple[str, ...] = ()
    note: str | None = "no IRIS log beside it: status unknown, kept as completed"
    status = _UNKNOWN
    if log in listing.logs:
        log_companions = (f"{directory}/{log}",)
        status, note = _status_from_log(log_companions[0])
    return BackupRecord(
        path=path,
        kind=parsed.kind,
        status=status,
        source=_FILE_NAME,
        time=_day_start(parsed.day, zone),
        precision=_DAY,
        sequence=parsed.sequence,
        day=parsed.day,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        note=note,
        companions=log_companions,
    )


def _compressed_record(
    directory: str, name: str, st: os.stat_result, listing: _Listing, warnings: list[str]
) -> BackupRecord:
    """``X.cbk.zst``: described by ``X.cbk.json``; a leftover of a compression that did not
    finish (its manifest does not say zstd) is unmanaged, never deleted."""
    path = f"{directory}/{name}"
    original = name.removesuffix(".zst")
    sidecar = original + SUFFIX
    manifest = None
    if sidecar in listing.sidecars:
        try:
            manifest = read_manifest(f"{directory}/{sidecar}", expected_file=original)
        except ManifestError as exc:
            warnings.append(f"{path}: {exc}; the file is treated as unmanaged")
    if manifest is None or manifest.compression != "zstd":
        return _unmanaged(path, st, "a .zst that no manifest describes as compressed")
    return _described(
        directory, path, original, manifest, manifest.stored_size, st, listing, warnings
    )


def _described(
    directory: str,
    path: str,
    original: str,
    manifest: Manifest,
    expected_size: int | None,
    st: os.stat_result,
    listing: _Listing,
    warnings: list[str],
) -> BackupRecord:
    """A backup its manifest describes (``original`` is the .cbk name the manifest is for)."""
    companions = [f"{directory}/{original}{SUFFIX}"]
    log = manifest.iris_log or _same_stem_log(original)
    if log in listing.logs:
        companions.append(f"{directory}/{log}")
    note = None
    if expected_size is not None and expected_size != st.st_size:
        note = f"size on disk {st.st_size} differs from the manifest's {expected_size}"
        warnings.append(f"{path}: {note}")
    return BackupRecord(
        path=path,
        kind=manifest.kind,
        status=manifest.status,
        source=_SIDECAR,
        time=manifest.started.astimezone(UTC),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        instance=manifest.instance,
        note=note,
        companions=tuple(companions),
        parent_name=manifest.chain_parent,
    )


def _snapshot_record(
    directory: str, name: str, st: os.stat_result, warnings: list[str]
) -> BackupRecord:
    """An external backup: the record file is its manifest; the snapshot lives elsewhere."""
    path = f"{directory}/{name}"
    try:
        manifest = read_manifest(path, expected_file=name[: -len(SUFFIX)])
        if manifest.kind is not BackupKind.EXTERNAL:
            raise ManifestError(f"snapshot record of kind {manifest.kind}, not external")
    except ManifestError as exc:
        warnings.append(f"{path}: {exc}; the record is treated as unmanaged")
        return _unmanaged(path, st, f"its {exc}")
    return BackupRecord(
        path=path,
        kind=BackupKind.EXTERNAL,
        status=manifest.status,
        source=_SIDECAR,
        time=manifest.started.astimezone(UTC),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        instance=manifest.instance,
        note=f"snapshot {manifest.snapshot_id or '(no id)'}: purging removes this record, "
        "not the snapshot itself",
    )


@lru_cache(maxsize=4096)
def _day_start(day: date, zone: tzinfo) -> datetime:
    """The UTC moment ``day`` begins in ``zone``; cached, as a directory holds many backups a
    day and zone arithmetic is the dearest step of an IRIS-named record."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _same_stem_log(name: str) -> str:
    return name[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX


def _status_from_log(log: str) -> tuple[BackupStatus, str | None]:
    """Completed when IRIS's log reached its finish line; failed when the log stops short."""
    try:
        tail = read_tail(log, size=_LOG_TAIL_BYTES)
    except OSError as exc:
        return _UNKNOWN, f"IRIS log unreadable ({exc.strerror}): status unknown"
    if _FINISHED in tail:
        return _COMPLETED, None
    return _FAILED, f"IRIS log has no {FINISHED_MARKER} line: failed or still running"


def _unmanaged(path: str, st: os.stat_result, why: str) -> BackupRecord:
    return BackupRecord(
        path=path,
        kind=BackupKind.UNKNOWN,
        status=_UNKNOWN,
        source=_UNMANAGED,
        time=datetime.fromtimestamp(st.st_mtime, UTC),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        note=why,
    )
