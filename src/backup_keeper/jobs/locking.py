"""One backup at a time per instance: online and external backups share one named IRIS lock."""

from __future__ import annotations

INSTANCE_LOCK = "BackupKeeper.Backup"


def lock_refusal(timeout: float) -> str:
    return (
        "another backup-keeper backup is running on this instance "
        f"(lock {INSTANCE_LOCK} held after {timeout:g} s); this run did nothing"
    )
