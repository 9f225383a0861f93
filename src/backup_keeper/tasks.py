"""The Task Manager door: ``BackupKeeper.Task.*`` classes call ``run_task`` from ``OnTask``.

It only translates: the task's settings (JSON) into the job's settings, one door-layer call
(``run_named_job``: the same notifier and refusals as every door), and the report back as
JSON, whose ``ok`` and ``summary`` become the task's %Status. Alert channels come from the
TOML file named in the task's ``AlertsConfig`` setting, never from task properties.
"""

from __future__ import annotations

import json
from typing import Any

from backup_keeper.door import IrisPort, compact, open_port, refused, run_named_job
from backup_keeper.report import JobReport, JobStatus, report_data


def run_task(job: str, settings_json: str, alerts_config: str = "") -> str:
    """Run ``job`` inside IRIS; return ``{"ok", "summary", "report"}`` as JSON. Outside IRIS
    the embedded adapter refuses to start (NotInsideIris), before anything is done."""
    return run_task_with(job, settings_json, alerts_config, iris=open_port("embedded"))


def run_task_with(job: str, settings_json: str, alerts_config: str, *, iris: IrisPort) -> str:
    """``run_task`` with the port given (tests pass FakeIris)."""
    try:
        settings: Any = json.loads(settings_json)
    except ValueError as exc:
        return _answer(refused(job, [f"not JSON: {exc}"], "bad task settings"))
    if not isinstance(settings, dict):
        problem = f"a JSON object of settings, not {type(settings).__name__}"
        return _answer(refused(job, [problem], "bad task settings"))
    report = run_named_job(job, compact(settings), iris=iris, alerts_config=alerts_config)
    return _answer(report)


def _answer(report: JobReport) -> str:
    return json.dumps(
        {
            "ok": report.status is not JobStatus.FAILED,
            "summary": report.summary,
            "report": report_data(report),
        }
    )
