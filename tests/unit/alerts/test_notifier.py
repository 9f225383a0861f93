"""The notifier with a fixed clock: dedupe window, recovered, retries with backoff, fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.alerts.channels import ChannelError, ConsoleChannel
from backup_keeper.alerts.events import AlertEvent, AlertSeverity, EventKind
from backup_keeper.alerts.notifier import AlertNotifier
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.report import JobReport, JobStatus

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


class Recording:
    def __init__(
        self,
        name: str = "rec",
        fail_times: int = 0,
        min_severity: AlertSeverity = AlertSeverity.INFO,
    ) -> None:
        self.name, self.fail_times, self.min_severity = name, fail_times, min_severity
        self.delivered: list[AlertEvent] = []
        self.attempts = 0

    def deliver(self, event: AlertEvent) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise ChannelError(f"down (attempt {self.attempts}) token=SECRET-TOKEN-123")
        self.delivered.append(event)


def failed(at: datetime) -> JobReport:
    return JobReport(
        job="backup", started=at, status=JobStatus.FAILED, summary="backup failed: x", errors=["x"]
    )


def ok(at: datetime) -> JobReport:
    return JobReport(job="backup", started=at, status=JobStatus.OK, summary="full backup completed")


def notifier(
    tmp_path: Path, channel: Recording, at: datetime, fake: FakeIris, **kw: object
) -> tuple[AlertNotifier, list[float]]:
    sleeps: list[float] = []
    n = AlertNotifier(
        instance="IRIS",
        console=ConsoleChannel(fake, AlertSeverity.INFO),
        channels=[channel],
        state_file=tmp_path / "alerts.json",
        clock=fixed_clock(at),
        sleep=sleeps.append,
        secrets=["SECRET-TOKEN-123"],
        **kw,  # type: ignore[arg-type]
    )
    return n, sleeps


def test_same_event_once_per_window_then_again_after_it(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    channel = Recording()
    for hours in (0, 5, 7):
        n, _ = notifier(
            tmp_path, channel, NOW + timedelta(hours=hours), fake, dedupe_window_seconds=6 * 3600
        )
        n.notify(failed(NOW + timedelta(hours=hours)))
    assert [e.time for e in channel.delivered] == [NOW, NOW + timedelta(hours=7)]


def test_recovered_once_after_a_failure_and_never_without_one(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    channel = Recording()
    for hours, make in ((0, ok), (1, failed), (2, ok), (3, ok)):
        n, _ = notifier(tmp_path, channel, NOW + timedelta(hours=hours), fake)
        n.notify(make(NOW + timedelta(hours=hours)))
    assert [e.kind for e in channel.delivered] == ["backup-failed", "recovered"]


def test_retries_with_backoff_then_succeeds(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    channel = Recording(fail_times=2)
    n, sleeps = notifier(tmp_path, channel, NOW, fake, retries=2, backoff=0.5)
    report = failed(NOW)
    n.notify(report)
    assert len(channel.delivered) == 1 and sleeps == [0.5, 1.0]
    assert not any("alert via" in w for w in report.warnings)


def test_a_channel_that_keeps_failing_is_logged_to_messages_log_redacted(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    channel = Recording(fail_times=99)
    n, _ = notifier(tmp_path, channel, NOW, fake, retries=1, backoff=0)
    report = failed(NOW)
    n.notify(report)
    assert report.status is JobStatus.FAILED  # unchanged
    assert report.warnings == ["alert via rec failed: down (attempt 2) token=<redacted>"]
    lines = [m for sev, m in fake.snapshot().console_log if "alert channel rec failed" in m]
    assert lines and "SECRET-TOKEN-123" not in lines[0] and "<redacted>" in lines[0]


def test_below_minimum_severity_is_not_sent(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    channel = Recording(min_severity=AlertSeverity.CRITICAL)
    n, _ = notifier(tmp_path, channel, NOW, fake)
    event = AlertEvent(
        kind=EventKind.BACKUP_FAILED,
        severity=AlertSeverity.ERROR,
        instance="IRIS",
        job="backup",
        summary="s",
        time=NOW,
    )
    results = n.send(event)
    assert results["rec"] == "not sent: below critical"
    assert results["messages.log"] == "delivered"
