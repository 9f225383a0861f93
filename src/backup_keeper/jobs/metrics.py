"""The metrics job: backup health as Prometheus metrics (metrics.py), delivered where the caller
asks: the snapshot ``BackupKeeper.Metrics`` copies into IRIS's /api/monitor/metrics (given a
port), a node_exporter textfile (written atomically: the collector never reads half a file),
and the text itself (OpenMetrics or one JSON object) for whoever shows it.

The same job runs from the CLI, from a Task Manager task (BackupKeeper.Task.Metrics, on the
installer's schedule) and from the production, and the door layer runs it after every job that
changes what the metrics say, so the snapshot the monitor shows stays fresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from backup_keeper.alerts.settings import AlertSettings
from backup_keeper.clock import Clock, system_clock
from backup_keeper.iris.port import IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.metrics import (
    Collected,
    collect_metrics,
    metrics_json,
    openmetrics_text,
    sensor_rows,
    textfile_text,
)
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.safe_files import write_atomic
from backup_keeper.settings import CatalogSettings
from backup_keeper.timezones import resolve_zone

MetricsFormat = Literal["openmetrics", "json"]
TEXTFILE_SUFFIX = ".prom"
"""node_exporter's textfile collector reads only ``*.prom`` files."""
Show = Callable[[str], object]
"""Where the text goes (the CLI: stdout)."""


class MetricsSettings(CatalogSettings):
    """The directories, and where else the metrics go. ``alerts``: the alert settings of the
    jobs, whose state file (when they name one) records which jobs are failing."""

    format: MetricsFormat = Field(
        default="openmetrics", description="The text shown: openmetrics, or json (one object)."
    )
    textfile: Path | None = Field(
        default=None,
        description="A node_exporter textfile (*.prom) to replace atomically; none by default.",
    )
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("textfile")
    @classmethod
    def _readable_by_node_exporter(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.suffix != TEXTFILE_SUFFIX:
            raise ValueError(f"node_exporter reads only *.prom files: {value}")
        if not value.parent.is_dir():
            raise ValueError(f"no such directory: {value.parent}")
        return value


def run_metrics(
    settings: MetricsSettings,
    *,
    iris: IrisPort | None = None,
    show: Show | None = None,
    clock: Clock = system_clock,
) -> JobReport:
    """Collect the metrics of ``settings.directories`` at ``clock()``; publish them to
    ``iris``'s snapshot, write the textfile, then hand the text to ``show``, each when given
    (the text last, so that nothing is shown for a run that failed). Never raises: a directory,
    the textfile or IRIS that fails is a failed report."""
    report = lifecycle.begin(
        "metrics",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options={"timezone": settings.timezone, "format": settings.format},
        iris=iris.adapter_name if iris else None,
    )

    def steps() -> str:
        zone = resolve_zone(settings.timezone)
        found = collect_metrics(
            settings.directories, zone, report.started, alert_state=settings.alerts.state_file
        )
        report.warnings += found.warnings
        went = []
        if iris is not None:
            iris.publish_metrics(sensor_rows(found.families))
            went.append("published to IRIS's monitor")
        if settings.textfile is not None:
            target = settings.textfile
            write_atomic(target.parent, target.name, textfile_text(found.families).encode())
            went.append(f"written to {target}")
        if show is not None:
            show(_text(found, settings.format, report))
        samples = sum(len(family.samples) for family in found.families)
        return f"{samples} sample(s) in {len(found.families)} metric(s)" + "".join(
            f"; {where}" for where in went
        )

    return lifecycle.conclude(report, steps, clock=clock, notifier=None, what="metrics")


def _text(found: Collected, fmt: MetricsFormat, report: JobReport) -> str:
    if fmt == "json":
        return metrics_json(found.families, report.started)
    return openmetrics_text(found.families)


def run_then_publish(
    run: Callable[[], JobReport], *, iris: IrisPort, alerts: AlertSettings, timezone: str | None
) -> JobReport:
    """``run`` (a job that changes what the metrics say), then, unless it was a dry run, the
    snapshot IRIS's monitor shows rebuilt for its directories, after its notifier was told, so
    a job now failing shows as failing. One job for the doors: a task and an operation always
    have a port, so the monitor never waits for the next metrics task. A refresh that fails is
    a warning on the job's report, never the job's failure."""
    report = run()
    if report.dry_run:
        return report
    try:
        refresh = MetricsSettings(
            directories=[Path(d) for d in report.directories], timezone=timezone, alerts=alerts
        )
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        report.warnings.append(f"metrics snapshot not refreshed: {problems}")
        return report
    refreshed = run_metrics(refresh, iris=iris)
    if refreshed.status is JobStatus.FAILED:
        report.warnings.append(f"metrics snapshot not refreshed: {refreshed.summary}")
    return report
