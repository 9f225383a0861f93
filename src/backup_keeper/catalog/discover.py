"""Discovering backup records in directories (never below them, never through a symlink)."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.history import mark_foreign_breaks
from backup_keeper.catalog.iris_names import parse_iris_file_name
from backup_keeper.catalog.manifest import SUFFIX, Manifest, ManifestError, read_manifest
from backup_keeper.catalog.record import (
    EARLIEST,
    LATEST,
    BackupRecord,
    BackupStatus,
    RecordSource,
    TimePrecision,
)
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER
from backup_keeper.kinds import BackupKind
from backup_keeper.processes import alive
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.safe_files import is_temp_name
from backup_keeper.small_files import read_tail
from backup_keeper.timezones import format_moment, machine_zone

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
_UNREADABLE = BackupStatus.UNREADABLE
_SIDECAR, _FILE_NAME, _UNMANAGED = (
    RecordSource.SIDECAR,
    RecordSource.FILE_NAME,
    RecordSource.UNMANAGED,
)
_DAY, _EXACT = TimePrecision.DAY, TimePrecision.EXACT
_NAMED_IN_A_WARNING = 10
"""How many file names one grouped warning lists before "and N more"."""
_NAME = itemgetter(0)
_PROGRESS_EVERY = 1024
"""Files described between two progress reports: one call per file would cost as much as the
catalog's own work at 100,000 files."""
_PID_TEMP = re.compile(
    r"\..+\.(?:tmp|restore)-(?P<pid>[0-9]{1,10})|\.backup-keeper-probe-(?P<probe>[0-9]{1,10})",
    re.ASCII | re.DOTALL,
)
"""Temporary names of compression (``.X.tmp-<pid>``), restore (``.X.restore-<pid>``), the
free-space probe and the hand-written atomic writes that came before ``safe_files``."""


@dataclass(slots=True)
class Catalog:
    """Every ``.cbk`` found, oldest first, with chains linked, and what looked wrong."""

    records: list[BackupRecord]
    warnings: list[str] = field(default_factory=list)


Facts = tuple[int, int]
"""What the catalog keeps of a file's ``lstat``: its size and mtime in nanoseconds. Not the
``stat_result``: that is a score of objects per file, which kept for 100,000 backups cost more
than the ``lstat`` calls themselves, to build and again to free."""


@dataclass(slots=True)
class _Listing:
    backups: list[tuple[str, Facts]] = field(default_factory=list)
    """In the directory's order; a list of pairs, not a dict: read once, in name order, each
    name beside its facts in memory (a dict lookup per backup missed the cache three times)."""
    odd_backups: dict[str, tuple[Facts, str]] = field(default_factory=dict)
    sidecars: set[str] = field(default_factory=set)
    snapshots: dict[str, Facts] = field(default_factory=dict)
    compressed: dict[str, Facts] = field(default_factory=dict)
    logs: set[str] = field(default_factory=set)
    odd_logs: set[str] = field(default_factory=set)
    """``.log`` names that are not regular files (FIFO, directory, symlink): never read."""
    temps: list[str] = field(default_factory=list)


def discover(
    directories: Sequence[Path],
    zone: tzinfo,
    *,
    now: datetime | None = None,
    history: Sequence[HistoryEntry] | None = None,
    progress: Progress = NO_PROGRESS,
) -> Catalog:
    """Read each directory's ``.cbk`` files and what describes them.

    ``directories`` must already be absolute and resolved (settings do that), so that every
    record's path is the one the purge will act on. Given ``now`` (the job's clock), backups
    dated after it are warned about: see :func:`dated_after_warnings`. Given the instance's
    ``history``, chains a backup outside these directories broke are marked so
    (:mod:`.history`); without it the catalog is what the files alone say. ``progress``
    counts the files described, directory by directory.
    """
    catalog = Catalog(records=[])
    for directory in directories:
        _discover_one(str(directory), zone, catalog, progress)
    catalog.records = link_chains(catalog.records)
    if history is not None:
        mark_foreign_breaks(catalog.records, history, zone)
    if now is not None:
        catalog.warnings += dated_after_warnings(catalog.records, now, zone)
    return catalog


