"""The copy of a catalog's backups to one destination: which ones, in which order, and when to
stop; then the destination's own purge.

Which: managed backups that completed (or completed with warnings) and that a sidecar
describes. The sidecar is what makes a copy verifiable -- it holds the checksum the stored bytes
are proved against, and at the destination it is what says a backup is complete -- so a backup
known only by IRIS's file name is not copied, and the run says so.

Order: oldest first, so that a destination never holds an incremental whose base is not there
yet; a backup whose base could not be copied is not sent either (it could not be restored from
there).

Already copied: a backup whose sidecar records a verified copy to this very store, and whose
object is still stored at the recorded size, is not looked at again (a full read-back of every
backup on every run would cost the link as much as copying them). Anything else goes through
:func:`~backup_keeper.offsite.upload.upload_backup`, which itself proves and skips objects that
are already there with the right bytes: a copy killed half way is finished, not restarted.

When to stop: a failure of one backup (its file no longer matches its sidecar, a corrupt
read-back, a provider error) does not stop the others. Bad credentials, a missing bucket, a full
destination and a destination that stayed unreachable through every retry do: they are the
destination's trouble, not the backup's, and every next backup would meet them again -- after
waiting through its own retries.

A recorded copy that is gone from the destination is sent again, unless the destination has its
own retention policy: it then most likely removed it, and sending it again only for the policy to
remove it once more would cost a full transfer per run. The run says which it did.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path, PurePath

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import (
    Manifest,
    ManifestError,
    RemoteCopy,
    manifest_bytes,
    read_manifest,
    sidecar_path,
    with_copy,
    write_manifest,
)
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource
from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener
from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteStore
from backup_keeper.encryption import Recipient, parse_recipients
from backup_keeper.kinds import BackupKind
from backup_keeper.offsite.pacing import Transfer
from backup_keeper.offsite.remote_catalog import read_remote_small
from backup_keeper.offsite.remote_purge import PolicyPurge, purge_by_policy
from backup_keeper.offsite.streams import LocalBackupError
from backup_keeper.offsite.upload import UploadResult, upload_backup
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import FileAction, FileOutcome, JobReport
from backup_keeper.settings import CopyTarget

log = logging.getLogger(__name__)

STOPPING: frozenset[FaultKind] = frozenset({"credentials", "missing", "full", "unreachable"})
"""Trouble of the destination itself: the run stops at the first of them."""
_COPYABLE = (BackupStatus.COMPLETED, BackupStatus.WARNING)
_NAMED_IN_A_WARNING = 10
ALREADY_COPIED = "already copied"
SENT = "sent and verified"
ALREADY_THERE = "already there with the same bytes (read back)"


@dataclass(slots=True)
class CopyOutcome:
    """What a copy did, per backup and per object, in words a report can show."""

    destination: str
    """The destination's URL (no secret), as settings name it."""
    stores: list[str] = field(default_factory=list)
    """Each store reached (one per instance): ``<url>/<instance>/``."""
    copied: list[UploadResult] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    """Backups whose recorded copy is still there: not sent."""
    planned: list[str] = field(default_factory=list)
    """Dry run: backups that would be copied."""
    failed: list[str] = field(default_factory=list)
    """Backups not copied because of an error (theirs, or their base's)."""
    actions: list[FileAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was looked at and left alone on purpose (snapshots: nothing to copy)."""
    stopped: str | None = None
    purges: list[PolicyPurge] = field(default_factory=list)

    @property
    def bytes_sent(self) -> int:
        """Every byte stored by this run: backup files, logs and sidecars."""
        return sum(result.bytes_sent for result in self.copied)

    @property
    def backup_bytes(self) -> int:
        """The size of the backups copied, as stored there: what a summary quotes."""
        return sum(result.copy.size for result in self.copied)


@dataclass(slots=True)
class _Candidate:
    record: BackupRecord
    name: str
    """``NAME.cbk`` as its sidecar gives it (also for a ``.cbk.zst``)."""
    instance: str


def copy_backups(
    directories: Sequence[Path],
    target: CopyTarget,
    *,
    opener: StoreOpener,
    zone: tzinfo,
    clock: Clock = system_clock,
    progress: Progress = NO_PROGRESS,
    only: Collection[str] | None = None,
    dry_run: bool = False,
    transfer: Transfer | None = None,
) -> CopyOutcome:
    """Copy the backups of ``directories`` (those named in ``only`` and what they build on,
    when given) to ``target``, then purge it by its own policy if the copy had no error.

    Never raises for a destination's or a backup's trouble: it is in the outcome. ``zone`` is
    the instance's, which IRIS's file names are dated in; ``transfer`` (tests) replaces the
    target's pacing and retries.
    """
    outcome = CopyOutcome(target.location.redacted())
    try:
        catalog = discover(directories, zone)
    except OSError as exc:
        outcome.errors.append(f"cannot read the backups: {exc}")
        return outcome
    outcome.warnings += catalog.warnings
    candidates = _candidates(catalog.records, target, only, outcome)
    try:
        recipients = parse_recipients(target.encrypt_to) if target.encrypt_to else ()
    except ValueError as exc:  # checked in settings already; a door may build them by hand
        outcome.errors.append(f"cannot encrypt to the recipients given: {exc}")
        return outcome
    pacing = transfer or Transfer(bandwidth=target.bandwidth_limit)
    run = _Run(target, outcome, clock, progress, dry_run, recipients, pacing, zone)
    for instance, group in _by_instance(candidates):
        if outcome.stopped is not None:
            break
        _copy_instance(run, opener, instance, group)
    return outcome


def _candidates(
    records: list[BackupRecord],
    target: CopyTarget,
    only: Collection[str] | None,
    outcome: CopyOutcome,
) -> list[_Candidate]:
    """The backups to copy, oldest first; what is left out on purpose is said once."""
    wanted = _wanted(records, only)
    unverifiable: list[str] = []
    nameless: list[str] = []
    chosen: list[_Candidate] = []
    for record in records:
        name = PurePath(record.path).name.removesuffix(".zst")
        if wanted is not None and name not in wanted:
            continue
        if not record.managed or record.status not in _COPYABLE:
            continue
        if record.source is not RecordSource.SIDECAR:
            unverifiable.append(name)
            continue
        if record.kind is BackupKind.EXTERNAL:
            outcome.notes.append(
                f"{record.path}: a snapshot's data is in the storage's snapshot, not in a file: "
                "nothing to copy"
            )
            continue
        instance = target.instance or record.instance
        if instance is None:
            nameless.append(name)
            continue
        chosen.append(_Candidate(record, name, instance))
    if unverifiable:
        outcome.warnings.append(
            f"{_listed(unverifiable)}: not copied: no sidecar describes them, so no checksum "
            "could prove a copy and no remote sidecar could say it is complete (a copy must be "
            "verifiable); back up with backup-keeper to get copies"
        )
    if nameless:
        outcome.warnings.append(
            f"{_listed(nameless)}: not copied: the sidecar names no instance, and the "
            "destination keeps each instance's backups in their own directory; set the copy "
            "target's instance"
        )
    return chosen


def _wanted(records: list[BackupRecord], only: Collection[str] | None) -> set[str] | None:
    """The names in ``only`` and every backup a restore of them needs (copied first)."""
    if only is None:
        return None
    wanted = {name.removesuffix(".zst") for name in only}
    for record in records:
        if PurePath(record.path).name.removesuffix(".zst") in wanted:
            wanted |= {PurePath(base).name.removesuffix(".zst") for base in record.chain}
    return wanted


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMED_IN_A_WARNING])
    more = len(names) - _NAMED_IN_A_WARNING
    return f"{len(names)} backup(s) ({shown}{f' and {more} more' if more > 0 else ''})"


def _by_instance(candidates: list[_Candidate]) -> Iterator[tuple[str, list[_Candidate]]]:
    groups: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.instance, []).append(candidate)
    yield from groups.items()


@dataclass(slots=True)
class _Run:
    target: CopyTarget
    outcome: CopyOutcome
    clock: Clock
    progress: Progress
    dry_run: bool
    recipients: tuple[Recipient, ...]
    transfer: Transfer
    zone: tzinfo
    failed_paths: set[str] = field(default_factory=set)


def _copy_instance(run: _Run, opener: StoreOpener, instance: str, group: list[_Candidate]) -> None:
    outcome = run.outcome
    where = run.target.location.describe(instance).rstrip("/")
    try:
        store = opener(run.target.destination, instance)
    except DestinationError as exc:
        _destination_failed(run, where, exc, [c.name for c in group])
        return
    try:
        outcome.stores.append(store.describe())
        errors_before = len(outcome.errors)
        for candidate in group:
            if outcome.stopped is not None:
                outcome.failed.append(candidate.name)
                continue
            _copy_one(run, store, candidate)
        if run.target.retention is not None:
            if len(outcome.errors) == errors_before:
                _purge_there(run, store)
            else:
                outcome.warnings.append(
                    f"{store.describe().rstrip('/')}: not purged by its policy: the copy had errors"
                )
    finally:
        store.close()


def _destination_failed(run: _Run, where: str, exc: DestinationError, names: list[str]) -> None:
    outcome = run.outcome
    outcome.errors.append(f"{where}: {exc}")
    outcome.failed += names
    if exc.kind in STOPPING:
        outcome.stopped = (
            f"copy stopped: {where} is {_trouble(exc.kind)}; every further backup would meet "
            "the same trouble"
        )


def _trouble(kind: FaultKind) -> str:
    return {
        "credentials": "refusing the credentials",
        "missing": "missing (no such bucket, container or directory)",
        "full": "full",
        "unreachable": "unreachable after every retry",
    }.get(kind, kind)


def _copy_one(run: _Run, store: RemoteStore, candidate: _Candidate) -> None:
    outcome = run.outcome
    record = candidate.record
    base = store.describe().rstrip("/")
    missing = [b for b in record.chain if b in run.failed_paths]
    if missing:
        run.failed_paths.add(record.path)
        outcome.failed.append(candidate.name)
        outcome.warnings.append(
            f"{candidate.name}: not copied to {base}: it builds on "
            f"{PurePath(missing[-1]).name}, which was not copied"
        )
        return
    try:
        if _already_copied(run, store, candidate):
            return
        if run.dry_run:
            outcome.planned.append(candidate.name)
            outcome.actions.append(FileAction(f"{base}/{candidate.name}", FileOutcome.WOULD_COPY))
            return
        result = upload_backup(
            Path(record.path),
            store,
            recipients=run.recipients,
            transfer=run.transfer,
            clock=run.clock,
            progress=run.progress,
        )
    except (LocalBackupError, ManifestError) as exc:
        _failed(run, candidate, f"{candidate.name}: not copied to {base}: {exc}")
        return
    except DestinationError as exc:
        _failed(run, candidate, f"{candidate.name}: not copied to {base}: {exc}")
        if exc.kind in STOPPING:
            outcome.stopped = (
                f"copy stopped: {base} is {_trouble(exc.kind)}; every further backup would "
                "meet the same trouble"
            )
        return
    _copied(run, base, result)


def _failed(run: _Run, candidate: _Candidate, message: str) -> None:
    run.failed_paths.add(candidate.record.path)
    run.outcome.failed.append(candidate.name)
    run.outcome.errors.append(message)
    log.error("%s", message)


def _copied(run: _Run, base: str, result: UploadResult) -> None:
    outcome = run.outcome
    outcome.copied.append(result)
    for name in result.sent:
        outcome.actions.append(FileAction(f"{base}/{name}", FileOutcome.COPIED, SENT))
    for name in result.skipped:
        outcome.actions.append(FileAction(f"{base}/{name}", FileOutcome.SKIPPED, ALREADY_THERE))
    outcome.warnings += [f"{result.backup}: {note}" for note in result.notes]
    log.info("copied %s to %s (%d bytes sent)", result.backup, base, result.bytes_sent)


def _already_copied(run: _Run, store: RemoteStore, candidate: _Candidate) -> bool:
    """True when the sidecar records a verified copy to this store that is still stored at
    its recorded size (or, with a destination policy, is gone: see the module's docstring)."""
    directory = Path(candidate.record.path).parent
    manifest = read_manifest(sidecar_path(directory / candidate.name), expected_file=candidate.name)
    recorded = _recorded(manifest.copies, store.describe())
    if recorded is None:
        return False
    base = store.describe().rstrip("/")
    path = f"{base}/{recorded.object}"
    found = store.head(recorded.object)
    if found is not None and found.size == recorded.size:
        if recorded.sent_pin != manifest.pin:
            _send_pin(run, store, candidate, manifest, recorded)
        run.outcome.already.append(candidate.name)
        verified = recorded.verified.astimezone(run.zone).isoformat(timespec="seconds")
        detail = f"{ALREADY_COPIED} (verified {verified})"
        run.outcome.actions.append(FileAction(path, FileOutcome.SKIPPED, detail))
        return True
    what = "is gone" if found is None else f"is {found.size} bytes, not {recorded.size}"
    if found is None and run.target.retention is not None:
        run.outcome.already.append(candidate.name)
        run.outcome.notes.append(
            f"{path}: its recorded copy is gone, most likely purged by the destination's "
            "policy: not sent again"
        )
        return True
    run.outcome.warnings.append(f"{path}: its recorded copy {what}: sent again")
    return False


def _send_pin(
    run: _Run, store: RemoteStore, candidate: _Candidate, manifest: Manifest, recorded: RemoteCopy
) -> None:
    """The sidecar again, when its pin changed (pinned, unpinned, replaced) since it was
    stored there: the pin travels with the copy, so the destination's purge honours it. Known
    from the copy record (``sent_pin``), so an unchanged backup costs no request."""
    name = candidate.name + ".json"
    path = f"{store.describe().rstrip('/')}/{name}"
    if run.dry_run:
        run.outcome.actions.append(FileAction(path, FileOutcome.WOULD_COPY, _PIN_CHANGED))
        return
    updated = with_copy(manifest, recorded.model_copy(update={"sent_pin": manifest.pin}))
    data = manifest_bytes(updated)
    stored = store.put(name, iter([data]))
    if stored.size != len(data) or read_remote_small(store, name) != data:
        raise DestinationError("corrupt", f"{path}: the stored sidecar differs from the one sent")
    backup = Path(candidate.record.path).parent / candidate.name
    fresh = read_manifest(sidecar_path(backup), expected_file=candidate.name)
    if fresh == manifest:  # else it changed again meanwhile: the next run sends it again
        try:
            write_manifest(backup, updated)
        except OSError as exc:
            raise LocalBackupError(f"{backup}: sidecar sent, not recorded: {exc}") from exc
    run.outcome.actions.append(FileAction(path, FileOutcome.COPIED, _PIN_CHANGED + ": sent"))


_PIN_CHANGED = "its pin changed since it was copied: sidecar sent again"


def _recorded(copies: list[RemoteCopy], destination: str) -> RemoteCopy | None:
    for copy in copies:
        if copy.destination == destination:
            return copy
    return None


def _purge_there(run: _Run, store: RemoteStore) -> None:
    policy = run.target.retention
    assert policy is not None
    base = store.describe().rstrip("/")
    try:
        done = purge_by_policy(store, policy, now=run.clock(), zone=run.zone, dry_run=run.dry_run)
    except DestinationError as exc:
        run.outcome.errors.append(f"{base}: not purged by its policy: {exc}")
        return
    run.outcome.purges.append(done)
    run.outcome.actions += done.outcome.actions
    run.outcome.warnings += done.warnings
    run.outcome.errors += done.errors


def purged_count(outcome: CopyOutcome, *, dry_run: bool) -> int:
    """Backups the destination's purge removed (or would remove): not their sidecars."""
    done = FileOutcome.WOULD_DELETE if dry_run else FileOutcome.DELETED
    went = {a.path for a in outcome.actions if a.outcome is done}
    return sum(1 for purge in outcome.purges for d in purge.plan.delete if d.record.path in went)


def fold_into(report: JobReport, outcome: CopyOutcome, *, prefix: str = "") -> None:
    """The outcome's lines into ``report``; ``prefix`` marks them inside another job's report
    (a backup's: ``copy: ``), which is how an alert tells a failed copy from a failed backup."""
    report.actions += outcome.actions
    report.warnings += [prefix + w for w in outcome.warnings]
    report.errors += [prefix + e for e in outcome.errors]
    if outcome.stopped is not None:
        report.errors.append(prefix + outcome.stopped)
    report.checked += [prefix + n for n in outcome.notes]
