"""``metrics``: backup health as Prometheus metrics, the names IRIS's monitor shows.

Printed as OpenMetrics text or one JSON object, or written as a node_exporter textfile (classic
text format, atomically: the collector never reads half a file) for hosts without IRIS; with
``--iris``, also the snapshot ``BackupKeeper.Metrics`` copies into /api/monitor/metrics. The
command only translates its flags into one call of the metrics job (jobs/metrics.py)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

import typer

from backup_keeper import jobs
from backup_keeper.cli import common
from backup_keeper.cli.render import printable
from backup_keeper.report import JobStatus

JOB = "metrics"
Format = Literal["openmetrics", "json"]


@common.app.command()
def metrics(
    directories: Annotated[
        list[str],
        typer.Argument(help="Directories holding .cbk files.", show_default=False),
    ],
    output_format: Annotated[
        Format, typer.Option("--format", help="openmetrics (text) or json (one object).")
    ] = "openmetrics",
    textfile: Annotated[
        str | None,
        typer.Option(
            help="Write a node_exporter textfile (a .prom file, replaced atomically) and print "
            "nothing."
        ),
    ] = None,
    timezone: common.TimezoneOpt = None,
    iris: Annotated[
        common.IrisChoice | None,
        typer.Option(help="Also write the snapshot IRIS's monitor shows (BackupKeeper.Metrics)."),
    ] = None,
    config: common.ConfigOpt = None,
) -> None:
    """Backup health of DIRECTORIES as Prometheus metrics: last completed backup per kind, its
    size and duration, freeze window, restorable chains, unmanaged files, off-site lag, failing
    jobs (from the alert state --config names, else each directory's), bytes the last purge
    freed, findings of the last verify."""
    from backup_keeper.jobs.metrics import MetricsSettings  # noqa: PLC0415 - with the command

    json = output_format == "json"
    data: dict[str, Any] = {
        "directories": directories,
        "timezone": timezone,
        "format": output_format,
        "textfile": textfile,
    }
    if config is not None:
        data["alerts"] = common.alert_settings(config, JOB, json)
    settings = common.settings(MetricsSettings, data, JOB, json)
    port = common.port(iris, JOB, json) if iris else None
    show = None if textfile is not None else _print
    report = jobs.run_metrics(settings, iris=port, show=show)
    for warning in report.warnings:
        typer.echo(printable(f"warning: {warning}"), err=True)
    if report.status is JobStatus.FAILED:
        common.finish(report, json, lambda r: r.summary)
    raise typer.Exit(common.EXIT_OK)


def _print(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
