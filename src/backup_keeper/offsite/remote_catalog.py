"""The catalog of a destination: the backups a store holds, as records the planner reads.

Built from one listing and one read per sidecar (pins included: the destination's purge reads
none again), with the same rules as a local directory
(:mod:`backup_keeper.catalog.discover`): a backup object counts only once its sidecar is stored
(the copy job writes the sidecar last, so a copy killed half way is never mistaken for a
backup), a sidecar that does not parse makes its object unmanaged, never deletable, and an object
no sidecar describes is unmanaged. Which object a sidecar describes is decided by the sidecar
(compressed or not) and the listing (encrypted or not), never by a name the sidecar gives: a
sidecar is a file on hostile ground.

Record paths are ``<store URL>/<object name>`` (``s3://bucket/prefix/INSTANCE/X.cbk``), so a
report names what an administrator finds in the provider's console, and the planner, which only
compares paths and takes the text after the last ``/`` as a name, needs no change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.discover import Catalog, dated_after_warnings
from backup_keeper.catalog.manifest import (
    MAX_MANIFEST_BYTES,
    SUFFIX,
    Manifest,
    ManifestError,
    parse_manifest,
)
from backup_keeper.catalog.record import (
    EARLIEST,
    LATEST,
    BackupRecord,
    BackupStatus,
    RecordSource,
)
from backup_keeper.destinations.store import DestinationError, RemoteObject, RemoteStore
from backup_keeper.kinds import BackupKind

BACKUP_SUFFIX = ".cbk"
COMPRESSED = ".zst"
ENCRYPTED = ".age"
"""Appended to an object encrypted with age: ``X.cbk.age``, ``X.cbk.zst.age``."""
LOG_SUFFIX = ".log"
SIDECAR_SUFFIX = BACKUP_SUFFIX + SUFFIX
_BACKUP_ENDINGS = (
    BACKUP_SUFFIX,
    BACKUP_SUFFIX + COMPRESSED,
    BACKUP_SUFFIX + ENCRYPTED,
    BACKUP_SUFFIX + COMPRESSED + ENCRYPTED,
)


@dataclass(slots=True)
class _Listing:
    backups: dict[str, RemoteObject] = field(default_factory=dict)
    sidecars: dict[str, RemoteObject] = field(default_factory=dict)
    logs: set[str] = field(default_factory=set)


def discover_remote(store: RemoteStore, *, now: datetime | None = None) -> Catalog:
    """Every backup ``store`` holds, oldest first with chains linked, and what looked wrong.

    Raises DestinationError when the store cannot be listed; a sidecar that cannot be read is
    a warning and leaves its backup unmanaged (kept), never absent.
    """
    base = store.describe().rstrip("/")
    listing = _list(store.list())
    catalog = Catalog(records=[])
    described: set[str] = set()
    for sidecar in sorted(listing.sidecars):
        original = sidecar[: -len(SUFFIX)]
        record = _described_record(store, base, original, listing, catalog.warnings)
        if record is not None:
            described.add(record.path.rpartition("/")[2])
            catalog.records.append(record)
    for name in sorted(listing.backups.keys() - described):
        catalog.records.append(_unmanaged(base, listing.backups[name], _why_unmanaged(name)))
    catalog.records = link_chains(catalog.records)
    if now is not None:
        catalog.warnings += dated_after_warnings(catalog.records, now, UTC)
    return catalog


def _list(objects: Iterable[RemoteObject]) -> _Listing:
    listing = _Listing()
    for item in objects:
        name = item.name
        if name.endswith(SIDECAR_SUFFIX):
            listing.sidecars[name] = item
        elif name.endswith(_BACKUP_ENDINGS):
            listing.backups[name] = item
        elif name.endswith(LOG_SUFFIX):
            listing.logs.add(name)
    return listing


def _why_unmanaged(name: str) -> str:
    return (
        "no sidecar describes it: a copy that did not finish (the next copy completes it) or a "
        f"file another tool stored; never deleted by a rule ({name})"
    )


def _described_record(
    store: RemoteStore, base: str, original: str, listing: _Listing, warnings: list[str]
) -> BackupRecord | None:
    """The record of the object ``original``'s stored sidecar describes, or None (with a
    warning) when the sidecar is stored without its object."""
    try:
        manifest = parse_manifest(
            read_remote_small(store, original + SUFFIX), expected_file=original
        )
    except (ManifestError, DestinationError) as exc:
        return _sidecar_problem(base, original, listing, exc, warnings)
    stored = original + COMPRESSED if manifest.compression == "zstd" else original
    forms = [name for name in (stored, stored + ENCRYPTED) if name in listing.backups]
    if not forms:
        warnings.append(f"{base}/{original}{SUFFIX}: sidecar without its backup object")
        return None
    if len(forms) > 1:
        why = f"both {forms[0]} and {forms[1]} are stored: the sidecar could describe either"
        warnings.append(f"{base}/{forms[0]}: {why}; kept, never deleted by a rule")
        return _unmanaged(base, listing.backups[forms[0]], why)
    return _record(base, listing.backups[forms[0]], original, manifest, listing, warnings)


def _sidecar_problem(
    base: str,
    original: str,
    listing: _Listing,
    exc: Exception,
    warnings: list[str],
) -> BackupRecord | None:
    """A stored sidecar that cannot be read or trusted: each object it might describe is
    unmanaged (kept), and the warning says why."""
    candidates = sorted(name for name in _forms(original) if name in listing.backups)
    warnings.append(f"{base}/{original}{SUFFIX}: {exc}; its backup is treated as unmanaged")
    if not candidates:
        return None
    return _unmanaged(base, listing.backups[candidates[0]], f"its sidecar: {exc}")


def _forms(original: str) -> tuple[str, ...]:
    stem = original[: -len(BACKUP_SUFFIX)]
    return tuple(stem + ending for ending in _BACKUP_ENDINGS)


def _record(
    base: str,
    item: RemoteObject,
    original: str,
    manifest: Manifest,
    listing: _Listing,
    warnings: list[str],
) -> BackupRecord:
    started = manifest.started.astimezone(UTC)
    path = f"{base}/{item.name}"
    if not EARLIEST <= started <= LATEST:
        why = f"its date ({manifest.started.isoformat()}) cannot be represented as a moment"
        warnings.append(f"{path}: {why}: the object is unmanaged")
        return _unmanaged(base, item, why)
    companions = [f"{base}/{original}{SUFFIX}"]
    log = original[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX
    if log in listing.logs:
        companions.append(f"{base}/{log}")
    note = None
    expected = _expected_size(item.name, manifest)
    if expected is not None and expected != item.size:
        note = f"stored size {item.size} differs from the sidecar's {expected}"
        warnings.append(f"{path}: {note}")
    return BackupRecord(
        path=path,
        kind=manifest.kind,
        status=manifest.status,
        source=RecordSource.SIDECAR,
        time=started,
        size=item.size,
        mtime_ns=_mtime_ns(item.modified),
        instance=manifest.instance,
        note=note,
        companions=tuple(companions),
        parent_name=manifest.chain_parent,
        pin=manifest.pin,
    )


def _expected_size(name: str, manifest: Manifest) -> int | None:
    """The size the sidecar promises for the stored object: its copy record's when it has one
    for this object; else the plain or compressed size; unknown for an encrypted object without
    a record (age adds a header and a tag per chunk)."""
    for copy in manifest.copies:
        if copy.object == name:
            return copy.size
    if name.endswith(ENCRYPTED):
        return None
    return manifest.stored_size if manifest.compression == "zstd" else manifest.size


def _unmanaged(base: str, item: RemoteObject, why: str) -> BackupRecord:
    return BackupRecord(
        path=f"{base}/{item.name}",
        kind=BackupKind.UNKNOWN,
        status=BackupStatus.UNKNOWN,
        source=RecordSource.UNMANAGED,
        time=item.modified.astimezone(UTC),
        size=item.size,
        mtime_ns=_mtime_ns(item.modified),
        note=why,
    )


def _mtime_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def read_remote_small(store: RemoteStore, name: str, *, limit: int = MAX_MANIFEST_BYTES) -> bytes:
    """The whole object ``name`` when it is at most ``limit`` bytes; else ManifestError. Read
    as a stream and stopped past the limit, so a planted huge "sidecar" costs one chunk, not
    the instance's memory."""
    chunks: list[bytes] = []
    total = 0
    for chunk in store.get(name):
        total += len(chunk)
        if total > limit:
            raise ManifestError(f"sidecar is larger than {limit // (1 << 20)} MiB")
        chunks.append(chunk)
    return b"".join(chunks)
