"""The commands that take a backup or help one be taken: ``backup``, ``snapshot``, and the
``freeze`` / ``thaw`` hooks for a snapshot tool's own scripts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backup_keeper import jobs
from backup_keeper.cli import common
from backup_keeper.cli.render import printable, render_backup
from backup_keeper.report import JobReport, JobStatus, report_json
from backup_keeper.settings import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_FREEZE_TIMEOUT,
    DEFAULT_WD_SUSPEND_LIMIT,
    BackupSettings,
    ExternalBackupSettings,
    FreezeHookSettings,
    OnlineKind,
    ReadOnlyPolicy,
    RunOn,
)


@common.app.command()
@common.retention_flags
def backup(
    kind: Annotated[OnlineKind, typer.Option(help="Requested kind; promoted to full when needed.")],
    directory: Annotated[
        str, typer.Option("--dir", help="Directory for the .cbk, its .log and its manifest.")
    ],
    retention: dict[str, Any] | None = None,
    run_on: Annotated[
        RunOn, typer.Option(help="Mirror role to run on; elsewhere the run is skipped.")
    ] = "any",
    iris: common.IrisOpt = "embedded",
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
            parser=common.number, help="Free space needed, as a multiple of IRIS's size estimate."
        ),
    ] = 1.2,
    timeout: Annotated[
        float,
        typer.Option(
            parser=common.number, help="Seconds before a backup that has not returned fails."
        ),
    ] = 24 * 3600,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
) -> None:
    """Take an online backup into --dir; after a completed one, purge --dir by the keep flags."""
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
    settings = common.settings(BackupSettings, data, "backup", json)
    port = common.port(iris, "backup", json)
    notifier = common.notifier(config, port, settings, "backup", json)
    progress = common.progress(json)
    report = jobs.run_online_backup(settings, iris=port, notifier=notifier, progress=progress)
    common.finish(report, json, render_backup)


CatalogDir = Annotated[
    str, typer.Option("--dir", help="Catalog directory: snapshot records and the freeze marker.")
]
FreezeTimeout = Annotated[
    int,
    common.count_option(
        "ExternalFreezeTimeOut, seconds: then writers block, logins stop (max 1200)."
    ),
]
SuspendLimit = Annotated[
    int,
    common.count_option(
        "WDSuspendLimit, seconds: IRIS resumes by itself after it; below --freeze-timeout."
    ),
]
Sharded = Annotated[
    str | None,
    typer.Option("--sharded", help="Shard master namespace: freeze the whole sharded cluster."),
]


@common.app.command(context_settings={"allow_interspersed_args": False})
def snapshot(
    command: Annotated[list[str], typer.Argument(help="The snapshot command, after --.")],
    directory: CatalogDir,
    iris: common.IrisOpt = "embedded",
    command_timeout: Annotated[
        float,
        typer.Option(parser=common.number, help="Seconds the command may take (below the limit)."),
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
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
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
    settings = common.settings(ExternalBackupSettings, data, "snapshot", json)
    port = common.port(iris, "snapshot", json)
    notifier = common.notifier(config, port, settings, "snapshot", json)
    common.finish(
        jobs.run_external_backup(settings, iris=port, notifier=notifier), json, render_backup
    )


@common.app.command()
def freeze(
    directory: CatalogDir,
    iris: common.IrisOpt = "embedded",
    freeze_timeout: FreezeTimeout = DEFAULT_FREEZE_TIMEOUT,
    wd_suspend_limit: SuspendLimit = DEFAULT_WD_SUSPEND_LIMIT,
    label: Annotated[str, typer.Option(help="Stored in the freeze marker.")] = "",
    sharded: Sharded = None,
    json: common.JsonFlag = False,
    config: common.ConfigOpt = None,
) -> None:
    """ExternalFreeze, for a pre-freeze hook: exit 0 when frozen, one line on stderr."""
    settings = hook_settings(
        "freeze", directory, freeze_timeout, wd_suspend_limit, label, sharded, json
    )
    port = common.port(iris, "freeze", json)
    notifier = common.notifier(config, port, settings, "freeze", json)
    finish_hook(jobs.run_freeze(settings, iris=port, notifier=notifier), json)


@common.app.command()
def thaw(
    directory: CatalogDir,
    iris: common.IrisOpt = "embedded",
    sharded: Sharded = None,
    json: common.JsonFlag = False,
    config: common.ConfigOpt = None,
) -> None:
    """ExternalThaw and check it, for a post-thaw hook: exit 0 when running again."""
    settings = hook_settings(
        "thaw", directory, DEFAULT_FREEZE_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT, "", sharded, json
    )
    port = common.port(iris, "thaw", json)
    notifier = common.notifier(config, port, settings, "thaw", json)
    finish_hook(jobs.run_thaw(settings, iris=port, notifier=notifier), json)


def hook_settings(
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
    return common.settings(FreezeHookSettings, data, job, json)


def finish_hook(report: JobReport, json: bool) -> None:
    """Hook scripts read the exit code; a person reads the one line on stderr."""
    if json:
        typer.echo(report_json(report))
    typer.echo(
        printable(f"backup-keeper {report.job}: {report.status}: {report.summary}"), err=True
    )
    raise typer.Exit(
        common.EXIT_OK if report.status is not JobStatus.FAILED else common.EXIT_FAILED
    )
