"""JobReport: the one account of a job run. The task history, the IoP response, ``--json`` and
an alert all show this same object, so they can never disagree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticSerializationError

from backup_keeper import __version__
from backup_keeper.catalog.pin import Pin
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
    COPIED = "copied"
    """Sent to a destination and proved there (the copy job)."""
    WOULD_COPY = "would-copy"


@dataclass(slots=True)
class PinEntry:
    """A backup's pin as its sidecar records it, and whether it still holds."""

    reason: str
    pinned: AwareDatetime
    until: Annotated[AwareDatetime | None, Field(description="None: until unpinned.")]
    by: str | None
    expired: Annotated[bool, Field(description="Past its until: it holds nothing any more.")]

    @classmethod
    def of(cls, pin: Pin, now: datetime) -> PinEntry:
        return cls(pin.reason, pin.pinned, pin.until, pin.by, not pin.holds(now))


@dataclass(slots=True)
class RecordEntry:
    """One backup as a report shows it, with why it was kept, deleted or left alone.

    A plain dataclass rather than a model: a report on 100,000 backups builds 100,000 of them,
    from trusted records. Pydantic still serialises and documents it as part of JobReport.
    """

    path: Annotated[str, Field(description="Absolute path of the .cbk file.")]
    kind: str
    time: Annotated[AwareDatetime, Field(description="When the backup was taken, UTC.")]
    status: str
    source: Annotated[
        str, Field(description="Where the facts came from: sidecar, file-name, unmanaged.")
    ]
    size: int
    time_precision: Annotated[str, Field(description="exact, or day: only the date is known.")] = (
        "exact"
    )
    local_day: Annotated[
        date | None, Field(description="The instance-local date, for day precision.")
    ] = None
    chain: Annotated[
        tuple[str, ...], Field(description="What a restore needs first, oldest first.")
    ] = ()
    chain_complete: bool = True
    reasons: tuple[str, ...] = ()
    pin: Annotated[
        PinEntry | None, Field(description="Its pin (catalog), None when it has none.")
    ] = None

    @classmethod
    def of(cls, record: BackupRecord, reasons: tuple[str, ...] = ()) -> RecordEntry:
        # Positional, and ``_value_`` rather than the ``value`` descriptor: built once per
        # backup in the report, where keyword passing and enum descriptors add up.
        note = record.note
        return cls(
            record.path,
            record.kind._value_,
            record.time,
            record.status._value_,
            record.source._value_,
            record.size,
            record.precision._value_,
            record.day,
            record.chain,
            record.chain_complete,
            (*reasons, note) if note else reasons,
        )


@dataclass(slots=True)
class FileAction:
    path: str
    outcome: FileOutcome
    detail: str = ""


class BackupDetails(BaseModel):
    """The backup a job took (or tried to take)."""

    model_config = ConfigDict(defer_build=True)

    requested_kind: str
    kind: str = Field(description="What ran: a request may be promoted to full.")
    file: str | None = Field(default=None, description="The .cbk, absent when it was removed.")
    log: str | None = Field(default=None, description="IRIS's backup log, always kept.")
    manifest: str | None = None
    result: str | None = Field(default=None, description="completed, warning or failed.")
    iris_return: str | None = Field(default=None, description="What $$BACKUP^DBACK returned.")
    size: int | None = None
    checksum: str | None = Field(default=None, description="algorithm:hex")
    journal_required: str | None = Field(
        default=None, description="First journal file a restore of this backup must apply."
    )
    chain_parent: str | None = None
    snapshot_id: str | None = None
    freeze_window_ms: int | None = Field(
        default=None, description="ExternalFreeze returned -> ExternalThaw returned."
    )
    command_output: list[str] = Field(
        default_factory=list, description="Last lines, stdout+stderr."
    )
    checkpoint: dict[str, JsonValue] | None = Field(
        default=None, description="Sharded clusters: the checkpoint info ExternalFreeze gave."
    )


class RestoreFile(BaseModel):
    model_config = ConfigDict(defer_build=True)

    path: str
    kind: str
    time: AwareDatetime
    snapshot_id: str | None = None


class RollForward(BaseModel):
    """How far the journals take one backup (journal_coverage.py): ``now``, ``backup`` (only to
    its own moment: ``first_missing`` is gone) or ``unknown``; ``words`` says it in full."""

    model_config = ConfigDict(defer_build=True)

    reach: str
    first_missing: str | None = None
    words: str = ""


class RestorePlan(BaseModel):
    """The restore a job planned (``restore/plan.py`` builds it). Defined with the report that
    carries it, so the report never depends on the planner and its integrity checks."""

    model_config = ConfigDict(defer_build=True)

    requested_at: AwareDatetime | None
    restores_to: AwareDatetime | None = Field(default=None, description="The moment restored.")
    files: list[RestoreFile] = Field(default_factory=list, description="In restore order.")
    journal_start: str | None = Field(
        default=None, description="First journal file to apply after the last file."
    )
    roll_forward: str | None = Field(
        default=None,
        description="How far the journals take the restored backup: to now, only to its own "
        "moment (naming the first missing journal file), or unknown (journal_coverage.py).",
    )
    journal_missing: str | None = Field(
        default=None, description="The first journal file the roll-forward needs that is gone."
    )
    databases: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list, description="What to run, in order.")
    fallback: str | None = Field(default=None, description="Why an earlier moment was chosen.")
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list,
        description="What the catalog found odd while planning (future dates, unreadable logs).",
    )

    @property
    def ok(self) -> bool:
        return bool(self.files)


class JobReport(BaseModel):
    """What a job did, decided and why; ``status`` is the one word a scheduler needs."""

    model_config = ConfigDict(defer_build=True)

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
    backup: BackupDetails | None = None
    restore: RestorePlan | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""
    records: list[RecordEntry] = Field(default_factory=list)
    keep: list[RecordEntry] = Field(default_factory=list)
    delete: list[RecordEntry] = Field(default_factory=list)
    unmanaged: list[RecordEntry] = Field(default_factory=list)
    actions: list[FileAction] = Field(default_factory=list)
    roll_forward: dict[str, RollForward] = Field(
        default_factory=dict,
        description="Backup path -> how far the journals take it (catalog with an IRIS port).",
    )
    checked: list[str] = Field(
        default_factory=list, description="What a check looked at, one line each (freshness)."
    )
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


def report_json(report: JobReport, *, indent: int | None = 2) -> str:
    """The one JSON text of a report (``--json``, the Task Manager door), whole before anything
    is printed.

    File names come from the disk as ``os.fsdecode`` gives them: a name that is not UTF-8 holds
    surrogates, which JSON cannot carry. Such a report is written from a copy whose strings are
    escaped (``escape_surrogates``: each undecodable byte shown as ``\\xNN``).
    """
    try:
        return report.model_dump_json(indent=indent)
    except PydanticSerializationError:
        printable = JobReport.model_validate(_escaped(report.model_dump()))
        return printable.model_dump_json(indent=indent)


def report_data(report: JobReport) -> dict[str, Any]:
    """``report_json`` as data, for a door that embeds the report in a larger answer."""
    data: dict[str, Any] = json.loads(report_json(report, indent=None))
    return data


def escape_surrogates(text: str) -> str:
    """``text`` with each ``os.fsdecode`` surrogate shown as the byte it stands for (``\\xff``),
    and any other lone surrogate as ``\\udXXX``: valid UTF-8, readable, never raising."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value
