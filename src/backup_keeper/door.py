"""The door layer: what the three doors (the CLI, a Task Manager task, an Interoperability
operation) share, and the one part of the project they import besides jobs, settings and
reports (tests/unit/test_door_imports.py holds them to it).

What no door may decide for itself is decided here, once: each job's one name and settings
model, how the notifier is built from an alerts file (channels, secrets, redaction), that a bad
alerts file or a channel that cannot be built refuses the job before anything is done, where
the alerts' dedupe state lives, and which IRIS adapter runs, every call bounded. So two doors
given the same settings cannot differ (tests/unit/test_door.py runs all three)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from backup_keeper import jobs
from backup_keeper.clock import Clock, fixed_clock, system_clock
from backup_keeper.iris.bounded import (
    DEFAULT_CALL_TIMEOUT,
    TIMEOUT_ENV,
    bounded,
    parse_call_timeout,
)
from backup_keeper.iris.port import IrisError, IrisPort
from backup_keeper.progress import NO_PROGRESS, Progress, Unit
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.safe_files import UnsafeName, write_atomic
from backup_keeper.settings import (
    BackupSettings,
    CopySettings,
    ExternalBackupSettings,
    FreshnessSettings,
    PurgeSettings,
    SettingsError,
    validate_settings,
)
from backup_keeper.sizes import human_size
from backup_keeper.small_files import TooLarge, read_small
from backup_keeper.timezones import format_moment, resolve_zone, zone_name

if TYPE_CHECKING:
    from backup_keeper.alerts.build import instance_name
    from backup_keeper.alerts.notifier import AlertNotifier
    from backup_keeper.alerts.settings import AlertSettings
    from backup_keeper.destination_settings import DestinationSettings
    from backup_keeper.destinations.remote_settings import (
        RemoteCatalogSettings,
        RemotePurgeSettings,
        RemoteRestorePlanSettings,
        RemoteRestoreSettings,
        RemoteVerifySettings,
    )
    from backup_keeper.encryption import EncryptionError, check_identity
    from backup_keeper.iris.embedded import send_ens_alert
    from backup_keeper.notify import Notifier
    from backup_keeper.purge.executor import RECOVERED

_LAZY = {
    "AlertNotifier": "backup_keeper.alerts.notifier",
    "AlertSettings": "backup_keeper.alerts.settings",
    "instance_name": "backup_keeper.alerts.build",
    "send_ens_alert": "backup_keeper.iris.embedded",
    "RECOVERED": "backup_keeper.purge.executor",
    "DestinationSettings": "backup_keeper.destination_settings",
    "RemoteCatalogSettings": "backup_keeper.destinations.remote_settings",
    "RemotePurgeSettings": "backup_keeper.destinations.remote_settings",
    "RemoteRestorePlanSettings": "backup_keeper.destinations.remote_settings",
    "RemoteRestoreSettings": "backup_keeper.destinations.remote_settings",
    "RemoteVerifySettings": "backup_keeper.destinations.remote_settings",
    "EncryptionError": "backup_keeper.encryption",
    "check_identity": "backup_keeper.encryption",
}
"""Names re-exported for the doors but loaded on first use (PEP 562): the alert channels pull
in apprise, the purge executor the whole plan, and a command that uses neither (``--help``,
``catalog``) must not pay for them.
The ``TYPE_CHECKING`` imports name the same things for the type checker."""

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "JOBS",
    "NO_PROGRESS",
    "RECOVERED",
    "TIMEOUT_ENV",
    "AlertNotifier",
    "AlertSettings",
    "Clock",
    "DestinationSettings",
    "EncryptionError",
    "EnsSend",
    "IrisChoice",
    "IrisError",
    "IrisPort",
    "LogProgress",
    "Progress",
    "RemoteCatalogSettings",
    "RemotePurgeSettings",
    "RemoteRestorePlanSettings",
    "RemoteRestoreSettings",
    "RemoteVerifySettings",
    "TooLarge",
    "Unit",
    "UnsafeName",
    "alert_state_dir",
    "check_identity",
    "compact",
    "fixed_clock",
    "format_moment",
    "human_size",
    "instance_name",
    "is_destination_url",
    "load_alerts",
    "notifier_for",
    "open_port",
    "parse_call_timeout",
    "read_small",
    "refused",
    "relay_alert",
    "resolve_zone",
    "run_named_job",
    "send_ens_alert",
    "system_clock",
    "write_atomic",
    "zone_name",
]
"""Besides the door layer's own functions, the few names of lower layers a door needs (the
port and its errors, the clock, the instance's zone, the scheduler's state file), named here so
that every arrow from a door into the core passes through this one module."""

IrisChoice = Literal["embedded", "native", "fake"]
EnsSend = Callable[[str], None]
"""Raises one ``Ens.AlertRequest`` with this text (only a production's operations have one)."""
JobCall = Callable[[Any, IrisPort, "Notifier | None", Progress], JobReport]


@dataclass(frozen=True)
class DoorJob:
    """A job as the doors know it. ``takes_alerts``: the job takes the alert settings as its
    own (``alert-test`` tests the channels, ``metrics`` reads the state file they name), so the
    door builds no notifier for it and refuses nothing a channel does; every other job changes
    what the metrics say, so it runs with the snapshot IRIS's monitor shows refreshed after it
    (:func:`run_named_job`). ``settings_model`` is a
    function so that a model that lives with its job (``alert-test``'s, beside the alert
    channels) loads only when that job runs."""

    settings_model: Callable[[], type[BaseModel]]
    call: JobCall
    takes_alerts: bool = False

    @property
    def model(self) -> type[BaseModel]:
        return self.settings_model()


def _alert_test_model() -> type[BaseModel]:
    from backup_keeper.jobs.alert_test import AlertTestSettings  # noqa: PLC0415 - apprise

    return AlertTestSettings


def _metrics_model() -> type[BaseModel]:
    from backup_keeper.jobs.metrics import MetricsSettings  # noqa: PLC0415 - with its job

    return MetricsSettings


def _run_alert_test(
    settings: Any, iris: IrisPort, notifier: Notifier | None, progress: Progress
) -> JobReport:
    from backup_keeper.jobs.alert_test import run_alert_test  # noqa: PLC0415 - apprise

    return run_alert_test(settings, iris=iris)


JOBS: dict[str, DoorJob] = {
    "backup": DoorJob(
        lambda: BackupSettings,
        lambda s, iris, n, p: jobs.run_online_backup(s, iris=iris, notifier=n, progress=p),
    ),
    "snapshot": DoorJob(
        lambda: ExternalBackupSettings,
        lambda s, iris, n, p: jobs.run_external_backup(s, iris=iris, notifier=n),
    ),
    "purge": DoorJob(
        lambda: PurgeSettings, lambda s, iris, n, p: jobs.run_purge(s, notifier=n, progress=p)
    ),
    "copy": DoorJob(
        lambda: CopySettings, lambda s, iris, n, p: jobs.run_copy(s, notifier=n, progress=p)
    ),
    "check-freshness": DoorJob(
        lambda: FreshnessSettings,
        lambda s, iris, n, p: jobs.run_freshness_check(s, iris=iris, notifier=n),
    ),
    "alert-test": DoorJob(_alert_test_model, _run_alert_test, takes_alerts=True),
    "metrics": DoorJob(
        _metrics_model,
        lambda s, iris, n, p: jobs.run_metrics(s, iris=iris),
        takes_alerts=True,
    ),
}
"""Every job a task or an operation can run, by the name the CLI gives it."""


def run_named_job(
    job: str,
    settings: Mapping[str, Any],
    *,
    iris: IrisPort,
    alerts_config: str | Path | None,
    ens_send: EnsSend | None = None,
    progress: Progress | None = None,
) -> JobReport:
    """Validate ``settings`` for ``job``, build its notifier from ``alerts_config`` and run it.
    A task or a production has no terminal: ``progress`` defaults to :class:`LogProgress`.
    Bad settings, a bad alerts file or a channel that cannot be built are a refused report
    listing every problem (nothing was done), never an exception: a task or an operation must
    always get a report. Every IRIS call is bounded (BACKUP_KEEPER_IRIS_CALL_TIMEOUT, else
    120 s): a hung instance is a failed report naming the call, never a door that hangs.
    A job that changes what the metrics say runs as ``jobs.metrics.run_then_publish``: then
    the snapshot IRIS's monitor shows is rebuilt for its directories (every task and operation
    passes here, and both always have a port)."""
    iris = bounded(iris)
    entry = JOBS.get(job)
    if entry is None:
        return refused(job, [f"unknown job {job!r}; known: {', '.join(JOBS)}"])
    try:
        alerts = load_alerts(alerts_config)
        if entry.takes_alerts:
            parsed = validate_settings(entry.model, {"alerts": alerts, **settings})
            return entry.call(parsed, iris, None, NO_PROGRESS)
        parsed = validate_settings(entry.model, settings)
        notifier = notifier_for(alerts, iris=iris, settings=parsed, ens_send=ens_send)
    except SettingsError as exc:
        return refused(job, exc.problems)
    run = partial(
        entry.call, parsed, iris, notifier, LogProgress() if progress is None else progress
    )
    from backup_keeper.jobs.metrics import run_then_publish  # noqa: PLC0415 - with its job

    return run_then_publish(
        run, iris=iris, alerts=alerts, timezone=getattr(parsed, "timezone", None)
    )


def is_destination_url(target: str) -> bool:
    """Whether a door's "where" names a destination (``s3://...``, ``file:///...``) rather
    than a directory: anything with ``://``. Decided here once, so that the CLI, a task and an
    operation read the same text the same way; a URL that is not a valid destination is then
    refused by its parser (an unknown scheme, a password), never taken for a directory."""
    return "://" in target


def load_alerts(config: str | Path | None) -> AlertSettings:
    """The ``[alerts]`` table of ``config``; none given (None, "") is messages.log only.
    SettingsError names what is wrong with the file."""
    from backup_keeper.alerts.settings import (  # noqa: PLC0415 - see _LAZY
        AlertSettings,
        load_alert_settings,
    )

    if config is None or not str(config).strip():
        return AlertSettings()
    return load_alert_settings(Path(config))


def notifier_for(
    alerts: AlertSettings,
    *,
    iris: IrisPort | None,
    settings: BaseModel,
    ens_send: EnsSend | None = None,
) -> AlertNotifier:
    """The notifier every door gives a job. A channel that cannot be built is SettingsError:
    a misconfigured alert is found before the night it is needed, and the job is refused
    rather than run with alerts nobody would receive. Secrets are redacted from the process's
    logs as they are read (``build_notifier``), once per process."""
    from backup_keeper.alerts.build import build_notifier, instance_name  # noqa: PLC0415

    notifier, problems = build_notifier(
        alerts,
        instance=instance_name(iris),
        iris=iris,
        state_dir=alert_state_dir(settings),
        ens_send=ens_send,
        credentials=iris.credentials_password if iris is not None else None,
    )
    if problems:
        raise SettingsError([f"alerts: {problem}" for problem in problems])
    return notifier


def relay_alert(
    source: str, text: str, *, iris: IrisPort, alerts_config: str | Path | None
) -> tuple[dict[str, str], list[str]]:
    """Send another host's alert (the production's ``Ens.Alert``) through the channels:
    per channel "delivered" or why not, and what kept a channel from being used. An alert is
    never refused: with a bad alerts file it still reaches messages.log. ``ens_alert`` is left
    out: Ens.Alert must not send alerts to itself."""
    from backup_keeper.alerts.build import build_notifier, instance_name  # noqa: PLC0415
    from backup_keeper.alerts.events import AlertEvent, AlertSeverity, EventKind  # noqa: PLC0415
    from backup_keeper.alerts.settings import AlertSettings  # noqa: PLC0415

    iris = bounded(iris)
    problems: list[str] = []
    try:
        alerts = load_alerts(alerts_config)
    except SettingsError as exc:
        alerts, problems = AlertSettings(), exc.problems
    notifier, unbuilt = build_notifier(
        alerts.model_copy(update={"ens_alert": None}),
        instance=instance_name(iris),
        iris=iris,
        state_dir=None,
        credentials=iris.credentials_password,
    )
    event = AlertEvent(
        kind=EventKind.PRODUCTION_ALERT,
        severity=AlertSeverity.ERROR,
        instance=notifier.instance,
        job=source or "production",
        summary=text or "(no text)",
        time=system_clock(),
    )
    return notifier.send(event), problems + [f"alerts: {p}" for p in unbuilt]


def alert_state_dir(settings: BaseModel) -> Path | None:
    """Where the alerts' dedupe state lives: the job's (first) directory; none for a dry run,
    which writes nothing, not even that."""
    if getattr(settings, "dry_run", False):
        return None
    directory = getattr(settings, "directory", None)
    directories = getattr(settings, "directories", None) or [None]
    found = directory if directory is not None else directories[0]
    return Path(found) if found is not None else None


def open_port(choice: IrisChoice, timeout: float | None = None) -> IrisPort:
    """The adapter ``choice`` names, every call bounded by ``timeout`` (default: the
    environment's, else DEFAULT_CALL_TIMEOUT). IrisError when it cannot start (not inside
    IRIS, no connection settings). Each adapter loads when chosen."""
    if choice == "fake":
        from backup_keeper.iris.fake import FakeIris  # noqa: PLC0415

        return bounded(FakeIris(), timeout)
    if choice == "native":
        from backup_keeper.iris.native import NativeIris  # noqa: PLC0415

        return bounded(NativeIris.from_environment(), timeout)
    from backup_keeper.iris.embedded import EmbeddedIris  # noqa: PLC0415

    return bounded(EmbeddedIris(), timeout)


def refused(job: str, problems: list[str], summary: str = "bad settings") -> JobReport:
    """The report of a job that was not run: ``<summary>: nothing was done: <problems>``."""
    report = JobReport(job=job, status=JobStatus.FAILED, started=system_clock(), errors=problems)
    return report.finish(system_clock(), f"{summary}: nothing was done: " + "; ".join(problems))


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


def __getattr__(name: str) -> object:
    """A name of ``_LAZY``, loaded from its home on first use; anything else is no attribute."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    found: object = getattr(import_module(home), name)
    globals()[name] = found
    return found


PROGRESS_LOG_EVERY = 10.0
"""Seconds between two progress lines in a log: alive, without drowning what matters."""
progress_log = logging.getLogger("backup_keeper.jobs")
"""The jobs' own logger: their progress is read where their start and end are (``-v``)."""


class LogProgress:
    """Progress for a door with no terminal (a task, a production, cron, ``--json``): one INFO
    line on the jobs' logger at most every ``every`` seconds of ``stopwatch``, and one when a
    step that lasted that long ends. A short step says nothing; nothing goes to stdout."""

    def __init__(
        self,
        *,
        every: float = PROGRESS_LOG_EVERY,
        stopwatch: Callable[[], float] = time.monotonic,
        logger: logging.Logger = progress_log,
    ) -> None:
        self._every, self._stopwatch, self._log = every, stopwatch, logger
        self._task, self._unit = "", "bytes"
        self._total: int | None = None
        self._done, self._began, self._said = 0, 0.0, 0.0

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        self._task, self._total, self._unit, self._done = task, total, unit, 0
        self._began = self._said = self._stopwatch()

    def advance(self, amount: int) -> None:
        self._done += amount
        now = self._stopwatch()
        if now - self._said >= self._every:
            self._said = now
            self._log.info("%s", self._line(now))

    def finish(self) -> None:
        now = self._stopwatch()
        if now - self._began >= self._every:
            self._log.info(
                "%s: done, %s in %.0f s", self._task, self._amount(self._done), now - self._began
            )

    def _line(self, now: float) -> str:
        elapsed = now - self._began
        rate = self._done / elapsed if elapsed > 0 else 0.0
        text = f"{self._task}: {self._amount(self._done)}"
        if self._total:
            text += f" of {self._amount(self._total)} ({100 * self._done / self._total:.0f}%)"
        text += f", {self._amount(rate)}/s"
        if self._total and rate > 0 and self._done < self._total:
            text += f", about {(self._total - self._done) / rate:.0f} s left"
        return text

    def _amount(self, value: float) -> str:
        """Bytes as every table and summary writes them (``sizes.human_size``)."""
        if self._unit != "bytes":
            return f"{value:,.0f} {self._unit}"
        return human_size(round(value))
