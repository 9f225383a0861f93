"""Backup chains, with IRIS's semantics (Data Integrity Guide, "Backup types").

A full (or an external backup, recorded by IRIS as a full) stands alone. A cumulative holds
what changed since the last full, so it needs that full. An incremental holds what changed since
the last backup of any kind, so it needs that backup and, through it, the rest of the chain.
Only usable backups are bases: IRIS takes the next backup relative to the last one that worked.
A backup whose IRIS log cannot be read is not usable: it may have failed, so nothing is linked
onto it (the planner keeps it regardless, and the restore planner distrusts chains across it).
Backups of different instances never share a chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from backup_keeper.catalog.record import (
    ORDER_KEY,
    USABLE_STATUSES,
    BackupRecord,
    RecordSource,
)
from backup_keeper.kinds import CHAIN_STARTS, BackupKind

_CUMULATIVE = BackupKind.CUMULATIVE
_UNMANAGED = RecordSource.UNMANAGED


def _backup_name(name: str) -> str:
    """A stored file's name as a sidecar's ``chain_parent`` gives it: without ``.zst``
    (compressed) and ``.age`` (a destination's encrypted copy)."""
    return name.removesuffix(".age").removesuffix(".zst")


def link_chains(records: Iterable[BackupRecord]) -> list[BackupRecord]:
    """Fill in ``chain`` and ``chain_complete`` on every record and return them oldest first.

    The records are updated in place: the catalog builds them and hands them over, so copying
    a million of them only to set two fields would be waste. One instance (the usual case) is
    linked in one walk over the sorted records; a second instance met on the way makes it
    group the records by instance and link each group.
    """
    ordered = sorted(records, key=ORDER_KEY)
    if _link_group(ordered):
        return ordered
    groups: dict[str | None, list[BackupRecord]] = defaultdict(list)
    for record in ordered:
        if record.source is not _UNMANAGED:
            groups[record.instance].append(record)
    for group in groups.values():
        _link_group(group)
    return ordered


_NOT_YET = object()
"""No instance seen yet (``None`` is an instance: the one backups without a name belong to)."""


def _link_group(group: list[BackupRecord]) -> bool:
    """One walk, oldest first, over the managed records of ``group``; False, with the walk
    left unfinished, at the first record of a second instance (chains never cross instances).

    Every test is made on the record the walk is at, not in passes of their own: at a million
    records each extra pass (filtering out the unmanaged, collecting the instances, looking
    for a recorded parent) cost as much as the linking itself, because a record is fetched
    from memory once per pass. Kinds and statuses are tested against the tuples directly, as
    property calls cost more than the linking. The names a recorded parent is looked up in are
    collected only when the first record that has one is met (a million IRIS files have none).
    """
    last_full: BackupRecord | None = None
    last_usable: BackupRecord | None = None
    names: set[str] | None = None
    instance: object = _NOT_YET
    usable, starts = USABLE_STATUSES, CHAIN_STARTS  # bound locally for the million-record loop
    for record in group:
        if record.source is _UNMANAGED:
            continue
        seen = record.instance
        if seen is not instance and seen != instance:
            if instance is not _NOT_YET:
                return False
            instance = seen
        if record.status not in usable:
            record.chain = ()
            record.chain_complete = True
            continue
        kind = record.kind
        if kind in starts:
            record.chain, record.chain_complete = (), True
            last_full = record
        elif kind is _CUMULATIVE:
            if last_full is None:
                record.chain, record.chain_complete = (), False
            else:
                record.chain, record.chain_complete = (last_full.path,), True
        elif last_usable is None or not last_usable.chain_complete:
            record.chain, record.chain_complete = (), False
        else:
            record.chain = last_usable.chain + (last_usable.path,)  # noqa: RUF005 - no list
            record.chain_complete = True
        if record.parent_name:
            names = _check_parent(record, names, group)
        last_usable = record
    return True


def _check_parent(
    record: BackupRecord, names: set[str] | None, group: list[BackupRecord]
) -> set[str]:
    """A manifest's recorded parent that is not in the catalog breaks the chain. ``names``
    are the stored names of ``group``'s managed backups, as recorded parents give them,
    collected at the first parent met (of every instance in ``group``: a second one ends the
    walk before a parent is judged by them); returned for the next."""
    if names is None:
        names = {
            _backup_name(r.path.rpartition("/")[2]) for r in group if r.source is not _UNMANAGED
        }
    parent = record.parent_name
    if parent and _backup_name(parent) not in names and record.chain_complete:
        record.chain_complete = False
        record.note = f"the backup it was taken on, {record.parent_name}, is missing"
    return names
