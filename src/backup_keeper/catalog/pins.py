"""Pins as the sidecars record them: which backups a purge must keep now, and why.

A record does not carry its pin: a purge of 100,000 backups reads only the sidecars of the
backups its plan would delete (the candidates), as ``require_offsite_copy`` does, and a
catalog or timeline reads those of the records it shows. Where a sidecar is read from is the
caller's: a local file beside the backup, or an object at a destination (``read``).

A sidecar that cannot be read or trusted now (it parsed when the catalog was made, so it
changed since, or the disk fails) may hold a pin: its backup is held, never treated as
unpinned, and the hold says why. A record no sidecar describes (IRIS's file name only) has no
pin. An expired pin holds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from backup_keeper.catalog.manifest import SUFFIX, Manifest, ManifestError, Pin, read_manifest
from backup_keeper.catalog.record import BackupRecord, RecordSource

PINNED = "pinned: "
"""Starts the reason a pinned backup is kept for, in every purge's report."""
UNREADABLE = "its sidecar cannot be read now, and may pin it: kept"

Reader = Callable[[BackupRecord], Manifest | str | None]
"""A record's manifest, or why its sidecar cannot be trusted, or None when it has none."""


def sidecar_of(record: BackupRecord) -> tuple[str, str] | None:
    """The local sidecar describing ``record`` and the backup name it must name, or None when
    no sidecar describes it. A snapshot's record (``X.snapshot.json``) is its own sidecar."""
    if record.source is not RecordSource.SIDECAR:
        return None
    path = PurePath(record.path)
    if path.name.endswith(".snapshot" + SUFFIX):
        return record.path, path.name.removesuffix(SUFFIX)
    original = path.name.removesuffix(".zst")
    return str(path.with_name(original + SUFFIX)), original


def local_sidecar(record: BackupRecord) -> Manifest | str | None:
    """:data:`Reader` of the sidecars beside local backups."""
    found = sidecar_of(record)
    if found is None:
        return None
    try:
        return read_manifest(found[0], expected_file=found[1])
    except ManifestError as exc:
        return str(exc)


@dataclass(frozen=True, slots=True)
class PinHolds:
    """What the pins of some records say at one moment."""

    held: dict[str, str]
    """Path -> ``pinned: <reason>`` (or why an unreadable sidecar holds it)."""
    expired: dict[str, Pin]
    warnings: list[str]


def pin_holds(records: Iterable[BackupRecord], now: datetime, read: Reader) -> PinHolds:
    """The holds ``records``' pins put on a purge at ``now``. Unmanaged records are never
    deleted by a rule and are not read."""
    held: dict[str, str] = {}
    expired: dict[str, Pin] = {}
    warnings: list[str] = []
    for record in records:
        if not record.managed or record.source is not RecordSource.SIDECAR:
            continue
        found = read(record)
        if isinstance(found, str):
            held[record.path] = UNREADABLE
            warnings.append(f"{record.path}: {found}; {UNREADABLE} (a pin may be in it)")
        elif found is not None and found.pin is not None:
            if found.pin.holds(now):
                held[record.path] = PINNED + found.pin.reason
            else:
                expired[record.path] = found.pin
    return PinHolds(held, expired, warnings)


def pins_of(records: Iterable[BackupRecord], now: datetime) -> dict[str, str]:
    """Path -> reason of every local record whose pin holds at ``now``: the timeline's
    ``pins=``. A sidecar that cannot be read shows as no pin here (the catalog already
    warned about it); a purge holds it all the same (:func:`pin_holds`)."""
    pins: dict[str, str] = {}
    for record in records:
        found = local_sidecar(record) if record.managed else None
        if isinstance(found, Manifest) and found.pin is not None and found.pin.holds(now):
            pins[record.path] = found.pin.reason
    return pins
