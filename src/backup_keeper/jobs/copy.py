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
from backup_keeper.jobs.offsite_step import copy_options, copy_summary
from backup_keeper.notify import Notifier
from backup_keeper.offsite.copy import copy_backups, fold_into
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import JobReport
from backup_keeper.settings import CopySettings
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
