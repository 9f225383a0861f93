"""The purge job: remove the backups a retention policy no longer keeps, never one a restore
needs. Reads as its steps: lock the directories, read what an interrupted purge left, catalog,
plan, record the intent, finish the interrupted purge, delete, clear the intent.

An interrupted purge's intent never decides what goes: the current plan does. An entry the plan
still deletes goes with the plan's targets (and says it finishes the interrupted purge); an
entry whose backup is gone loses only its own leftover sidecar and log; any other is kept, with
a warning. An intent that cannot be read or trusted stops its directory's purge.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.pins import pin_holds
from backup_keeper.clock import Clock, system_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.jobs import lifecycle
from backup_keeper.last_run import record_purge
from backup_keeper.notify import Notifier, tell
from backup_keeper.progress import NO_PROGRESS, Progress, Tally, step
from backup_keeper.purge.executor import (
    RECOVERED,
    Outcome,
    PurgeTarget,
    Remove,
    Targets,
    as_targets,
    delete_leftovers,
    delete_targets,
    targets_from_plan,
    unlink_in,
)
from backup_keeper.purge.intent import (
    IntentEntry,
    IntentError,
    PurgeIntent,
    clear_intent,
    forms,
    own_companions,
    read_intent,
    write_intent,
)
from backup_keeper.purge.lock import LockError, take_purge_locks
from backup_keeper.purge.offsite_holds import hold_uncopied
from backup_keeper.report import FileOutcome, JobReport, RecordEntry
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import PurgeSettings
from backup_keeper.sizes import human_size
from backup_keeper.timezones import format_moment, resolve_zone

Leftovers = dict[Path, tuple[datetime, list[IntentEntry]]]
"""Per directory, when the interrupted purge started and the entries the plan does not delete."""


@dataclass(slots=True)
class _Interrupted:
    """What interrupted purges left: the planned deletions that finish them (paths), and the
    entries of backups the plan does not delete."""

    planned: set[str] = field(default_factory=set)
    leftovers: Leftovers = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.planned or self.leftovers)

    def finished(self, went: set[str]) -> int:
        """Backups whose deletion this run finished: planned ones that went, and gone ones at
        least one of whose leftovers went."""
        owners = {
            f"{directory}/{companion}": (directory, entry.name)
            for directory, (_, entries) in self.leftovers.items()
            for entry in entries
            for companion in own_companions(entry.name)
        }
        cleaned = {owners[path] for path in went if path in owners}
        return len(self.planned & went) + len(cleaned)


def run_purge(
    settings: PurgeSettings,
    *,
    clock: Clock = system_clock,
    remove: Remove = unlink_in,
    notifier: Notifier | None = None,
    progress: Progress = NO_PROGRESS,
) -> JobReport:
    """Purge ``settings.directories`` by ``settings.retention`` as of ``clock()``.

    ``remove`` is how a file is deleted; tests pass one that fails to prove the rest still runs.
    ``notifier`` is told of every outcome and decides what is news. ``progress`` counts the
    files catalogued, then the files deleted.
    """
    with gc_paused():
        report = _run_purge(settings, clock, remove, progress)
    tell(notifier, report)
    return report


def what_was_purged(report: JobReport) -> str:
    """What a job that ran a purge says it purged: the backups that went, not those planned."""
    went = {a.path for a in report.actions if a.outcome is FileOutcome.DELETED}
    gone = sum(1 for e in report.delete if e.path in went)
    planned = len(report.delete)
    return f"{gone}{f' of {planned}' if gone != planned else ''} old backup(s) purged"


def _run_purge(
    settings: PurgeSettings, clock: Clock, remove: Remove, progress: Progress
) -> JobReport:
    report = lifecycle.begin(
        "purge",
        clock=clock,
        dry_run=settings.dry_run,
        directories=[str(d) for d in settings.directories],
        options={
            "timezone": settings.timezone,
            **settings.retention.model_dump(mode="json", exclude_none=True),
        },
    )
    try:
        held = take_purge_locks(
            settings.directories, wait=settings.lock_wait, shared=settings.dry_run
        )
    except LockError as exc:
        report.errors.append(str(exc))
        return lifecycle.end(report, clock=clock, summary="purge not run: nothing deleted")
    with held:
        return _purge_locked(settings, report, clock, remove, progress)


def _purge_locked(
    settings: PurgeSettings, report: JobReport, clock: Clock, remove: Remove, progress: Progress
) -> JobReport:
    now = report.started
    dry_run = settings.dry_run
    zone = resolve_zone(settings.timezone)
    intents, blocked = _read_intents(settings.directories, report)
    try:
        catalog = discover(settings.directories, zone, progress=progress)
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        return lifecycle.end(
            report, clock=clock, summary="purge failed before planning: nothing deleted"
        )
    report.warnings += catalog.warnings
    pinned = pin_holds(catalog.records, now)
    decided = plan(catalog.records, settings.retention, now, zone, ordered=True, held=pinned)
    decided, not_copied = hold_uncopied(
        decided,
        catalog.records,
        settings.retention,
        now,
        zone,
        settings.require_offsite_copy,
        also_held=pinned,
    )
    report.warnings += not_copied
    _record_plan(report, decided)
    targets, refused = targets_from_plan(decided.delete, settings.directories)
    report.errors += refused
    if blocked:
        targets = {d: records for d, records in targets.items() if d not in blocked}
    interrupted = _interrupted(intents, targets, report, dry_run=dry_run, zone=zone)
    if not dry_run:
        try:
            _write_intents(targets, interrupted.leftovers, now)
        except (OSError, ValueError) as exc:
            report.errors.append(f"cannot record what the purge will delete: {exc}")
            return lifecycle.end(
                report, clock=clock, summary="purge failed before deleting: nothing deleted"
            )
    with _deleting(targets, dry_run, remove, progress) as counted:
        outcome = _finish_leftovers(
            interrupted.leftovers, dry_run=dry_run, remove=counted, zone=zone
        )
        outcome.extend(delete_targets(targets, dry_run=dry_run, remove=counted))
    _fold(report, outcome)
    if not dry_run:
        try:
            _leave_intents_for(outcome.failed, set(targets) | set(intents), now)
        except (OSError, ValueError) as exc:
            report.errors.append(f"cannot update the purge intent: {exc}")
        ran = [d for d in settings.directories if d not in blocked]
        report.warnings += record_purge(ran, outcome.freed)
    return lifecycle.end(
        report, clock=clock, summary=_summary(report, decided, interrupted, outcome, dry_run)
    )


@contextmanager
def _deleting(
    targets: Targets, dry_run: bool, remove: Remove, progress: Progress
) -> Iterator[Remove]:
    """``remove``, counting each file it deletes as a step of ``progress`` whose total is every
    file the plan names (a dry run deletes nothing, and says so on no bar)."""
    if dry_run or not targets:
        yield remove
        return
    planned = sum(1 + len(r.companions) for records in targets.values() for r in records)
    with step(progress, "delete", planned, "files"):
        tally = Tally(progress)

        def counted(name: str, dir_fd: int) -> None:
            try:
                remove(name, dir_fd)
            finally:
                tally.advance(1)

        try:
            yield counted
        finally:
            tally.top_up(planned)


def _read_intents(
    directories: list[Path], report: JobReport
) -> tuple[dict[Path, PurgeIntent], set[Path]]:
    """The intents left by interrupted purges, and the directories whose intent cannot be
    trusted: nothing is deleted there this run."""
    intents: dict[Path, PurgeIntent] = {}
    blocked: set[Path] = set()
    for directory in directories:
        try:
            intent = read_intent(directory)
        except IntentError as exc:
            report.errors.append(str(exc))
            blocked.add(directory)
            continue
        if intent is not None:
            intents[directory] = intent
    return intents, blocked


def _interrupted(
    intents: dict[Path, PurgeIntent],
    targets: Targets,
    report: JobReport,
    *,
    dry_run: bool,
    zone: tzinfo,
) -> _Interrupted:
    """Sort an interrupted purge's entries: those the plan deletes anyway are marked in the
    report; the rest are left for :func:`delete_leftovers` to judge on disk."""
    found = _Interrupted()
    if not intents:
        return found
    planned = {
        (t.directory, forms(t.name)[0]): t.path
        for directory, records in targets.items()
        for t in as_targets(directory, records)
    }
    entries = {e.path: e for e in report.delete}
    for directory, intent in intents.items():
        started = format_moment(intent.created, zone)
        report.warnings.append(
            f"{directory}: a purge started at {started} was interrupted; "
            + ("it would be finished" if dry_run else "finishing it")
        )
        note = f"finishes the purge interrupted at {started}"
        rest: dict[str, IntentEntry] = {}
        for item in intent.entries:
            key = forms(item.name)[0]
            path = planned.get((directory, key))
            if path is None:
                rest.setdefault(key, item)
                continue
            found.planned.add(path)
            if (entry := entries.get(path)) is not None and note not in entry.reasons:
                entry.reasons = (*entry.reasons, note)
        if rest:
            found.leftovers[directory] = (intent.created, list(rest.values()))
    return found


def _finish_leftovers(
    leftovers: Leftovers, *, dry_run: bool, remove: Remove, zone: tzinfo
) -> Outcome:
    outcome = Outcome()
    for directory, (started, entries) in leftovers.items():
        outcome.extend(
            delete_leftovers(
                directory,
                [e.name for e in entries],
                note=f"{RECOVERED} {format_moment(started, zone)}",
                dry_run=dry_run,
                remove=remove,
            )
        )
    return outcome


def _record_plan(report: JobReport, decided: Plan) -> None:
    of = RecordEntry.of  # bound once: a classmethod looked up per backup builds a method each time
    report.keep = [of(d.record, d.reasons) for d in decided.keep]
    report.delete = [of(d.record, d.reasons) for d in decided.delete]
    report.unmanaged = [of(d.record, d.reasons) for d in decided.unmanaged]
    report.warnings += decided.warnings


def _write_intents(targets: Targets, leftovers: Leftovers, now: datetime) -> None:
    """Phase one: say, durably, what is about to go, before anything goes."""
    by_directory: dict[Path, list[IntentEntry]] = {
        directory: list(entries) for directory, (_, entries) in leftovers.items()
    }
    for directory, records in targets.items():
        by_directory.setdefault(directory, []).extend(
            t.as_intent() for t in as_targets(directory, records)
        )
    for directory, entries in by_directory.items():
        write_intent(directory, PurgeIntent(created=now, entries=entries))


def _leave_intents_for(failed: list[PurgeTarget], directories: set[Path], now: datetime) -> None:
    """Keep in the intent only what could not be deleted, so the next run tries again."""
    for directory in directories:
        left = list({t.name: t for t in failed if t.directory == directory}.values())
        if left:
            write_intent(directory, PurgeIntent(created=now, entries=[t.as_intent() for t in left]))
        else:
            clear_intent(directory)


def _fold(report: JobReport, outcome: Outcome) -> None:
    report.actions += outcome.actions
    report.warnings += outcome.warnings
    report.errors += outcome.errors


def _summary(
    report: JobReport, decided: Plan, interrupted: _Interrupted, outcome: Outcome, dry_run: bool
) -> str:
    """Counted from the backups the executor says went (``outcome.gone``, ``outcome.freed``);
    the set of every action's path is built only when an interrupted purge's backups need
    matching against it."""
    gone = outcome.gone
    planned = len(decided.delete)
    size = human_size(sum(outcome.freed.values()))
    if dry_run:
        verb = f"would delete {gone}" + (f" of {planned}" if gone != planned else "")
    else:
        verb = f"deleted {gone} of {planned}"
    text = (
        f"{verb} backup(s) ({size}), kept {len(decided.keep)}, {len(decided.unmanaged)} unmanaged"
    )
    finished = interrupted.finished(_went(report, dry_run)) if interrupted else 0
    if finished:
        text += f"; {'would finish' if dry_run else 'finished'} an interrupted purge of "
        text += f"{finished} backup(s)"
    if report.errors:
        text += f"; {len(report.errors)} error(s)"
    if report.warnings:
        text += f"; {len(report.warnings)} warning(s)"
    return ("dry run: " if dry_run else "") + text


def _went(report: JobReport, dry_run: bool) -> set[str]:
    done = FileOutcome.WOULD_DELETE if dry_run else FileOutcome.DELETED
    return {a.path for a in report.actions if a.outcome is done}
