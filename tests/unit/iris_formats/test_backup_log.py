"""The backup-log parser on logs shaped like IRIS's (iris-api.md section 9)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from backup_keeper.iris_formats.backup_log import parse_backup_log

FULL = """\
Backing up to device: /usr/irissys/mgr/Backup/FullDBList_20261122_002.cbk
Description: Nightly full
Backing up the following directories:
 /usr/irissys/mgr/user/
 /usr/irissys/mgr/hscustom/

Journal file switched to:
/usr/irissys/mgr/journal/20261122.002

Starting backup pass 1
Backing up /usr/irissys/mgr/user/ at 11/22/2026 02:00:01
Copied 18950 blocks in 1.25 seconds
Finished this pass of copying /usr/irissys/mgr/user/
Backing up /usr/irissys/mgr/hscustom/ at 11/22/2026 02:00:03
Copied 310 blocks in 0.02 seconds
Finished this pass of copying /usr/irissys/mgr/hscustom/
Backup pass 1 complete at 11/22/2026 02:00:03

Starting backup pass 2
Backing up /usr/irissys/mgr/user/ at 11/22/2026 02:00:04
Copied 12 blocks in 0.00 seconds
Finished this pass of copying /usr/irissys/mgr/user/
Backup pass 2 complete at 11/22/2026 02:00:04

Starting backup pass 3
Journal file '/usr/irissys/mgr/journal/20261122.002' and the subsequent ones are required for recovery purpose if the backup were to be restored
Journal marker set at
offset 197572 of /usr/irissys/mgr/journal/20261122.002
 - This is the last pass - Suspending write daemon
Backing up /usr/irissys/mgr/user/ at 11/22/2026 02:00:05
Copied 2 blocks in 0.00 seconds
Finished this pass of copying /usr/irissys/mgr/user/
Backup pass 3 complete at 11/22/2026 02:00:05

***FINISHED BACKUP***

Global references are enabled.

Backup complete.
"""


def test_full_backup_log_gives_every_fact() -> None:
    log = parse_backup_log(FULL)
    assert log.device == "/usr/irissys/mgr/Backup/FullDBList_20261122_002.cbk"
    assert log.description == "Nightly full"
    assert log.directories == ["/usr/irissys/mgr/user/", "/usr/irissys/mgr/hscustom/"]
    assert log.journal_switched_to == "/usr/irissys/mgr/journal/20261122.002"
    assert log.journal_required == "/usr/irissys/mgr/journal/20261122.002"
    assert [p.number for p in log.passes] == [1, 2, 3]
    first = log.passes[0]
    assert [(c.directory, c.blocks, c.seconds) for c in first.copies] == [
        ("/usr/irissys/mgr/user/", 18950, 1.25),
        ("/usr/irissys/mgr/hscustom/", 310, 0.02),
    ]
    assert first.copies[0].started == datetime(2026, 11, 22, 2, 0, 1)
    assert first.completed_at == datetime(2026, 11, 22, 2, 0, 3)
    assert log.total_blocks == 18950 + 310 + 12 + 2
    assert log.finished
    assert log.warnings == [] and log.errors == []


def test_incremental_log_with_one_directory_and_journal_file_on_the_same_line() -> None:
    text = FULL.replace("Journal file switched to:\n/usr", "Journal file switched to: /usr")
    text = text.replace("Nightly full", "Every 4 hours").replace(
        " /usr/irissys/mgr/hscustom/\n", ""
    )
    log = parse_backup_log(text)
    assert log.description == "Every 4 hours"
    assert log.directories == ["/usr/irissys/mgr/user/"]
    assert log.journal_switched_to == "/usr/irissys/mgr/journal/20261122.002"
    assert log.finished


def test_log_cut_off_in_the_middle_is_not_finished_and_keeps_what_it_saw() -> None:
    cut = FULL[: FULL.index("Starting backup pass 2")]
    log = parse_backup_log(cut)
    assert not log.finished
    assert [p.number for p in log.passes] == [1]
    assert log.journal_required is None


def test_warning_and_error_lines_are_collected_verbatim() -> None:
    text = FULL.replace(
        "Backup pass 2 complete",
        "WARNING: database /usr/irissys/mgr/big/ is read-only and was skipped\n"
        "Backup aborted by operator request\nBackup pass 2 complete",
    ).replace("***FINISHED BACKUP***\n", "")
    log = parse_backup_log(text)
    assert log.warnings == ["WARNING: database /usr/irissys/mgr/big/ is read-only and was skipped"]
    assert log.errors == ["Backup aborted by operator request"]
    assert not log.finished


def test_garbage_and_empty_logs_parse_to_nothing_finished() -> None:
    for text in (
        "",
        "\n\n",
        "Copied 12 blocks in 1 seconds\nBackup pass 9 complete at 99/99/9999 99:99:99",
    ):
        log = parse_backup_log(text)
        assert not log.finished and log.passes == [] and log.device is None


def test_non_ascii_digits_in_a_log_are_not_read_as_numbers() -> None:
    log = parse_backup_log(
        "Starting backup pass ١\n"
        "Starting backup pass 1\n"
        "Backing up /db/ at １１/22/2026 02:00:01\n"
        "Backing up /db/ at 11/22/2026 02:00:01\n"
        "Copied ١٨٩٥٠ blocks in 1.25 seconds\n"
        "Copied 12 blocks in ١.25 seconds\n"
        "Backup pass 1 complete at 11/22/２０２６ 02:00:03\n"
    )
    assert [p.number for p in log.passes] == [1]
    (copy,) = log.passes[0].copies
    assert (copy.directory, copy.blocks, copy.seconds) == ("/db/", None, None)
    assert log.passes[0].completed_at is None


def test_a_malformed_number_in_a_log_is_left_unread_not_raised() -> None:
    log = parse_backup_log(
        "Starting backup pass 1\n"
        "Backing up /db/ at 11/22/2026 02:00:01\n"
        "Copied 5 blocks in 1.2.3 seconds\n"
    )
    assert log.passes[0].copies[0].seconds is None


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "iris"
SOURCE_END = "# ---\n"


def real_log(name: str) -> str:
    """A public transcript: its provenance note, then the log as IRIS wrote it."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    note, _, log = text.partition(SOURCE_END)
    assert note.startswith("# Source: "), f"{name} must name its source"
    return log


