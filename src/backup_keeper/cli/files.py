"""The commands on backup files: ``catalog``, ``purge``, ``copy``, ``verify``,
``restore-plan`` and ``restore``. All but ``copy`` take a destination URL in place of their
directories (cli/remote.py); ``copy`` sends directories to one."""

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
    EncryptionError,
    RemoteCatalogSettings,
    RemotePurgeSettings,
    RemoteRestorePlanSettings,
    RemoteRestoreSettings,
    RemoteVerifySettings,
    check_identity,
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
@remote.destination_flags
def verify(
    directories: Targets,
    sample: Annotated[int | None, common.count_option("Verify only the N newest chains.")] = None,
    iris: Annotated[
        common.IrisChoice | None,
        typer.Option(help="Also check volume labels through this adapter."),
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
    destination: remote.Destination | None = None,
) -> None:
    """Re-hash every backup (in DIRECTORIES, or stored at a destination URL: read back against
    its copy record) and check every chain; any finding fails."""
    where = destination or remote.Destination()
    url = remote.url_among(directories, where, "verify", json, iris=iris)
    data: dict[str, Any] = {"sample": sample, "timezone": timezone}
    if url is not None:
        stored = remote.settings(RemoteVerifySettings, url, where, compact(data), "verify", json)
        notifier = common.notifier(config, None, stored, "verify", json)
        report = jobs.run_remote_verify(stored, notifier=notifier, progress=common.progress(json))
        common.finish(report, json, render_verify)
    data["directories"] = directories
    settings = common.settings(VerifySettings, compact(data), "verify", json)
    port = common.port(iris, "verify", json) if iris else None
    notifier = common.notifier(config, port, settings, "verify", json)
    report = jobs.run_verify(settings, iris=port, notifier=notifier, progress=common.progress(json))
    common.finish(report, json, render_verify)


@common.app.command("restore-plan")
@remote.destination_flags
def restore_plan(
    directories: Targets,
    at: Annotated[
        str | None, typer.Option(help="Restore to this ISO 8601 moment (default: the newest).")
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    iris: common.HistoryIris = None,
    destination: remote.Destination | None = None,
) -> None:
    """Which files (or stored objects, at a destination URL), in which order, and the ^DBREST /
    Journal.Restore steps to run."""
    where = destination or remote.Destination()
    url = remote.url_among(directories, where, "restore-plan", json, iris=iris)
    data: dict[str, Any] = {"at": at, "timezone": timezone}
    if url is not None:
        stored = remote.settings(
            RemoteRestorePlanSettings, url, where, compact(data), "restore-plan", json
        )
        common.finish(jobs.run_remote_restore_plan(stored), json, render_restore)
    data["directories"] = directories
    settings = common.settings(RestorePlanSettings, compact(data), "restore-plan", json)
    port = common.port(iris, "restore-plan", json) if iris else None
    common.finish(jobs.run_restore_plan(settings, iris=port), json, render_restore)


Staging = Annotated[
    str | None,
    typer.Option(
        help="With a URL, required: the directory a new owner-only staging directory is made "
        "in, to fetch (and decrypt) the chain into before it is restored."
    ),
]
AgeIdentity = Annotated[
    str | None,
    typer.Option(
        "--identity",
        help="With a URL: the age identity (private key) file that decrypts encrypted copies, "
        "as age -i takes it. Not --identity-file: that is the SFTP login key.",
    ),
]
KeepStaging = Annotated[
    bool,
    typer.Option(
        "--keep-staging",
        help="With a URL: leave the fetched chain (decrypted) in staging after the restore.",
    ),
]


@common.app.command()
@remote.destination_flags
def restore(
    directories: Targets,
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
    staging: Staging = None,
    identity: AgeIdentity = None,
    keep_staging: KeepStaging = False,
    iris: common.IrisOpt = "embedded",
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    destination: remote.Destination | None = None,
) -> None:
    """Carry out the restore plan inside IRIS (never on a mirror primary); from a destination
    URL, the chain is first fetched, proved and decrypted into --staging."""
    where = destination or remote.Destination()
    typed = {"staging": staging, "identity": identity, "keep_staging": keep_staging}
    url = remote.url_among(directories, where, "restore", json, url_only=typed)
    if not confirm:
        common.bad_input("restore", ["--confirm is required: a restore overwrites databases"], json)
    mapping = _directory_map(map_dir or [], json)
    data: dict[str, Any] = {
        "at": at,
        "timezone": timezone,
        "directory_map": mapping,
        "apply_journals": apply_journals,
    }
    settings: RestoreSettings | RemoteRestoreSettings
    if url is not None:
        fetch = {"staging": staging, "identity_file": identity, "keep_staging": keep_staging}
        settings = _remote_restore_settings(url, where, compact({**data, **fetch}), json)
    else:
        data["directories"] = directories
        settings = common.settings(RestoreSettings, compact(data), "restore", json)
    if not map_dir:
        problem = (
            "--map is required: a restore restores only the databases it maps (SOURCE=TARGET, "
        )
        problem += "or SOURCE=SOURCE in place); without one it would restore nothing"
        common.bad_input("restore", [problem], json)
    port = common.port(iris, "restore", json)
    if isinstance(settings, RemoteRestoreSettings):
        report = jobs.run_remote_restore(settings, iris=port, progress=common.progress(json))
    else:
        report = jobs.run_restore(settings, iris=port, progress=common.progress(json))
    common.finish(report, json, render_restore)


def _remote_restore_settings(
    url: str, where: remote.Destination, data: dict[str, Any], json: bool
) -> RemoteRestoreSettings:
    """The settings of a restore from ``url``. The identity file is opened first: one that
    cannot be read or holds no key is bad input, found before anything is fetched (its
    content is never shown). An SFTP login key given where the age identity was meant is
    named as such."""
    if data.get("staging") is None:
        problem = "--staging: required with a destination URL: the directory the chain is "
        common.bad_input("restore", [problem + "fetched (and decrypted) into first"], json)
    if where.identity_file is not None and not url.lower().startswith("sftp:"):
        problem = "--identity-file: the SFTP login key, for sftp:// URLs only"
        common.bad_input(
            "restore", [f"{problem}; the age identity that decrypts is --identity"], json
        )
    settings = remote.settings(RemoteRestoreSettings, url, where, data, "restore", json)
    if settings.identity_file is not None:
        try:
            check_identity(settings.identity_file)
        except EncryptionError as exc:
            common.bad_input("restore", [f"--identity: {exc}"], json)
    return settings


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