def dated_after_warnings(
    records: Sequence[BackupRecord], now: datetime, zone: tzinfo | None = None
) -> list[str]:
    """One warning per managed backup dated after ``now``: a wrong clock or a forged sidecar.
    Such a backup is kept by the planner, yet never proves freshness nor is a default restore
    point, so every job that reads the catalog says so. Times are in ``zone``, the
    instance's (this machine's when None)."""
    shown = zone or machine_zone()
    return [
        f"{r.path}: dated {format_moment(r.time, shown)}, after now "
        f"({format_moment(now, shown)}): a clock or its "
        "sidecar is wrong; it is kept, never counted as fresh and never the default restore point"
        for r in records
        if r.time > now and r.managed
    ]


def leftover_temp_warnings(directory: Path) -> list[str]:
    """The warnings :func:`discover` gives for ``directory``'s leftover temporary files, for a
    job that does not catalog the directory (online and snapshot backups, at their directory
    check). A directory that cannot be listed gives none: the job's own check reports that."""
    try:
        with os.scandir(directory) as entries:
            temps = [e.name for e in entries if e.name[:1] == "." and _is_our_temp(e.name)]
    except OSError:
        return []
    return _temp_warnings(str(directory), temps)


def _list(directory: str) -> _Listing:
    """One pass over the directory; tests ordered by how often they hit (backups, sidecars,
    logs), because at 100,000 files each needless ``endswith`` shows."""
    listing = _Listing()
    add_backup, add_sidecar = listing.backups.append, listing.sidecars.add
    is_regular = stat.S_ISREG
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name.endswith(BACKUP_SUFFIX):
                st = entry.stat(follow_symlinks=False)
                if is_regular(st.st_mode):
                    add_backup((name, (st.st_size, st.st_mtime_ns)))
                else:
                    _list_odd_backup(listing, name, st)
            elif name.endswith(SIDECAR_SUFFIX):
                add_sidecar(name)
            elif name.endswith(LOG_SUFFIX):
                regular = entry.is_file(follow_symlinks=False)
                (listing.logs if regular else listing.odd_logs).add(name)
            elif name.endswith(COMPRESSED_SUFFIX):
                if entry.is_file(follow_symlinks=False):
                    listing.compressed[name] = _facts(entry)
            elif name.endswith(SNAPSHOT_RECORD_SUFFIX):
                if entry.is_file(follow_symlinks=False):
                    listing.snapshots[name] = _facts(entry)
            elif name[:1] == "." and _is_our_temp(name):
                listing.temps.append(name)
    return listing


def _facts(entry: os.DirEntry[str]) -> Facts:
    st = entry.stat(follow_symlinks=False)
    return st.st_size, st.st_mtime_ns


def _list_odd_backup(listing: _Listing, name: str, st: os.stat_result) -> None:
    facts = (st.st_size, st.st_mtime_ns)
    if stat.S_ISLNK(st.st_mode):
        listing.odd_backups[name] = (facts, "a symbolic link: never followed, never deleted")
    else:
        listing.odd_backups[name] = (facts, "not a regular file")


def _is_our_temp(name: str) -> bool:
    return is_temp_name(name) or _PID_TEMP.fullmatch(name) is not None


def _temp_warnings(directory: str, temps: list[str]) -> list[str]:
    """Leftover temporary files are reported, never removed.

    Removing one is safe only if it is provably ours and its writer provably dead, and neither
    can be proven here: ``safe_files`` names carry no pid, a pid names a process only on one
    host (a backup directory is often an NFS share several hosts write), pids are reused, and
    the jobs that read the catalog (``catalog``, ``verify``, ``restore-plan``, a dry run)
    promise to change nothing. So every job says which file and what to do; whether the pid in
    the name runs on this host is given as a hint, not as proof.
    """
    return [
        f"{directory}/{name}: a temporary file of a backup-keeper run that did not finish "
        f"(killed or crashed{_pid_hint(name)}); delete it once no backup-keeper job is working "
        "in this directory"
        for name in sorted(temps)
    ]


def _pid_hint(name: str) -> str:
    match = _PID_TEMP.fullmatch(name)
    if match is None:
        return ""
    pid = int(match["pid"] or match["probe"])
    return (
        f"; process {pid} is running on this host: it may still be writing it"
        if alive(pid)
        else f"; no process {pid} on this host"
    )


def _discover_one(directory: str, zone: tzinfo, catalog: Catalog, progress: Progress) -> None:
    """Paths are joined as strings: pathlib costs more than the I/O at 100,000 files."""
    listing = _list(directory)
    total = len(listing.backups) + len(listing.compressed) + len(listing.snapshots)
    with step(progress, f"catalog {directory}", total + len(listing.odd_backups), "files"):
        _describe_all(directory, zone, catalog, listing, progress)


