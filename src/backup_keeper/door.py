"""What every door (Task Manager task, Interoperability operation) shares: job names, the
settings model each job takes, and the one call that runs it. So two doors can never differ in
behaviour: they both hand a mapping of settings to ``run_named_job``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from backup_keeper.clock import system_clock
from backup_keeper.iris.port import IrisError, IrisPort
from backup_keeper.jobs import (
    run_external_backup,
    run_freshness_check,
    run_online_backup,
    run_purge,
)
from backup_keeper.notify import Notifier
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import (
    BackupSettings,
    ExternalBackupSettings,
    FreshnessSettings,
    PurgeSettings,
    SettingsError,
    validate_settings,
)

JobCall = Callable[[Any, IrisPort, Notifier | None], JobReport]

JOBS: dict[str, tuple[type[BaseModel], JobCall]] = {
    "backup": (
        BackupSettings,
        lambda s, iris, n: run_online_backup(s, iris=iris, notifier=n),
    ),
    "external-backup": (
        ExternalBackupSettings,
        lambda s, iris, n: run_external_backup(s, iris=iris, notifier=n),
    ),
    "purge": (PurgeSettings, lambda s, iris, n: run_purge(s, notifier=n)),
    "freshness": (
        FreshnessSettings,
        lambda s, iris, n: run_freshness_check(s, iris=iris, notifier=n),
    ),
}


def run_named_job(
    job: str, settings: Mapping[str, Any], *, iris: IrisPort, notifier: Notifier | None
) -> JobReport:
    """Validate ``settings`` for ``job`` and run it. Bad settings are a failed report listing
    every problem, never an exception: a task or an operation must always get a report."""
    if job not in JOBS:
        return _refused(job, [f"unknown job {job!r}; known: {', '.join(JOBS)}"])
    model, call = JOBS[job]
    try:
        parsed = validate_settings(model, settings)
    except SettingsError as exc:
        return _refused(job, exc.problems)
    return call(parsed, iris, notifier)


def _refused(job: str, problems: list[str]) -> JobReport:
    report = JobReport(job=job, status=JobStatus.FAILED, started=system_clock(), errors=problems)
    return report.finish(system_clock(), "bad settings: nothing was done: " + "; ".join(problems))


def compact(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as a portal holds them: empty strings and None mean "not set" and are dropped,
    recursively (a table left empty goes too), so that pydantic applies its defaults. Zeros and
    False are kept: ``quiet_timeout = 0`` (wait for quiet forever) and ``freeze_timeout = 0``
    (IRIS's 600 s) are choices that differ from the defaults, not blanks."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            nested = compact(value)
            if nested:
                out[key] = nested
        elif value not in ("", None):
            out[key] = value
    return out


def instance_name(iris: IrisPort) -> str:
    """The instance's name for alerts; an IRIS that does not answer (a hung call times out) must
    not keep the door from running the job and reporting."""
    try:
        return iris.instance().name
    except IrisError:
        return "unknown instance"
