"""Business operations. Class attributes are the portal settings (category, description);
secrets are never settings: alert channels come from the TOML file named in ``alerts_config``.
A failed job also raises an ``Ens.AlertRequest`` to the production's ``Ens.Alert``."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from iop import BusinessOperation, Category, setting
from iop.runtime import iris as iop_runtime

from backup_keeper.door import (
    IrisError,
    IrisPort,
    compact,
    open_port,
    relay_alert,
    run_named_job,
    send_ens_alert,
)
from backup_keeper.interop.messages import (
    BackupRequest,
    BackupResult,
    CopyRequest,
    CopyResult,
    ExternalBackupRequest,
    FreshnessRequest,
    JobResult,
    MetricsRequest,
    PurgeRequest,
    PurgeResult,
)
from backup_keeper.report import JobReport, JobStatus, report_json
from backup_keeper.settings import DEFAULT_COMMAND_TIMEOUT, DEFAULT_WD_SUSPEND_LIMIT

DIRECTORY_HELP = "Directory for the backup files, their logs and manifests."
_COUNT = re.compile(r"[0-9]+")
R = TypeVar("R", bound=JobResult)


def _count(value: object) -> object:
    """A portal count: 0 or empty is "not set". What is not ASCII digits goes to the settings
    model as it is, which refuses it by name (``int()`` would read "٣" as 3, or raise)."""
    text = str(value or 0).strip()
    if _COUNT.fullmatch(text) is None:
        return text
    return int(text) or None


def _result(report: JobReport, cls: type[R]) -> R:
    """The answer, its report the very JSON ``--json`` prints (``report_json``): a file name
    that is not UTF-8 is escaped there, so IoP can always serialize what it is handed."""
    sent = JobReport.model_validate_json(report_json(report, indent=None))
    return cls(ok=sent.status is not JobStatus.FAILED, summary=sent.summary, report=sent)


class _JobOperation(BusinessOperation):
    """Shared: the port, one door-layer call (the same notifier and refusals as every door),
    the Ens alert on failure. Each handler is named after the job it runs."""

    alerts_config = setting(
        "",
        category=Category.ALERTING,
        description="TOML file with the [alerts] table (channels); secrets by reference only.",
    )
    _iris_port: IrisPort | None = None
    """Set by tests to a FakeIris; inside IRIS the embedded adapter is used."""

    def _port(self) -> IrisPort:
        if self._iris_port is None:
            self._iris_port = open_port("embedded")
        return self._iris_port

    def _run(self, job: str, settings: dict[str, Any], answer: type[R]) -> R:
        report = run_named_job(
            job,
            compact(settings),
            iris=self._port(),
            alerts_config=str(self.alerts_config or ""),
            ens_send=self._raise_ens_alert,
        )
        if report.status is JobStatus.FAILED:
            self._send_alert(f"backup-keeper {job} failed: {report.summary}")
        return _result(report, answer)

    def _raise_ens_alert(self, text: str) -> None:
        """One ``Ens.AlertRequest`` through this host; IrisError when the production refuses
        it (the ``ens_alert`` channel reports that as a failed delivery)."""
        send_ens_alert(self.iris_handle, type(self).__name__, text, iris=iop_runtime.get_iris())

    def _send_alert(self, text: str) -> None:
        """The failure's own Ens alert: one the production refuses is logged, and the answer
        still goes back."""
        try:
            self._raise_ens_alert(text)
        except IrisError as exc:
            self.log_error(f"Ens alert not raised: {exc}")

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

    def backup(self, request: BackupRequest) -> BackupResult:
        settings = {
            "directory": self.directory,
            "kind": request.kind or self.kind,
            "description": request.description,
            "run_on": self.run_on,
            "read_only": self.read_only,
            "retention": self._retention(),
        }
        return self._run("backup", settings, BackupResult)


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

    def snapshot(self, request: ExternalBackupRequest) -> BackupResult:
        settings = {
            "directory": self.directory,
            "command": [str(self.command)] if self.command else [],
            "shell": True,
            "command_timeout": self.command_timeout,
            "wd_suspend_limit": self.wd_suspend_limit,
            "label": request.label,
            "run_on": self.run_on,
        }
        return self._run("snapshot", settings, BackupResult)


class PurgeOperation(_JobOperation):
    """Chain-safe purge of old .cbk files."""

    directory = setting("", category=Category.BASIC, description=DIRECTORY_HELP, required=True)

    def purge(self, request: PurgeRequest) -> PurgeResult:
        settings = {
            "directories": [self.directory] if self.directory else [],
            "dry_run": request.dry_run,
            "retention": self._retention(),
        }
        return self._run("purge", settings, PurgeResult)

    def check_freshness(self, request: FreshnessRequest) -> JobResult:
        settings = {
            "directories": [self.directory] if self.directory else [],
            "max_age": request.max_age or self.max_age,
        }
        return self._run("check-freshness", settings, JobResult)

    def metrics(self, request: MetricsRequest) -> JobResult:
        """The snapshot /api/monitor/metrics shows, rebuilt for this directory (every job of
        the production already refreshes it when done; this is for a schedule of its own)."""
        settings = {"directories": [self.directory] if self.directory else []}
        return self._run("metrics", settings, JobResult)

    max_age = setting(
        "26h", category=Category.ALERTING, description="Freshness check: alert when older."
    )


class CopyOperation(_JobOperation):
    """Off-site copies: the backups of a directory to a destination URL, each proved there and
    recorded in its sidecar, then the destination purged by its own keep rules (off until one is
    set: the keep rules here are the destination's, not the directory's). Credentials are never
    settings: the provider's environment variables, an SFTP key file or the NAME of a variable
    holding a password."""

    directory = setting("", category=Category.BASIC, description=DIRECTORY_HELP, required=True)
    destination_url = setting(
        "",
        category=Category.BASIC,
        description="s3://bucket/prefix, az://container/prefix, gs://bucket/prefix, "
        "sftp://user@host/path or file:///mnt/share; never a password in it.",
        required=True,
    )
    instance = setting(
        "",
        category=Category.BASIC,
        description="Directory under the URL's prefix (empty: the instance each sidecar names).",
    )
    encrypt_to = setting(
        "",
        category=Category.BASIC,
        description="age public keys to encrypt to, separated by commas (empty: not encrypted).",
    )
    bandwidth_limit = setting(
        0, category=Category.ADDITIONAL, description="Bytes per second (0: no limit)."
    )
    endpoint = setting(
        "",
        category=Category.ADDITIONAL,
        description="S3-compatible endpoint (MinIO, Ceph) or Azurite: https://host:port.",
    )
    region = setting("", category=Category.ADDITIONAL, description="S3 region.")
    path_style = setting(
        False, category=Category.ADDITIONAL, description="S3 buckets as endpoint/bucket."
    )
    allow_http = setting(
        False, category=Category.ADDITIONAL, description="Accept a plain-HTTP endpoint."
    )
    known_hosts = setting(
        "", category=Category.ADDITIONAL, description="SFTP: known_hosts naming the server's key."
    )
    identity_file = setting(
        "", category=Category.ADDITIONAL, description="SFTP: private key file to log in with."
    )
    sftp_login_variable = setting(
        "",
        category=Category.ADDITIONAL,
        description="SFTP: NAME of the environment variable holding the password.",
    )
    keep_last = setting(
        0,
        category=Category.BASIC,
        description="At the destination: keep the N newest fulls with their chains (0: off).",
    )
    keep_within = setting(
        "", category=Category.BASIC, description="At the destination: keep every backup newer."
    )
    keep_daily = setting(
        0, category=Category.BASIC, description="At the destination: newest of each of N days."
    )
    failed_older_than = setting(
        "",
        category=Category.BASIC,
        description="At the destination: remove failed backups older than this (empty: off).",
    )

    def copy(self, request: CopyRequest) -> CopyResult:
        destination = {
            "url": self.destination_url,
            "endpoint": self.endpoint,
            "region": self.region,
            "path_style": bool(self.path_style),
            "allow_http": bool(self.allow_http),
            "known_hosts": self.known_hosts,
            "identity_file": self.identity_file,
            "password_env": self.sftp_login_variable,
        }
        target = {
            "destination": destination,
            "instance": self.instance,
            "encrypt_to": [k.strip() for k in str(self.encrypt_to or "").split(",") if k.strip()],
            "bandwidth_limit": _count(self.bandwidth_limit),
            "retention": self._retention(),
        }
        settings = {
            "directories": [self.directory] if self.directory else [],
            "dry_run": request.dry_run,
            "to": target,
        }
        return self._run("copy", settings, CopyResult)


class AlertOperation(_JobOperation):
    """Named ``Ens.Alert`` in the production: every ``Ens.AlertRequest`` (ours and any other
    host's) goes out through the notifier's channels: messages.log, email, apprise."""

    def on_message(self, request: Any) -> None:
        outcomes, problems = relay_alert(
            str(getattr(request, "SourceConfigName", "") or ""),
            str(getattr(request, "AlertText", "") or ""),
            iris=self._port(),
            alerts_config=str(self.alerts_config or ""),
        )
        for problem in problems:
            self.log_error(f"alert channels not used: {problem}")
        for channel, outcome in outcomes.items():
            if outcome != "delivered" and not outcome.startswith("not sent"):
                self.log_warning(f"alert via {channel}: {outcome}")