def _describe_all(
    directory: str, zone: tzinfo, catalog: Catalog, listing: _Listing, progress: Progress
) -> None:
    """Backups are described in name order, not the directory's (hash) order. Names sort by
    task or kind, then date, so records are built, and so laid out in memory, nearly oldest
    first: every later pass (link, plan, report, purge targets) then walks memory in order
    instead of jumping, and link_chains' sort merges a few sorted runs. At 100,000 backups
    that cuts linking, planning and the report by a third to a half, for a sort that costs a
    few tens of milliseconds (the names are the sort keys: strings sort on a fast path)."""
    unreadable: list[tuple[str, str]] = []
    records, warnings = catalog.records, catalog.warnings
    add, sidecars = records.append, listing.sidecars
    described = 0  # backups with a sidecar: when every sidecar has one, none is an orphan
    listing.backups.sort(key=_NAME)
    for batch in _batches(listing.backups):
        for name, facts in batch:
            sidecar = name + SUFFIX
            if sidecar in sidecars:
                described += 1
                add(_sidecar_record(directory, name, sidecar, facts, listing, warnings))
            else:
                add(_named_record(directory, name, facts, listing, zone, warnings, unreadable))
        progress.advance(len(batch))
    for batch in _batches(sorted(listing.compressed.items())):
        for name, facts in batch:
            add(_compressed_record(directory, name, facts, listing, warnings))
        progress.advance(len(batch))
    for batch in _batches(sorted(listing.snapshots.items())):
        for name, facts in batch:
            add(_snapshot_record(directory, name, facts, warnings))
        progress.advance(len(batch))
    for name, (facts, why) in listing.odd_backups.items():
        add(_unmanaged(f"{directory}/{name}", facts, why))
    progress.advance(len(listing.odd_backups))
    if described != len(sidecars):
        for sidecar in _orphans(listing):
            warnings.append(f"{directory}/{sidecar}: sidecar without its backup file")
    if unreadable:
        warnings.append(_unreadable_warning(directory, unreadable))
    warnings += _temp_warnings(directory, listing.temps)


def _orphans(listing: _Listing) -> list[str]:
    """Sidecars with no backup in any form beside them, in name order."""
    odd, compressed = listing.odd_backups, listing.compressed
    backups = {name for name, _ in listing.backups}
    return sorted(
        sidecar
        for sidecar in listing.sidecars
        if (backup := sidecar[: -len(SUFFIX)]) not in backups
        and backup not in odd
        and backup + ".zst" not in compressed
    )


def _batches(files: list[tuple[str, Facts]]) -> Iterator[list[tuple[str, Facts]]]:
    """``files`` in runs of :data:`_PROGRESS_EVERY`, each run reported once it is described."""
    for start in range(0, len(files), _PROGRESS_EVERY):
        yield files[start : start + _PROGRESS_EVERY]


def _unreadable_warning(directory: str, unreadable: list[tuple[str, str]]) -> str:
    """One warning per directory: a user who cannot read IRIS's logs cannot read any of them,
    and a hundred thousand identical lines would hide every other warning."""
    unreadable.sort()
    why = ", ".join(sorted({reason for _, reason in unreadable}))
    listed = ", ".join(name for name, _ in unreadable[:_NAMED_IN_A_WARNING])
    more = len(unreadable) - _NAMED_IN_A_WARNING
    return (
        f"{directory}: {len(unreadable)} IRIS log(s) cannot be read ({why}): {listed}"
        + (f" and {more} more" if more > 0 else "")
        + ": their backups may have failed, so they are kept, and not counted as completed by "
        "any keep rule or the safety floor"
    )


def _sidecar_record(
    directory: str,
    name: str,
    sidecar: str,
    facts: Facts,
    listing: _Listing,
    warnings: list[str],
) -> BackupRecord:
    """A ``.cbk`` with its sidecar: managed when the sidecar is sound, else unmanaged."""
    path = f"{directory}/{name}"
    sidecar_path = f"{directory}/{sidecar}"
    try:
        manifest = read_manifest(sidecar_path, expected_file=name)
    except ManifestError as exc:
        warnings.append(f"{path}: {exc}; the file is treated as unmanaged")
        return _unmanaged(path, facts, f"its {exc}")
    if manifest.compression == "zstd" and name + ".zst" in listing.compressed:
        return _unmanaged(path, facts, f"uncompressed leftover of {name}.zst")
    return _described(
        directory, path, name, sidecar_path, manifest, manifest.size, facts, listing, warnings
    )