def test_a_real_iris_2024_task_log_is_parsed_fully_description_included() -> None:
    log = parse_backup_log(real_log("jp-online-fulldblist-2024.1.log.txt"))
    assert log.started == datetime(2024, 4, 25, 9, 42, 6)  # the instance's local time, naive
    assert log.kind == "Full"
    assert log.device == "/usr/irissys/mgr/backup/FullDBList_20240425_001.cbk"
    assert log.description == "Full backup of all databases that are in the backup database list."
    assert log.directories == ["/usr/irissys/mgr/t1/", "/usr/irissys/mgr/user/"]
    assert log.journal_switched_to == "/usr/irissys/mgr/journal/20240425.002"
    assert log.journal_required == "/usr/irissys/mgr/journal/20240425.002"
    assert [p.number for p in log.passes] == [1, 2, 3]
    assert [(c.directory, c.blocks, c.seconds) for c in log.passes[0].copies] == [
        ("/usr/irissys/mgr/t1/", 14083, 0.287),
        ("/usr/irissys/mgr/user/", 194, 0.007),
    ]
    assert log.passes[0].copies[0].started == datetime(2024, 4, 25, 9, 42, 7)
    assert [p.completed_at for p in log.passes] == [
        datetime(2024, 4, 25, 9, 42, 7),
        datetime(2024, 4, 25, 9, 42, 8),
        datetime(2024, 4, 25, 9, 42, 10),
    ]
    assert log.total_blocks == 14083 + 194 + 1 + 1 + 1 + 1
    assert log.finished
    assert log.warnings == [] and log.errors == []


def test_a_description_that_says_failed_is_the_description_not_an_error() -> None:
    text = real_log("jp-online-fulldblist-2024.1.log.txt").replace(
        "Full backup of all databases that are in the backup database list.",
        "Retry after the backup that failed with an error last night",
    )
    log = parse_backup_log(text)
    assert log.description == "Retry after the backup that failed with an error last night"
    assert log.errors == [] and log.finished


def test_an_empty_description_line_takes_nothing_that_follows() -> None:
    text = real_log("jp-online-fulldblist-2024.1.log.txt").replace(
        "Full backup of all databases that are in the backup database list.\n", ""
    )
    log = parse_backup_log(text)
    assert log.description == ""
    assert log.directories == ["/usr/irissys/mgr/t1/", "/usr/irissys/mgr/user/"]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Performing an Incremental backup.", "Incremental"),
        ("Performing a Cumulative Incremental backup.", "Cumulative Incremental"),
        ("Performing a backup.", None),
    ],
)
def test_the_kind_of_backup_is_read_as_iris_words_it(line: str, kind: str | None) -> None:
    assert parse_backup_log(f"{line}\n").kind == kind


@pytest.mark.parametrize(
    "stamp",
    ["2024-04-25 9:42:06", "２０２４-04-25 09:42:06", "2024-13-25 09:42:06", "2024-04-25T09:42:06"],
)
def test_a_header_time_that_is_not_iris_form_is_left_unread(stamp: str) -> None:
    log = parse_backup_log(f"*** The time is: {stamp} ***\n")
    assert log.started is None and log.errors == []


def test_a_real_mirror_transcript_names_a_prefixed_required_file_before_the_markers_file() -> None:
    """RHEL-2022 (docs/iris-ledger.md section 14): on a mirror member the journal files are
    ``MIRROR-<name>-YYYYMMDD.NNN``, and the file a restore needs precedes the one switched to."""
    log = parse_backup_log(real_log("rhel-mirror-backup-2022.1.txt"))
    assert log.device == "/isc/setmirror.cbk"
    assert log.journal_switched_to == "/isc/jrnpri/MIRROR-AUGEST-20220917.011"
    assert log.journal_required == "/isc/jrnpri/MIRROR-AUGEST-20220917.010"
    assert log.directories == ["/isc/data/demo/", "/isc/iris/mgr/user/"]
    assert log.finished and log.errors == []
