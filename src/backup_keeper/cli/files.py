"""The commands on backup files: ``catalog``, ``purge``, ``copy``, ``verify``,
``restore-plan`` and ``restore``. ``catalog`` and ``purge`` take a destination URL in place of
their directories (cli/remote.py); ``copy`` sends directories to one."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backup_keeper import jobs
from backup_keeper.cli import common, remote
from backup_keeper.cli.render import (
    render_catalog,
    render_copy,
    render_purge,
    render_restore,
    render_verify,
)
from backup_keeper.door import (
    RemoteCatalogSettings,
    RemotePurgeSettings,
    compact,
    is_destination_url,
)
from backup_keeper.settings import (
    CatalogSettings,
    CopySettings,
    PurgeSettings,
    RestorePlanSettings,
    RestoreSettings,
    VerifySettings,
)

Targets = Annotated[
    list[str],
    typer.Argument(
        help="Directories holding .cbk files, or one destination URL (s3://bucket/prefix, "
        "az://, gs://, sftp://user@host/path, file:///mnt/share) with --instance.",
        show_default=False,
        metavar="DIRECTORIES...|URL",
    ),
]


@common.app.command()
@remote.destination_flags
def catalog(
    directories: Targets,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    iris: common.HistoryIris = None,
    destination: remote.Destination | None = None,
) -> None:
    """List the backups in DIRECTORIES, or at a destination URL: kind, time, status, where the
    facts came from, chain."""
    where = destination or remote.Destination()
    url = remote.url_among(directories, where, "catalog", json, iris=iris)
    if url is not None:
        data = {"timezone": timezone}
        stored = remote.settings(RemoteCatalogSettings, url, where, data, "catalog", json)
        common.finish(jobs.run_remote_catalog(stored), json, render_catalog)
    settings = common.settings(
        CatalogSettings, {"directories": directories, "timezone": timezone}, "catalog", json
    )
    port = common.port(iris, "catalog", json) if iris else None
    report = jobs.run_catalog(settings, iris=port, progress=common.progress(json))
    common.finish(report, json, render_catalog)


@common.app.command()
@common.retention_flags
@remote.destination_flags
def purge(
    directories: Targets,
    retention: dict[str, Any] | None = None,
    now: Annotated[
        str | None, typer.Option(help="Plan as of this ISO 8601 moment (with zone) instead of now.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
    destination: remote.Destination | None = None,
) -> None:
    """Delete the backups in DIRECTORIES (or at a destination URL, by its own keep rules) that
    no rule keeps, never one a kept backup needs."""
    where = destination or remote.Destination()
    url = remote.url_among(directories, where, "purge", json)
    clock = common.clock(now, "purge", json)
    data = {"timezone": timezone, "dry_run": dry_run, "retention": retention or {}}
    if url is not None:
        stored = remote.settings(RemotePurgeSettings, url, where, data, "purge", json)
        notifier = common.notifier(config, None, stored, "purge", json)
        common.finish(
            jobs.run_remote_purge(stored, clock=clock, notifier=notifier), json, render_purge
        )
    settings = common.settings(PurgeSettings, {**data, "directories": directories}, "purge", json)
    # a dry run writes nothing, not even the alerts' dedupe state (door.alert_state_dir)
    notifier = common.notifier(config, None, settings, "purge", json)
    report = jobs.run_purge(
        settings, clock=clock, notifier=notifier, progress=common.progress(json)
    )
    common.finish(report, json, render_purge)


@common.app.command()
@common.retention_flags
@remote.destination_flags
def copy(
    directories: common.Directories,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Destination URL: s3://bucket/prefix, az://container/prefix, gs://bucket/prefix, "
            "sftp://user@host/path or file:///mnt/share (no credentials in it).",
            show_default=False,
        ),
    ],
    encrypt_to: Annotated[
        list[str] | None,
        typer.Option(
            "--encrypt-to",
            help="age (or ssh) public key to encrypt the copies to (repeatable); the private "
            "key is never needed to copy.",
        ),
    ] = None,
    bandwidth_limit: Annotated[
        int | None,
        common.count_option("Bytes per second over the link (default: no limit)."),
    ] = None,
    retention: dict[str, Any] | None = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be copied (and purged there).")
    ] = False,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
    destination: remote.Destination | None = None,
) -> None:
    """Copy the completed backups in DIRECTORIES to --to, each proved there and recorded in its
    sidecar; then, with keep flags, purge the destination by them."""
    where = destination or remote.Destination()
    if any(is_destination_url(d) for d in directories):
        problem = "DIRECTORIES: copy reads directories; name the destination with --to"
        common.bad_input("copy", [problem], json)
    target = {
        "destination": where.settings(to),
        "encrypt_to": encrypt_to or [],
        "bandwidth_limit": bandwidth_limit,
        "retention": retention,
        "instance": where.instance or remote.default_instance(),
    }
    data = {"directories": directories, "timezone": timezone, "dry_run": dry_run, "to": target}
    settings = common.settings(CopySettings, data, "copy", json)
    notifier = common.notifier(config, None, settings, "copy", json)
    report = jobs.run_copy(settings, notifier=notifier, progress=common.progress(json))
    common.finish(report, json, render_copy)


@common.app.command()
def verify(
    directories: common.Directories,
    sample: Annotated[int | None, common.count_option("Verify only the N newest chains.")] = None,
    iris: Annotated[
        common.IrisChoice | None,
        typer.Option(help="Also check volume labels through this adapter."),
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
) -> None:
    """Re-hash every backup against its manifest and check every chain; any finding fails."""
    data = {"directories": directories, "sample": sample, "timezone": timezone}
    settings = common.settings(VerifySettings, compact(data), "verify", json)
    port = common.port(iris, "verify", json) if iris else None
    notifier = common.notifier(config, port, settings, "verify", json)
    report = jobs.run_verify(settings, iris=port, notifier=notifier, progress=common.progress(json))
    common.finish(report, json, render_verify)


@common.app.command("restore-plan")
def restore_plan(
    directories: common.Directories,
    at: Annotated[
        str | None, typer.Option(help="Restore to this ISO 8601 moment (default: the newest).")
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    iris: common.HistoryIris = None,
) -> None:
    """Which files, in which order, and the ^DBREST / Journal.Restore steps to run."""
    data = {"directories": directories, "at": at, "timezone": timezone}
    settings = common.settings(RestorePlanSettings, compact(data), "restore-plan", json)
    port = common.port(iris, "restore-plan", json) if iris else None
    common.finish(jobs.run_restore_plan(settings, iris=port), json, render_restore)


@common.app.command()
def restore(
    directories: common.Directories,
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
    iris: common.IrisOpt = "embedded",
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
) -> None:
    """Carry out the restore plan inside IRIS (never on a mirror primary)."""
    if not confirm:
        common.bad_input("restore", ["--confirm is required: a restore overwrites databases"], json)
    mapping = _directory_map(map_dir or [], json)
    data = {
        "directories": directories,
        "at": at,
        "timezone": timezone,
        "directory_map": mapping,
        "apply_journals": apply_journals,
    }
    settings = common.settings(RestoreSettings, compact(data), "restore", json)
    if not map_dir:
        problem = (
            "--map is required: a restore restores only the databases it maps (SOURCE=TARGET, "
        )
        problem += "or SOURCE=SOURCE in place); without one it would restore nothing"
        common.bad_input("restore", [problem], json)
    port = common.port(iris, "restore", json)
    report = jobs.run_restore(settings, iris=port, progress=common.progress(json))
    common.finish(report, json, render_restore)


def _directory_map(entries: list[str], json: bool) -> dict[str, str]:
    """``--map SOURCE=TARGET`` entries; an empty side would map a database onto nothing."""
    mapping: dict[str, str] = {}
    for entry in entries:
        source, equals, target = entry.partition("=")
        if not (equals and source.strip() and target.strip()):
            common.bad_input(
                "restore", [f"--map: {entry!r}: give SOURCE=TARGET, both non-empty"], json
            )
        mapping[source] = target
    return mapping
