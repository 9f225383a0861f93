"""Finding an instance left frozen by a backup-keeper process that died, and thawing it; and the
rules every run follows for freeze markers.

Run at the start of every job that talks to IRIS, and by ``backup-keeper doctor``. A frozen
instance blocks every writer once ExternalFreezeTimeOut passes: thawing it is never optional,
and saying loudly that it happened is never optional either.

Markers are the only trace of who froze. So they are removed only once the instance is known not
to be frozen (a confirmed thaw, or a check after a failed freeze), and only the marker that was
judged (this run's own, or the stale one recovered): read back and compared first. A marker that
cannot be read is reported as a freeze by someone unknown and left for a person.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from backup_keeper.freeze_marker import (
    FreezeMarker,
    UnreadableMarker,
    clear_marker,
    parse_marker,
    read_marker,
)
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout, Severity
from backup_keeper.jobs.lifecycle import zone_of
from backup_keeper.jobs.locking import INSTANCE_LOCK
from backup_keeper.report import JobReport

SUSPENDED_BY_BACKUP = (
    "an online backup's last pass suspends the write daemon, and IsWDSuspended() may say so "
    "with no freeze at all"
)


def current_marker(directory: Path, iris: IrisPort) -> FreezeMarker | None:
    """The marker in the directory, else the one inside IRIS; UnreadableMarker when the one
    found cannot be read."""
    return read_marker(directory) or parse_marker(iris.freeze_marker())


def unknown_freezer(report: JobReport, problem: UnreadableMarker) -> None:
    """An unreadable marker: an error (so it alerts), and nothing is thawed or cleared."""
    report.errors.append(
        f"a freeze marker is there but cannot be read ({problem}): the instance may have been "
        "frozen by someone unknown. The marker is left in place: check the instance "
        "(`backup-keeper doctor`, `iris stat <instance> -W`) and remove the marker by hand "
        "once it is understood"
    )


def backup_running(iris: IrisPort) -> bool:
    """Whether another backup-keeper backup runs now: it holds the instance lock. Only for a
    caller that does not hold that lock itself (doctor, the hook commands): a job holding it
    knows that no other backup-keeper backup runs.

    This is the one sign used that an online backup may be in its last pass. IRIS documents no
    call that says a backup is running (CR Backup.General: ``AbortBackup`` would tell, by
    aborting it), so a backup IRIS runs itself (its own task) cannot be seen here: doctor never
    thaws a freeze it has no marker for, and says so in its finding."""
    if iris.acquire_lock(INSTANCE_LOCK, 0):
        iris.release_lock(INSTANCE_LOCK)
        return False
    return True


def recover_frozen(
    directory: Path,
    iris: IrisPort,
    report: JobReport,
    now: datetime,
    *,
    running_backup: bool = False,
) -> None:
    """Thaw an instance whose freezer is gone; clear markers that no longer mean anything.
    IrisError propagates with every marker still in place.

    With ``running_backup`` (another backup-keeper backup holds the instance lock), a suspended
    write daemon may be that backup's last pass, not the stale freeze: nothing is thawed (a thaw
    then would resume the daemon under a running backup) and the marker stays for the next run.
    Whether ``IsWDSuspended()`` reports that pass is unverified (ledger): if it does not, the
    instance reads as running and only the marker is cleared, which is right either way."""
    try:
        marker = current_marker(directory, iris)
    except UnreadableMarker as problem:
        unknown_freezer(report, problem)
        return
    if marker is None:
        return
    who = marker.describe(zone_of(report))
    if not marker.is_stale(now):
        report.warnings.append(f"a freeze by {who} is still in progress")
        return
    if not iris.is_frozen():
        release_markers(directory, iris, marker, report)
        report.warnings.append(f"stale freeze marker of {who} cleared: the instance was not frozen")
        return
    if running_backup:
        report.warnings.append(
            f"a stale freeze marker of {who} is there and the write daemon is "
            f"suspended, but a backup-keeper backup is running ({INSTANCE_LOCK} is held) and "
            f"{SUSPENDED_BY_BACKUP}: nothing thawed; the marker is judged again by the next run"
        )
        return
    _thaw_left_behind(directory, iris, report, marker)


def _thaw_left_behind(
    directory: Path, iris: IrisPort, report: JobReport, marker: FreezeMarker
) -> None:
    who = marker.describe(zone_of(report))
    why = confirmed_thaw(iris, log_file="", namespace=marker.sharded_namespace)
    if why is not None:
        message = (
            f"CRITICAL: the instance was left frozen by {who} and could not be "
            f"thawed ({why}); thaw it now (iris stat <instance> -W resumes the write daemon)"
        )
        report.errors.append(message)
        console(iris, message, Severity.FATAL)
        return
    release_markers(directory, iris, marker, report)
    message = (
        f"CRITICAL: the instance was left frozen by {who}; it has been thawed "
        "now. The snapshot taken during that freeze must not be trusted."
    )
    report.warnings.append(message)
    console(iris, message, Severity.SEVERE)


def confirmed_thaw(iris: IrisPort, *, log_file: str, namespace: str | None) -> str | None:
    """ExternalThaw, then a look at the write daemon: None once it is seen running, otherwise
    why the instance may still be frozen."""
    try:
        iris.external_thaw(log_file=log_file, sharded_namespace=namespace)
    except IrisError as exc:
        return f"ExternalThaw failed: {exc}"
    try:
        still = iris.is_frozen()
    except IrisError as exc:
        return f"ExternalThaw returned but the write daemon could not be checked: {exc}"
    return "ExternalThaw returned but the write daemon is still suspended" if still else None


def undo_failed_freeze(
    directory: Path,
    iris: IrisPort,
    report: JobReport,
    marker: FreezeMarker,
    failure: IrisError,
    *,
    step: str = "ExternalFreeze",
    log_file: str = "",
) -> str:
    """ExternalFreeze (or recording its marker) failed. The markers go only once the instance
    is seen running; frozen after all, it is thawed; when that cannot be known, it is CRITICAL
    and the markers stay for ``thaw`` or the next run; so too when ExternalFreeze did not answer
    (IRIS may freeze after the job gave up on it). Returns the job's summary."""
    if isinstance(failure, IrisTimeout) and failure.call == "external_freeze":
        report.errors.append(freeze_unanswered(iris, failure))
        return report.errors[-1]
    try:
        frozen = iris.is_frozen()
    except IrisError as exc:
        why: str | None = f"whether it is frozen cannot be told: {exc}"
    else:
        if not frozen:
            release_markers(directory, iris, marker, report)
            report.errors.append(f"{step} failed, the instance is not frozen: {failure}")
            return report.errors[-1]
        why = confirmed_thaw(iris, log_file=log_file, namespace=marker.sharded_namespace)
    if why is None:
        release_markers(directory, iris, marker, report)
        report.errors.append(
            f"{step} failed ({failure}) but the instance was frozen; it has been thawed"
        )
        return report.errors[-1]
    message = (
        f"CRITICAL: {step} failed ({failure}) and the instance may be frozen ({why}); "
        "the freeze markers are kept: run `backup-keeper thaw` or `iris stat <instance> -W` now"
    )
    report.errors.append(message)
    console(iris, message, Severity.FATAL)
    return message


