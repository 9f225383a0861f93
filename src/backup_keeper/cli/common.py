"""What every command shares: the typer app, exit codes, the option types, and the few steps
each command takes the same way (settings named by their flags, the IRIS adapter, the notifier
from --config, refusing bad input, printing the report)."""

from __future__ import annotations

import functools
import inspect
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer
from pydantic import BaseModel

from backup_keeper.cli.progress import progress_for
from backup_keeper.cli.render import printable, styles
from backup_keeper.door import (
    DEFAULT_CALL_TIMEOUT,
    Clock,
    IrisError,
    IrisPort,
    Progress,
    fixed_clock,
    load_alerts,
    notifier_for,
    open_port,
    system_clock,
)
from backup_keeper.report import JobReport, JobStatus, report_json
from backup_keeper.settings import (
    SettingsError,
    non_empty_path,
    plausible_moment,
    validate_settings,
)

if TYPE_CHECKING:
    from rich.console import Console

    from backup_keeper.door import AlertNotifier, AlertSettings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class RunOptions:
    """The global options of this run, set once by the app's callback."""

    call_timeout: float = DEFAULT_CALL_TIMEOUT
    """Every IRIS call's bound, from the global ``--iris-call-timeout``."""
    progress: bool = True
    """Off with the global ``--no-progress``."""


OPTIONS = RunOptions()

app = typer.Typer(
    name="backup-keeper",
    help="Backups, chain-safe purging of old .cbk files and alerting for InterSystems IRIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

IrisChoice = Literal["embedded", "native", "fake"]
HistoryIris = Annotated[
    IrisChoice | None,
    typer.Option(help="Also check chains against this instance's backup history."),
]
M = TypeVar("M", bound=BaseModel)
_FLAG_NAMES = {
    "directories": "DIRECTORIES",
    "directory": "--dir",
    "kinds": "--kind",
    "directory_map": "--map",
    "sharded_namespace": "--sharded",
}
"""Settings field -> the flag a person typed, where the two names differ."""
_JOB_FLAG_NAMES = {
    "check-freshness": {"directories": "--dir"},
    "restore": {"identity_file": "--identity"},  # the age key; --identity-file logs in to SFTP
}
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:e[+-]?[0-9]{1,4})?", re.ASCII | re.I
)


def whole_number(text: str | int) -> int:
    """A whole-number flag in ASCII digits: ``int()`` alone takes any Unicode digit
    (Arabic-Indic, full-width...), which no one means to type and no log reader expects."""
    if isinstance(text, int):
        return text  # a default
    if not _INTEGER.fullmatch(text.strip()):
        raise typer.BadParameter(f"{printable(repr(text))} is not a whole number (digits 0-9)")
    return int(text)


def number(text: str | float) -> float:
    """A number flag in ASCII digits, finite: ``inf``, ``nan`` and ``1e400`` are refused."""
    if isinstance(text, int | float):
        return text  # a default
    value = float(text) if _DECIMAL.fullmatch(text.strip()) else math.nan
    if not math.isfinite(value):
        raise typer.BadParameter(f"{printable(repr(text))} is not a finite number (digits 0-9)")
    return value


def count_option(help_text: str) -> Any:
    return typer.Option(parser=whole_number, help=help_text)


Directories = Annotated[
    list[str],
    typer.Argument(
        help="Directories holding .cbk files.", show_default=False, metavar="DIRECTORIES..."
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JobReport as JSON.")]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="TOML settings file with an [alerts] table (channels)."),
]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA zone of IRIS's local dates in file names (default: this machine's).",
    ),
]
IrisOpt = Annotated[
    IrisChoice,
    typer.Option(help="embedded (inside IRIS), native (IRIS_HOST...), fake (a simulator)."),
]

