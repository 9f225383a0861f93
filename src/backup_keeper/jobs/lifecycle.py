"""Begin and end lines every job logs, pgBackRest style: version and options first, outcome and
time last, so a log read at 3 a.m. says what ran with which settings and how it ended."""

from __future__ import annotations

import logging
from typing import Any

from backup_keeper import __version__
from backup_keeper.clock import Clock
from backup_keeper.report import JobReport

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
