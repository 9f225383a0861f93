"""Backups stored at a destination as the copy job leaves them, in one line each.

``store_backup``/``store_chain`` write sidecars by hand (no copy record: as another tool, or
an older copy, would leave them); ``take_chain`` + ``copy_chain`` make real backups with
FakeIris and store them with the real ``upload_backup`` (copy records, encryption), the most
honest way to build what a destination holds after the copy job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from pyrage import x25519

from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.clock import fixed_clock
from backup_keeper.destinations.store import RemoteStore
from backup_keeper.encryption import Recipient, parse_recipient
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_online_backup
from backup_keeper.kinds import BackupKind
from backup_keeper.offsite.upload import UploadResult, upload_backup
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings
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


def take_chain(
    iris_state: Path,
    directory: Path,
    kinds: Sequence[str],
    *,
    start: datetime,
    compress: Sequence[bool] = (),
) -> list[Path]:
    """One online backup per kind (``full``, ``incremental``, ...) by FakeIris, four hours
    apart, into ``directory``; the backup files, oldest first (``compress[i]``: zstd)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i, kind in enumerate(kinds):
        at = start + timedelta(hours=4 * i)
        squeeze = i < len(compress) and compress[i]
        report = run_online_backup(
            BackupSettings(directory=directory, kind=kind, compress=squeeze),
            iris=FakeIris(iris_state, clock=fixed_clock(at)),
            clock=fixed_clock(at),
        )
        assert report.status is JobStatus.OK and report.backup and report.backup.file
        files.append(Path(report.backup.file))
    return files


def copy_chain(
    files: Sequence[Path],
    store: RemoteStore,
    *,
    at: datetime,
    encrypted: Mapping[int, Sequence[Recipient]] | None = None,
) -> list[UploadResult]:
    """Each backup copied with the real ``upload_backup``; ``encrypted[i]``: the recipients
    the ``i``-th is encrypted to."""
    chosen = encrypted or {}
    return [
        upload_backup(file, store, recipients=chosen.get(i, ()), clock=fixed_clock(at))
        for i, file in enumerate(files)
    ]


def age_identity(directory: Path, name: str = "identity.txt") -> tuple[Path, Recipient]:
    """A fresh age identity file (made in the test) and its public key as a recipient."""
    identity = x25519.Identity.generate()
    path = directory / name
    path.write_text(f"{identity}\n")
    return path, parse_recipient(str(identity.to_public()))
