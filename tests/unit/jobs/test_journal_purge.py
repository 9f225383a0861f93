"""Reading the journal purge settings for a check: noted when read, unknown (never fine) when
not, the same for doctor and check-freshness."""

from __future__ import annotations

from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.journal_purge import read_journal_settings
from tests.builders import T0


def test_settings_that_read_are_returned_and_noted_under_checked(tmp_path: Path) -> None:
    report = lifecycle.begin("doctor", clock=fixed_clock(T0), directories=[], options={})
    journal = read_journal_settings(FakeIris(tmp_path / "iris"), report)
    assert journal is not None
    assert (journal.days_before_purge, journal.backups_before_purge) == (2, 2)
    assert len(report.checked) == 1 and "2" in report.checked[0]
    assert report.warnings == []


def test_settings_that_cannot_be_read_are_none_and_a_warning_says_unknown(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.fail("journal_settings")
    report = lifecycle.begin("doctor", clock=fixed_clock(T0), directories=[], options={})
    assert read_journal_settings(fake, report) is None
    assert report.checked == []
    [warning] = report.warnings
    assert "could not be read" in warning and "unknown" in warning