def release_markers(
    directory: Path, iris: IrisPort, marker: FreezeMarker, report: JobReport
) -> None:
    """Remove both copies of ``marker``, only once the instance is known not to be frozen, and
    each only if it is still ``marker``. A copy left behind is a warning, never a failure: the
    instance is running, and a stale marker is cleared by the next run."""
    try:
        why = clear_marker(directory, marker, zone_of(report))
    except OSError as exc:
        why = f"it cannot be removed: {exc.strerror}"
    if why is not None:
        report.warnings.append(f"freeze marker in {directory} left in place: {why}")
    try:
        inside = parse_marker(iris.freeze_marker())
        if inside == marker:
            iris.set_freeze_marker(None)
        elif inside is not None:
            held = inside.describe(zone_of(report))
            report.warnings.append(f"freeze marker inside IRIS left in place: it belongs to {held}")
    except (IrisError, UnreadableMarker) as exc:
        report.warnings.append(f"freeze marker inside IRIS left in place: {exc}")


def freeze_unanswered(iris: IrisPort, exc: IrisTimeout) -> str:
    """What a job says when ExternalFreeze did not answer in time. No answer is not a refusal:
    IRIS may freeze after the job gave up on the call, so the markers stay (the only record that
    backup-keeper froze it) for ``thaw``, ``doctor`` or the next run to act on."""
    message = (
        f"CRITICAL: ExternalFreeze did not answer ({exc}): the instance may be frozen now or "
        "soon; the freeze markers are kept. Check it and thaw with `backup-keeper thaw` "
        "(or iris stat <instance> -W)"
    )
    console(iris, message, Severity.FATAL)
    return message


def console(iris: IrisPort, message: str, severity: Severity) -> None:
    """A copy in messages.log, where the System Monitor looks; never fails the caller."""
    # the report carries the message; messages.log is a second copy
    with contextlib.suppress(IrisError):
        iris.write_console_log(f"backup-keeper: {message}", severity)
