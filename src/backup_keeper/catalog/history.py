"""The instance's backup history as a second source for chains.

An incremental holds the blocks changed since the instance's last backup of any type, and a
cumulative those changed since its last full, wherever those were taken: into another
directory, by IRIS's own task, by another tool (Data Integrity Guide, "Backup types"; see the
ledger, section 1). The files of a directory cannot show such a backup, so the directory's own
order can link an incremental onto a backup it does not rest on. IRIS's history can: each
incremental or cumulative of this catalog found there is checked against the backup before it
in that history, and when that backup is not in the catalog the chain is broken, and so is every
chain built on top of it.

Only usable history entries count (Completed, Warning), as in :mod:`.chains`: IRIS takes the
next backup relative to the last one that worked. A record the history does not list is left as
the directory says (the history may have been purged, or the file comes from another instance).
Nothing here reads the disk: the catalog stays what the files say when no history is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import PurePath

from backup_keeper.catalog.record import BackupRecord
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.kinds import CHAIN_STARTS, BackupKind
from backup_keeper.timezones import format_moment, machine_zone

USABLE_HISTORY = ("completed", "warning")
"""``Backup.Task:History`` statuses of a backup that worked (CR Backup.General, Status)."""
SNAPSHOT_DESCRIPTION = "backup-keeper "
"""How the snapshot job describes its ``ExternalSetHistory`` entry: ``backup-keeper <name>``,
``<name>`` being its record's file name without ``.json``."""


BROKEN = "chain broken by a foreign backup"


@dataclass(frozen=True, slots=True)
class ForeignBackup:
    """The backup of the instance a record rests on, which this catalog does not hold."""

    entry: HistoryEntry

    def describe(self, zone: tzinfo | None = None) -> str:
        """What the backup was and when, in ``zone`` (the instance's; this machine's if None)."""
        what = self.entry.device or self.entry.description or self.entry.log_file or "(unnamed)"
        if not self.entry.device:
            what = f"{self.entry.kind} backup '{what}'"
        return f"{what} at {format_moment(self.entry.time, zone or machine_zone())}"


def oldest_first(history: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """The port gives the history newest first; sorted by time here so that no row order of a
    real instance (unverified) can put a backup after one it preceded. Equal times keep the
    port's order; times of mixed kinds (naive and aware) cannot be compared and keep it too."""
    entries = list(reversed(history))
    try:
        return sorted(entries, key=lambda h: h.time)
    except TypeError:
        return entries


def usable(entry: HistoryEntry) -> bool:
    return entry.status.strip().lower() in USABLE_HISTORY


def history_key(entry: HistoryEntry) -> str:
    """What names a history entry's backup as the catalog names its record: the device path
    (``.zst`` dropped from records, since IRIS wrote the ``.cbk``), or for a snapshot this
    tool recorded, the name in its description."""
    if entry.device:
        return str(PurePath(entry.device))
    if entry.description.startswith(SNAPSHOT_DESCRIPTION):
        return "snapshot:" + entry.description.removeprefix(SNAPSHOT_DESCRIPTION).strip()
    return ""


def record_key(record: BackupRecord) -> str:
    if record.kind is BackupKind.EXTERNAL:
        return "snapshot:" + PurePath(record.path).name.removesuffix(".json")
    return str(PurePath(record.path.removesuffix(".zst")))


def base_in_history(history: list[HistoryEntry], index: int, kind: BackupKind) -> int | None:
    """The index of the backup the entry at ``index`` (of ``kind``) rests on: the usable backup
    just before it (incremental), or the last usable full before it (cumulative)."""
    for before in range(index - 1, -1, -1):
        entry = history[before]
        if usable(entry) and (kind is BackupKind.INCREMENTAL or entry.kind in CHAIN_STARTS):
            return before
    return None


def mark_foreign_breaks(
    records: list[BackupRecord], history: Sequence[HistoryEntry], zone: tzinfo | None = None
) -> int:
    """Break, in place, the chain of every record (oldest first, already linked) whose base in
    the instance's history is not in ``records``, and of every record whose chain holds a broken
    one. Returns how many records were marked. The notes give times in ``zone``."""
    ordered = oldest_first(history)
    known = {record_key(r) for r in records if r.managed}
    position = {history_key(h): i for i, h in enumerate(ordered) if history_key(h)}
    broken: dict[str, str] = {}
    for record in records:
        foreign = _foreign_base(record, ordered, position, known, zone)
        why = None if foreign is None else f"{BROKEN} {foreign}"
        if why is None:
            hit = next((p for p in record.chain if p in broken), None)
            if hit is None:
                continue
            why = f"{broken[hit]} (it rests on {PurePath(hit).name})"
        broken[record.path] = why.partition(" (it rests on ")[0]
        record.chain_complete = False
        record.note = why
    return len(broken)


def _foreign_base(
    record: BackupRecord,
    ordered: list[HistoryEntry],
    position: dict[str, int],
    known: set[str],
    zone: tzinfo | None,
) -> str | None:
    if not record.managed or record.kind in CHAIN_STARTS or not record.status.usable:
        return None
    index = position.get(record_key(record))
    if index is None:
        return None
    base = base_in_history(ordered, index, record.kind)
    if base is None or history_key(ordered[base]) in known:
        return None
    return ForeignBackup(ordered[base]).describe(zone)
