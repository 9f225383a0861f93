"""``backup-keeper timeline``: the backups of DIRECTORIES drawn on a time axis (timeline.py), and
with keep rules what a purge by them would keep and delete, and why. It only reads: the plan is
computed as the purge job computes it and nothing is deleted, with or without ``--dry-run``
(accepted so that a purge's command line, turned into a timeline, means what it said). The
command only translates its flags into one call of the timeline job (jobs/timeline.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from backup_keeper import jobs
from backup_keeper.cli import common
from backup_keeper.cli.render import printable
from backup_keeper.report import JobStatus
from backup_keeper.settings import CatalogSettings, PurgeSettings

_JOB = "timeline"
Format = Literal["svg", "html"]
_FORMATS: dict[str, Format] = {".svg": "svg", ".html": "html", ".htm": "html"}

Out = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Write here (FILE.svg, or FILE.html: the picture in a page with hover text), "
        "atomically; default: the SVG on stdout.",
        show_default=False,
    ),
]


@common.app.command()
@common.retention_flags
def timeline(
    directories: common.Directories,
    retention: dict[str, Any] | None = None,
    out: Out = None,
    now: Annotated[
        str | None, typer.Option(help="Plan as of this ISO 8601 moment (with zone) instead of now.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Accepted for a purge's command line; nothing is deleted."),
    ] = False,
    timezone: common.TimezoneOpt = None,
) -> None:
    """Draw the backups in DIRECTORIES on a time axis, each chain joined; with keep rules, what
    a purge would keep and delete, and why (hover a mark). Reads only, deletes nothing."""
    del dry_run  # the timeline never deletes: see the module's docstring
    fmt = _format(out)
    target = _target(out)
    clock = common.clock(now, _JOB, False)
    data: dict[str, Any] = {"directories": directories, "timezone": timezone}
    found: CatalogSettings
    if retention is not None:
        found = common.settings(PurgeSettings, {**data, "retention": retention}, _JOB, False)
    else:
        found = common.settings(CatalogSettings, data, _JOB, False)
    report = jobs.run_timeline(found, fmt=fmt, out=target, show=sys.stdout.write, clock=clock)
    for warning in report.warnings:
        typer.echo(printable(f"warning: {warning}"), err=True)
    if report.status is JobStatus.FAILED:
        typer.echo(printable(f"backup-keeper {_JOB}: {report.summary}"), err=True)
        raise typer.Exit(common.EXIT_FAILED)
    if target is not None:
        typer.echo(printable(report.summary))


def _format(out: str | None) -> Format:
    """svg or html, from --out's extension; anything else is bad input before any work."""
    if out is None:
        return "svg"
    fmt = _FORMATS.get(Path(out).suffix.lower())
    if fmt is None or not Path(out).name:
        common.bad_input(_JOB, [f"--out: {out!r} must end in .svg, .html or .htm"], False)
    return fmt


def _target(out: str | None) -> Path | None:
    """Where --out goes; a place it cannot go (no such directory, a directory by that name) is
    bad input, found before any work."""
    if out is None:
        return None
    target = Path(out)
    if not target.parent.is_dir() or target.is_dir():
        common.bad_input(_JOB, [f"--out: cannot write {out!r}: not a file in a directory"], False)
    return target
