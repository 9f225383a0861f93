"""Pins as the catalog read them: which backups a purge must keep now, and why.

Each record carries its sidecar's pin (:attr:`BackupRecord.pin`), read when the catalog read
that sidecar, so nothing here touches a disk or a destination: a purge of 100,000 backups pays
for pins one pass over records in memory. The race with ``pin`` is closed by the purge lock,
which the pin job takes before it writes: a catalog made under the lock sees every pin. A record
no sidecar describes (IRIS's file name only) and an unmanaged one have no pin; an expired pin
holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from backup_keeper.catalog.record import BackupRecord

PINNED = "pinned: "
"""Starts the reason a pinned backup is kept for, in every purge's report."""


def pins_of(records: Iterable[BackupRecord], now: datetime) -> dict[str, str]:
    """Path -> reason of every record whose pin holds at ``now``: the timeline's ``pins=``."""
    return {r.path: r.pin.reason for r in records if r.pin is not None and r.pin.holds(now)}


def pin_holds(records: Iterable[BackupRecord], now: datetime) -> dict[str, str]:
    """Path -> ``pinned: <reason>`` of every record whose pin holds at ``now``: the planner's
    ``held``, which keeps each as a keep rule would, and everything a restore of it needs."""
    return {path: PINNED + reason for path, reason in pins_of(records, now).items()}
