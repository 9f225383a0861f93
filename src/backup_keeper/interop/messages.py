"""Messages of BackupKeeper.Production. Requests may override an operation's settings for one
run; every result carries the whole JobReport."""

from __future__ import annotations

from iop import PydanticMessage

from backup_keeper.report import JobReport


class BackupRequest(PydanticMessage):
    kind: str = ""
    """full, incremental or cumulative; empty: the operation's setting."""
    description: str = ""


class ExternalBackupRequest(PydanticMessage):
    label: str = ""


class PurgeRequest(PydanticMessage):
    dry_run: bool = False


class CopyRequest(PydanticMessage):
    dry_run: bool = False
    """Say what would be copied (and purged at the destination); send nothing."""


class FreshnessRequest(PydanticMessage):
    max_age: str = ""
    """A duration (26h); empty: the operation's setting."""


class MetricsRequest(PydanticMessage):
    """Refresh the snapshot IRIS's monitor shows for the operation's directory."""


class JobResult(PydanticMessage):
    ok: bool
    summary: str
    report: JobReport


class BackupResult(JobResult):
    pass


class PurgeResult(JobResult):
    pass


class CopyResult(JobResult):
    pass
