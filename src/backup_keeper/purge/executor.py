"""Deleting what a plan decided, and nothing else.

Every deletion goes through a directory file descriptor with ``follow_symlinks=False``, so a
symlink is never followed and a directory swapped under us is never acted in. Each backup is
re-checked just before it goes (still a regular file, same size and mtime as planned). A backup
goes as a unit, the backup file first, then its manifest, then IRIS's log: if the backup cannot
be removed, it stays whole and described; if the process dies in between, what is left is a
manifest or log without its backup, which the next run removes as the intent's leftovers (the
other order left a ``.cbk`` without its manifest: an unmanaged file no rule may delete). A
failure on one backup is an error and the others still go.

Only names :func:`~backup_keeper.purge.intent.check_backup_name` accepts are ever acted on, and
only with their own companions (:func:`~backup_keeper.purge.intent.own_companions`): the
planner never proposes anything else, the executor refuses it anyway.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from backup_keeper.catalog.record import BackupRecord, RecordSource
from backup_keeper.purge.intent import IntentEntry, check_backup_name, forms, own_companions
from backup_keeper.report import FileAction, FileOutcome
from backup_keeper.retention.plan import Decision

log = logging.getLogger(__name__)

VANISHED = "vanished since it was planned"
RECOVERED = "left by a purge interrupted at"
"""Starts the detail of every action on an interrupted purge's leftovers, so a report (and its
table) can list what this run finished for an earlier one."""
_WOULD_DELETE = FileOutcome.WOULD_DELETE
_UNMANAGED = RecordSource.UNMANAGED
_SIDECAR = ".json"
_SIZE = attrgetter("size")
_LOG = ".log"
_PLAIN_BACKUP_NAME = re.compile(
    r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*(?:\.cbk|\.cbk\.zst|\.snapshot\.json)", re.ASCII
).fullmatch
"""Names :func:`check_backup_name` accepts, recognised in one regex call: ASCII letters, digits
and ``_.+-`` (no separator, no NUL, valid UTF-8) ending in a backup suffix. Anything else still
goes through the full check, which the purge of 100,000 backups otherwise pays for each."""
Remove = Callable[[str, int], None]
"""How one name is removed inside a directory descriptor; replaceable to inject failures."""


def unlink_in(name: str, dir_fd: int) -> None:
    os.unlink(name, dir_fd=dir_fd)


@dataclass(slots=True)
class PurgeTarget:
    """One backup as the deletion acts on it, inside its directory's descriptor: bare names.

    Built from a checked record as it is deleted (:func:`as_targets`), or from an interrupted
    purge's intent; not for every backup a dry run names (see :data:`Targets`)."""

    directory: Path
    name: str
    size: int
    mtime_ns: int
    companions: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.name}"

    def as_intent(self) -> IntentEntry:
        return IntentEntry(
            name=self.name, size=self.size, mtime_ns=self.mtime_ns, companions=list(self.companions)
        )


Targets = dict[Path, list[BackupRecord]]
"""What a plan deletes, per configured directory, each list newest first: the catalog's own
records, checked (:func:`targets_from_plan`), not copied. A target object per backup, built
from its record and holding the same facts, cost a dry run of 100,000 backups a tenth of its
time; the real run builds each :class:`PurgeTarget` as it deletes that backup, where the
system calls dwarf it."""


