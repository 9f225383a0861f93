"""Alert events: what happened, how bad, where, and the report behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from backup_keeper.report import JobReport, JobStatus


class EventKind(StrEnum):
    BACKUP_FAILED = "backup-failed"
    BACKUP_WARNING = "backup-warning"
    FREEZE_FAILED = "freeze-failed"
    THAW_FAILED = "thaw-failed"
    PURGE_FAILED = "purge-failed"
    VERIFY_FAILED = "verify-failed"
    COPY_FAILED = "copy-failed"
    NOT_COPIED = "not-copied"
    BACKUPS_STALE = "backups-stale"
    RECOVERED = "recovered"
    TEST = "test"
    PRODUCTION_ALERT = "production-alert"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(AlertSeverity).index(self)


NEXT_STEP: dict[EventKind, str] = {
    EventKind.BACKUP_FAILED: "Read the backup log named in the report, fix the cause, "
    "run the backup again.",
    EventKind.BACKUP_WARNING: "The backup is usable; read its warnings before the next one.",
    EventKind.FREEZE_FAILED: "No snapshot was taken; check messages.log around the freeze.",
    EventKind.THAW_FAILED: "The instance may be frozen: run `backup-keeper thaw` or "
    "`iris stat <instance> -W` NOW.",
    EventKind.PURGE_FAILED: "Old backups were not all removed; check the directory's "
    "permissions and free space.",
    EventKind.VERIFY_FAILED: "A backup does not match its manifest: do not rely on it; "
    "take a new full backup.",
    EventKind.COPY_FAILED: "The off-site copy is missing or incomplete: read the report's errors "
    "(credentials, bucket, space, link), fix the cause and run `backup-keeper copy`; local "
    "backups not yet copied are kept meanwhile.",
    EventKind.NOT_COPIED: "Backups are kept locally because they are not yet copied off-site: "
    "check the copy job, or free space by fixing it, not by deleting them.",
    EventKind.BACKUPS_STALE: "Check that the backup task or schedule still runs "
    "(suspended, deleted, failing?).",
    EventKind.RECOVERED: "Nothing to do: the job works again.",
    EventKind.TEST: "Nothing to do: this is a test of the alert channels.",
    EventKind.PRODUCTION_ALERT: "Open the production's Event Log for the alert's source.",
}
"""What to do next, quoted in every alert: the reader at 3 a.m. should not have to guess."""

_FAILED_KIND = {
    "backup": EventKind.BACKUP_FAILED,
    "snapshot": EventKind.BACKUP_FAILED,
    "freeze": EventKind.FREEZE_FAILED,
    "thaw": EventKind.THAW_FAILED,
    "purge": EventKind.PURGE_FAILED,
    "verify": EventKind.VERIFY_FAILED,
    "copy": EventKind.COPY_FAILED,
    "check-freshness": EventKind.BACKUPS_STALE,
    "doctor": EventKind.THAW_FAILED,
}


class AlertEvent(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: EventKind
    severity: AlertSeverity
    instance: str
    job: str
    summary: str
    time: AwareDatetime
    report: JobReport | None = None

    @property
    def key(self) -> str:
        """What dedupe compares: the same kind of news about the same job on the same instance."""
        return f"{self.kind}/{self.instance}/{self.job}"

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.kind]


def alert_test_notice(instance: str) -> AlertEvent:
    """What ``alert-test`` sends: an error-level notice so every channel's filter lets it pass
    unless the channel was set to critical only."""
    return AlertEvent(
        kind=EventKind.TEST,
        severity=AlertSeverity.ERROR,
        instance=instance,
        job="alert-test",
        summary="test notice from backup-keeper: if you read this, this channel works",
        time=datetime.now(UTC),
    )


COPY_PREFIX = "copy: "
"""How a backup job marks the lines of the copy it ran (``copy_to``): a failed copy of a good
backup is a copy failure, not a backup failure (the next step differs)."""
NOT_COPIED_MARK = "not yet copied to "
"""In a purge's warning when ``require_offsite_copy`` kept backups back."""


def _failed_kind(report: JobReport) -> EventKind:
    kind = _FAILED_KIND.get(report.job, EventKind.BACKUP_FAILED)
    if any(e.startswith("ExternalFreeze failed") for e in report.errors):
        return EventKind.FREEZE_FAILED
    if report.job in ("backup", "snapshot") and all(
        e.startswith(COPY_PREFIX) for e in report.errors
    ):
        return EventKind.COPY_FAILED
    return kind


def events_for(report: JobReport, instance: str, now: datetime) -> list[AlertEvent]:
    """The events a report is news of (before dedupe and "recovered", which need history)."""

    def event(kind: EventKind, severity: AlertSeverity, summary: str) -> AlertEvent:
        return AlertEvent(
            kind=kind,
            severity=severity,
            instance=instance,
            job=report.job,
            summary=summary,
            time=now,
            report=report,
        )

    critical = [m for m in [*report.errors, *report.warnings] if m.startswith("CRITICAL")]
    events = [event(EventKind.THAW_FAILED, AlertSeverity.CRITICAL, m) for m in critical[:1]]
    if report.status is JobStatus.FAILED:
        kind = _failed_kind(report)
        if not (critical and kind is EventKind.THAW_FAILED):
            events.append(event(kind, AlertSeverity.ERROR, report.summary))
    elif report.warnings and report.job in ("backup", "snapshot") and not critical:
        events.append(event(EventKind.BACKUP_WARNING, AlertSeverity.WARNING, report.summary))
    held = [w for w in report.warnings if NOT_COPIED_MARK in w]
    if held and report.status is not JobStatus.FAILED:
        events.append(event(EventKind.NOT_COPIED, AlertSeverity.WARNING, held[0]))
    return events
