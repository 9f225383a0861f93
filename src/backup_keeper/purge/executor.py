"""Deleting what a plan decided, and nothing else.

Every deletion goes through a directory file descriptor with ``follow_symlinks=False``, so a
symlink is never followed and a directory swapped under us is never acted in. Each backup is
re-checked just before it goes (still a regular file, same size and mtime as planned). A backup
goes as a unit: its manifest first, then the ``.cbk``, then IRIS's log; if the manifest cannot be
removed the ``.cbk`` stays. A failure on one backup is an error and the others still go.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backup_keeper.catalog.discover import (
    BACKUP_SUFFIX,
    COMPRESSED_SUFFIX,
    LOG_SUFFIX,
    SIDECAR_SUFFIX,
    SNAPSHOT_RECORD_SUFFIX,
)
from backup_keeper.catalog.manifest import SUFFIX as MANIFEST_SUFFIX
from backup_keeper.purge.intent import IntentEntry
from backup_keeper.report import FileAction, FileOutcome
from backup_keeper.retention.plan import Decision

log = logging.getLogger(__name__)

VANISHED = "vanished since it was planned"
_WOULD_DELETE = FileOutcome.WOULD_DELETE
_DELETABLE_SUFFIXES = (BACKUP_SUFFIX, COMPRESSED_SUFFIX, SNAPSHOT_RECORD_SUFFIX)
Remove = Callable[[str, int], None]
"""How one name is removed inside a directory descriptor; replaceable to inject failures."""


def unlink_in(name: str, dir_fd: int) -> None:
    os.unlink(name, dir_fd=dir_fd)


@dataclass(slots=True)
class PurgeTarget:
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

    @classmethod
    def from_intent(cls, directory: Path, entry: IntentEntry) -> PurgeTarget:
        return cls(directory, entry.name, entry.size, entry.mtime_ns, tuple(entry.companions))


@dataclass(slots=True)
class Outcome:
    actions: list[FileAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[PurgeTarget] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.actions += other.actions
        self.warnings += other.warnings
        self.errors += other.errors
        self.failed += other.failed


def targets_from_plan(
    deletions: Sequence[Decision], directories: Sequence[Path]
) -> tuple[list[PurgeTarget], list[str]]:
    """Turn delete decisions into targets, newest first; refuse anything outside the rules.

    The planner never proposes such a thing; this is the second lock on the door, because a
    wrong deletion cannot be undone.
    """
    allowed = {str(d): d for d in directories}
    targets: list[PurgeTarget] = []
    refused: list[str] = []
    for decision in reversed(deletions):
        record = decision.record
        parent, _, name = record.path.rpartition("/")
        directory = allowed.get(parent)
        if not record.managed:
            refused.append(f"{record.path}: refused to delete an unmanaged file")
            continue
        if directory is None or not name.endswith(_DELETABLE_SUFFIXES):
            refused.append(
                f"{record.path}: refused: not a .cbk or snapshot record directly inside a "
                "configured directory"
            )
            continue
        sidecar = name.removesuffix(".zst") + MANIFEST_SUFFIX
        companions: list[str] = []
        for companion in record.companions:
            where, _, companion_name = companion.rpartition("/")
            if where != parent or not (
                companion_name == sidecar or companion_name.endswith(LOG_SUFFIX)
            ):
                refused.append(f"{companion}: refused: not a sidecar or log of {name}")
                continue
            companions.append(companion_name)
        targets.append(
            PurgeTarget(directory, name, record.size, record.mtime_ns, tuple(companions))
        )
    return targets, refused


def delete_targets(
    targets: Sequence[PurgeTarget],
    *,
    dry_run: bool,
    remove: Remove = unlink_in,
    recovering: bool = False,
) -> Outcome:
    """Delete each target (or say what would go, in a dry run); never stop at the first error.

    ``recovering`` finishes an interrupted purge: a ``.cbk`` already gone is then expected, and
    only its leftover manifest or log is removed.
    """
    outcome = Outcome()
    by_directory: dict[Path, list[PurgeTarget]] = {}
    for target in targets:
        by_directory.setdefault(target.directory, []).append(target)
    for directory, group in by_directory.items():
        try:
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            outcome.errors.append(f"{directory}: cannot open directory: {exc.strerror}")
            outcome.failed += group
            continue
        try:
            if dry_run and not recovering:
                _say_what_would_go(group, outcome.actions)
                continue
            for target in group:
                outcome.extend(_delete_one(dir_fd, target, dry_run, remove, recovering))
        finally:
            os.close(dir_fd)
    return outcome


def _say_what_would_go(group: Sequence[PurgeTarget], actions: list[FileAction]) -> None:
    """A dry run, just planned from the catalog: say what would go, in the order it would,
    without touching the disk again."""
    say = log.isEnabledFor(logging.INFO)
    for target in group:
        for name in _deletion_order(target):
            path = f"{target.directory}/{name}"
            actions.append(FileAction(path, _WOULD_DELETE))
            if say:
                log.info("[dry run] would delete %s", path)


def _delete_one(
    dir_fd: int, target: PurgeTarget, dry_run: bool, remove: Remove, recovering: bool
) -> Outcome:
    outcome = Outcome()
    problem = _changed_since_planned(dir_fd, target)
    gone = problem == VANISHED
    if problem is not None and not (recovering and gone):
        outcome.actions.append(FileAction(target.path, FileOutcome.SKIPPED, problem))
        outcome.warnings.append(f"{target.path}: not deleted: {problem}")
        log.warning("skip %s: %s", target.path, problem)
        return outcome
    for name in _deletion_order(target):
        path = f"{target.directory}/{name}"
        if (name != target.name or gone) and not _is_regular(dir_fd, name):
            continue
        if dry_run:
            outcome.actions.append(FileAction(path, _WOULD_DELETE))
            log.info("[dry run] would delete %s", path)
            continue
        try:
            remove(name, dir_fd)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            outcome.actions.append(FileAction(path, FileOutcome.FAILED, detail))
            outcome.errors.append(f"{path}: cannot delete: {detail}")
            outcome.failed.append(target)
            log.error("cannot delete %s: %s", path, detail)
            if name.endswith(SIDECAR_SUFFIX):
                break  # keep the .cbk described rather than orphan it
            continue
        outcome.actions.append(FileAction(path, FileOutcome.DELETED))
        log.info("deleted %s", path)
    return outcome


def _deletion_order(target: PurgeTarget) -> list[str]:
    """Manifest first (a backup without its manifest is never left looking valid), then the
    ``.cbk``, then IRIS's log."""
    companions = target.companions
    if not companions:
        return [target.name]
    sidecars = [c for c in companions if c.endswith(SIDECAR_SUFFIX)]
    others = [c for c in companions if not c.endswith(SIDECAR_SUFFIX)]
    return [*sidecars, target.name, *others]


def _changed_since_planned(dir_fd: int, target: PurgeTarget) -> str | None:
    try:
        st = os.stat(target.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return VANISHED
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
    except FileNotFoundError:
        return False
