"""The off-site copy as a step of another job (``copy_to`` on a backup), and the words the
``copy`` job and that step share: the options a report shows and the one-line summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path

from backup_keeper.alerts.events import COPY_PREFIX
from backup_keeper.clock import Clock
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.offsite.copy import CopyOutcome, copy_backups, fold_into, purged_count
from backup_keeper.progress import Progress
from backup_keeper.report import JobReport
from backup_keeper.settings import CopyTarget
from backup_keeper.sizes import human_size


def copy_to_target(
    directories: Sequence[Path],
    target: CopyTarget,
    *,
    report: JobReport,
    opener: StoreOpener,
    zone: tzinfo,
    clock: Clock,
    progress: Progress,
) -> str:
    """Copy to ``target`` inside another job: its lines go into ``report`` marked ``copy: ``
    (so an alert tells a failed copy of a good backup from a failed backup); returns the
    summary line."""
    outcome = copy_backups(
        directories, target, opener=opener, zone=zone, clock=clock, progress=progress
    )
    fold_into(report, outcome, prefix=COPY_PREFIX)
    return copy_summary(outcome, dry_run=False)


def copy_options(target: CopyTarget) -> dict[str, object]:
    """What a report and the begin line say of a target: where, encrypted to how many keys,
    how fast, kept how long; never a key or a secret (the URL holds none by construction)."""
    options: dict[str, object] = {
        "to": target.location.redacted(),
        "encrypted_to": len(target.encrypt_to) or None,
        "bandwidth_limit": target.bandwidth_limit,
        "instance": target.instance,
    }
    if target.retention is not None:
        options |= target.retention.model_dump(mode="json", exclude_none=True)
    return options


def copy_summary(outcome: CopyOutcome, *, dry_run: bool) -> str:
    """ "copied 3 backup(s) (1.2 GiB) to s3://bucket/prefix/PROD, 5 already there; purged 2
    there" -- what went, what was there already, what the destination's policy removed."""
    where = ", ".join(s.rstrip("/") for s in outcome.stores) or outcome.destination
    if dry_run:
        text = f"dry run: would copy {len(outcome.planned)} backup(s) to {where}"
    else:
        text = (
            f"copied {len(outcome.copied)} backup(s) ({human_size(outcome.backup_bytes)}) "
            f"to {where}"
        )
    text += f", {len(outcome.already)} already there"
    if outcome.purges:
        verb = "would purge" if dry_run else "purged"
        text += f"; {verb} {purged_count(outcome, dry_run=dry_run)} there"
    if outcome.failed:
        text += f"; {len(outcome.failed)} not copied"
    if outcome.errors or outcome.stopped:
        first = outcome.errors[0] if outcome.errors else outcome.stopped
        text += f"; {len(outcome.errors) + bool(outcome.stopped)} error(s), first: {first}"
    return text
