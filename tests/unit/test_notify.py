"""``tell``: a notifier's own failure becomes a warning on the report, never an exception, and
the warning carries no secret even when the failure's message does."""

from __future__ import annotations

from datetime import UTC, datetime

from backup_keeper.notify import tell
from backup_keeper.report import JobReport
from tests.unit.alerts.redaction import isolated_redaction
from tests.unit.alerts.test_secrets import HOOK_PASSWORD, PATH_TOKEN


class LeakyNotifier:
    def notify(self, report: JobReport) -> None:
        raise ConnectionError(f"POST json://u:{HOOK_PASSWORD}@hooks.example.org/{PATH_TOKEN}")


def test_a_notifier_failure_is_a_warning_without_the_secrets_it_names() -> None:
    from backup_keeper.alerts.secrets import install_redaction

    report = JobReport(job="backup", started=datetime(2026, 11, 1, tzinfo=UTC))
    with isolated_redaction():
        install_redaction([HOOK_PASSWORD, PATH_TOKEN])
        tell(LeakyNotifier(), report)
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("notifier failed: ConnectionError: POST json://")
    assert HOOK_PASSWORD not in report.warnings[0] and PATH_TOKEN not in report.warnings[0]


def test_no_notifier_leaves_the_report_as_it_was() -> None:
    report = JobReport(job="backup", started=datetime(2026, 11, 1, tzinfo=UTC))
    tell(None, report)
    assert report.warnings == []
