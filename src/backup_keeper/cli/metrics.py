"""``metrics``: backup health as Prometheus metrics, the names IRIS's monitor shows.

Printed as OpenMetrics text or one JSON object, or written as a node_exporter textfile (classic
text format, atomically: the collector never reads half a file) for hosts without IRIS; with
``--iris``, also the snapshot ``BackupKeeper.Metrics`` copies into /api/monitor/metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from backup_keeper.cli import common
from backup_keeper.door import (
    IrisError,
    UnsafeName,
    collect_metrics,
    metrics_json,
    openmetrics_text,
    refused,
    resolve_zone,
    sensor_rows,
    system_clock,
    textfile_text,
    write_atomic,
)
from backup_keeper.settings import CatalogSettings

JOB = "metrics"
TEXTFILE_SUFFIX = ".prom"
"""node_exporter's textfile collector reads only ``*.prom`` files."""
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
) -> None:
    """Backup health of DIRECTORIES as Prometheus metrics: last completed backup per kind, its
    size and duration, freeze window, restorable chains, unmanaged files, off-site lag, failing
    jobs."""
    json = output_format == "json"
    target = _textfile(textfile, json)
    settings = common.settings(
        CatalogSettings, {"directories": directories, "timezone": timezone}, JOB, json
    )
    port = common.port(iris, JOB, json) if iris else None
    now = system_clock()
    try:
        found = collect_metrics(settings.directories, resolve_zone(settings.timezone), now)
        if port is not None:
            port.publish_metrics(sensor_rows(found))
        if target is not None:
            write_atomic(target.parent, target.name, textfile_text(found).encode())
            raise typer.Exit(common.EXIT_OK)
    except (OSError, IrisError, UnsafeName) as exc:
        _failed(str(exc), json)
    typer.echo(metrics_json(found, now) if json else openmetrics_text(found), nl=False)


def _textfile(value: str | None, json: bool) -> Path | None:
    """Where the textfile goes: a ``.prom`` name in a directory that exists, else bad input."""
    if value is None:
        return None
    path = Path(value)
    if path.suffix != TEXTFILE_SUFFIX:
        common.bad_input(JOB, [f"--textfile: node_exporter reads only *.prom files: {value}"], json)
    if not path.parent.is_dir():
        common.bad_input(JOB, [f"--textfile: no such directory: {path.parent}"], json)
    return path


def _failed(problem: str, json: bool) -> None:
    """A directory, the textfile or IRIS that failed: exit 1 with one line (or one report)."""
    report = refused(JOB, [problem], summary="metrics failed")
    common.finish(report, json, lambda r: r.summary)
