"""Begin and end lines every job logs, pgBackRest style: version and options first, outcome and
time last, so a log read at 3 a.m. says what ran with which settings and how it ended."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from backup_keeper import __version__
from backup_keeper.clock import Clock
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import JobReport
from backup_keeper.timezones import zone_named

log = logging.getLogger("backup_keeper.jobs")


def begin(
    job: str,
    *,
    clock: Clock,
    directories: list[str],
    options: dict[str, Any],
    dry_run: bool = False,
    iris: str | None = None,
) -> JobReport:
    """``iris`` names the adapter the job talks to (fake, embedded, native), so the report and
    the first log line both say which IRIS was behind the run."""
    report = JobReport(
        job=job,
        started=clock(),
        dry_run=dry_run,
        iris=iris,
        directories=directories,
        options=options,
    )
    shown = " ".join(f"{key}={value}" for key, value in options.items() if value is not None)
    prefix = "[dry run] " if dry_run else ""
    via = f" iris={iris}" if iris else ""
    log.info(
        "%s%s begin %s:%s directories=%s %s", prefix, job, __version__, via, directories, shown
    )
    return report


def end(report: JobReport, *, clock: Clock, summary: str) -> JobReport:
    report.finish(clock(), summary)
    prefix = "[dry run] " if report.dry_run else ""
    level = logging.INFO if report.status == "ok" else logging.ERROR
    log.log(
        level,
        "%s%s end: %s: %s (%d ms)",
        prefix,
        report.job,
        report.status,
        summary,
        report.duration_ms,
    )
    return report


def zone_of(report: JobReport) -> tzinfo:
    """The zone the job's text gives its times in: its ``timezone`` option (the instance's),
    else this machine's, as the CLI's tables do, so text and table agree."""
    return zone_named(report.options.get("timezone"))


def conclude(
    report: JobReport,
    steps: Callable[[], str],
    *,
    clock: Clock,
    notifier: Notifier | None,
    what: str,
) -> JobReport:
    """Run a job's ``steps`` (which return its summary) so that the job never raises: any
    failure becomes an error line and a "``what`` failed" summary, the end line is logged, and
    the notifier is told of every outcome (it decides what is news)."""
    try:
        summary = steps()
    except Exception as exc:  # noqa: BLE001 - a job never raises: the report says what failed
        report.errors.append(describe_fault(exc))
        summary = f"{what} failed: {report.errors[-1]}"
    report = end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report
