"""Local chains of backups as the backup job leaves them (file, IRIS log, sidecar with its
checksum and chain parent), for the copy job's tests."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from backup_keeper.catalog.manifest import Manifest, read_manifest, sidecar_path, write_manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import file_checksum
from backup_keeper.kinds import BackupKind
from tests.builders import T0

KINDS = {"F": BackupKind.FULL, "C": BackupKind.CUMULATIVE, "I": BackupKind.INCREMENTAL}


def local_backup(
    directory: Path,
    name: str,
    kind: BackupKind,
    started: datetime,
    *,
    size: int = 4096,
    parent: str | None = None,
    instance: str | None = "PROD",
    status: BackupStatus = BackupStatus.COMPLETED,
) -> Path:
    """``name`` (a ``.cbk``) of random bytes, its log and a sidecar with its checksum."""
    cbk = directory / name
    with cbk.open("wb") as out:
        left = size
        while left:
            block = min(left, 8 << 20)
            out.write(os.urandom(block))
            left -= block
    log = name.removesuffix(".cbk") + ".log"
    (directory / log).write_text("Backup pass 1 complete\n***FINISHED BACKUP***\n")
    write_manifest(
        cbk,
        Manifest(
            file=name,
            kind=kind,
            status=status,
            started=started,
            finished=started + timedelta(minutes=5),
            databases=["/usr/irissys/mgr/user/"],
            size=size,
            checksum=file_checksum(cbk),
            iris_log=log,
            instance=instance,
            chain_parent=parent,
            tool_version="0.1.0",
        ),
    )
    return cbk


def local_chain(
    directory: Path,
    pattern: str,
    *,
    start: datetime = T0,
    size: int = 4096,
    instance: str | None = "PROD",
) -> list[str]:
    """One backup per letter of ``pattern`` (F, C, I), a day apart, oldest first; names."""
    names: list[str] = []
    parent: str | None = None
    full: str | None = None
    for i, letter in enumerate(pattern):
        kind = KINDS[letter]
        name = f"keeper_{letter}_{i:03d}.cbk"
        local_backup(
            directory,
            name,
            kind,
            start + timedelta(days=i),
            size=size,
            parent={BackupKind.FULL: None, BackupKind.CUMULATIVE: full}.get(kind, parent),
            instance=instance,
        )
        names.append(name)
        parent = name
        full = name if kind is BackupKind.FULL else full
    return names


def copies_of(directory: Path, name: str) -> list[str]:
    """The destinations the local sidecar of ``name`` records a verified copy at."""
    manifest = read_manifest(sidecar_path(directory / name), expected_file=name)
    return [copy.destination for copy in manifest.copies]
