"""Backups stored at a destination as the copy job leaves them, in one line each."""

from __future__ import annotations

from datetime import datetime, timedelta

from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.kinds import BackupKind
from tests.builders import T0
from tests.destination_doubles import MemoryStore

KINDS = {"F": BackupKind.FULL, "C": BackupKind.CUMULATIVE, "I": BackupKind.INCREMENTAL}


def store_backup(
    store: MemoryStore,
    name: str,
    kind: BackupKind,
    started: datetime,
    *,
    status: BackupStatus = BackupStatus.COMPLETED,
    data: bytes = b"backup bytes",
    encrypted: bool = False,
    log: bool = True,
    parent: str | None = None,
) -> str:
    """Store ``name`` (a ``.cbk`` name), its IRIS log and its sidecar, sidecar last; return
    the stored object's name."""
    stored = name + (".age" if encrypted else "")
    store.objects[stored] = data
    store.modified[stored] = started
    if log:
        log_name = name.removesuffix(".cbk") + ".log"
        store.objects[log_name] = b"***FINISHED BACKUP***\n"
        store.modified[log_name] = started
    manifest = Manifest(
        file=name,
        kind=kind,
        status=status,
        started=started,
        finished=started + timedelta(minutes=5),
        size=len(data),
        instance="PROD",
        tool_version="0.1.0",
        chain_parent=parent,
    )
    store.objects[name + ".json"] = manifest.model_dump_json().encode()
    store.modified[name + ".json"] = started
    return stored


def store_chain(store: MemoryStore, pattern: str, *, start: datetime = T0) -> list[str]:
    """One stored backup per letter of ``pattern`` (F, C, I), a day apart, oldest first."""
    names = []
    for i, letter in enumerate(pattern):
        name = f"keeper_{letter}_{i:03d}.cbk"
        store_backup(store, name, KINDS[letter], start + timedelta(days=i))
        names.append(name)
    return names
