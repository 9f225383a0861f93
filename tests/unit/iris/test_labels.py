"""Volume-label dates as GetBackupVolumeInfo returns them: ``AUG 2 2012``, ``11:35AM``, and
``BackupTimeDH`` in ``$H``; all the instance's local time (docs/iris-ledger.md section 3)."""

from __future__ import annotations

from datetime import datetime

import pytest

from backup_keeper.iris.labels import horolog_time, label_time


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        ("AUG 2 2012", "11:35AM", datetime(2012, 8, 2, 11, 35)),
        ("APR 26 2024", "11:36AM", datetime(2024, 4, 26, 11, 36)),  # the 2024.1 label
        ("APR 25 2024", "05:34PM", datetime(2024, 4, 25, 17, 34)),
        ("Dec 31 1999", "12:00AM", datetime(1999, 12, 31, 0, 0)),
        ("JAN 1 2030", "12:59PM", datetime(2030, 1, 1, 12, 59)),
        (" NOV  22 2026 ", " 2:05 PM ", datetime(2026, 11, 22, 14, 5)),
    ],
)
def test_label_date_and_time_in_iris_form_are_read(
    date: str, time: str, expected: datetime
) -> None:
    assert label_time(date, time, "") == expected


def test_horolog_is_preferred_for_its_seconds() -> None:
    assert label_time("NOV 22 2026", "02:00AM", "67896,7237") == datetime(2026, 11, 22, 2, 0, 37)
    assert horolog_time("66956,41760") == datetime(2024, 4, 26, 11, 36)


@pytest.mark.parametrize(
    ("date", "time", "dh"),
    [
        ("", "", ""),
        ("AUG 2 2012", "", ""),
        ("AUG 32 2012", "11:35AM", ""),
        ("FOO 2 2012", "11:35AM", ""),
        ("AUG ２ 2012", "11:35AM", ""),
        ("AUG 2 2012", "13:35PM", ""),
        ("AUG 2 2012", "11:35", ""),
        ("AUG 2 2012", "11:3٥AM", ""),
        ("2012-08-02", "11:35:00", ""),
        ("", "", "67896"),
        ("", "", "67896,86400"),
        ("", "", "６7896,10"),
        ("", "", "-1,10"),
        ("", "", "99999999999,0"),
    ],
)
def test_anything_else_is_no_time_never_an_exception(date: str, time: str, dh: str) -> None:
    assert label_time(date, time, dh) is None


def test_an_unreadable_horolog_falls_back_to_date_and_time() -> None:
    assert label_time("AUG 2 2012", "11:35AM", "garbage") == datetime(2012, 8, 2, 11, 35)