KeepLast = Annotated[
    int | None, count_option("Keep the N newest completed fulls, each with its chain.")
]
KeepWithin = Annotated[
    str | None, typer.Option(help="Keep every backup newer than this (36h, 14d, 8w).")
]
KeepDaily = Annotated[
    int | None, count_option("Keep the newest backup of each of the last N days that have one.")
]
KeepWeekly = Annotated[int | None, count_option("Likewise for ISO weeks.")]
KeepMonthly = Annotated[int | None, count_option("Likewise for months.")]
KeepYearly = Annotated[int | None, count_option("Likewise for years.")]
FailedOlderThan = Annotated[
    str | None, typer.Option(help="Remove failed backups older than this (default: keep them).")
]
AllowPurgeAfterFailure = Annotated[
    bool,
    typer.Option("--allow-purge-after-failure", help="Purge even when the newest backup failed."),
]
Command = TypeVar("Command", bound=Callable[..., None])


@dataclass(frozen=True)
class FlagGroup:
    """Flags several commands take alike (the keep rules, a destination's), written once.

    Typer has no option groups: a command names one parameter (``into``) and this decorator
    puts the group's flags in its place in the signature typer reads, then hands the command
    the one value ``build`` makes of them. So the flags, their help and how they become
    settings cannot drift apart between commands."""

    into: str
    flags: dict[str, tuple[Any, Any]]
    """Parameter name -> (its ``Annotated`` typer type, its default)."""
    build: Callable[..., object]

    def __call__(self, command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=value)
            for name, (kind, value) in self.flags.items()
        ]
        parameters: list[inspect.Parameter] = []
        for parameter in signature.parameters.values():
            if parameter.name == self.into:
                parameters += added
            else:
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def grouped(**given: Any) -> None:
            flags = {name: given.pop(name) for name in self.flags}
            command(**given, **{self.into: self.build(**flags)})

        setattr(grouped, "__signature__", signature.replace(parameters=parameters))  # noqa: B010
        return grouped  # type: ignore[return-value]


def retention(**flags: object) -> dict[str, Any] | None:
    """The retention flags that were given, or None when none was."""
    given = {k: v for k, v in flags.items() if v is not None and v is not False}
    return given or None


retention_flags = FlagGroup(
    "retention",
    {
        "keep_last": (KeepLast, None),
        "keep_within": (KeepWithin, None),
        "keep_daily": (KeepDaily, None),
        "keep_weekly": (KeepWeekly, None),
        "keep_monthly": (KeepMonthly, None),
        "keep_yearly": (KeepYearly, None),
        "failed_older_than": (FailedOlderThan, None),
        "allow_purge_after_failure": (AllowPurgeAfterFailure, False),
    },
    retention,
)
"""The keep rules of ``backup``, ``purge`` and ``copy``: the command gets ``retention``, the
rules given (a dict for the settings) or None."""


def port(choice: IrisChoice, job: str, json: bool) -> IrisPort:
    """The adapter --iris names, every call bounded by --iris-call-timeout; one that cannot
    start is bad input, and nothing ran. The fake's instance is the user's, not the backup
    directory's (``BACKUP_KEEPER_FAKE_STATE`` moves it)."""
    try:
        return open_port(choice, OPTIONS.call_timeout)
    except IrisError as exc:
        bad_input(job, [f"--iris {choice}: {exc}"], json)


def settings(model: type[M], data: dict[str, Any], job: str, json: bool) -> M:
    try:
        return validate_settings(model, data)
    except SettingsError as exc:
        bad_input(job, [with_flag(p, job) for p in exc.problems], json)


def with_flag(problem: str, job: str = "") -> str:
    """``retention.keep_within: …`` -> ``--keep-within: …``: say it the way it was typed."""
    where, _, why = problem.partition(": ")
    parts = where.split(".")
    if parts[0] == "to" and len(parts) > 1:
        parts = parts[1:]  # copy's destination block: its fields are flags of their own
    if parts[0] == "destination":
        return f"{_destination_flag(parts[1:], job)}: {why}"
    if parts[0] == "retention":
        return f"--{parts[1].replace('_', '-')}: {why}" if len(parts) > 1 else f"retention: {why}"
    if parts[0] == "settings":
        return problem
    names = _FLAG_NAMES | _JOB_FLAG_NAMES.get(job, {})
    flag = names.get(parts[0], "--" + parts[0].replace("_", "-"))
    return f"{flag}: {why}"


