"""Pins: a backup the plan would delete is kept while its sidecar pins it, with its chain.

As ``require_offsite_copy`` (:mod:`.offsite_holds`): the first plan names the candidates, only
their sidecars are read, and the holds go back into the planner, which keeps each pinned
backup as a keep rule would, everything a restore of it needs included. Holds only add keeps,
so the second plan deletes a subset of the first's. A candidate whose sidecar cannot be read
now is held too (it may be pinned), and the purge warns; an expired pin holds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from backup_keeper.catalog.pins import Reader, local_sidecar, pin_holds
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import RetentionPolicy


@dataclass(slots=True)
class Pinned:
    """The plan with the pins' holds, the holds (to merge with others) and what to warn of."""

    plan: Plan
    held: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def hold_pinned(
    decided: Plan,
    records: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    *,
    read: Reader = local_sidecar,
    also_held: Mapping[str, str] | None = None,
) -> Pinned:
    """``decided``, or the plan again with every pinned deletion held (with its chain).

    ``records`` are in :data:`~backup_keeper.catalog.record.ORDER_KEY` order, as a catalog
    holds them; ``also_held`` are holds the caller already planned with (kept again)."""
    if not decided.delete:
        return Pinned(decided)
    found = pin_holds((d.record for d in decided.delete), now, read)
    if not found.held:
        return Pinned(decided, warnings=found.warnings)
    held = {**(also_held or {}), **found.held}
    again = plan(records, policy, now, zone, ordered=True, held=held)
    return Pinned(again, found.held, found.warnings)
