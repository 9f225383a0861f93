"""Business operations. Class attributes are the portal settings (category, description);
secrets are never settings: alert channels come from the TOML file named in ``alerts_config``.
A failed job also raises an ``Ens.AlertRequest`` to the production's ``Ens.Alert``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iop import BusinessOperation, Category, setting

from backup_keeper.alerts.build import build_notifier
from backup_keeper.alerts.events import AlertEvent, AlertSeverity, EventKind
from backup_keeper.alerts.secrets import install_redaction
from backup_keeper.alerts.settings import AlertSettings, load_alert_settings
from backup_keeper.door import compact, instance_name, run_named_job
from backup_keeper.interop.messages import (
    BackupRequest,
    BackupResult,
    ExternalBackupRequest,
    FreshnessRequest,
    JobResult,
    PurgeRequest,
    PurgeResult,
)
from backup_keeper.iris.bounded import bounded
from backup_keeper.iris.embedded import EmbeddedIris, send_ens_alert
from backup_keeper.iris.port import IrisPort
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import DEFAULT_COMMAND_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT, SettingsError

DIRECTORY_HELP = "Directory for the backup files, their logs and manifests."
_COUNT = re.compile(r"[0-9]+")


def _count(value: object) -> object:
    """A portal count: 0 or empty is "not set". What is not ASCII digits goes to the settings
    model as it is, which refuses it by name (``int()`` would read "٣" as 3, or raise)."""
    text = str(value or 0).strip()
    if _COUNT.fullmatch(text) is None:
        return text
    return int(text) or None


class _JobOperation(BusinessOperation):
    """Shared: the port, the notifier, one job call, the alert on failure."""

    alerts_config = setting(
        "",
        category=Category.ALERTING,
        description="TOML file with the [alerts] table (channels); secrets by reference only.",
    )
    _iris_port: IrisPort | None = None
    """Set by tests to a FakeIris; inside IRIS the embedded adapter is used."""

    def _port(self) -> IrisPort:
        if self._iris_port is None:
            self._iris_port = EmbeddedIris()
        return bounded(self._iris_port)  # BACKUP_KEEPER_IRIS_CALL_TIMEOUT, else 120 s

    def _run(self, job: str, settings: dict[str, Any]) -> JobReport:
        port = self._port()
        try:
            notifier = self._notifier(port, settings)
        except SettingsError as exc:
            notifier = None
            self.log_warning(f"alert channels not used: {'; '.join(exc.problems)}")
        report = run_named_job(job, compact(settings), iris=port, notifier=notifier)
        if report.status is JobStatus.FAILED:
            self._send_alert(f"backup-keeper {job} failed: {report.summary}")
        return report

    def _notifier(self, port: IrisPort, settings: dict[str, Any]) -> Any:
        config = str(self.alerts_config or "")
        alert_settings = load_alert_settings(Path(config)) if config else AlertSettings()
        directory = settings.get("directory") or (settings.get("directories") or [None])[0]
        notifier, problems = build_notifier(
            alert_settings,
            instance=instance_name(port),
            iris=port,
            state_dir=Path(directory) if directory else None,
            credentials=port.credentials_password,
        )
        install_redaction(notifier.secrets)
        if problems:
            raise SettingsError(problems)
        return notifier

    def _send_alert(self, text: str) -> None:
        send_ens_alert(self.iris_handle, type(self).__name__, text)

    @staticmethod
    def _result(report: JobReport, cls: type[JobResult] = JobResult) -> Any:
        return cls(ok=report.status is not JobStatus.FAILED, summary=report.summary, report=report)

    def _retention(self) -> dict[str, Any]:
        return {
            "keep_last": _count(self.keep_last),
            "keep_within": str(self.keep_within or ""),
            "keep_daily": _count(self.keep_daily),
            "failed_older_than": str(self.failed_older_than or ""),
        }

    keep_last = setting(
        7, category=Category.BASIC, description="Keep the N newest fulls with their chains."
    )
    keep_within = setting(
        "", category=Category.BASIC, description="Keep every backup newer than this (14d)."
    )
    keep_daily = setting(
        0, category=Category.BASIC, description="Keep the newest backup of each of N days."
    )
    failed_older_than = setting(
        "7d", category=Category.BASIC, description="Remove failed backups older than this."
    )


class BackupOperation(_JobOperation):
    """Online backups ($$BACKUP^DBACK), then the purge of their directory."""

    directory = setting("", category=Category.BASIC, description=DIRECTORY_HELP, required=True)
    kind = setting("full", category=Category.BASIC, description="full, incremental or cumulative.")
    run_on = setting(
        "any",
        category=Category.BASIC,
        description="Mirror role: any, primary, backup, not-primary.",
    )
    read_only = setting(
        "warn", category=Category.ADDITIONAL, description="Read-only databases: warn or exclude."
    )

    def do_backup(self, request: BackupRequest) -> BackupResult:
        settings = {
            "directory": self.directory,
            "kind": request.kind or self.kind,
            "description": request.description,
            "run_on": self.run_on,
            "read_only": self.read_only,
            "retention": self._retention(),
        }
        return self._result(self._run("backup", settings), BackupResult)  # type: ignore[no-any-return]


class ExternalBackupOperation(_JobOperation):
    """Snapshot backups: freeze, the snapshot command, always thaw."""

    directory = setting(
        "",
        category=Category.BASIC,
        description="Catalog directory for snapshot records.",
        required=True,
    )
    command = setting(
        "",
        category=Category.BASIC,
        description="Snapshot command, run through /bin/sh -c.",
        required=True,
    )
    command_timeout = setting(
        DEFAULT_COMMAND_TIMEOUT,
        category=Category.ADDITIONAL,
        description="Seconds the command may take (below WDSuspendLimit).",
    )
    wd_suspend_limit = setting(
        DEFAULT_WD_SUSPEND_LIMIT,
        category=Category.ADDITIONAL,
        description="WDSuspendLimit, seconds: above 0, below the freeze timeout (600).",
    )
    run_on = setting(
        "any",
        category=Category.BASIC,
        description="Mirror role: any, primary, backup, not-primary.",
    )

    def do_snapshot(self, request: ExternalBackupRequest) -> BackupResult:
        settings = {
            "directory": self.directory,
            "command": [str(self.command)] if self.command else [],
            "shell": True,
            "command_timeout": self.command_timeout,
            "wd_suspend_limit": self.wd_suspend_limit,
            "label": request.label,
            "run_on": self.run_on,
        }
        return self._result(self._run("external-backup", settings), BackupResult)  # type: ignore[no-any-return]


class PurgeOperation(_JobOperation):
    """Chain-safe purge of old .cbk files."""

    directory = setting("", category=Category.BASIC, description=DIRECTORY_HELP, required=True)

    def do_purge(self, request: PurgeRequest) -> PurgeResult:
        settings = {
            "directories": [self.directory] if self.directory else [],
            "dry_run": request.dry_run,
            "retention": self._retention(),
        }
        return self._result(self._run("purge", settings), PurgeResult)  # type: ignore[no-any-return]

    def do_freshness(self, request: FreshnessRequest) -> JobResult:
        settings = {
            "directories": [self.directory] if self.directory else [],
            "max_age": request.max_age or self.max_age,
        }
        return self._result(self._run("freshness", settings))  # type: ignore[no-any-return]

    max_age = setting(
        "26h", category=Category.ALERTING, description="Freshness check: alert when older."
    )


class AlertOperation(_JobOperation):
    """Named ``Ens.Alert`` in the production: every ``Ens.AlertRequest`` (ours and any other
    host's) goes out through the notifier's channels: messages.log, email, apprise."""

    def on_message(self, request: Any) -> None:
        port = self._port()
        source = str(getattr(request, "SourceConfigName", "") or "production")
        event = AlertEvent(
            kind=EventKind.PRODUCTION_ALERT,
            severity=AlertSeverity.ERROR,
            instance=instance_name(port),
            job=source,
            summary=str(getattr(request, "AlertText", "") or "(no text)"),
            time=datetime.now(UTC),
        )
        notifier = self._notifier(port, {})
        for channel, outcome in notifier.send(event).items():
            if outcome != "delivered" and not outcome.startswith("not sent"):
                self.log_warning(f"alert via {channel}: {outcome}")
