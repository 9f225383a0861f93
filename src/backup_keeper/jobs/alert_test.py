"""The alert test: one test notice through every channel the alert settings configure, and per
channel "delivered" or why not, so a misconfigured channel is found before the night it is
needed. A channel that cannot be built (a secret not set) is a finding, not a refusal."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backup_keeper.alerts.build import build_notifier, instance_name
from backup_keeper.alerts.events import alert_test_notice
from backup_keeper.alerts.settings import AlertSettings, insecure_settings
from backup_keeper.clock import Clock, system_clock
from backup_keeper.iris.port import IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.report import JobReport

JOB = "alert-test"
NO_CHANNEL = (
    "only messages.log is configured: no channel to test; add [alerts.email], "
    "[[alerts.apprise]] or [alerts.ens_alert] to the --config file"
)


class AlertTestSettings(BaseModel):
    """The ``[alerts]`` table to test; the doors fill it from the alerts file they were given."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    alerts: AlertSettings = Field(default_factory=AlertSettings)


def run_alert_test(
    settings: AlertTestSettings, *, iris: IrisPort | None = None, clock: Clock = system_clock
) -> JobReport:
    """``checked`` holds one ``channel: outcome`` line per channel (messages.log first); any
    channel not delivered, or no channel besides messages.log, fails the job."""
    report = lifecycle.begin(JOB, clock=clock, directories=[], options={}, iris=_adapter(iris))
    return lifecycle.conclude(
        report,
        lambda: _send(settings.alerts, iris, report),
        clock=clock,
        notifier=None,  # the test notice is the only message: a failure here is not news
        what=JOB,
    )


def _adapter(iris: IrisPort | None) -> str | None:
    return iris.adapter_name if iris is not None else None


def _send(alerts: AlertSettings, iris: IrisPort | None, report: JobReport) -> str:
    report.warnings += insecure_settings(alerts)
    notifier, problems = build_notifier(
        alerts,
        instance=instance_name(iris),
        iris=iris,
        state_dir=None,
        credentials=iris.credentials_password if iris else None,
    )
    results = notifier.send(alert_test_notice(notifier.instance))
    for problem in problems:
        name, _, why = problem.partition(": ")
        results[name] = f"not delivered: {why}"
    report.checked += [f"{name}: {outcome}" for name, outcome in results.items()]
    report.errors += [
        f"{name}: {outcome}"
        for name, outcome in results.items()
        if outcome != "delivered" and not outcome.startswith("not sent")
    ]
    if not notifier.channels and not problems:
        report.errors.append(NO_CHANNEL)
    if report.errors:
        return f"alert test: {len(report.errors)} problem(s): " + "; ".join(report.errors)
    return f"alert test: delivered through {len(notifier.channels)} channel(s) and messages.log"
