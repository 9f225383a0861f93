"""Command-line door. Exit codes: 0 ok, 1 the job failed, 2 bad input (settings, paths),
130 interrupted. No traceback reaches a user: ``main`` (guard.py) turns anything unexpected
into one line (or, with ``--json``, one failed report).

The commands live by family: files.py (catalog, purge, verify, restore-plan, restore),
backups.py (backup, snapshot, freeze, thaw), checks.py (doctor, check-freshness, alert-test),
timeline.py (timeline), pins.py (pin, unpin); common.py holds what they share. Importing
this module registers them all on ``app``."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from backup_keeper import __version__
from backup_keeper.cli import backups, checks, files, pins, timeline
from backup_keeper.cli import metrics as metrics  # noqa: PLC0414 - registers `metrics`
from backup_keeper.cli.common import EXIT_OK, OPTIONS, app
from backup_keeper.cli.guard import main, run
from backup_keeper.door import DEFAULT_CALL_TIMEOUT, TIMEOUT_ENV, parse_call_timeout

__all__ = ["app", "backups", "checks", "files", "main", "pins", "run", "timeline"]


def _check_call_timeout(value: str | None) -> str | None:
    """Refused as the flag it is (exit 2, naming --iris-call-timeout) before anything runs."""
    try:
        if value is not None:
            parse_call_timeout(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"backup-keeper {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v: what is done; -vv: debug.")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    iris_call_timeout: Annotated[
        str | None,
        typer.Option(
            "--iris-call-timeout",
            envvar=TIMEOUT_ENV,
            show_envvar=True,
            callback=_check_call_timeout,
            help=f"Seconds any one IRIS call may take before the job fails and alerts "
            f"(default {DEFAULT_CALL_TIMEOUT:g}; the backup itself is bounded by --timeout).",
        ),
    ] = None,
    no_progress: Annotated[
        bool,
        typer.Option(
            "--no-progress",
            help="No progress bar (on a terminal) nor progress lines (-v, elsewhere).",
        ),
    ] = False,
) -> None:
    """Global options; logs and progress go to stderr so that --json output stays clean."""
    OPTIONS.progress = not no_progress
    OPTIONS.call_timeout = (
        DEFAULT_CALL_TIMEOUT if iris_call_timeout is None else parse_call_timeout(iris_call_timeout)
    )
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
