"""The backup-log parser on logs shaped like IRIS's (iris-api.md section 9)."""

from __future__ import annotations

from datetime import datetime

from backup_keeper.iris.backup_log import parse_backup_log

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
