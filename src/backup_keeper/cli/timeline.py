"""``backup-keeper timeline``: the backups of DIRECTORIES drawn on a time axis (timeline.py), and
with keep rules what a purge by them would keep and delete, and why. It only reads: the plan is
computed as the purge job computes it and nothing is deleted, with or without ``--dry-run``
(accepted so that a purge's command line, turned into a timeline, means what it said)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from backup_keeper.cli import common
from backup_keeper.cli.render import printable
from backup_keeper.door import (
    UnsafeName,
    discover,
    plan,
    render_html,
    render_svg,
    resolve_zone,
    write_atomic,
)
from backup_keeper.settings import CatalogSettings, PurgeSettings

_JOB = "timeline"
_FORMATS = {".svg": "svg", ".html": "html", ".htm": "html"}

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
    clock = common.clock(now, _JOB, False)
    data: dict[str, Any] = {"directories": directories, "timezone": timezone}
    found: CatalogSettings
    if retention is not None:
        found = common.settings(PurgeSettings, {**data, "retention": retention}, _JOB, False)
    else:
        found = common.settings(CatalogSettings, data, _JOB, False)
    zone = resolve_zone(found.timezone)
    moment = clock()
    try:
        catalog = discover(found.directories, zone, now=moment)
    except OSError as exc:
        typer.echo(printable(f"backup-keeper {_JOB}: cannot read backups: {exc}"), err=True)
        raise typer.Exit(common.EXIT_FAILED) from None
    decided = (
        plan(catalog.records, found.retention, moment, zone, ordered=True)
        if isinstance(found, PurgeSettings)
        else None
    )
    render = render_html if fmt == "html" else render_svg
    text = render(catalog.records, zone, plan=decided, title=_title(found.directories, decided))
    for warning in catalog.warnings:
        typer.echo(printable(f"warning: {warning}"), err=True)
    if out is None:
        sys.stdout.write(text)
        raise typer.Exit(common.EXIT_OK)
    _write(Path(out), text)
    typer.echo(printable(f"timeline of {len(catalog.records)} backup(s) written to {out}"))


def _format(out: str | None) -> str:
    """svg or html, from --out's extension; anything else is bad input before any work."""
    if out is None:
        return "svg"
    fmt = _FORMATS.get(Path(out).suffix.lower())
    if fmt is None or not Path(out).name:
        common.bad_input(_JOB, [f"--out: {out!r} must end in .svg, .html or .htm"], False)
    return fmt


def _write(target: Path, text: str) -> None:
    """Whole or not at all (temporary file, then a rename that replaces a symlink at ``target``
    rather than writing through it); a place it cannot go is bad input, nothing written."""
    try:
        write_atomic(target.parent, target.name, text.encode("utf-8"))
    except (OSError, UnsafeName) as exc:
        common.bad_input(_JOB, [f"--out: cannot write {str(target)!r}: {exc}"], False)


def _title(directories: list[Path], decided: object) -> str:
    what = "Backup chains" if decided is None else "Backup chains and a dry-run purge"
    return f"{what}: {', '.join(str(d) for d in directories)}"
