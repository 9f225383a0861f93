"""The commands that watch: ``doctor``, ``check-freshness`` and ``alert-test``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from backup_keeper import jobs
from backup_keeper.cli import common
from backup_keeper.cli.backups import CatalogDir, hook_settings
from backup_keeper.cli.render import printable, render_alert_test, render_summary
from backup_keeper.settings import (
    DEFAULT_FREEZE_TIMEOUT,
    DEFAULT_WD_SUSPEND_LIMIT,
    FreshnessSettings,
    RetentionPolicy,
)


@common.app.command()
@common.retention_flags
def doctor(
    directory: CatalogDir,
    iris: common.IrisOpt = "embedded",
    json: common.JsonFlag = False,
    config: common.ConfigOpt = None,
    retention: dict[str, Any] | None = None,
) -> None:
    """Thaw an instance a dead run left frozen; report a foreign freeze or a held lock; warn
    when the keep rules (or the backups held) outlive IRIS's journal purge settings."""
    settings = hook_settings(
        "doctor", directory, DEFAULT_FREEZE_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT, "", None, json
    )
    policy = _policy(retention, "doctor", json)
    port = common.port(iris, "doctor", json)
    notifier = common.notifier(config, port, settings, "doctor", json)
    report = jobs.run_doctor(settings, iris=port, notifier=notifier, retention=policy)
    common.finish(report, json, render_summary)


def _policy(retention: dict[str, Any] | None, job: str, json: bool) -> RetentionPolicy | None:
    """The keep rules given, judged against IRIS's journal purge; None when none was."""
    return common.settings(RetentionPolicy, retention, job, json) if retention else None


@common.app.command("check-freshness")
@common.retention_flags
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
        common.IrisChoice | None, typer.Option(help="Also read IRIS's backup history through this.")
    ] = None,
    json: common.JsonFlag = False,
    timezone: common.TimezoneOpt = None,
    config: common.ConfigOpt = None,
    retention: dict[str, Any] | None = None,
) -> None:
    """Fail (and alert) when backups stopped: too old, none at all, or the newest failed; with
    --iris, warn when the keep rules outlive IRIS's journal purge settings."""
    data: dict[str, Any] = {"directories": directories, "max_age": max_age, "timezone": timezone}
    if kind:
        data["kinds"] = kind
    settings = common.settings(FreshnessSettings, data, "check-freshness", json)
    policy = _policy(retention, "check-freshness", json)
    port = common.port(iris, "check-freshness", json) if iris else None
    notifier = common.notifier(config, port, settings, "check-freshness", json)
    report = jobs.run_freshness_check(settings, iris=port, notifier=notifier, retention=policy)
    common.finish(report, json, render_summary)


@common.app.command("alert-test")
def alert_test(
    config: Annotated[str, typer.Option("--config", help="TOML settings with [alerts].")],
    iris: Annotated[
        common.IrisChoice | None,
        typer.Option(help="Deliver messages.log lines through this adapter."),
    ] = None,
    json: common.JsonFlag = False,
) -> None:
    """Send a test notice through every configured channel; print delivered or why not."""
    # the channels (apprise) load here, not when the command line starts
    from backup_keeper.jobs.alert_test import (  # noqa: PLC0415
        NO_CHANNEL,
        AlertTestSettings,
        run_alert_test,
    )

    alerts = common.alert_settings(config, "alert-test", json)
    port = common.port(iris, "alert-test", json) if iris else None
    report = run_alert_test(AlertTestSettings(alerts=alerts), iris=port)
    if not json:
        for line in [*report.warnings, *(e for e in report.errors if e == NO_CHANNEL)]:
            typer.echo(printable(f"backup-keeper alert-test: {line}"), err=True)
    common.finish(report, json, render_alert_test)
