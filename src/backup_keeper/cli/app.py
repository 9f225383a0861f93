"""Command-line door. Exit codes: 0 ok, 1 the job failed, 2 bad input (settings, paths),
130 interrupted. No traceback reaches a user: ``main`` turns anything unexpected into one line
(or, with ``--json``, one failed report)."""

from __future__ import annotations

import logging
import math
import re
import socket
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar, cast

import typer
from pydantic import BaseModel

from backup_keeper import __version__
from backup_keeper.alerts.build import build_notifier
from backup_keeper.alerts.events import alert_test_notice
from backup_keeper.alerts.notifier import Notifier
from backup_keeper.alerts.secrets import install_redaction
from backup_keeper.alerts.settings import AlertSettings, load_alert_settings
from backup_keeper.cli.render import (
    printable,
    render_backup,
    render_catalog,
    render_purge,
    render_restore,
    render_summary,
    render_verify,
)
from backup_keeper.clock import Clock, fixed_clock, system_clock
from backup_keeper.door import compact
from backup_keeper.iris.bounded import (
    DEFAULT_CALL_TIMEOUT,
    TIMEOUT_ENV,
    bounded,
    parse_call_timeout,
)
from backup_keeper.iris.embedded import EmbeddedIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.native import NativeIris
from backup_keeper.iris.port import IrisError, IrisPort
from backup_keeper.jobs import (
    run_catalog,
    run_doctor,
    run_external_backup,
    run_freeze,
    run_freshness_check,
    run_online_backup,
    run_purge,
    run_restore,
    run_restore_plan,
    run_thaw,
    run_verify,
)
from backup_keeper.report import JobReport, JobStatus, report_json
from backup_keeper.settings import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_FREEZE_TIMEOUT,
    DEFAULT_WD_SUSPEND_LIMIT,
    BackupSettings,
    CatalogSettings,
    ExternalBackupSettings,
    FreezeHookSettings,
    FreshnessSettings,
    OnlineKind,
    PurgeSettings,
    ReadOnlyPolicy,
    RestorePlanSettings,
    RestoreSettings,
    RunOn,
    SettingsError,
    VerifySettings,
    non_empty_path,
    plausible_moment,
    validate_settings,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
_call_timeout = DEFAULT_CALL_TIMEOUT
"""Every IRIS call's bound for this run, from the global ``--iris-call-timeout``."""


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
_JOB_FLAG_NAMES = {"check-freshness": {"directories": "--dir"}}
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:e[+-]?[0-9]{1,4})?", re.ASCII | re.I
)


app = typer.Typer(
    name="backup-keeper",
    help="Backups, chain-safe purging of old .cbk files and alerting for InterSystems IRIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def _count(help_text: str) -> Any:
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
    typer.Option("--config", help="TOML settings file with an \\[alerts] table (channels)."),
]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA zone of IRIS's local dates in file names (default: this machine's).",
    ),
]


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
) -> None:
    """Global options; logs go to stderr so that --json output stays clean."""
    global _call_timeout  # noqa: PLW0603 - one run, one bound; read where the port is made
    _call_timeout = (
        DEFAULT_CALL_TIMEOUT if iris_call_timeout is None else parse_call_timeout(iris_call_timeout)
    )
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s", force=True
    )


@app.command()
def catalog(
    directories: Directories,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    iris: HistoryIris = None,
) -> None:
    """List the backups in DIRECTORIES: kind, time, status, where the facts came from, chain."""
    settings = _settings(
        CatalogSettings, {"directories": directories, "timezone": timezone}, "catalog", json
    )
    port = _port(iris, json) if iris else None
    _finish(run_catalog(settings, iris=port), json, render_catalog)


