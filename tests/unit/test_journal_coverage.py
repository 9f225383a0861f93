"""Journal coverage: roll-forward to now or only to the backup's moment, and the stranding rule."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.catalog.record import RecordSource
from backup_keeper.iris.port import JournalFile, JournalFiles, JournalSettings
from backup_keeper.journal_coverage import (
    Reach,
    Verdict,
    coverage,
    journal_key,
    policy_keeps,
    reach_until,
    required_journal,
    stranding,
)
from backup_keeper.settings import RetentionPolicy
from tests.builders import record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "iris"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
J = "/usr/irissys/mgr/journal/"


def listing(*names: str, current: str | None = None, complete: bool = True) -> JournalFiles:
    """IRIS's list, newest first, from names given oldest first."""
    paths = [n if n.startswith("/") else J + n for n in names]
    return JournalFiles(
        current=current or paths[-1],
        files=tuple(JournalFile(p, 1024) for p in reversed(paths)),
        complete=complete,
    )


def test_journal_files_are_ordered_by_their_date_and_number_whatever_their_prefix() -> None:
    mirror = journal_key("/isc/jrnpri/MIRROR-AUGEST-20220917.010")
    prefixed = journal_key("/j/AAA20220918.001")
    bare = journal_key("/usr/irissys/mgr/journal/20220917.011")
    assert mirror is not None and prefixed is not None and bare is not None
    assert sorted([prefixed, bare, mirror]) == [mirror, bare, prefixed]
    assert (mirror.day, mirror.seq) == ("20220917", 10)


@pytest.mark.parametrize(
    "name", ["", "/j/", "/j/20220917", "/j/20220917.01", "/j/20220917.010.bak", "/j/x.cbk"]
)
def test_a_name_without_the_yyyymmdd_nnn_tail_is_no_journal_file(name: str) -> None:
    assert journal_key(name) is None


def test_every_file_from_the_required_one_to_the_current_one_rolls_forward_to_now() -> None:
    files = listing("20261118.001", "20261118.002", "20261119.003", "20261120.001")
    cover = coverage(J + "20261118.002", files)
    assert cover.reach is Reach.NOW and cover.words == "to now"


def test_a_mirror_backup_is_judged_by_its_prefixed_journal_files() -> None:
    files = listing(
        "/isc/jrnpri/MIRROR-AUGEST-20220917.010", "/isc/jrnpri/MIRROR-AUGEST-20220917.011"
    )
    assert coverage("/isc/jrnpri/MIRROR-AUGEST-20220917.010", files).reach is Reach.NOW
    gone = coverage("/isc/jrnpri/MIRROR-AUGEST-20220917.009", files)
    assert gone.first_missing == "/isc/jrnpri/MIRROR-AUGEST-20220917.009"


def test_a_purged_required_file_means_only_the_backups_moment_and_no_rollback() -> None:
    cover = coverage(J + "20261118.001", listing("20261119.002", "20261120.003"))
    assert cover.reach is Reach.BACKUP and cover.rollback_lost
    assert cover.first_missing == J + "20261118.001"
    assert "cannot be rolled back" in cover.words
    assert reach_until(cover, NOW - timedelta(days=2), NOW, UTC) == NOW - timedelta(days=2)


def test_a_file_missing_inside_a_day_is_named_with_its_directory_and_prefix() -> None:
    files = listing("/j/PRE20261118.004", "/j/PRE20261118.006", "/j/PRE20261120.007")
    cover = coverage("/j/PRE20261118.004", files)
    assert cover.reach is Reach.BACKUP and not cover.rollback_lost
    assert cover.first_missing == "/j/PRE20261118.005"
    assert cover.words == "only to its own moment: first missing journal file /j/PRE20261118.005"
    backup_time = datetime(2026, 11, 17, 23, 0, tzinfo=UTC)
    assert reach_until(cover, backup_time, NOW, UTC) == datetime(2026, 11, 18, tzinfo=UTC)


def test_across_days_a_number_that_neither_restarts_nor_follows_is_a_gap() -> None:
    restart = listing("20261118.004", "20261119.001")
    follows = listing("20261118.004", "20261119.005")
    skips = listing("20261118.004", "20261119.003")
    assert coverage(J + "20261118.004", restart).reach is Reach.NOW
    assert coverage(J + "20261118.004", follows).reach is Reach.NOW
    gap = coverage(J + "20261118.004", skips)
    assert gap.reach is Reach.BACKUP
    assert gap.first_missing == f"a journal file between {J}20261118.004 and {J}20261119.003"


