"""What a destination's sidecars say about the backups it stores, read through the store.

The remote catalog keeps what retention needs (kind, time, chain); verify and restore need
more: the copy record the stored bytes are checked against (the checksum of what is stored,
so an encrypted copy is verified without its key) and the manifest a restore plan reads its
databases and journal file from. A record of a destination names an object, not a file, so
its sidecar is read through the store, never from a local path built from a URL.

Which sidecar describes which object follows the remote catalog's rule: the object's name
without ``.age`` and ``.zst`` is the backup's (``NAME.cbk``), and its sidecar is
``NAME.cbk.json``; the sidecar must name that backup (``parse_manifest``'s check), so a
hostile sidecar cannot point a record at another object.
"""

from __future__ import annotations

from backup_keeper.catalog.manifest import (
    SUFFIX,
    Manifest,
    ManifestError,
    RemoteCopy,
    parse_manifest,
)
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.offsite.remote_catalog import COMPRESSED, ENCRYPTED, read_remote_small

NO_COPY_RECORD = "no copy record"


def object_name(record: BackupRecord) -> str:
    """The stored object a destination's record names (``X.cbk``, ``X.cbk.zst.age``, ...)."""
    return record.path.rpartition("/")[2]


def backup_name(record: BackupRecord) -> str:
    """The backup's own name (``NAME.cbk``), as its sidecar gives it."""
    return object_name(record).removesuffix(ENCRYPTED).removesuffix(COMPRESSED)


def copy_record(manifest: Manifest, stored: str, destination: str) -> RemoteCopy | None:
    """The sidecar's record of the verified copy stored as ``stored``: the one made to this
    destination, else (the destination reached under another URL) the latest; None when the
    sidecar records no copy of that object."""
    matching = [c for c in manifest.copies if c.object == stored]
    here = [c for c in matching if c.destination == destination]
    return max(here or matching, key=lambda c: c.verified, default=None)


class StoredSidecars:
    """The sidecars of one store, each read at most once (a plan asks for the same chain's
    sidecars several times); a sidecar that cannot be read or trusted is remembered as why."""

    def __init__(self, store: RemoteStore) -> None:
        self.store = store
        self.destination = store.describe()
        self._read: dict[str, Manifest | str] = {}

    def read(self, record: BackupRecord) -> Manifest | str:
        """The record's manifest, or why its sidecar cannot be trusted."""
        name = backup_name(record)
        if name not in self._read:
            try:
                raw = read_remote_small(self.store, name + SUFFIX)
                self._read[name] = parse_manifest(raw, expected_file=name)
            except (DestinationError, ManifestError) as exc:
                self._read[name] = f"unreadable sidecar: {exc}"
        return self._read[name]

    def manifest(self, record: BackupRecord) -> Manifest | None:
        found = self.read(record)
        return found if isinstance(found, Manifest) else None

    def copy_of(self, record: BackupRecord) -> RemoteCopy | str:
        """The copy record the stored object is proved against, or why there is none."""
        found = self.read(record)
        if isinstance(found, str):
            return found
        stored = object_name(record)
        copy = copy_record(found, stored, self.destination)
        if copy is None:
            return f"{NO_COPY_RECORD}: its sidecar records no verified copy of {stored}"
        return copy

    def problem(self, record: BackupRecord) -> str | None:
        """Why the stored object cannot be fetched for a restore, without reading it: no
        trusted sidecar, no copy record to prove it against, or a size other than recorded."""
        copy = self.copy_of(record)
        if isinstance(copy, str):
            return copy
        if copy.size != record.size:
            return f"size differs: {record.size} bytes stored, its copy record says {copy.size}"
        return None
