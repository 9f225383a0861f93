"""Purging a destination by its own policy: the local purge's rules, carried out through a store.

The same two phases as a local purge (:mod:`backup_keeper.jobs.purge`): the names about to go
are stored first as an intent object, then each backup goes as a unit -- the backup object,
then its sidecar, then IRIS's log -- and the intent is removed (or rewritten with what could not
be deleted). A run killed in between leaves a sidecar or log without its backup, which the next
run removes because the intent names it; a backup object is never left without its sidecar by a
purge (that would look like an unfinished copy, which the next copy would send again).

Only what the remote catalog described is ever deleted: a record whose path is not
``<store URL>/<bare name>`` with a backup ending, an unmanaged record, or a companion that is not
the backup's own sidecar or log is refused, as the local executor refuses them. Each backup is
looked at again just before it goes (still there, same size), so an object replaced since the
plan is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from backup_keeper.catalog.manifest import SUFFIX
from backup_keeper.catalog.pins import pin_holds
from backup_keeper.catalog.record import RecordSource
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.offsite.remote_catalog import (
    BACKUP_SUFFIX,
    COMPRESSED,
    ENCRYPTED,
    LOG_SUFFIX,
    discover_remote,
    read_remote_small,
)
from backup_keeper.report import FileAction, FileOutcome
from backup_keeper.retention.plan import Decision, Plan, plan
from backup_keeper.safe_files import check_bare_name
from backup_keeper.settings import RetentionPolicy
from backup_keeper.timezones import format_moment

log = logging.getLogger(__name__)

INTENT_OBJECT = ".backup-keeper-purge-intent.json"
"""Starts with a dot and ends in neither ``.cbk.json`` nor a backup ending: never catalogued."""
VANISHED = "vanished since it was planned"
_ENDINGS = (
    BACKUP_SUFFIX,
    BACKUP_SUFFIX + COMPRESSED,
    BACKUP_SUFFIX + ENCRYPTED,
    BACKUP_SUFFIX + COMPRESSED + ENCRYPTED,
)


def original_name(name: str) -> str:
    """``X.cbk`` for every stored form of it (``X.cbk``, ``.zst``, ``.age``, ``.zst.age``)."""
    return name.removesuffix(ENCRYPTED).removesuffix(COMPRESSED)


def own_companions(name: str) -> tuple[str, str]:
    """The sidecar and the IRIS log of the backup stored as ``name``: nothing else goes with it."""
    original = original_name(name)
    return (original + SUFFIX, original[: -len(BACKUP_SUFFIX)] + LOG_SUFFIX)


def check_remote_backup_name(name: str) -> str:
    """``name`` when a remote purge may delete a backup by it; else ValueError."""
    check_bare_name(name)
    if not name.endswith(_ENDINGS):
        raise ValueError(f"{name!r} is not a stored backup name")
    return name


class RemoteIntentEntry(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    name: str
    size: int = Field(ge=0)
    companions: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _backup_name(cls, value: str) -> str:
        return check_remote_backup_name(value)

    @field_validator("companions")
    @classmethod
    def _bare(cls, values: list[str]) -> list[str]:
        return [check_bare_name(value) for value in values]


class RemoteIntent(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    format: str = Field(
        default="backup-keeper-remote-purge/1", pattern="^backup-keeper-remote-purge/1$"
    )
    created: AwareDatetime
    entries: list[RemoteIntentEntry]


@dataclass(slots=True)
class RemoteTarget:
    name: str
    size: int
    companions: tuple[str, ...] = ()


@dataclass(slots=True)
class RemoteOutcome:
    actions: list[FileAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[RemoteTarget] = field(default_factory=list)


def remote_targets(
    deletions: Sequence[Decision], base: str
) -> tuple[list[RemoteTarget], list[str]]:
    """Delete decisions as targets, newest first; anything outside the rules is refused."""
    prefix = base.rstrip("/") + "/"
    targets: list[RemoteTarget] = []
    refused: list[str] = []
    for decision in reversed(deletions):
        record = decision.record
        if record.source is RecordSource.UNMANAGED:
            refused.append(f"{record.path}: refused to delete an unmanaged object")
            continue
        name = record.path[len(prefix) :] if record.path.startswith(prefix) else ""
        try:
            check_remote_backup_name(name)
        except ValueError:
            refused.append(f"{record.path}: refused: not a backup object directly under {base}")
            continue
        own = own_companions(name)
        companions: list[str] = []
        for companion in record.companions:
            bare = companion[len(prefix) :] if companion.startswith(prefix) else ""
            if bare not in own:
                refused.append(f"{companion}: refused: not the sidecar or log of {name}")
                continue
            companions.append(bare)
        targets.append(RemoteTarget(name, record.size, tuple(companions)))
    return targets, refused


def read_remote_intent(store: RemoteStore) -> RemoteIntent | None:
    """What an interrupted purge of ``store`` was deleting; None when nothing was interrupted.
    Raises DestinationError (kind "corrupt") for an intent that cannot be trusted: the caller
    purges nothing there and says how to recover."""
    if store.head(INTENT_OBJECT) is None:
        return None
    try:
        return RemoteIntent.model_validate_json(read_remote_small(store, INTENT_OBJECT))
    except (ValidationError, ValueError) as exc:
        raise DestinationError(
            "corrupt",
            f"{store.describe()}/{INTENT_OBJECT} is not a purge intent this tool wrote "
            f"({_first_problem(exc)}): nothing is purged there until it is removed by hand",
        ) from None


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'document'}: {first['msg']}"
    return str(exc)


def purge_remote(
    store: RemoteStore,
    targets: Sequence[RemoteTarget],
    *,
    now: datetime,
    dry_run: bool,
    interrupted: RemoteIntent | None = None,
) -> RemoteOutcome:
    """Delete ``targets`` (or say what would go); finish what ``interrupted`` left."""
    base = store.describe().rstrip("/")
    outcome = RemoteOutcome()
    leftovers = _leftovers(interrupted, targets)
    if dry_run:
        for target in targets:
            for name in (target.name, *target.companions):
                outcome.actions.append(FileAction(f"{base}/{name}", FileOutcome.WOULD_DELETE))
        for entry in leftovers:
            _finish_leftover(store, base, entry, outcome, dry_run=True)
        return outcome
    if not targets and not leftovers and interrupted is None:
        return outcome
    try:
        _write_intent(store, [*targets, *(_as_target(e) for e in leftovers)], now)
    except DestinationError as exc:
        outcome.errors.append(f"cannot record what the purge will delete: {exc}")
        return outcome
    for entry in leftovers:
        _finish_leftover(store, base, entry, outcome, dry_run=False)
    for target in targets:
        _delete_one(store, base, target, outcome)
    try:
        if outcome.failed:
            _write_intent(store, outcome.failed, now)
        else:
            store.delete(INTENT_OBJECT)
    except DestinationError as exc:
        outcome.errors.append(f"cannot update the purge intent: {exc}")
    return outcome


def _leftovers(
    interrupted: RemoteIntent | None, targets: Sequence[RemoteTarget]
) -> list[RemoteIntentEntry]:
    if interrupted is None:
        return []
    planned = {original_name(t.name) for t in targets}
    return [e for e in interrupted.entries if original_name(e.name) not in planned]


def _as_target(entry: RemoteIntentEntry) -> RemoteTarget:
    return RemoteTarget(entry.name, entry.size, tuple(entry.companions))


def _write_intent(store: RemoteStore, targets: Sequence[RemoteTarget], now: datetime) -> None:
    intent = RemoteIntent(
        created=now,
        entries=[
            RemoteIntentEntry(name=t.name, size=t.size, companions=list(t.companions))
            for t in targets
        ],
    )
    store.put(INTENT_OBJECT, [intent.model_dump_json().encode()])


def _delete_one(
    store: RemoteStore, base: str, target: RemoteTarget, outcome: RemoteOutcome
) -> None:
    path = f"{base}/{target.name}"
    try:
        found = store.head(target.name)
    except DestinationError as exc:
        _failed(outcome, target, path, f"cannot be examined ({exc})")
        return
    if found is None:
        outcome.actions.append(FileAction(path, FileOutcome.SKIPPED, VANISHED))
        outcome.warnings.append(f"{path}: not deleted: {VANISHED}")
        return
    if found.size != target.size:
        why = f"changed since it was planned (size {target.size} -> {found.size})"
        outcome.actions.append(FileAction(path, FileOutcome.SKIPPED, why))
        outcome.warnings.append(f"{path}: not deleted: {why}")
        return
    try:
        store.delete(target.name)
    except DestinationError as exc:
        _failed(outcome, target, path, str(exc))
        return  # the backup stays whole, described by its sidecar
    outcome.actions.append(FileAction(path, FileOutcome.DELETED))
    log.info("deleted %s", path)
    _delete_companions(store, base, target, outcome, note="")


def _delete_companions(
    store: RemoteStore, base: str, target: RemoteTarget, outcome: RemoteOutcome, *, note: str
) -> None:
    """Sidecar before log (the log says how the backup ended; it goes last)."""
    for name in sorted(target.companions, key=lambda n: n.endswith(LOG_SUFFIX)):
        path = f"{base}/{name}"
        try:
            store.delete(name)
        except DestinationError as exc:
            if exc.kind == "not-found":
                continue
            _failed(outcome, target, path, str(exc))
            continue
        outcome.actions.append(FileAction(path, FileOutcome.DELETED, note))


def _finish_leftover(
    store: RemoteStore,
    base: str,
    entry: RemoteIntentEntry,
    outcome: RemoteOutcome,
    *,
    dry_run: bool,
) -> None:
    """An interrupted purge's entry the current plan does not delete: a backup still stored is
    kept (the plan decides); one that is gone loses its leftover sidecar and log."""
    note = "left by an interrupted purge"
    try:
        present = store.head(entry.name)
    except DestinationError as exc:
        outcome.errors.append(f"{base}/{entry.name}: cannot be examined ({exc}): kept")
        outcome.failed.append(_as_target(entry))
        return
    if present is not None:
        outcome.warnings.append(
            f"{base}/{entry.name}: named by an interrupted purge, but the current plan does "
            "not delete it: kept"
        )
        return
    target = _as_target(entry)
    if dry_run:
        for name in target.companions:
            outcome.actions.append(FileAction(f"{base}/{name}", FileOutcome.WOULD_DELETE, note))
        return
    _delete_companions(store, base, target, outcome, note=note)


def _failed(outcome: RemoteOutcome, target: RemoteTarget, path: str, detail: str) -> None:
    outcome.actions.append(FileAction(path, FileOutcome.FAILED, detail))
    outcome.errors.append(f"{path}: cannot delete: {detail}")
    if target not in outcome.failed:
        outcome.failed.append(target)


@dataclass(slots=True)
class PolicyPurge:
    """A destination purged by its own policy: the plan, and what carrying it out did.
    ``warnings`` and ``errors`` are in the order a report shows them (catalog, plan, refusals,
    an interrupted purge, then the deletions)."""

    plan: Plan
    outcome: RemoteOutcome
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def purge_by_policy(
    store: RemoteStore, policy: RetentionPolicy, *, now: datetime, zone: tzinfo, dry_run: bool
) -> PolicyPurge:
    """Read what an interrupted purge left, catalog, plan, refuse what is outside the rules,
    then delete (or say what would go): the steps the ``purge`` of a destination and a copy
    with a destination policy share. Raises DestinationError when the intent or the listing
    cannot be read: nothing is deleted then."""
    where = store.describe().rstrip("/")
    interrupted = read_remote_intent(store)
    catalog = discover_remote(store, now=now)
    # pins recorded in the stored sidecars (read once, by the catalog) keep what they pin
    decided = plan(catalog.records, policy, now, zone, held=pin_holds(catalog.records, now))
    targets, refused = remote_targets(decided.delete, store.describe())
    warnings = [*catalog.warnings, *decided.warnings]
    if interrupted is not None:
        warnings.append(
            f"{where}: a purge started at {format_moment(interrupted.created, zone)} was "
            "interrupted; " + ("it would be finished" if dry_run else "finishing it")
        )
    outcome = purge_remote(store, targets, now=now, dry_run=dry_run, interrupted=interrupted)
    return PolicyPurge(
        decided, outcome, [*warnings, *outcome.warnings], [*refused, *outcome.errors]
    )