def test_files_after_the_current_one_or_before_the_required_one_do_not_matter() -> None:
    files = listing("20261110.001", "20261118.004", "20261118.005", current=J + "20261118.005")
    assert coverage(J + "20261118.004", files).reach is Reach.NOW


@pytest.mark.parametrize(
    ("required", "files", "why"),
    [
        (J + "20261118.001", None, "journal files not listed (no IRIS)"),
        (None, listing("20261118.001"), "no required journal file recorded for this backup"),
        ("", listing("20261118.001"), "no required journal file recorded for this backup"),
        ("journal.log", listing("20261118.001"), "'journal.log' is no journal file name"),
        (J + "20261118.001", JournalFiles(current=""), "IRIS listed no journal file"),
        (
            J + "20261121.001",
            listing("20261118.001"),
            f"{J}20261121.001 is newer than the current journal file {J}20261118.001",
        ),
        (
            J + "20261101.001",
            listing("20261118.001", complete=False),
            "older than the oldest journal file IRIS listed (the list was cut)",
        ),
    ],
)
def test_what_cannot_be_known_is_said_as_unknown_never_as_fine(
    required: str | None, files: JournalFiles | None, why: str
) -> None:
    cover = coverage(required, files)
    assert cover.reach is Reach.UNKNOWN and cover.why == why
    assert cover.words == f"unknown: {why}"
    assert reach_until(cover, NOW, NOW, UTC) is None


def test_a_backup_known_only_from_iris_log_takes_its_required_file_from_that_real_log(
    tmp_path: Path,
) -> None:
    log = tmp_path / "FullDBList_20240425_001.log"
    shutil.copy(FIXTURES / "jp-online-fulldblist-2024.1.log.txt", log)
    rec = record("FullDBList_20240425_001.cbk", "full", NOW, directory=str(tmp_path))
    rec.source, rec.companions = RecordSource.FILE_NAME, (str(log),)
    assert required_journal(rec, None) == "/usr/irissys/mgr/journal/20240425.002"


def test_a_mirror_backup_known_only_from_its_real_transcript_rolls_forward_on_mirror_files(
    tmp_path: Path,
) -> None:
    log = tmp_path / "setmirror.log"
    shutil.copy(FIXTURES / "rhel-mirror-backup-2022.1.txt", log)
    rec = record("setmirror.cbk", "full", NOW, directory=str(tmp_path))
    rec.source, rec.companions = RecordSource.FILE_NAME, (str(log),)
    required = required_journal(rec, None)
    assert required == "/isc/jrnpri/MIRROR-AUGEST-20220917.010"
    files = listing(
        "/isc/jrnpri/MIRROR-AUGEST-20220917.010", "/isc/jrnpri/MIRROR-AUGEST-20220917.011"
    )
    assert coverage(required, files).reach is Reach.NOW


def test_a_log_that_names_another_device_or_cannot_be_read_says_nothing(tmp_path: Path) -> None:
    log = tmp_path / "Other_20240425_001.log"
    shutil.copy(FIXTURES / "jp-online-fulldblist-2024.1.log.txt", log)
    rec = record("Other_20240425_001.cbk", "full", NOW, directory=str(tmp_path))
    rec.companions = (str(log),)
    assert required_journal(rec, None) is None
    rec.companions = (str(tmp_path / "absent.log"),)
    assert required_journal(rec, None) is None
    rec.companions = ()
    assert required_journal(rec, None) is None


DEFAULTS = JournalSettings(days_before_purge=2, backups_before_purge=2)


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


