"""Finding an instance left frozen by a backup-keeper process that died, and thawing it.

Run at the start of every job that talks to IRIS, and by ``backup-keeper doctor``. A frozen
instance blocks every writer once ExternalFreezeTimeOut passes: thawing it is never optional,
and saying loudly that it happened is never optional either.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from backup_keeper.freeze_marker import FreezeMarker, clear_marker, parse_marker, read_marker
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout, Severity
from backup_keeper.report import JobReport


def recover_frozen(directory: Path, iris: IrisPort, report: JobReport, now: datetime) -> None:
    """Thaw an instance whose freezer is gone; clear markers that no longer mean anything."""
    marker = read_marker(directory) or parse_marker(iris.freeze_marker() or "")
    if marker is None:
        return
    if not marker.is_stale(now):
        report.warnings.append(f"a freeze by {marker.describe()} is still in progress")
        return
    if not iris.is_frozen():
        clear_freeze(directory, iris)
        report.warnings.append(
            f"stale freeze marker of {marker.describe()} cleared: the instance was not frozen"
        )
        return
    _thaw_left_behind(directory, iris, report, marker)


def _thaw_left_behind(
    directory: Path, iris: IrisPort, report: JobReport, marker: FreezeMarker
) -> None:
    try:
        iris.external_thaw(log_file="", sharded_namespace=marker.sharded_namespace)
        still_frozen = iris.is_frozen()
    except IrisError as exc:
        still_frozen, why = True, f"ExternalThaw failed: {exc}"
    else:
        why = "ExternalThaw returned but the write daemon is still suspended"
    if still_frozen:
        message = (
            f"CRITICAL: the instance was left frozen by {marker.describe()} and could not be "
            f"thawed ({why}); thaw it now (iris stat <instance> -W resumes the write daemon)"
        )
        report.errors.append(message)
        console(iris, message, Severity.FATAL)
        return
    clear_freeze(directory, iris)
    message = (
        f"CRITICAL: the instance was left frozen by {marker.describe()}; it has been thawed "
        "now. The snapshot taken during that freeze must not be trusted."
    )
    report.warnings.append(message)
    console(iris, message, Severity.SEVERE)


def clear_freeze(directory: Path, iris: IrisPort) -> None:
    """Remove both markers: only ever after a thaw was verified."""
    clear_marker(directory)
    iris.set_freeze_marker(None)


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
