"""Local backups as the backup job leaves them (file, IRIS log, sidecar with checksums), and
age keys, for the transfer pipeline's tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyrage import x25519

from backup_keeper.catalog.manifest import Manifest, write_manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import file_checksum
from backup_keeper.encryption import Recipient, parse_recipient
from backup_keeper.kinds import BackupKind
from backup_keeper.offsite.pacing import Transfer

STARTED = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
NAME = "FullDB_20261101_001.cbk"
LOG = "FullDB_20261101_001.log"
SIDECAR = NAME + ".json"


def make_backup(
    directory: Path,
    *,
    size: int = 3 << 20,
    compressed: bool = False,
    status: BackupStatus = BackupStatus.COMPLETED,
    log: bool = True,
) -> Path:
    """``NAME.cbk`` (or ``NAME.cbk.zst``) of random bytes, its log and its sidecar; returns
    the path of the file that holds the backup."""
    directory.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    if log:
        (directory / LOG).write_text("Backup pass 1 complete\n***FINISHED BACKUP***\n")
    fields: dict[str, object] = {
        "file": NAME,
        "kind": BackupKind.FULL,
        "status": status,
        "started": STARTED,
        "finished": STARTED + timedelta(minutes=5),
        "databases": ["/usr/irissys/mgr/user/"],
        "iris_log": LOG,
        "instance": "PROD",
        "tool_version": "0.1.0",
    }
    if compressed:
        stored = directory / (NAME + ".zst")
        stored.write_bytes(data)
        fields |= {
            "size": size * 3,
            "checksum": {"algorithm": "blake3", "hex": "c" * 64},
            "compression": "zstd",
            "stored_size": size,
            "stored_checksum": file_checksum(stored),
        }
    else:
        stored = directory / NAME
        stored.write_bytes(data)
        fields |= {"size": size, "checksum": file_checksum(stored)}
    write_manifest(directory / NAME, Manifest.model_validate(fields))
    return stored


def age_key(directory: Path, name: str = "identity.txt") -> tuple[Path, Recipient]:
    """A fresh age identity file and its public key as a recipient."""
    identity = x25519.Identity.generate()
    path = directory / name
    path.write_text(f"{identity}\n")
    return path, parse_recipient(str(identity.to_public()))


class FakeTime:
    """A stopwatch that only moves when slept on: pacing and backoff without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def stopwatch(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def transfer(self, *, bandwidth: int | None = None, attempts: int = 5) -> Transfer:
        return Transfer(
            bandwidth=bandwidth,
            attempts=attempts,
            stopwatch=self.stopwatch,
            sleep=self.sleep,
            jitter=lambda: 0.5,
        )


def clock() -> datetime:
    return NOW
