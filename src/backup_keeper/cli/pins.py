"""``pin`` and ``unpin``: keep one backup (and everything a restore of it needs) from every
purge, recorded in its sidecar so the pin travels with it and with its off-site copies."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from backup_keeper import jobs
from backup_keeper.cli import common
from backup_keeper.cli.render import printable, render_summary
from backup_keeper.report import JobReport, JobStatus, report_json
from backup_keeper.settings import PinSettings

File = Annotated[
    str,
    typer.Argument(
        help="A backup file in a backup directory (.cbk, .cbk.zst, .snapshot.json).",
        show_default=False,
        metavar="FILE",
    ),
]


@common.app.command()
def pin(
    file: File,
    reason: Annotated[
        str,
        typer.Option(help="Why it must not be purged: one printable line, at most 200 characters."),
    ],
    until: Annotated[
        str | None,
        typer.Option(
            help="ISO date (held through that day) or moment; without a zone, in --timezone's "
            "(default: until unpinned)."
        ),
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
) -> None:
    """Keep FILE, and every backup a restore of it needs, from every purge (local and at
    destinations) until --until or unpin. Writes only FILE's sidecar."""
    data = {"file": file, "reason": reason, "until": until, "timezone": timezone}
    settings = common.settings(PinSettings, data, "pin", json)
    _finish(jobs.run_pin(settings, progress=common.progress(json)), json)


@common.app.command()
def unpin(file: File, json: common.JsonFlag = False, timezone: common.TimezoneOpt = None) -> None:
    """Take FILE's pin away; the next purge judges it by the keep rules alone."""
    settings = common.settings(PinSettings, {"file": file, "timezone": timezone}, "unpin", json)
    _finish(jobs.run_unpin(settings), json)


def _finish(report: JobReport, json: bool) -> NoReturn:
    """Exit 0 done (or nothing to do), 1 failed, 2 refused as bad input: nothing written."""
    if report.options.get("refused") is True:
        if json:
            typer.echo(report_json(report))
        typer.echo(printable(f"backup-keeper {report.job}: bad input, nothing was done:"), err=True)
        for problem in report.errors:
            typer.echo(printable(f"  - {problem}"), err=True)
        raise typer.Exit(common.EXIT_BAD_INPUT)
    if json:
        typer.echo(report_json(report))
    else:
        common.show(render_summary(report), report)
    raise typer.Exit(
        common.EXIT_OK if report.status is not JobStatus.FAILED else common.EXIT_FAILED
    )
