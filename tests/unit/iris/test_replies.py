from __future__ import annotations

import pytest

from backup_keeper.iris.port import IrisError, JournalFile, OnlineResult
from backup_keeper.iris.replies import (
    parse_backup_return,
    parse_dbsize,
    parse_journal_files,
    parse_journal_settings,
)


@pytest.mark.parametrize(
    ("value", "result", "warnings"),
    [
        (1, OnlineResult.COMPLETED, ()),
        ("1", OnlineResult.COMPLETED, ()),
        (0, OnlineResult.FAILED, ()),
        ("0", OnlineResult.FAILED, ()),
        ("", OnlineResult.FAILED, ()),
        ("1,warn~warn", OnlineResult.WARNING, ("warn", "warn")),
        ("1,Database /x/ is read-only~", OnlineResult.WARNING, ("Database /x/ is read-only",)),
        ("1,", OnlineResult.COMPLETED, ()),
        ("junk", OnlineResult.FAILED, ()),
    ],
)
def test_backup_return_values(
    value: object, result: OnlineResult, warnings: tuple[str, ...]
) -> None:
    outcome = parse_backup_return(value)
    assert (outcome.result, outcome.warnings, outcome.raw) == (result, warnings, str(value))


def test_dbsize_reply_from_the_documentation() -> None:
    size = parse_dbsize("18950^5^160952320^2710^160309248^313104^313104")
    assert (size.database_blocks, size.directories, size.bytes_for_file) == (18950, 5, 160309248)


@pytest.mark.parametrize("value", ["-1^0^0^0^0^0", "18950^5", "a^b^c^d^e", ""])
def test_dbsize_errors_are_iris_errors(value: str) -> None:
    with pytest.raises(IrisError):
        parse_dbsize(value)


@pytest.mark.parametrize("value", ["١", "１", "１,warn", " ١ "])
def test_a_backup_return_in_non_ascii_digits_is_a_failure(value: str) -> None:
    assert parse_backup_return(value).result is OnlineResult.FAILED


@pytest.mark.parametrize(
    "value",
    ["１８９５０^5^160952320^2710^160309248", "18950^٥^160952320^2710^160309248", "1_0^1^1^1^1"],
)
def test_a_dbsize_reply_in_non_ascii_digits_is_an_iris_error(value: str) -> None:
    with pytest.raises(IrisError):
        parse_dbsize(value)


def test_journal_files_are_read_by_position_newest_first() -> None:
    answer = {
        "current": "/j/MIRROR-A-20261120.003",
        "columns": ["Name", "Size"],
        "files": [["/j/MIRROR-A-20261120.003", "4096"], ["/j/MIRROR-A-20261120.002", 1024]],
        "complete": 1,
    }
    files = parse_journal_files(answer)
    assert files.current == "/j/MIRROR-A-20261120.003" and files.complete
    assert files.files == (
        JournalFile("/j/MIRROR-A-20261120.003", 4096),
        JournalFile("/j/MIRROR-A-20261120.002", 1024),
    )
    assert parse_journal_files({"files": [["/j/20261120.001"]], "complete": 0}).complete is False


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"files": "no"},
        {"files": [["/j/x", "1", "extra"]]},
        {"files": [[]]},
        {"files": ["/j/20261120.001"]},
        {"files": [[""]]},
        {"files": [[None]]},
        {"files": [["/j/20261120.001", "-1"]]},
        {"files": [["/j/20261120.001", "١٢"]]},
        {"files": [["/j/20261120.001\n/etc/passwd"]]},
        {"files": [], "current": ["x"]},
        {"files": [], "complete": "yes"},
    ],
)
def test_a_journal_list_in_any_other_shape_is_a_clear_iris_error(answer: dict[str, object]) -> None:
    with pytest.raises(IrisError, match=r"journal|size|not a whole number"):
        parse_journal_files(answer)


def test_journal_settings_by_name_both_spellings_of_purge_archived() -> None:
    settings = parse_journal_settings(
        {
            "settings": {
                "DaysBeforePurge": "2",
                "BackupsBeforePurge": 2,
                "PurgeArchive": "1",
                "CurrentDirectory": "/usr/irissys/mgr/journal/",
                "JournalFilePrefix": "",
                "FreezeOnError": "0",
            }
        }
    )
    assert (settings.days_before_purge, settings.backups_before_purge) == (2, 2)
    assert settings.purge_archived is True
    assert settings.directory == "/usr/irissys/mgr/journal/"
    neither = parse_journal_settings({"settings": {"DaysBeforePurge": 0, "BackupsBeforePurge": 0}})
    assert neither.purge_archived is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("x", "not an object"),
        ({"DaysBeforePurge": 2}, "gave no BackupsBeforePurge"),
        (
            {"DaysBeforePurge": 101, "BackupsBeforePurge": 2},
            "DaysBeforePurge is 101, outside 0-100",
        ),
        ({"DaysBeforePurge": 2, "BackupsBeforePurge": 11}, "outside 0-10"),
        ({"DaysBeforePurge": "two", "BackupsBeforePurge": 2}, "not a whole number"),
        ({"DaysBeforePurge": True, "BackupsBeforePurge": 2}, "unexpected DaysBeforePurge"),
        ({"DaysBeforePurge": 2.5, "BackupsBeforePurge": 2}, "unexpected DaysBeforePurge"),
        ({"DaysBeforePurge": 2, "BackupsBeforePurge": 2, "PurgeArchived": 2}, "outside 0-1"),
    ],
)
def test_journal_settings_iris_would_not_hold_are_a_clear_iris_error(
    settings: object, message: str
) -> None:
    with pytest.raises(IrisError, match=message):
        parse_journal_settings({"settings": settings})