@pytest.mark.parametrize(
    ("kept", "days", "count", "verdict", "binding"),
    [
        (days_ago(0.5, 1.5), 2, 2, Verdict.SAFE, None),
        (days_ago(0.1, 0.2, 1.5), 2, 2, Verdict.STRANDED, "BackupsBeforePurge"),
        (days_ago(0.5, 2.5), 2, 2, Verdict.STRANDED, "DaysBeforePurge"),
        (days_ago(*range(14)), 2, 2, Verdict.STRANDED, "DaysBeforePurge"),
        (days_ago(0, 7, 14), 2, 10, Verdict.STRANDED, "DaysBeforePurge"),
        (days_ago(0, 7, 14), 15, 0, Verdict.SAFE, None),
        (days_ago(0, 7, 14), 14, 0, Verdict.STRANDED, "DaysBeforePurge"),
        (days_ago(*range(14)), 0, 0, Verdict.SAFE, None),
        (days_ago(*range(14)), 0, 10, Verdict.STRANDED, "BackupsBeforePurge"),
        (days_ago(0, 1), 0, 2, Verdict.SAFE, None),
        ([], 2, 2, Verdict.SAFE, None),
    ],
)
def test_the_stranding_rule_by_table(
    kept: list[datetime], days: int, count: int, verdict: Verdict, binding: str | None
) -> None:
    settings = JournalSettings(days_before_purge=days, backups_before_purge=count)
    found = stranding(kept, settings, now=NOW)
    assert (found.verdict, found.binding) == (verdict, binding)


def test_a_backup_taken_elsewhere_counts_toward_backups_before_purge() -> None:
    settings = JournalSettings(days_before_purge=0, backups_before_purge=2)
    kept = days_ago(1)
    assert stranding(kept, settings, now=NOW).verdict is Verdict.SAFE
    elsewhere = days_ago(0.5, 0.2)
    assert stranding(kept, settings, now=NOW, successful=elsewhere).stranded == 1


def test_purge_archived_is_unknown_and_says_the_archive_target_decides() -> None:
    settings = JournalSettings(days_before_purge=2, backups_before_purge=2, purge_archived=True)
    found = stranding(days_ago(0), settings, now=NOW)
    assert found.verdict is Verdict.UNKNOWN and found.binding == "PurgeArchived"
    assert "archive target" in found.advice and "cannot see" in found.advice


def test_the_advice_names_each_setting_its_maximum_and_where_to_change_it() -> None:
    fourteen = stranding(days_ago(*range(15)), DEFAULTS, now=NOW).advice
    assert "raise DaysBeforePurge to at least 15" in fourteen
    assert "BackupsBeforePurge cannot go above 10: set it to 0" in fourteen
    assert "System Administration > Configuration > System Configuration > Journal" in fourteen
    assert "Config.Journal" in fourteen
    year = stranding(days_ago(0, 200), DEFAULTS, now=NOW).advice
    assert "DaysBeforePurge cannot go above 100" in year
    assert "raise BackupsBeforePurge to at least 3" in year


@given(
    ages=st.lists(st.integers(min_value=0, max_value=400 * 24), min_size=1, max_size=30),
    days=st.integers(min_value=0, max_value=100),
    count=st.integers(min_value=0, max_value=10),
    others=st.lists(st.integers(min_value=0, max_value=400 * 24), max_size=10),
)
def test_the_rule_never_says_safe_when_a_kept_backup_is_older_than_a_criterion(
    ages: list[int], days: int, count: int, others: list[int]
) -> None:
    kept = [NOW - timedelta(hours=h) for h in ages]
    successful = [NOW - timedelta(hours=h) for h in others]
    everything = sorted(set(kept) | set(successful))
    settings = JournalSettings(days_before_purge=days, backups_before_purge=count)
    found = stranding(kept, settings, now=NOW, successful=successful)
    too_old = days > 0 and any(NOW - t >= timedelta(days=days) for t in kept)
    too_deep = count > 0 and any(sum(1 for s in everything if s > t) >= count for t in kept)
    if too_old or too_deep:
        assert found.verdict is Verdict.STRANDED and found.stranded >= 1
        assert found.binding in ("DaysBeforePurge", "BackupsBeforePurge")
    else:
        assert found.verdict is Verdict.SAFE


def test_a_policy_is_judged_by_what_it_keeps_at_its_fullest() -> None:
    fourteen_days = RetentionPolicy(keep_within=timedelta(days=14))
    assert min(policy_keeps(fourteen_days, NOW)) == NOW - timedelta(days=14)
    daily = policy_keeps(RetentionPolicy(keep_daily=7, keep_last=2), NOW)
    assert len(daily) == 7 and NOW - min(daily) >= timedelta(days=6)
    assert stranding(policy_keeps(fourteen_days, NOW), DEFAULTS, now=NOW).verdict is (
        Verdict.STRANDED
    )
    two = policy_keeps(RetentionPolicy(keep_last=2), NOW)
    assert stranding(two, DEFAULTS, now=NOW).verdict is Verdict.SAFE
