from __future__ import annotations

from datetime import date

import pytest

from backup_keeper.catalog.iris_names import parse_iris_file_name
from backup_keeper.kinds import BackupKind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("FullAllDatabases_20211031_003.cbk", BackupKind.FULL),
        ("FullDBList_20211031_003.cbk", BackupKind.FULL),
        ("IncrementalDBList_20211031_003.cbk", BackupKind.INCREMENTAL),
        ("CumuIncrDBList_20211031_003.cbk", BackupKind.CUMULATIVE),
    ],
)
def test_default_task_names_give_kind_date_and_sequence(name: str, kind: BackupKind) -> None:
    parsed = parse_iris_file_name(name)
    assert parsed is not None
    assert (parsed.kind, parsed.day, parsed.sequence) == (kind, date(2021, 10, 31), 3)


@pytest.mark.parametrize(
    "name",
    [
        "FullDBList_2021103_003.cbk",  # seven-digit date
        "FullDBList_20211331_003.cbk",  # month 13
        "FullDBList_20210230_003.cbk",  # 30 February
        "fulldblist_20211031_003.cbk",  # wrong case
        "FullDBList_20211031_003.cbk.bak",
        "FullDBList_20211031_03.cbk",
        "MyTask_20211031_003.cbk",
        "FullDBList_20211031_003.CBK",
        "xFullDBList_20211031_003.cbk",
        "FullDBList_20211031_003.log",
    ],
)
def test_near_miss_names_are_not_iris_backups(name: str) -> None:
    assert parse_iris_file_name(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "FullDBList_２０２６１１０１_001.cbk",  # full-width date
        "FullDBList_٢٠٢٦١١٠١_001.cbk",  # Arabic-Indic date
        "FullDBList_20261101_٠٠١.cbk",  # Arabic-Indic sequence
        "IncrementalDBList_2026११01_001.cbk",  # Devanagari month
        "CumuIncrDBList_20261101_𝟎𝟎𝟏.cbk",  # mathematical bold sequence
    ],
)
def test_non_ascii_digits_are_not_iris_names(name: str) -> None:
    """IRIS writes ASCII digits; ``int()`` would read these as a date and a purge delete them."""
    assert parse_iris_file_name(name) is None
