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
from operator import attrgetter

from backup_keeper.catalog.record import (
    ORDER_KEY,
    USABLE_STATUSES,
    BackupRecord,
    RecordSource,
)
from backup_keeper.kinds import CHAIN_STARTS, BackupKind

_CUMULATIVE = BackupKind.CUMULATIVE
_UNMANAGED = RecordSource.UNMANAGED
_INSTANCE = attrgetter("instance")
_PARENT = attrgetter("parent_name")


def _backup_name(name: str) -> str:
    """A stored file's name as a sidecar's ``chain_parent`` gives it: without ``.zst``
    (compressed) and ``.age`` (a destination's encrypted copy)."""
    return name.removesuffix(".age").removesuffix(".zst")


def link_chains(records: Iterable[BackupRecord]) -> list[BackupRecord]:
    """Fill in ``chain`` and ``chain_complete`` on every record and return them oldest first.

    The records are updated in place: the catalog builds them and hands them over, so copying
    a million of them only to set two fields would be waste.
    """
    ordered = sorted(records, key=ORDER_KEY)
    managed = [r for r in ordered if r.source is not _UNMANAGED]
    if len(set(map(_INSTANCE, managed))) <= 1:  # one instance, the usual case: no regrouping
        _link_group(managed)
        return ordered
    groups: dict[str | None, list[BackupRecord]] = defaultdict(list)
    for record in managed:
        groups[record.instance].append(record)
    for group in groups.values():
        _link_group(group)
    return ordered


def _link_group(group: list[BackupRecord]) -> None:
    """One walk, oldest first. Kinds and statuses are tested against the tuples directly: this
    loop runs once per backup of a million-record catalog, where property calls cost more than
    the linking itself."""
    last_full: BackupRecord | None = None
    last_usable: BackupRecord | None = None
    # only manifests record parents; skip the name set when none does (a million IRIS files)
    names = (
        {_backup_name(r.path.rpartition("/")[2]) for r in group}
        if any(map(_PARENT, group))
        else None
    )
    usable, starts = USABLE_STATUSES, CHAIN_STARTS  # bound locally for the million-record loop
    for record in group:
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
        if names is not None:
            _check_parent(record, names)
        last_usable = record


def _check_parent(record: BackupRecord, names: set[str]) -> None:
    """A manifest's recorded parent that is not in the catalog breaks the chain."""
    parent = record.parent_name
    if parent and _backup_name(parent) not in names and record.chain_complete:
        record.chain_complete = False
        record.note = f"the backup it was taken on, {record.parent_name}, is missing"