def _destination_flag(field: list[str], job: str) -> str:
    """``destination.url`` is the URL argument (``--to`` of copy), any other field its flag."""
    if not field:
        return "--to" if job == "copy" else "URL"
    if field[0] == "url":
        return "--to" if job == "copy" else "URL"
    return "--" + field[0].replace("_", "-")


def alert_settings(config: str, job: str, json: bool) -> AlertSettings:
    """The ``[alerts]`` table of --config; a file that cannot be used is bad input."""
    try:
        path = non_empty_path(config)
    except ValueError as exc:
        bad_input(job, [f"--config: {exc}"], json)
    try:
        return load_alerts(path)
    except SettingsError as exc:
        bad_input(job, exc.problems, json)


def notifier(
    config: str | None, iris: IrisPort | None, job_settings: BaseModel, job: str, json: bool
) -> AlertNotifier:
    """The door layer's notifier from --config (messages.log only without it); a file or a
    channel that cannot be used is bad input, so a misconfigured alert is found before the
    night it is needed."""
    alerts = alert_settings(config, job, json) if config is not None else load_alerts(None)
    try:
        return notifier_for(alerts, iris=iris, settings=job_settings)
    except SettingsError as exc:
        bad_input(job, exc.problems, json)


def clock(now: str | None, job: str, json: bool) -> Clock:
    if now is None:
        return system_clock
    try:
        moment = datetime.fromisoformat(now) if now.isascii() else None
    except ValueError:
        moment = None
    if moment is None:
        bad_input(job, [f"--now: not an ISO 8601 moment: {now!r}"], json)
    try:
        return fixed_clock(plausible_moment(moment))
    except ValueError as exc:
        bad_input(job, [f"--now: {exc}"], json)


def bad_input(job: str, problems: list[str], json: bool) -> NoReturn:
    raise typer.Exit(refuse(job, problems, json))


def refuse(job: str, problems: list[str], json: bool) -> int:
    """Bad input: nothing was done. The reasons on stderr, and with ``--json`` one failed
    report on stdout, so that a script never parses a usage message."""
    if json:
        report = JobReport(
            job=job, status=JobStatus.FAILED, started=system_clock(), errors=problems
        )
        report.summary = "bad input: nothing was done"
        typer.echo(report_json(report))
    typer.echo(printable(f"backup-keeper {job}: bad input, nothing was done:"), err=True)
    for problem in problems:
        typer.echo(printable(f"  - {problem}"), err=True)
    return EXIT_BAD_INPUT


def progress(json: bool) -> Progress:
    """How this run shows the progress of long work (see cli/progress.py)."""
    return progress_for(enabled=OPTIONS.progress, json=json)


def finish(report: JobReport, json: bool, render: Callable[[JobReport], str]) -> NoReturn:
    if json:
        typer.echo(report_json(report))  # never coloured: a script parses it
    else:
        show(render(report), report)
    raise typer.Exit(EXIT_OK if report.status is not JobStatus.FAILED else EXIT_FAILED)


def show(text: str, report: JobReport) -> None:
    """The text of a report, coloured only on a terminal that takes colour (rich decides:
    ``NO_COLOR`` set, ``TERM=dumb`` or not a terminal is plain text, byte for byte what a pipe
    gets). Rich loads only then, so a cron run or a pipe never pays for it."""
    console = _colour_console()
    if console is None:
        typer.echo(text)
        return
    from rich.text import Text  # noqa: PLC0415 - with the console, on a terminal only

    for line, style in styles(text, report):
        console.print(Text(line, style=style))


def _colour_console() -> Console | None:
    if not (sys.stdout.isatty() or os.environ.get("FORCE_COLOR")):
        return None
    from rich.console import Console  # noqa: PLC0415 - see show

    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
    if not console.is_terminal or console.no_color or console.color_system is None:
        return None
    return console