@dataclass(slots=True)
class Outcome:
    actions: list[FileAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[PurgeTarget] = field(default_factory=list)
    gone: int = 0
    """Backups whose file went (in a dry run: would go), counted as they go, so the job's
    summary never rebuilds them from a set of every action's path (200,000 at 100,000
    backups)."""
    freed: Counter[Path] = field(default_factory=Counter)
    """Their bytes, per directory: what the metrics show as the last purge's."""

    def extend(self, other: Outcome) -> None:
        self.actions += other.actions
        self.warnings += other.warnings
        self.errors += other.errors
        self.failed += other.failed
        self.gone += other.gone
        self.freed.update(other.freed)


def targets_from_plan(
    deletions: Sequence[Decision], directories: Sequence[Path]
) -> tuple[Targets, list[str]]:
    """The delete decisions' records per directory, newest first; refuse anything outside the
    rules.

    The planner never proposes such a thing; this is the second lock on the door, because a
    wrong deletion cannot be undone. A record whose companions are not all its own sidecar or
    log beside it goes as a copy holding only those (the others are refused); every other
    record is its own target.
    """
    allowed = {str(d): (d, f"{d}/") for d in directories}
    targets: Targets = {}
    refused: list[str] = []
    plain = _PLAIN_BACKUP_NAME
    last: Path | None = None
    group: list[BackupRecord] = []
    for decision in reversed(deletions):
        record = decision.record
        path = record.path
        parent, _, name = path.rpartition("/")
        directory, prefix = allowed.get(parent, _NOWHERE)
        if record.source is _UNMANAGED:
            refused.append(f"{path}: refused to delete an unmanaged file")
            continue
        if directory is None or (plain(name) is None and not _deletable(name)):
            refused.append(
                f"{path}: refused: not a .cbk or snapshot record directly inside a "
                "configured directory"
            )
            continue
        companions = record.companions
        # The usual case, tested inline (a call per backup shows at 100,000): one companion,
        # X.cbk's own sidecar X.cbk.json or log X.log beside it, exactly the names
        # own_companions gives a .cbk (tests/unit/purge hold the two together).
        if not (
            len(companions) == 1
            and name[-4:] == ".cbk"
            and (companions[0] == path + _SIDECAR or companions[0] == path[:-4] + _LOG)
        ):
            record = _with_own_companions(record, prefix, name, refused)
        if directory is not last:
            last = directory
            group = targets.setdefault(directory, [])
        group.append(record)
    return targets, refused


_NOWHERE: tuple[None, str] = (None, "")


def _with_own_companions(
    record: BackupRecord, prefix: str, name: str, refused: list[str]
) -> BackupRecord:
    """``record``, or a copy of it holding only those companions that are its own sidecar or
    log beside it (``prefix`` is its directory and a slash). Tested as "starts with the prefix,
    and the rest is one of its own names" (own names are bare): the same test as splitting at
    the last slash, without building two strings per companion."""
    own = own_companions(name)
    cut = len(prefix)
    companions = record.companions
    kept = tuple(c for c in companions if c.startswith(prefix) and c[cut:] in own)
    if len(kept) == len(companions):
        return record
    refused += [
        f"{c}: refused: not the sidecar or log of {name}" for c in companions if c not in kept
    ]
    return dataclasses.replace(record, companions=kept)


def as_targets(directory: Path, records: Sequence[BackupRecord]) -> list[PurgeTarget]:
    """Checked records (:func:`targets_from_plan`) as the deletion acts on them: bare names
    inside ``directory``, companions in the order they go."""
    cut = len(str(directory)) + 1
    return [
        PurgeTarget(
            directory,
            record.path[cut:],
            record.size,
            record.mtime_ns,
            tuple(path[cut:] for path in _in_deletion_order(record.companions)),
        )
        for record in records
    ]


def _deletable(name: str) -> bool:
    if _PLAIN_BACKUP_NAME(name) is not None:
        return True  # the common name, which the full check below would also accept
    try:
        check_backup_name(name)
    except ValueError:
        return False
    return True


def delete_targets(targets: Targets, *, dry_run: bool, remove: Remove = unlink_in) -> Outcome:
    """Delete each target (or say what would go, in a dry run); never stop at the first error."""
    outcome = Outcome()
    for directory, records in targets.items():
        try:
            dir_fd = _open_directory(directory)
        except OSError as exc:
            outcome.errors.append(f"{directory}: cannot open directory: {exc.strerror}")
            outcome.failed += as_targets(directory, records)
            continue
        try:
            if dry_run:
                _say_what_would_go(directory, records, outcome)
                continue
            for target in as_targets(directory, records):
                outcome.extend(_delete_one(dir_fd, target, remove))
        finally:
            os.close(dir_fd)
    return outcome


def delete_leftovers(
    directory: Path, names: Sequence[str], *, note: str, dry_run: bool, remove: Remove = unlink_in
) -> Outcome:
    """Finish an interrupted purge of ``names``, backups the current plan does not delete.

    A backup still on disk in any of its forms is kept (the plan, not the intent, decides what
    goes); one that is gone loses its own leftover sidecar and log, whatever the intent listed.
    Every action's detail starts with ``note`` (:data:`RECOVERED`). A leftover that cannot be
    removed leaves its backup's name in ``failed``, so the intent keeps it for the next run.
    """
    outcome = Outcome()
    try:
        dir_fd = _open_directory(directory)
    except OSError as exc:
        outcome.errors.append(f"{directory}: cannot open directory: {exc.strerror}")
        outcome.failed += [PurgeTarget(directory, n, 0, 0, own_companions(n)) for n in names]
        return outcome
    try:
        for name in names:
            outcome.extend(_remove_leftovers(dir_fd, directory, name, note, dry_run, remove))
    finally:
        os.close(dir_fd)
    return outcome


def _remove_leftovers(
    dir_fd: int, directory: Path, name: str, note: str, dry_run: bool, remove: Remove
) -> Outcome:
    outcome = Outcome()
    if not _deletable(name):
        outcome.errors.append(f"{directory}: refused to act on {name!r}: not a backup name")
        return outcome
    present = [form for form in forms(name) if _exists(dir_fd, form)]
    if present:
        outcome.warnings.append(
            f"{directory}/{present[0]}: named by an interrupted purge, but the current plan "
            "does not delete it: kept"
        )
        return outcome
    target = PurgeTarget(directory, name, 0, 0, own_companions(name))
    for companion in target.companions:
        if not _is_regular(dir_fd, companion):
            continue
        path = f"{directory}/{companion}"
        if dry_run:
            outcome.actions.append(FileAction(path, _WOULD_DELETE, note))
            log.info("[dry run] would delete %s (%s)", path, note)
            continue
        try:
            remove(companion, dir_fd)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            outcome.actions.append(FileAction(path, FileOutcome.FAILED, f"{note}: {detail}"))
            outcome.errors.append(f"{path}: cannot delete: {detail}")
            outcome.failed.append(target)
            continue
        outcome.actions.append(FileAction(path, FileOutcome.DELETED, note))
        log.info("deleted %s (%s)", path, note)
    return outcome


def _open_directory(directory: Path) -> int:
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _say_what_would_go(directory: Path, records: list[BackupRecord], outcome: Outcome) -> None:
    """A dry run, just planned from the catalog: say what would go, in the order it would,
    without touching the disk again, naming each file by the catalog's own path."""
    say = log.isEnabledFor(logging.INFO)
    add = outcome.actions.append
    for record in records:
        add(FileAction(record.path, _WOULD_DELETE))
        for path in _in_deletion_order(record.companions):
            add(FileAction(path, _WOULD_DELETE))
        if say:
            for path in (record.path, *_in_deletion_order(record.companions)):
                log.info("[dry run] would delete %s", path)
    outcome.gone += len(records)
    outcome.freed[directory] += sum(map(_SIZE, records))


def _delete_one(dir_fd: int, target: PurgeTarget, remove: Remove) -> Outcome:
    outcome = Outcome()
    problem = _changed_since_planned(dir_fd, target)
    if problem is not None:
        outcome.actions.append(FileAction(target.path, FileOutcome.SKIPPED, problem))
        outcome.warnings.append(f"{target.path}: not deleted: {problem}")
        log.warning("skip %s: %s", target.path, problem)
        return outcome
    for name in _deletion_order(target):
        path = f"{target.directory}/{name}"
        if name != target.name and not _is_regular(dir_fd, name):
            continue
        try:
            remove(name, dir_fd)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            outcome.actions.append(FileAction(path, FileOutcome.FAILED, detail))
            outcome.errors.append(f"{path}: cannot delete: {detail}")
            outcome.failed.append(target)
            log.error("cannot delete %s: %s", path, detail)
            if name == target.name:
                break  # the backup stays whole, described by its manifest and log
            continue
        outcome.actions.append(FileAction(path, FileOutcome.DELETED))
        log.info("deleted %s", path)
        if name == target.name:
            outcome.gone += 1
            outcome.freed[target.directory] += target.size
    return outcome


def _deletion_order(target: PurgeTarget) -> list[str]:
    """The backup first, then its manifest, then IRIS's log (see the module docstring)."""
    return [target.name, *_in_deletion_order(target.companions)]


def _in_deletion_order(companions: tuple[str, ...]) -> tuple[str, ...]:
    """Manifest before log. A lone companion, or a pair whose second is a log (as the catalog
    lists a sidecar and a log), is in that order already: the usual cases, not sorted."""
    if len(companions) < 2 or (len(companions) == 2 and companions[1][-4:] == _LOG):
        return companions
    return tuple(sorted(companions, key=_log_last))


def _log_last(name: str) -> bool:
    return name.endswith(".log")


def _changed_since_planned(dir_fd: int, target: PurgeTarget) -> str | None:
    try:
        st = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return VANISHED
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return "no longer a regular file"
    if st.st_size != target.size or st.st_mtime_ns != target.mtime_ns:
        return (
            f"changed since it was planned (size {target.size} -> {st.st_size}, "
            f"mtime_ns {target.mtime_ns} -> {st.st_mtime_ns})"
        )
    return None


def _is_regular(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False  # gone, or not ours to look at: either way not deleted


def _exists(dir_fd: int, name: str) -> bool:
    """Whether anything has ``name``: a name that cannot be looked at counts as present, never
    as gone (gone would let its companions be deleted)."""
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True
