"""JobReport: the one account of a job run. The task history, the IoP response, ``--json`` and
an alert all show this same object, so they can never disagree."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backup_keeper import __version__
from backup_keeper.catalog.record import BackupRecord


class JobStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class FileOutcome(StrEnum):
    DELETED = "deleted"
    WOULD_DELETE = "would-delete"
    SKIPPED = "skipped"
    FAILED = "failed"


class RecordEntry(BaseModel):
    """One backup as a report shows it, with why it was kept, deleted or left alone."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Absolute path of the .cbk file.")
    kind: str
    time: AwareDatetime = Field(description="When the backup was taken, UTC.")
    time_precision: str = Field(
        default="exact", description="exact, or day: only the date is known."
    )
    local_day: date | None = Field(
        default=None, description="The instance-local date, for day precision."
    )
    status: str
    source: str = Field(description="Where the facts came from: sidecar, file-name, unmanaged.")
    size: int
    chain: list[str] = Field(default_factory=list, description="What a restore needs first.")
    chain_complete: bool = True
    reasons: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, record: BackupRecord, reasons: tuple[str, ...] | list[str] = ()) -> RecordEntry:
        notes = list(reasons)
        if record.note:
            notes.append(record.note)
        return cls.model_construct(
            path=record.path,
            kind=str(record.kind),
            time=record.time,
            time_precision=str(record.precision),
            local_day=record.day,
            status=str(record.status),
            source=str(record.source),
            size=record.size,
            chain=list(record.chain),
            chain_complete=record.chain_complete,
            reasons=notes,
        )


class FileAction(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    outcome: FileOutcome
    detail: str = ""


class JobReport(BaseModel):
    """What a job did, decided and why; ``status`` is the one word a scheduler needs."""

    job: str
    status: JobStatus = JobStatus.OK
    dry_run: bool = False
    iris: str | None = Field(
        default=None, description="Which IRIS adapter ran: fake, embedded, native."
    )
    version: str = __version__
    started: AwareDatetime
    finished: AwareDatetime | None = None
    duration_ms: int | None = None
    directories: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""
    records: list[RecordEntry] = Field(default_factory=list)
    keep: list[RecordEntry] = Field(default_factory=list)
    delete: list[RecordEntry] = Field(default_factory=list)
    unmanaged: list[RecordEntry] = Field(default_factory=list)
    actions: list[FileAction] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    def finish(self, finished: datetime, summary: str) -> JobReport:
        """Stamp the end; any error makes the job failed, whatever the caller thought."""
        self.finished = finished
        self.duration_ms = int((finished - self.started).total_seconds() * 1000)
        if self.errors and self.status is JobStatus.OK:
            self.status = JobStatus.FAILED
        self.summary = summary
        return self
