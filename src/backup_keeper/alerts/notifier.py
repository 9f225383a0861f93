"""The alert notifier the doors give the jobs (as the ``notify.Notifier`` they accept): events
from a report, dedupe, "recovered", delivery with bounded retries, and messages.log as the
fallback for every channel that fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from backup_keeper.alerts.channels import Channel, ChannelError, ConsoleChannel
from backup_keeper.alerts.events import AlertEvent, AlertSeverity, EventKind, events_for
from backup_keeper.alerts.history import load_history, save_history
from backup_keeper.alerts.secrets import redact
from backup_keeper.clock import Clock, system_clock
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.safe_files import UnsafeName
from backup_keeper.timezones import format_moment, zone_named

log = logging.getLogger(__name__)


class AlertNotifier:
    """``notify(report)``: what the jobs call. ``send(event)``: one event to every channel that
    takes its severity; returns, per channel, "delivered" or why not."""

    def __init__(
        self,
        *,
        instance: str,
        console: ConsoleChannel,
        channels: Sequence[Channel] = (),
        dedupe_window_seconds: float = 6 * 3600,
        retries: int = 2,
        backoff: float = 1.0,
        state_file: Path | None = None,
        secrets: Sequence[str] = (),
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.instance, self.console, self.channels = instance, console, list(channels)
        self.window, self.retries, self.backoff = dedupe_window_seconds, retries, backoff
        self.state_file, self.secrets, self.clock, self.sleep = state_file, secrets, clock, sleep

    def notify(self, report: JobReport) -> None:
        now = self.clock()
        history, problem = load_history(self.state_file)
        before = None if problem else history.model_copy(deep=True)
        events = events_for(report, self.instance, now)
        if problem is not None:  # told in the report, not an alert of its own
            report.warnings.append(
                f"alert state {self.state_file} unreadable ({problem}): dedupe and "
                "'recovered' start afresh, so an alert may repeat"
            )
        job_key = f"{self.instance}/{report.job}"
        if report.status is JobStatus.FAILED:
            history.failing.setdefault(job_key, now)
        elif job_key in history.failing and not events:
            since = history.failing.pop(job_key)
            events.append(self._recovered(report, since, now))
        for event in events:
            if event.kind is not EventKind.RECOVERED and history.recently_sent(
                event.key, now, self.window
            ):
                log.info(
                    "alert %s not sent again: already sent within the dedupe window", event.key
                )
                continue
            self.send(event)
            history.sent[event.key] = now
        if history == before:
            return  # unchanged; an unusable file (before is None) is always replaced
        try:
            save_history(self.state_file, history)
        except (OSError, UnsafeName) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            report.warnings.append(f"alert state not saved ({why}): dedupe may repeat")

    def send(self, event: AlertEvent) -> dict[str, str]:
        """Deliver ``event``; messages.log always gets it (and every other channel's failure)."""
        results: dict[str, str] = {}
        for channel in [self.console, *self.channels]:
            if event.severity.rank < channel.min_severity.rank:
                results[channel.name] = f"not sent: below {channel.min_severity}"
                continue
            error = self._deliver(channel, event)
            results[channel.name] = "delivered" if error is None else error
            if error is not None and event.report is not None:
                event.report.warnings.append(f"alert via {channel.name} failed: {error}")
        return results

    def _deliver(self, channel: Channel, event: AlertEvent) -> str | None:
        delay = self.backoff
        error = "not attempted"
        for attempt in range(self.retries + 1):
            try:
                channel.deliver(event)
                return None
            except Exception as exc:  # noqa: BLE001 - any channel failure is reported, never raised
                error = redact(f"{type(exc).__name__}: {exc}", self.secrets)
                if isinstance(exc, ChannelError):
                    error = redact(str(exc), self.secrets)
            if attempt < self.retries:
                self.sleep(delay)
                delay *= 2
        message = f"backup-keeper: alert channel {channel.name} failed: {error} ({event.key})"
        if channel is not self.console:
            try:
                self.console.write(message, AlertSeverity.ERROR)
            except Exception as exc:  # noqa: BLE001 - last resort: the process log
                log.error("%s; messages.log also failed: %s", message, exc)
        return error

    def _recovered(self, report: JobReport, since: datetime, now: datetime) -> AlertEvent:
        zone = zone_named(report.options.get("timezone"))  # the job's, as its own text is
        return AlertEvent(
            kind=EventKind.RECOVERED,
            severity=AlertSeverity.INFO,
            instance=self.instance,
            job=report.job,
            summary=f"{report.job} works again (failing since {format_moment(since, zone)}): "
            + report.summary,
            time=now,
            report=report,
        )
