"""The Task Manager door: ``BackupKeeper.Task.*`` classes call ``run_task`` from ``OnTask``.

It only translates: the task's settings (JSON) into the job's settings, one job call, and the
report back as JSON, whose ``ok`` and ``summary`` become the task's %Status. Alert channels come
from the TOML file named in the task's ``AlertsConfig`` setting, never from task properties.
"""

from __future__ import annotations

import json
from pathlib import Path

from backup_keeper.alerts.build import build_notifier
from backup_keeper.alerts.notifier import Notifier
from backup_keeper.alerts.secrets import install_redaction
from backup_keeper.alerts.settings import AlertSettings, load_alert_settings
from backup_keeper.door import compact, instance_name, run_named_job
from backup_keeper.iris.bounded import bounded
from backup_keeper.iris.embedded import EmbeddedIris
from backup_keeper.iris.port import IrisPort
from backup_keeper.report import JobStatus, report_data
from backup_keeper.settings import SettingsError


def run_task(job: str, settings_json: str, alerts_config: str = "") -> str:
    """Run ``job`` inside IRIS; return ``{"ok", "summary", "report"}`` as JSON."""
    return run_task_with(job, settings_json, alerts_config, iris=EmbeddedIris())


def run_task_with(job: str, settings_json: str, alerts_config: str, *, iris: IrisPort) -> str:
    """``run_task`` with the port given (tests pass FakeIris)."""
    iris = bounded(iris)  # every IRIS call ends: BACKUP_KEEPER_IRIS_CALL_TIMEOUT, else 120 s
    try:
        settings = compact(json.loads(settings_json))
        notifier = _notifier(alerts_config, iris, settings)
    except (ValueError, SettingsError) as exc:
        problems = exc.problems if isinstance(exc, SettingsError) else [str(exc)]
        return json.dumps({"ok": False, "summary": "bad task settings: " + "; ".join(problems)})
    report = run_named_job(job, settings, iris=iris, notifier=notifier)
    return json.dumps(
        {
            "ok": report.status is not JobStatus.FAILED,
            "summary": report.summary,
            "report": report_data(report),
        }
    )


def _notifier(config: str, iris: IrisPort, settings: dict[str, object]) -> Notifier:
    alert_settings = load_alert_settings(Path(config)) if config else AlertSettings()
    directories = settings.get("directories")
    directory = settings.get("directory")
    if directory is None and isinstance(directories, list) and directories:
        directory = directories[0]
    notifier, problems = build_notifier(
        alert_settings,
        instance=instance_name(iris),
        iris=iris,
        state_dir=Path(str(directory)) if directory else None,
        credentials=iris.credentials_password,
    )
    install_redaction(notifier.secrets)
    if problems:
        raise SettingsError([f"alerts: {p}" for p in problems])
    return notifier