KeepLast = Annotated[int | None, _count("Keep the N newest completed fulls, each with its chain.")]
KeepWithin = Annotated[
    str | None, typer.Option(help="Keep every backup newer than this (36h, 14d, 8w).")
]
KeepDaily = Annotated[
    int | None, _count("Keep the newest backup of each of the last N days that have one.")
]
KeepWeekly = Annotated[int | None, _count("Likewise for ISO weeks.")]
KeepMonthly = Annotated[int | None, _count("Likewise for months.")]
KeepYearly = Annotated[int | None, _count("Likewise for years.")]
FailedOlderThan = Annotated[
    str | None, typer.Option(help="Remove failed backups older than this (default: keep them).")
]
AllowPurgeAfterFailure = Annotated[
    bool,
    typer.Option("--allow-purge-after-failure", help="Purge even when the newest backup failed."),
]


IrisOpt = Annotated[
    IrisChoice,
    typer.Option(help="embedded (inside IRIS), native (IRIS_HOST...), fake (a simulator)."),
]


def _retention(**flags: object) -> dict[str, Any] | None:
    """The retention flags that were given, or None when none was."""
    given = {k: v for k, v in flags.items() if v is not None and v is not False}
    return given or None


@app.command()
def purge(
    directories: Directories,
    keep_last: KeepLast = None,
    keep_within: KeepWithin = None,
    keep_daily: KeepDaily = None,
    keep_weekly: KeepWeekly = None,
    keep_monthly: KeepMonthly = None,
    keep_yearly: KeepYearly = None,
    failed_older_than: FailedOlderThan = None,
    allow_purge_after_failure: AllowPurgeAfterFailure = False,
    now: Annotated[
        str | None, typer.Option(help="Plan as of this ISO 8601 moment (with zone) instead of now.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Delete the backups in DIRECTORIES that no rule keeps, never one a kept backup needs."""
    clock = _clock(now, "purge", json)
    retention = _retention(
        keep_last=keep_last,
        keep_within=keep_within,
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
        keep_monthly=keep_monthly,
        keep_yearly=keep_yearly,
        failed_older_than=failed_older_than,
        allow_purge_after_failure=allow_purge_after_failure,
    )
    data = {
        "directories": directories,
        "timezone": timezone,
        "dry_run": dry_run,
        "retention": retention or {},
    }
    settings = _settings(PurgeSettings, data, "purge", json)
    # a dry run writes nothing, not even the alerts' dedupe state
    state_dir = None if dry_run else settings.directories[0]
    notifier = _notifier(config, None, state_dir, json)
    _finish(run_purge(settings, clock=clock, notifier=notifier), json, render_purge)


@app.command()
def backup(
    kind: Annotated[OnlineKind, typer.Option(help="Requested kind; promoted to full when needed.")],
    directory: Annotated[
        str, typer.Option("--dir", help="Directory for the .cbk, its .log and its manifest.")
    ],
    keep_last: KeepLast = None,
    keep_within: KeepWithin = None,
    keep_daily: KeepDaily = None,
    keep_weekly: KeepWeekly = None,
    keep_monthly: KeepMonthly = None,
    keep_yearly: KeepYearly = None,
    failed_older_than: FailedOlderThan = None,
    allow_purge_after_failure: AllowPurgeAfterFailure = False,
    run_on: Annotated[
        RunOn, typer.Option(help="Mirror role to run on; elsewhere the run is skipped.")
    ] = "any",
    iris: IrisOpt = "embedded",
    read_only: Annotated[
        ReadOnlyPolicy, typer.Option(help="Read-only databases: warn, or exclude them.")
    ] = "warn",
    description: Annotated[str, typer.Option(help="Stored in IRIS's backup history.")] = "",
    compress: Annotated[
        bool, typer.Option("--compress", help="Store the completed backup as .cbk.zst (zstd).")
    ] = False,
    prefix: Annotated[str, typer.Option(help="File name prefix.")] = "backup-keeper",
    free_space_margin: Annotated[
        float,
        typer.Option(
            parser=number, help="Free space needed, as a multiple of IRIS's size estimate."
        ),
    ] = 1.2,
    timeout: Annotated[
        float,
        typer.Option(parser=number, help="Seconds before a backup that has not returned fails."),
    ] = 24 * 3600,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Take an online backup into --dir; after a completed one, purge --dir by the keep flags."""
    retention = _retention(
        keep_last=keep_last,
        keep_within=keep_within,
        keep_daily=keep_daily,
        keep_weekly=keep_weekly,
        keep_monthly=keep_monthly,
        keep_yearly=keep_yearly,
        failed_older_than=failed_older_than,
        allow_purge_after_failure=allow_purge_after_failure,
    )
    data = {
        "directory": directory,
        "kind": kind,
        "run_on": run_on,
        "read_only": read_only,
        "description": description,
        "compress": compress,
        "prefix": prefix,
        "free_space_margin": free_space_margin,
        "timeout": timeout,
        "timezone": timezone,
        "retention": retention,
    }
    settings = _settings(BackupSettings, data, "backup", json)
    port = _port(iris, json)
    notifier = _notifier(config, port, settings.directory, json)
    _finish(run_online_backup(settings, iris=port, notifier=notifier), json, render_backup)


CatalogDir = Annotated[
    str, typer.Option("--dir", help="Catalog directory: snapshot records and the freeze marker.")
]
FreezeTimeout = Annotated[
    int, _count("ExternalFreezeTimeOut, seconds: then writers block, logins stop (max 1200).")
]
SuspendLimit = Annotated[
    int, _count("WDSuspendLimit, seconds: IRIS resumes by itself after it; below --freeze-timeout.")
]
Sharded = Annotated[
    str | None,
    typer.Option("--sharded", help="Shard master namespace: freeze the whole sharded cluster."),
]


@app.command(context_settings={"allow_interspersed_args": False})
def snapshot(
    command: Annotated[list[str], typer.Argument(help="The snapshot command, after --.")],
    directory: CatalogDir,
    iris: IrisOpt = "embedded",
    command_timeout: Annotated[
        float,
        typer.Option(parser=number, help="Seconds the command may take (below the limit)."),
    ] = DEFAULT_COMMAND_TIMEOUT,
    freeze_timeout: FreezeTimeout = DEFAULT_FREEZE_TIMEOUT,
    wd_suspend_limit: SuspendLimit = DEFAULT_WD_SUSPEND_LIMIT,
    label: Annotated[str, typer.Option(help="Passed to the command as BACKUP_KEEPER_LABEL.")] = "",
    shell: Annotated[
        bool, typer.Option("--shell", help="Run the command through /bin/sh -c.")
    ] = False,
    run_on: Annotated[
        RunOn, typer.Option(help="Mirror role to run on; elsewhere the run is skipped.")
    ] = "any",
    sharded: Sharded = None,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Freeze, run the snapshot command, always thaw, record the snapshot in the catalog."""
    data = {
        "directory": directory,
        "command": command,
        "shell": shell,
        "command_timeout": command_timeout,
        "freeze_timeout": freeze_timeout,
        "wd_suspend_limit": wd_suspend_limit,
        "label": label,
        "run_on": run_on,
        "sharded_namespace": sharded,
        "timezone": timezone,
    }
    settings = _settings(ExternalBackupSettings, data, "snapshot", json)
    port = _port(iris, json)
    notifier = _notifier(config, port, settings.directory, json)
    _finish(run_external_backup(settings, iris=port, notifier=notifier), json, render_backup)


@app.command()
def freeze(
    directory: CatalogDir,
    iris: IrisOpt = "embedded",
    freeze_timeout: FreezeTimeout = DEFAULT_FREEZE_TIMEOUT,
    wd_suspend_limit: SuspendLimit = DEFAULT_WD_SUSPEND_LIMIT,
    label: Annotated[str, typer.Option(help="Stored in the freeze marker.")] = "",
    sharded: Sharded = None,
    json: JsonFlag = False,
    config: ConfigOpt = None,
) -> None:
    """ExternalFreeze, for a pre-freeze hook: exit 0 when frozen, one line on stderr."""
    settings = _hook_settings(
        "freeze", directory, freeze_timeout, wd_suspend_limit, label, sharded, json
    )
    port = _port(iris, json)
    notifier = _notifier(config, port, settings.directory, json)
    _finish_hook(run_freeze(settings, iris=port, notifier=notifier), json)


@app.command()
def thaw(
    directory: CatalogDir,
    iris: IrisOpt = "embedded",
    sharded: Sharded = None,
    json: JsonFlag = False,
    config: ConfigOpt = None,
) -> None:
    """ExternalThaw and check it, for a post-thaw hook: exit 0 when running again."""
    settings = _hook_settings(
        "thaw", directory, DEFAULT_FREEZE_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT, "", sharded, json
    )
    port = _port(iris, json)
    notifier = _notifier(config, port, settings.directory, json)
    _finish_hook(run_thaw(settings, iris=port, notifier=notifier), json)


@app.command()
def doctor(
    directory: CatalogDir,
    iris: IrisOpt = "embedded",
    json: JsonFlag = False,
    config: ConfigOpt = None,
) -> None:
    """Thaw an instance a dead run left frozen; report a foreign freeze or a held lock."""
    settings = _hook_settings(
        "doctor", directory, DEFAULT_FREEZE_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT, "", None, json
    )
    port = _port(iris, json)
    notifier = _notifier(config, port, settings.directory, json)
    _finish(run_doctor(settings, iris=port, notifier=notifier), json, render_summary)


def _hook_settings(
    job: str,
    directory: str,
    freeze_timeout: int,
    limit: int,
    label: str,
    sharded: str | None,
    json: bool,
) -> FreezeHookSettings:
    data = {
        "directory": directory,
        "freeze_timeout": freeze_timeout,
        "wd_suspend_limit": limit,
        "label": label,
        "sharded_namespace": sharded,
    }
    return _settings(FreezeHookSettings, data, job, json)


def _finish_hook(report: JobReport, json: bool) -> None:
    """Hook scripts read the exit code; a person reads the one line on stderr."""
    if json:
        typer.echo(report_json(report))
    typer.echo(
        printable(f"backup-keeper {report.job}: {report.status}: {report.summary}"), err=True
    )
    raise typer.Exit(EXIT_OK if report.status is not JobStatus.FAILED else EXIT_FAILED)


@app.command("check-freshness")
def check_freshness(
    directories: Annotated[list[str], typer.Option("--dir", help="Backup directories.")],
    max_age: Annotated[str, typer.Option(help="Alert when the newest good backup is older.")],
    kind: Annotated[
        list[str] | None,
        typer.Option(
            help="Kinds to check: full, cumulative, incremental, external (default: all)."
        ),
    ] = None,
    iris: Annotated[
        IrisChoice | None, typer.Option(help="Also read IRIS's backup history through this.")
    ] = None,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Fail (and alert) when backups stopped: too old, none at all, or the newest failed."""
    data: dict[str, Any] = {"directories": directories, "max_age": max_age, "timezone": timezone}
    if kind:
        data["kinds"] = kind
    settings = _settings(FreshnessSettings, data, "check-freshness", json)
    port = _port(iris, json) if iris else None
    notifier = _notifier(config, port, settings.directories[0], json)
    report = run_freshness_check(settings, iris=port, notifier=notifier)
    _finish(report, json, render_summary)


@app.command("alert-test")
def alert_test(
    config: Annotated[str, typer.Option("--config", help="TOML settings with \\[alerts].")],
    iris: Annotated[
        IrisChoice | None, typer.Option(help="Deliver messages.log lines through this adapter.")
    ] = None,
) -> None:
    """Send a test notice through every configured channel; print delivered or why not."""
    settings = _alert_settings(config, False)
    port = _port(iris, False) if iris else None
    notifier, problems = build_notifier(
        settings,
        instance=_instance_name(port),
        iris=port,
        state_dir=None,
        credentials=port.credentials_password if port else None,
    )
    results = notifier.send(alert_test_notice(notifier.instance))
    for problem in problems:
        name, _, why = problem.partition(": ")
        results[name] = f"not delivered: {why}"
    width = max(len(name) for name in results)
    for name, outcome in results.items():
        typer.echo(printable(f"{name.ljust(width)}  {outcome}"))
    all_good = not problems and all(
        o == "delivered" or o.startswith("not sent") for o in results.values()
    )
    if not notifier.channels and not problems:
        typer.echo(
            "only messages.log is configured: no channel to test; add [alerts.email], "
            "[[alerts.apprise]] or [alerts.ens_alert] to the --config file",
            err=True,
        )
        all_good = False
    raise typer.Exit(EXIT_OK if all_good else EXIT_FAILED)


@app.command()
def verify(
    directories: Directories,
    sample: Annotated[int | None, _count("Verify only the N newest chains.")] = None,
    iris: Annotated[
        IrisChoice | None, typer.Option(help="Also check volume labels through this adapter.")
    ] = None,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Re-hash every backup against its manifest and check every chain; any finding fails."""
    data = {"directories": directories, "sample": sample, "timezone": timezone}
    settings = _settings(VerifySettings, compact(data), "verify", json)
    port = _port(iris, json) if iris else None
    notifier = _notifier(config, port, settings.directories[0], json)
    _finish(run_verify(settings, iris=port, notifier=notifier), json, render_verify)


@app.command("restore-plan")
def restore_plan(
    directories: Directories,
    at: Annotated[
        str | None, typer.Option(help="Restore to this ISO 8601 moment (default: the newest).")
    ] = None,
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
    iris: HistoryIris = None,
) -> None:
    """Which files, in which order, and the ^DBREST / Journal.Restore steps to run."""
    data = {"directories": directories, "at": at, "timezone": timezone}
    settings = _settings(RestorePlanSettings, compact(data), "restore-plan", json)
    port = _port(iris, json) if iris else None
    _finish(run_restore_plan(settings, iris=port), json, render_restore)


@app.command()
def restore(
    directories: Directories,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Required: this overwrites databases.")
    ] = False,
    at: Annotated[str | None, typer.Option(help="Restore to this ISO 8601 moment.")] = None,
    map_dir: Annotated[
        list[str] | None,
        typer.Option("--map", help="SOURCE=TARGET database directory (repeatable)."),
    ] = None,
    apply_journals: Annotated[
        bool, typer.Option("--apply-journals", help="Then apply journals (Journal.Restore).")
    ] = False,
    iris: IrisOpt = "embedded",
    json: JsonFlag = False,
    timezone: TimezoneOpt = None,
) -> None:
    """Carry out the restore plan inside IRIS (never on a mirror primary)."""
    if not confirm:
        _bad_input("restore", ["--confirm is required: a restore overwrites databases"], json)
    mapping = _directory_map(map_dir or [], json)
    data = {
        "directories": directories,
        "at": at,
        "timezone": timezone,
        "directory_map": mapping,
        "apply_journals": apply_journals,
    }
    settings = _settings(RestoreSettings, compact(data), "restore", json)
    if not map_dir:
        problem = (
            "--map is required: a restore restores only the databases it maps (SOURCE=TARGET, "
        )
        problem += "or SOURCE=SOURCE in place); without one it would restore nothing"
        _bad_input("restore", [problem], json)
    port = _port(iris, json)
    _finish(run_restore(settings, iris=port), json, render_restore)


def _directory_map(entries: list[str], json: bool) -> dict[str, str]:
    """``--map SOURCE=TARGET`` entries; an empty side would map a database onto nothing."""
    mapping: dict[str, str] = {}
    for entry in entries:
        source, equals, target = entry.partition("=")
        if not (equals and source.strip() and target.strip()):
            _bad_input("restore", [f"--map: {entry!r}: give SOURCE=TARGET, both non-empty"], json)
        mapping[source] = target
    return mapping


def _alert_settings(config: str, json: bool) -> AlertSettings:
    try:
        path = non_empty_path(config)
    except ValueError as exc:
        _bad_input("alerts", [f"--config: {exc}"], json)
    try:
        return load_alert_settings(path)
    except SettingsError as exc:
        _bad_input("alerts", exc.problems, json)


def _notifier(
    config: str | None, port: IrisPort | None, state_dir: Path | None, json: bool
) -> Notifier:
    """Channels from --config (messages.log only without it); a channel that cannot be built is
    bad input, so a misconfigured alert is found before the night it is needed."""
    settings = _alert_settings(config, json) if config is not None else AlertSettings()
    notifier, problems = build_notifier(
        settings,
        instance=_instance_name(port),
        iris=port,
        state_dir=state_dir,
        credentials=port.credentials_password if port else None,
    )
    install_redaction(notifier.secrets)
    if problems:
        _bad_input("alerts", problems, json)
    return notifier


def _instance_name(port: IrisPort | None) -> str:
    if port is None:
        return socket.gethostname()
    try:
        return port.instance().name
    except IrisError:
        return "unknown instance"


def _port(choice: IrisChoice, json: bool) -> IrisPort:
    """The adapter --iris names, every call bounded by --iris-call-timeout; one that cannot
    start is bad input, and nothing ran. The fake's instance is the user's, not the backup
    directory's (``BACKUP_KEEPER_FAKE_STATE`` moves it)."""
    try:
        if choice == "fake":
            return bounded(FakeIris(), _call_timeout)
        if choice == "native":
            return bounded(NativeIris.from_environment(), _call_timeout)
        return bounded(EmbeddedIris(), _call_timeout)
    except IrisError as exc:
        _bad_input("iris", [f"--iris {choice}: {exc}"], json)


def _settings(model: type[M], data: dict[str, Any], job: str, json: bool) -> M:
    try:
        return validate_settings(model, data)
    except SettingsError as exc:
        _bad_input(job, [_with_flag(p, job) for p in exc.problems], json)


def _with_flag(problem: str, job: str = "") -> str:
    """``retention.keep_within: …`` -> ``--keep-within: …``: say it the way it was typed."""
    where, _, why = problem.partition(": ")
    parts = where.split(".")
    if parts[0] == "retention":
        return f"--{parts[1].replace('_', '-')}: {why}" if len(parts) > 1 else f"retention: {why}"
    if parts[0] == "settings":
        return problem
    names = _FLAG_NAMES | _JOB_FLAG_NAMES.get(job, {})
    flag = names.get(parts[0], "--" + parts[0].replace("_", "-"))
    return f"{flag}: {why}"


def _clock(now: str | None, job: str, json: bool) -> Clock:
    if now is None:
        return system_clock
    try:
        moment = datetime.fromisoformat(now) if now.isascii() else None
    except ValueError:
        moment = None
    if moment is None:
        _bad_input(job, [f"--now: not an ISO 8601 moment: {now!r}"], json)
    try:
        return fixed_clock(plausible_moment(moment))
    except ValueError as exc:
        _bad_input(job, [f"--now: {exc}"], json)


def _bad_input(job: str, problems: list[str], json: bool) -> NoReturn:
    raise typer.Exit(_refuse(job, problems, json))


def _refuse(job: str, problems: list[str], json: bool) -> int:
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


def _finish(report: JobReport, json: bool, render: Callable[[JobReport], str]) -> None:
    typer.echo(report_json(report) if json else render(report))
    raise typer.Exit(EXIT_OK if report.status is not JobStatus.FAILED else EXIT_FAILED)


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
        return _refuse(job, [str(getattr(exc, "format_message", exc.__str__)())], json)
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
    code = _refuse(job, [message], json)
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
