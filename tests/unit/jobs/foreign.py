"""A directory whose chain a backup taken elsewhere broke, as IRIS's history shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeHistory, FakeIris
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FOREIGN = "/elsewhere/FullDBList_20261122_004.cbk"
"""A full IRIS's own task took into another directory, between the two incrementals."""
FOREIGN_AT = NOW + timedelta(hours=3)


def broken_chain(fake: FakeIris, directory: Path) -> list[Path]:
    """A full, an incremental, a full elsewhere (IRIS's own task), an incremental: IRIS built
    the last one on the foreign full, so it cannot be restored from here. The three backups here
    are taken by the job; the foreign full is written into the instance's history between the
    two incrementals, as IRIS would have recorded it. Returns the backups, oldest first."""
    for step, kind in enumerate(["full", "incremental", "incremental"]):
        fake.clock = fixed_clock(NOW + timedelta(hours=2 * step))
        report = run_online_backup(
            BackupSettings.model_validate(
                {"directory": directory, "kind": kind, "timezone": "UTC"}
            ),
            iris=fake,
            clock=fixed_clock(NOW + timedelta(hours=2 * step)),
        )
        assert report.status is JobStatus.OK and report.backup is not None
        assert report.backup.kind == kind, report.warnings
    history = fake.snapshot().history
    foreign = FakeHistory(
        time=FOREIGN_AT, type="F", status="Completed", device=FOREIGN, description="task"
    )
    fake.configure(history=[*history[:2], foreign, *history[2:]])
    return sorted(directory.glob("*.cbk"))