def _named_record(
    directory: str,
    name: str,
    facts: Facts,
    listing: _Listing,
    zone: tzinfo,
    warnings: list[str],
    unreadable: list[tuple[str, str]],
) -> BackupRecord:
    """A ``.cbk`` without a sidecar: IRIS's default name and log say what it is, or nothing
    does and it is unmanaged."""
    path = f"{directory}/{name}"
    parsed = parse_iris_file_name(name)
    if parsed is None:
        return _unmanaged(
            path, facts, "neither IRIS's default backup name nor described by a sidecar"
        )
    start = _day_start(parsed.day, zone)
    if start is None:
        return _unrepresentable(path, facts, f"{parsed.day.isoformat()} in {zone}", warnings)
    log = name[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX  # its own log: same stem
    log_companions: tuple[str, ...] = ()
    note: str | None = "no IRIS log beside it: status unknown, kept as completed"
    status = _UNKNOWN
    if log in listing.logs:
        log_companions = (f"{directory}/{log}",)
        status, note = _status_from_log(log_companions[0])
        if status is _UNREADABLE:
            unreadable.append((log, str(note)))
            note = f"IRIS log cannot be read ({note}): {_UNREADABLE_EFFECT}"
    elif log in listing.odd_logs:
        status = _UNREADABLE
        unreadable.append((log, _NOT_REGULAR))
        note = f"IRIS log cannot be read ({_NOT_REGULAR}): {_UNREADABLE_EFFECT}"
    # Positional, in field order (path, kind, status, source, time, size, mtime_ns, precision,
    # sequence, day, instance, chain, chain_complete, note, companions): keyword passing costs
    # half as much again as the record itself, once per backup.
    return BackupRecord(
        path,
        parsed.kind,
        status,
        _FILE_NAME,
        start,
        facts[0],  # size
        facts[1],  # mtime_ns
        _DAY,
        parsed.sequence,
        parsed.day,
        None,
        (),
        True,
        note,
        log_companions,
    )


def _compressed_record(
    directory: str, name: str, facts: Facts, listing: _Listing, warnings: list[str]
) -> BackupRecord:
    """``X.cbk.zst``: described by ``X.cbk.json``; a leftover of a compression that did not
    finish (its manifest does not say zstd) is unmanaged, never deleted."""
    path = f"{directory}/{name}"
    original = name.removesuffix(".zst")
    sidecar = original + SUFFIX
    sidecar_path = f"{directory}/{sidecar}"
    manifest = None
    if sidecar in listing.sidecars:
        try:
            manifest = read_manifest(sidecar_path, expected_file=original)
        except ManifestError as exc:
            warnings.append(f"{path}: {exc}; the file is treated as unmanaged")
    if manifest is None or manifest.compression != "zstd":
        return _unmanaged(path, facts, "a .zst that no manifest describes as compressed")
    return _described(
        directory,
        path,
        original,
        sidecar_path,
        manifest,
        manifest.stored_size,
        facts,
        listing,
        warnings,
    )


def _described(
    directory: str,
    path: str,
    original: str,
    sidecar_path: str,
    manifest: Manifest,
    expected_size: int | None,
    facts: Facts,
    listing: _Listing,
    warnings: list[str],
) -> BackupRecord:
    """A backup its manifest describes (``original`` is the .cbk name the manifest is for,
    ``sidecar_path`` where that manifest was read).

    Its companions are its own sidecar and the log named after it (``<stem>.log``), nothing
    else: a manifest is a file on hostile ground, and an ``iris_log`` naming another backup's
    log once deleted the log that said that backup had failed.
    """
    try:  # _utc, inline: one call fewer per backup, which shows at 100,000
        started: datetime | None = manifest.started.astimezone(UTC)
    except (OverflowError, ValueError):
        started = None
    if started is None or not EARLIEST <= started <= LATEST:
        return _unrepresentable(path, facts, manifest.started.isoformat(), warnings)
    log = original[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX  # its own log: same stem
    if manifest.iris_log is not None and manifest.iris_log != log:
        warnings.append(
            f"{path}: its manifest names {manifest.iris_log!r} as its IRIS log, not its own "
            f"{log!r}: ignored, never deleted with it"
        )
    companions = (sidecar_path, f"{directory}/{log}") if log in listing.logs else (sidecar_path,)
    note = None
    size, mtime_ns = facts
    if expected_size is not None and expected_size != size:
        note = f"size on disk {size} differs from the manifest's {expected_size}"
        warnings.append(f"{path}: {note}")
    # Positional, in field order, as in :func:`_named_record`; then parent_name.
    return BackupRecord(
        path,
        manifest.kind,
        manifest.status,
        _SIDECAR,
        started,
        size,
        mtime_ns,
        _EXACT,
        0,
        None,
        manifest.instance,
        (),
        True,
        note,
        companions,
        manifest.chain_parent,
        manifest.pin,
    )


def _snapshot_record(directory: str, name: str, facts: Facts, warnings: list[str]) -> BackupRecord:
    """An external backup: the record file is its manifest; the snapshot lives elsewhere."""
    path = f"{directory}/{name}"
    try:
        manifest = read_manifest(path, expected_file=name[: -len(SUFFIX)])
        if manifest.kind is not BackupKind.EXTERNAL:
            raise ManifestError(f"snapshot record of kind {manifest.kind}, not external")
    except ManifestError as exc:
        warnings.append(f"{path}: {exc}; the record is treated as unmanaged")
        return _unmanaged(path, facts, f"its {exc}")
    started = _utc(manifest.started)
    if started is None:
        return _unrepresentable(path, facts, manifest.started.isoformat(), warnings)
    return BackupRecord(
        path=path,
        kind=BackupKind.EXTERNAL,
        status=manifest.status,
        source=_SIDECAR,
        time=started,
        size=facts[0],
        mtime_ns=facts[1],
        instance=manifest.instance,
        note=f"snapshot {manifest.snapshot_id or '(no id)'}: purging removes this record, "
        "not the snapshot itself",
        pin=manifest.pin,
    )


@lru_cache(maxsize=4096)
def _day_start(day: date, zone: tzinfo) -> datetime | None:
    """The UTC moment ``day`` begins in ``zone``, or None when that moment (or the day's end)
    is outside what a record may carry; cached, as a directory holds many backups a day and
    zone arithmetic is the dearest step of an IRIS-named record."""
    try:
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return start if EARLIEST <= start <= LATEST else None


def _utc(moment: datetime) -> datetime | None:
    """A manifest's time in UTC, or None when it is outside what a record may carry."""
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if EARLIEST <= utc <= LATEST else None


def _unrepresentable(path: str, facts: Facts, when: str, warnings: list[str]) -> BackupRecord:
    why = f"its date ({when}) cannot be represented as a moment: the file is unmanaged"
    warnings.append(f"{path}: {why}")
    return _unmanaged(path, facts, why)


_NOT_REGULAR = "not a regular file"
_UNREADABLE_EFFECT = "it may say the backup failed, so it is kept and not counted as completed"


def _status_from_log(log: str) -> tuple[BackupStatus, str | None]:
    """Completed when IRIS's log reached its finish line; failed when the log stops short;
    unreadable (never "unknown") when the log is there but cannot be read, with the reason."""
    try:
        tail = read_tail(log, size=_LOG_TAIL_BYTES)
    except OSError as exc:
        return _UNREADABLE, exc.strerror or type(exc).__name__
    if _FINISHED in tail:
        return _COMPLETED, None
    return _FAILED, f"IRIS log has no {FINISHED_MARKER} line: failed or still running"


def _unmanaged(path: str, facts: Facts, why: str) -> BackupRecord:
    return BackupRecord(
        path=path,
        kind=BackupKind.UNKNOWN,
        status=_UNKNOWN,
        source=_UNMANAGED,
        time=_mtime(facts[1]),
        size=facts[0],
        mtime_ns=facts[1],
        note=why,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _mtime(mtime_ns: int) -> datetime:
    """An unmanaged file's time is only shown and sorted on: one outside the calendar (some
    file systems store any 64-bit time) is pinned to the calendar's end it lies beyond.
    Whole microseconds, counted from the nanoseconds exactly (no float in between)."""
    try:
        return _EPOCH + timedelta(microseconds=mtime_ns // 1000)
    except OverflowError:
        return (
            datetime.min.replace(tzinfo=UTC) if mtime_ns < 0 else datetime.max.replace(tzinfo=UTC)
        )
