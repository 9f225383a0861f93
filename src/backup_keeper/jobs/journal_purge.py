"""Reading IRIS's journal purge settings for a check (doctor, check-freshness): both judge the
keep rules against them, and both must say the same thing when they cannot be read."""

from __future__ import annotations

from backup_keeper.iris.port import IrisError, IrisPort, JournalSettings
from backup_keeper.journal_coverage import settings_line
from backup_keeper.report import JobReport


def read_journal_settings(iris: IrisPort, report: JobReport) -> JournalSettings | None:
    """The instance's journal purge settings, noted under ``checked``; None, with a warning that
    roll-forward is unknown (never that it is fine), when they cannot be read."""
    try:
        journal = iris.journal_settings()
    except IrisError as exc:
        report.warnings.append(
            f"IRIS's journal purge settings could not be read ({exc}): whether kept backups "
            "can roll forward is unknown"
        )
        return None
    report.checked.append(settings_line(journal))
    return journal
