"""The online backup job: one ``$$BACKUP^DBACK`` run, checked, described, and followed by the
purge of its directory. Reads as its steps; any failure before the backup writes nothing, any
failure of the backup removes the partial ``.cbk``, keeps IRIS's log and purges nothing. No
failure, IRIS's, the disk's or this tool's, ever escapes: it is a failed report, and the
notifier is told."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from backup_keeper import __version__
from backup_keeper.catalog.discover import discover, leftover_temp_warnings
from backup_keeper.catalog.history import (
    ForeignBackup,
    base_in_history,
    history_key,
    oldest_first,
    record_key,
)
from backup_keeper.catalog.manifest import Manifest, MirrorInfo, read_manifest, write_manifest
from backup_keeper.catalog.record import BackupRecord, BackupStatus
from backup_keeper.checksum import file_checksum
from backup_keeper.clock import Clock, system_clock
from backup_keeper.compression import compress_file
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.iris.port import (
    BackupOutcome,
    DatabaseInfo,
    IrisError,
    IrisPort,
    MirrorState,
    OnlineResult,
)
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.iris_formats.backup_log import parse_backup_log
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.freeze_recovery import recover_frozen
from backup_keeper.jobs.locking import INSTANCE_LOCK, lock_refusal
from backup_keeper.jobs.offsite_step import copy_to_target
from backup_keeper.jobs.purge import run_purge, what_was_purged
from backup_keeper.kinds import BackupKind
from backup_keeper.mirror_policy import role_refusal
from backup_keeper.notify import Notifier
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.report import BackupDetails, JobReport, JobStatus
from backup_keeper.settings import BackupSettings, PurgeSettings
from backup_keeper.small_files import TooLarge, read_small
from backup_keeper.timezones import resolve_zone

LOCK_NAME = INSTANCE_LOCK
LOG_LIMIT = 16 << 20
"""Largest IRIS backup log read (one is a few kilobytes; a larger one is not IRIS's)."""
WAIT_SLICE = 0.5
"""Seconds between two looks at the .cbk IRIS is writing, while the job waits for it."""


class _Stop(Exception):
    """A step decided the job ends here; the report already says why."""


@dataclass(slots=True)
class _Run:
    settings: BackupSettings
    iris: IrisPort
    report: JobReport
    details: BackupDetails
    clock: Clock
    progress: Progress = NO_PROGRESS
    base: tuple[BackupRecord | None] | None = None
    """The base :func:`_base_in` chose, once chosen."""
    estimate: int | None = None
    """IRIS's estimate of the .cbk's size, once asked."""
    opener: StoreOpener = open_destination

    def fail(self, message: str) -> _Stop:
        self.report.errors.append(message)
        return _Stop()


def run_online_backup(
    settings: BackupSettings,
    *,
    iris: IrisPort,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
    progress: Progress = NO_PROGRESS,
    opener: StoreOpener = open_destination,
) -> JobReport:
    """Take one online backup as ``settings`` say, through ``iris``; never raises for IRIS's or
    the disk's failures: they are in the report, and ``notifier`` is told of failures.
    ``progress`` hears of the long steps: IRIS writing the .cbk, checksums, compression, the
    copies; ``opener`` reaches the ``copy_to`` destinations."""
    report = lifecycle.begin(
        "backup",
        clock=clock,
        directories=[str(settings.directory)],
        options=settings.model_dump(mode="json", exclude={"directory", "retention", "copy_to"})
        | (
            {"copy_to": [t.location.redacted() for t in settings.copy_to]}
            if settings.copy_to
            else {}
        ),
        iris=iris.adapter_name,
    )
    details = BackupDetails(requested_kind=settings.kind, kind=settings.kind)
    report.backup = details
    run = _Run(settings, iris, report, details, clock, progress, opener=opener)
    return lifecycle.conclude(
        report, lambda: _locked(run), clock=clock, notifier=notifier, what="backup"
    )


def _locked(run: _Run) -> str:
    """The steps under the instance lock, then the copy and the purge outside it (a copy of
    hundreds of gigabytes over a paced link must not hold the next backup back); a step that
    stops the job has already said why."""
    try:
        _take_lock(run)
        try:
            directory, kind, cbk = _steps(run)
        finally:
            run.iris.release_lock(LOCK_NAME)
        return _after_backup(run, directory, kind, cbk)
    except _Stop:
        if run.report.status is JobStatus.SKIPPED:
            return f"backup {run.report.warnings[-1]}"
        return f"backup failed: {run.report.errors[-1]}"


def _steps(run: _Run) -> tuple[Path, BackupKind, Path]:
    directory = _check_directory(run)
    recover_frozen(directory, run.iris, run.report, run.report.started)
    _check_role(run)
    databases = run.iris.databases()
    kind = _choose_kind(run, databases, directory)
    original_list = _narrow_scope(run, databases)
    try:
        _check_space(run, kind, directory)
        cbk, log = _fresh_names(run, directory, kind)
        outcome = _run_backup(run, kind, cbk, log)
    finally:
        if original_list is not None:
            _restore_list(run, original_list)
    _judge(run, outcome, cbk, log)
    _describe(run, kind, cbk, log)
    if run.settings.compress:
        _compress(run, cbk)
    return directory, kind, cbk


def _after_backup(run: _Run, directory: Path, kind: BackupKind, cbk: Path) -> str:
    """Copy off-site, then purge: the purge then sees which backups are copied."""
    copied = _copy(run, directory)
    _purge(run, directory)
    summary = f"{kind} backup {run.details.result}: {cbk.name} ({run.details.size} bytes)" + (
        f"; {what_was_purged(run.report)}" if run.settings.retention else ""
    )
    summary += "".join(f"; {line}" for line in copied)
    errors = run.report.errors
    if errors:  # the backup is good, but the run is not: the one line must say both
        summary += f"; but {len(errors)} error(s), first: {errors[0]}"
    return summary


def _take_lock(run: _Run) -> None:
    if not run.iris.acquire_lock(LOCK_NAME, run.settings.lock_timeout):
        raise run.fail(lock_refusal(run.settings.lock_timeout))


def _check_role(run: _Run) -> None:
    why = role_refusal(run.settings.run_on, run.iris.mirror())
    if why is not None:
        run.report.status = JobStatus.SKIPPED
        run.report.warnings.append(f"skipped: {why}")
        raise _Stop


def _check_directory(run: _Run) -> Path:
    """Writable for this user and mounted read-write, asked of the kernel: nothing is created
    here, so nothing can be planted under a name we would write."""
    directory = run.settings.directory
    if not directory.is_dir():
        raise run.fail(f"{directory}: no such directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        read_only = os.statvfs(directory).f_flag & os.ST_RDONLY
        raise run.fail(
            f"{directory}: not writable: {os.strerror(errno.EROFS if read_only else errno.EACCES)}"
        )
    run.report.warnings += leftover_temp_warnings(directory.resolve())
    return directory.resolve()


def _choose_kind(run: _Run, databases: list[DatabaseInfo], directory: Path) -> BackupKind:
    """Promote to full when IRIS flags a database for a full, when nothing in this directory
    could serve as the base a restore of the requested kind needs, or when the instance's last
    backup (of any type for an incremental, its last full for a cumulative) is not that base:
    IRIS builds the new backup on the instance's last one, wherever it was taken, so building
    on anything else would leave a chain in this directory that no restore can use."""
    kind = BackupKind(run.settings.kind)
    if kind is BackupKind.FULL:
        return kind
    flagged = [d.directory for d in databases if d.needs_full]
    reason = None
    if flagged:
        reason = f"IRIS says the next backup of {', '.join(flagged)} must be a full"
    else:
        reason = _history_refusal(run, directory, kind)
    if reason is None:
        return kind
    run.report.warnings.append(f"{kind} promoted to full: {reason}")
    run.details.kind = BackupKind.FULL.value
    return BackupKind.FULL


def _history_refusal(run: _Run, directory: Path, kind: BackupKind) -> str | None:
    """Why the instance's history says a ``kind`` backup here would rest on a backup this
    directory does not hold; None when it rests on this directory's base."""
    try:
        history = run.iris.backup_history()
    except IrisError as exc:
        return (
            f"the instance's backup history could not be read ({exc}), so its last backup is "
            "not known"
        )
    base = _base_in(directory, run, kind, history)
    if base is None:
        return f"no completed backup in {directory} that a {kind} could build on"
    ordered = oldest_first(history)
    last = base_in_history(ordered, len(ordered), kind)
    if last is not None and history_key(ordered[last]) == record_key(base):
        return None
    what = "backup" if kind is BackupKind.INCREMENTAL else "full backup"
    if last is None:
        return (
            f"the instance's backup history lists no completed {what}, so it cannot show that "
            f"{Path(base.path).name}, where this directory's chain ends, is the one IRIS "
            "would build on"
        )
    foreign = ForeignBackup(ordered[last]).describe(lifecycle.zone_of(run.report))
    return (
        f"the instance's last {what} is {foreign}, not "
        f"{Path(base.path).name} where this directory's chain ends: this {kind} would rest "
        "on a backup this directory does not hold"
    )


def _base_in(
    directory: Path, run: _Run, kind: BackupKind, history: list[HistoryEntry] | None = None
) -> BackupRecord | None:
    """The backup a new ``kind`` backup builds on, from this directory's catalog: chosen once,
    before the backup (``history`` given), and handed back unchanged when the manifest is
    written, when IRIS's history already holds the new backup itself."""
    if run.base is not None:
        return run.base[0]
    catalog = discover([directory], resolve_zone(run.settings.timezone), history=history)
    usable = [r for r in catalog.records if r.restorable]
    if kind is BackupKind.CUMULATIVE:
        usable = [r for r in usable if r.kind.starts_chain]
    base = usable[-1] if usable else None
    run.base = (base,)
    return base


PRODUCT_LIBRARIES = frozenset({"ENSLIB"})
"""Read-only by design: ENSLIB holds the interoperability code of the product (the system-supplied
databases of the IRIS orientation guide), so its being read-only is no news on any run."""


def _narrow_scope(run: _Run, databases: list[DatabaseInfo]) -> list[str] | None:
    """Leave read-only databases out for this run, or warn. The instance's list is edited by
    database name (``AddDatabaseToList``), read first so it can be put back by name; an empty
    list means every database, so a run with nothing writable left backs up nothing at all. A
    read-only product library alone changes nothing and says nothing."""
    read_only = [d for d in databases if d.read_only]
    if not [d for d in read_only if d.name.upper() not in PRODUCT_LIBRARIES]:
        return None
    names = ", ".join(d.directory for d in read_only)
    if run.settings.read_only == "warn":
        run.report.warnings.append(f"read-only database(s) backed up as they are: {names}")
        return None
    keep = [d.name for d in databases if not d.read_only]
    if not keep:
        raise run.fail(
            f"every database in the backup's scope is read-only ({names}): with read_only "
            "exclude there is nothing to back up; the backup list was not changed"
        )
    original = run.iris.backup_database_list()  # names, checked by the port: nothing changed yet
    try:
        run.iris.set_backup_database_list(keep)
    except Exception:
        _restore_list(run, original)  # IRIS may have cleared the list before refusing a name
        raise
    run.report.warnings.append(f"read-only database(s) left out of this backup: {names}")
    return original


LIST_RESTORE_ATTEMPTS = 3


def _restore_list(run: _Run, original: list[str]) -> None:
    """Put the instance's backup list back as it was, on every way out of the job; never
    raises (it runs on the way out of failures, which must stay the ones reported). A list
    that cannot be put back is an error that names it, so a person can."""
    problem: Exception | None = None
    for attempt in range(1, LIST_RESTORE_ATTEMPTS + 1):
        try:
            run.iris.set_backup_database_list(original)
            if run.iris.backup_database_list() == original:
                if attempt > 1:
                    run.report.warnings.append(
                        f"the backup database list was restored on attempt {attempt} ({problem})"
                    )
                return
            problem = IrisError("the list read back differs from the one set")
        except Exception as exc:  # noqa: BLE001 - reported below, with the list to put back
            problem = exc
    shown = original if original else "[] (empty: every database)"
    run.report.errors.append(
        f"the instance's backup database list could not be restored to {shown} "
        f"({describe_fault(problem) if problem else 'unknown'}): set it back by hand "
        "(Backup.General ClearDatabaseList, then AddDatabaseToList for each name)"
    )


def _check_space(run: _Run, kind: BackupKind, directory: Path) -> None:
    estimate = run.iris.size_estimate(kind).bytes_for_file
    run.estimate = estimate
    needed = int(estimate * run.settings.free_space_margin)
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise run.fail(
            f"{directory}: {free} bytes free, {needed} needed "
            f"(estimate {estimate} x margin {run.settings.free_space_margin:g}); nothing written"
        )


def _fresh_names(run: _Run, directory: Path, kind: BackupKind) -> tuple[Path, Path]:
    """``<prefix>_<kind>_<yyyymmddTHHMMSSZ>[_n].cbk``: never a name any of its files already has."""
    stamp = run.report.started.strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        stem = f"{run.settings.prefix}_{kind}_{stamp}" + (f"_{n}" if n > 1 else "")
        cbk, log = directory / f"{stem}.cbk", directory / f"{stem}.log"
        if not any(p.exists() for p in (cbk, log, cbk.with_name(cbk.name + ".json"))):
            return cbk, log
    raise run.fail(f"{directory}: no free file name for {stamp}")


def _run_backup(run: _Run, kind: BackupKind, cbk: Path, log: Path) -> BackupOutcome:
    """The backup call, on a watchdog: IRIS cannot be interrupted from here, so a call that
    outlives ``timeout`` is asked to abort and the job reports the failure without waiting."""
    run.details.log = str(log)
    box: list[BackupOutcome | BaseException] = []

    def call() -> None:
        try:
            box.append(
                run.iris.online_backup(
                    kind,
                    description=run.settings.description or f"backup-keeper {kind}",
                    file=str(cbk),
                    log_file=str(log),
                    quiet_timeout=run.settings.quiet_timeout,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - carried to the job's thread
            box.append(exc)

    worker = threading.Thread(target=call, name="iris-online-backup", daemon=True)
    worker.start()
    _wait(run, worker, cbk)
    if not box:
        try:
            run.iris.abort_backup()
        except IrisError as exc:
            run.report.warnings.append(f"asking IRIS to abort the backup failed: {exc}")
        _remove_partial(run, cbk)
        raise run.fail(
            f"the backup did not return within {run.settings.timeout:g} s; abort requested"
        )
    result = box[0]
    if isinstance(result, BaseException):
        _remove_partial(run, cbk)
        if isinstance(result, Exception):
            raise run.fail(describe_fault(result))
        raise result
    return result


def _wait(run: _Run, worker: threading.Thread, cbk: Path) -> None:
    """Wait for IRIS at most ``timeout``, telling ``progress`` how much of the .cbk it has
    written so far against its own estimate (the only sign of life IRIS gives meanwhile)."""
    deadline = time.monotonic() + run.settings.timeout
    seen = 0
    with step(run.progress, f"IRIS writing {cbk.name}", run.estimate, "bytes") as progress:
        while worker.is_alive() and (left := deadline - time.monotonic()) > 0:
            worker.join(min(left, WAIT_SLICE))
            size = _size_now(cbk)
            if size > seen:
                progress.advance(size - seen)
                seen = size


def _size_now(path: Path) -> int:
    """How big the file is now; 0 while it is not there (or cannot be looked at): a progress
    figure, never a verdict."""
    with contextlib.suppress(OSError):
        return path.stat().st_size
    return 0


def _judge(run: _Run, outcome: BackupOutcome, cbk: Path, log: Path) -> None:
    """Completed only when IRIS said so *and* its log reached the finish line."""
    run.details.iris_return = outcome.raw
    text = outcome.log_text if outcome.log_text is not None else _read_log(run, cbk, log)
    parsed = parse_backup_log(text) if text is not None else None
    if parsed is not None:
        run.details.journal_required = parsed.journal_required
    if outcome.result is OnlineResult.FAILED:
        _remove_partial(run, cbk)
        detail = f": {parsed.errors[-1]}" if parsed and parsed.errors else ""
        raise run.fail(f"IRIS reported the backup failed (returned {outcome.raw!r}){detail}")
    if parsed is None or not parsed.finished:
        _remove_partial(run, cbk)
        raise run.fail(
            f"IRIS returned {outcome.raw!r} but its log {log.name} never reached "
            "***FINISHED BACKUP***: treated as failed"
        )
    if not cbk.is_file():
        raise run.fail(f"IRIS reported success but {cbk} does not exist")
    run.details.result = outcome.result.value
    run.report.warnings += [f"IRIS warning: {w}" for w in outcome.warnings]


def _read_log(run: _Run, cbk: Path, log: Path) -> str | None:
    """IRIS's log on this disk; None when there is none. One that is there but cannot be read
    leaves the backup unconfirmed: kept (it may be good), never counted as completed."""
    try:
        return read_small(log, limit=LOG_LIMIT).decode(errors="replace")
    except FileNotFoundError:
        return None
    except (OSError, TooLarge) as exc:
        run.details.result = OnlineResult.FAILED.value
        why = describe_fault(exc) if isinstance(exc, OSError) else str(exc)
        raise run.fail(
            f"IRIS's log {log.name} cannot be read ({why}): the backup cannot be confirmed; "
            f"{cbk.name} is kept without a manifest and nothing was purged"
        ) from exc


def _remove_partial(run: _Run, cbk: Path) -> None:
    """Never raises: it runs on the way out of a failure, which must stay the one reported."""
    run.details.result = OnlineResult.FAILED.value
    run.details.file = None
    try:
        if cbk.is_file() and not cbk.is_symlink():
            cbk.unlink()
            run.report.warnings.append(f"partial {cbk.name} removed; IRIS's log kept")
    except OSError as exc:
        run.report.warnings.append(f"partial {cbk.name} could not be removed: {exc.strerror}")


def _describe(run: _Run, kind: BackupKind, cbk: Path, log: Path) -> None:
    """Checksum, then the sidecar manifest: from here on the backup is fully managed. Until the
    manifest is written, a failure keeps the backup (IRIS has it in its history: never delete
    it) but purges nothing on top of a backup this tool cannot vouch for."""
    try:
        _write_description(run, kind, cbk, log)
    except (OSError, IrisError, ValueError) as exc:
        raise run.fail(
            f"the backup completed but could not be checksummed and described "
            f"({describe_fault(exc)}); {cbk.name} is kept without a manifest and nothing was "
            "purged"
        ) from exc


def _write_description(run: _Run, kind: BackupKind, cbk: Path, log: Path) -> None:
    size = cbk.stat().st_size
    with step(run.progress, f"checksum {cbk.name}", size, "bytes") as progress:
        checksum = file_checksum(cbk, run.settings.checksum, progress=progress)
    instance = run.iris.instance()
    base = None if kind is BackupKind.FULL else _base_in(cbk.parent, run, kind)
    manifest = Manifest(
        file=cbk.name,
        kind=kind,
        status=BackupStatus.WARNING if run.details.result == "warning" else BackupStatus.COMPLETED,
        started=run.report.started,
        finished=run.clock(),
        databases=[d.directory for d in run.iris.databases()],
        size=size,
        checksum=checksum,
        iris_log=log.name,
        journal_file_required=run.details.journal_required,
        instance=instance.name,
        mirror=_mirror_info(run.iris.mirror()),
        chain_parent=Path(base.path).name.removesuffix(".zst") if base is not None else None,
        tool_version=__version__,
        warnings=list(run.report.warnings),
    )
    sidecar = write_manifest(cbk, manifest)
    run.details.file, run.details.manifest, run.details.size = str(cbk), str(sidecar), size
    run.details.checksum = f"{checksum.algorithm}:{checksum.hex}"
    run.details.chain_parent = manifest.chain_parent


def _compress(run: _Run, cbk: Path) -> None:
    """.cbk -> .cbk.zst, then the manifest says so, then the .cbk goes: a crash in between
    leaves either the .cbk still described (the .zst an unmanaged leftover) or both, and the
    catalog takes the described one. A failure before the manifest says so keeps the .cbk,
    described and managed, removes the .zst it made, and purges nothing."""
    target = cbk.with_name(cbk.name + ".zst")
    made = False
    try:
        with step(run.progress, f"compress {cbk.name}", _size_now(cbk), "bytes") as progress:
            stored_size = compress_file(
                cbk, target, level=run.settings.compress_level, progress=progress
            )
        made = True
        manifest = read_manifest(cbk.with_name(cbk.name + ".json"), expected_file=cbk.name)
        with step(run.progress, f"checksum {target.name}", stored_size, "bytes") as progress:
            stored_checksum = file_checksum(target, run.settings.checksum, progress=progress)
        compressed = manifest.model_copy(
            update={
                "compression": "zstd",
                "stored_size": stored_size,
                "stored_checksum": stored_checksum,
            }
        )
        write_manifest(cbk, compressed)
    except Exception as exc:  # zstd, the disk, the manifest: one outcome, re-raised as _Stop
        _remove_own(run, target, made)
        raise run.fail(
            f"the backup completed and its manifest describes {cbk.name}, which is kept "
            f"uncompressed and managed; compressing it failed ({describe_fault(exc)}), so "
            "nothing was purged"
        ) from exc
    run.details.file = str(target)
    try:
        cbk.unlink()
    except OSError as exc:
        run.report.warnings.append(
            f"{target.name} is the described backup, but the uncompressed {cbk.name} could not "
            f"be removed ({exc.strerror}): remove it by hand"
        )


def _remove_own(run: _Run, target: Path, made: bool) -> None:
    """Remove the .zst this run made, which no manifest describes."""
    if not made:
        return
    try:
        target.unlink()
    except OSError as exc:
        run.report.warnings.append(
            f"{target.name} (made by this run, described by no manifest) could not be "
            f"removed: {exc.strerror}"
        )


def _mirror_info(state: MirrorState) -> MirrorInfo | None:
    return MirrorInfo(name=state.name, role=state.role) if state.role != "none" else None


def _copy(run: _Run, directory: Path) -> list[str]:
    """The new backup, and any earlier one not yet there, to each ``copy_to`` target; each
    target's lines marked ``copy: `` in the report. A failed copy is an error (the job fails
    and the alert says the copy failed), never a reason to delete: the purge that follows
    keeps whatever is not copied. Returns one summary line per target."""
    return [
        copy_to_target(
            [directory],
            target,
            report=run.report,
            opener=run.opener,
            zone=resolve_zone(run.settings.timezone),
            clock=run.clock,
            progress=run.progress,
        )
        for target in run.settings.copy_to
    ]


def _purge(run: _Run, directory: Path) -> None:
    """Only after a completed backup, with the job's clock, folded into the same report."""
    if run.settings.retention is None:
        return
    purged = run_purge(
        PurgeSettings(
            directories=[directory],
            retention=run.settings.retention,
            timezone=run.settings.timezone,
            require_offsite_copy=[t.destination.url for t in run.settings.copy_to],
        ),
        clock=run.clock,
        progress=run.progress,
    )
    report = run.report
    report.keep, report.delete, report.unmanaged = purged.keep, purged.delete, purged.unmanaged
    report.actions += purged.actions
    report.warnings += [f"purge: {w}" for w in purged.warnings]
    report.errors += [f"purge: {e}" for e in purged.errors]
