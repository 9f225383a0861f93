"""The last guard of the command line: every way out of a command (bad usage, Ctrl-C, an
error nothing expected) becomes an exit code and words a person (or, with ``--json``, a
script) can read; never a traceback."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import NoReturn, cast

import typer

from backup_keeper.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    app,
    refuse,
)
from backup_keeper.cli.render import printable
from backup_keeper.door import system_clock
from backup_keeper.report import JobReport, JobStatus, report_json


def _base_named(name: str) -> type[Exception]:
    """Click's exception classes, wherever this typer keeps its click (vendored or not)."""
    found = next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)
    return cast("type[Exception]", found)


_USAGE_ERROR = _base_named("UsageError")
_CLICK_ERROR = _base_named("ClickException")


def main() -> NoReturn:
    """Console-script entry point: the app, with every way out turned into an exit code and
    words a person (or, with ``--json``, a script) can read; never a traceback."""
    sys.exit(run(sys.argv[1:]))


def run(args: list[str]) -> int:
    """Run the command line ``args``; return the exit code."""
    json = _wants_json(args)
    job = _job_named(args)
    try:
        code = app(args=args, prog_name="backup-keeper", standalone_mode=False)
    except _USAGE_ERROR as exc:
        return _usage_error(exc, job, json)
    except (KeyboardInterrupt, typer.Abort):
        code = EXIT_INTERRUPTED
    except _CLICK_ERROR as exc:
        return refuse(job, [str(getattr(exc, "format_message", exc.__str__)())], json)
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, never a traceback
        return _internal_error(exc, job, json)
    if code == EXIT_INTERRUPTED:
        return _interrupted(job, json)
    return code if isinstance(code, int) else EXIT_OK


def _wants_json(args: list[str]) -> bool:
    """``--json`` among the options; after ``--`` it belongs to a snapshot command."""
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options


def _job_named(args: list[str]) -> str:
    names = {
        command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        for command in app.registered_commands
    }
    return next((arg for arg in args if arg in names), "backup-keeper")


def _usage_error(exc: Exception, job: str, json: bool) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":
        return EXIT_BAD_INPUT  # the help was printed already, and is the answer
    message = str(getattr(exc, "format_message", exc.__str__)())
    code = refuse(job, [message], json)
    hint = "backup-keeper --help" if job == "backup-keeper" else f"backup-keeper {job} --help"
    typer.echo(f"  ({hint} lists the options)", err=True)
    return code


def _interrupted(job: str, json: bool) -> int:
    if json:
        report = JobReport(job=job, status=JobStatus.FAILED, started=system_clock())
        report.errors.append("interrupted")
        report.summary = "interrupted"
        typer.echo(report_json(report))
    typer.echo("backup-keeper: interrupted", err=True)
    return EXIT_INTERRUPTED


def _internal_error(exc: Exception, job: str, json: bool) -> int:
    """A bug or a fault nothing expected: what and where in one line, exit 1."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    problem = printable(f"internal error: {type(exc).__name__}: {exc}{where}")
    if json:
        report = JobReport(job=job, status=JobStatus.FAILED, started=system_clock())
        report.errors.append(problem)
        report.summary = "internal error: the job may be incomplete; see the error"
        typer.echo(report_json(report))
    typer.echo(f"backup-keeper: {problem}", err=True)
    return EXIT_FAILED
