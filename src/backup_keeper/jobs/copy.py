"""The copy job: a directory's backups to a second place, verified, then that place purged by
its own policy (:mod:`backup_keeper.offsite.copy` holds the rules; this is the report).

Steps: catalog the directories, pick the backups a sidecar describes, oldest first, skip those
already copied and still stored, copy the rest (file, log, sidecar last, each read back), stop
on the destination's own trouble, then purge the destination by its policy when nothing failed.
"""

from __future__ import annotations

from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.jobs import lifecycle
from backup_keeper.notify import Notifier
from backup_keeper.offsite.copy import CopyOutcome, copy_backups, fold_into, purged_count
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import JobReport
from backup_keeper.settings import CopySettings, CopyTarget
from backup_keeper.sizes import human_size
from backup_keeper.timezones import resolve_zone


def run_copy(
    settings: CopySettings,
    *,
    clock: Clock = system_clock,
    notifier: Notifier | None = None,
    progress: Progress = NO_PROGRESS,
    opener: StoreOpener = open_destination,
) -> JobReport:
    """Copy ``settings.directories``' backups to ``settings.to``; never raises: every failure
    is in the report, and ``notifier`` is told of the outcome (it decides what is news)."""
    report = lifecycle.begin(
        "copy",
        clock=clock,
        dry_run=settings.dry_run,
        directories=[str(d) for d in settings.directories],
        options=copy_options(settings.to) | {"timezone": settings.timezone},
    )

    def steps() -> str:
        outcome = copy_backups(
            settings.directories,
            settings.to,
            opener=opener,
            zone=resolve_zone(settings.timezone),
            clock=clock,
            progress=progress,
            dry_run=settings.dry_run,
        )
        fold_into(report, outcome)
        return copy_summary(outcome, dry_run=settings.dry_run)

    return lifecycle.conclude(report, steps, clock=clock, notifier=notifier, what="copy")


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
