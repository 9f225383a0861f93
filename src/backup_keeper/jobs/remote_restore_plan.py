"""The restore plan of a destination: the directory's planner over the destination's catalog.

The same planner (:func:`backup_keeper.restore.plan.plan_restore`: chain closure, fallback to
the newest moment that can be restored, never a backup dated after now) and the same answer
as ``restore-plan DIR``, naming the stored objects. Two things differ, both because a record
names an object, not a file: its sidecar is read through the store, and "can it be restored"
is asked without reading the object back (a plan over a destination must not cost a download
of every chain): a chain whose sidecar cannot be trusted, records no verified copy, or whose
object's size is not the recorded one, is not restorable. The bytes are proved when a restore
fetches them (:mod:`backup_keeper.offsite.download`), and ``verify URL`` proves them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.destinations.remote_settings import RemoteRestorePlanSettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.jobs import lifecycle
from backup_keeper.offsite.remote_catalog import discover_remote
from backup_keeper.offsite.stored_sidecars import StoredSidecars
from backup_keeper.report import JobReport, RestorePlan
from backup_keeper.restore.plan import plan_restore
from backup_keeper.timezones import format_moment, resolve_zone

FETCH_STEP = (
    "first fetch these objects into a staging directory (backup-keeper restore URL does it: "
    "each proved against its stored sidecar's copy record and decrypted there); the steps "
    "below then read the staged files"
)


@dataclass(frozen=True, slots=True)
class RemotePlan:
    """The plan, and what a restore needs to fetch it: the records and their sidecars."""

    plan: RestorePlan
    records: dict[str, BackupRecord]
    sidecars: StoredSidecars

    def chain(self) -> list[BackupRecord]:
        """The records of the plan's files, in restore order."""
        return [self.records[f.path] for f in self.plan.files]


def make_remote_restore_plan(
    store: RemoteStore, *, at: datetime | None, timezone: str | None, now: datetime
) -> RemotePlan:
    """The plan as of ``now`` over what ``store`` holds; raises DestinationError when the
    store cannot be listed. The catalog's warnings ride on the plan."""
    catalog = discover_remote(store, now=now)
    sidecars = StoredSidecars(store)
    plan = plan_restore(
        catalog.records,
        at,
        sidecars.problem,
        now=now,
        zone=resolve_zone(timezone),
        manifests=sidecars.manifest,
    )
    plan.warnings = catalog.warnings
    if plan.ok:
        plan.steps.insert(0, FETCH_STEP)
    return RemotePlan(plan, {r.path: r for r in catalog.records}, sidecars)


def run_remote_restore_plan(
    settings: RemoteRestorePlanSettings,
    *,
    clock: Clock = system_clock,
    opener: StoreOpener = open_destination,
) -> JobReport:
    where = settings.where
    report = lifecycle.begin(
        "restore-plan",
        clock=clock,
        dry_run=True,
        directories=[where],
        options=settings.model_dump(mode="json", exclude={"destination", "instance"}),
    )
    return lifecycle.conclude(
        report, lambda: _plan(settings, report, opener), clock=clock, notifier=None, what="plan"
    )


def _plan(settings: RemoteRestorePlanSettings, report: JobReport, opener: StoreOpener) -> str:
    where = report.directories[0]
    try:
        store = opener(settings.destination, settings.instance)
    except DestinationError as exc:
        report.errors.append(f"{where}: {exc}")
        return "no plan: destination not reached"
    try:
        found = make_remote_restore_plan(
            store, at=settings.at, timezone=settings.timezone, now=report.started
        )
    except DestinationError as exc:
        report.errors.append(f"{where}: cannot list the backups: {exc}")
        return "no plan: destination not read"
    finally:
        store.close()
    return describe_plan(found.plan, report, settings.timezone)


def describe_plan(plan: RestorePlan, report: JobReport, timezone: str | None) -> str:
    """Put ``plan`` on ``report`` as ``restore-plan DIR`` does; the summary."""
    report.restore = plan
    report.warnings += plan.warnings
    if plan.fallback:
        report.warnings.append(plan.fallback)
    if not plan.ok:
        problems = plan.problems or ["nothing to restore"]
        report.errors += problems
        return "no restorable backup: " + problems[0]
    assert plan.restores_to is not None
    when = format_moment(plan.restores_to, resolve_zone(timezone))
    return f"restore {len(plan.files)} file(s) to {when}"
