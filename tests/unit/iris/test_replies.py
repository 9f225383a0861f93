from __future__ import annotations

import pytest

from backup_keeper.iris.port import IrisError, OnlineResult
from backup_keeper.iris.replies import parse_backup_return, parse_dbsize


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
