from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("14d", timedelta(days=14)),
        ("8w", timedelta(weeks=8)),
        ("1w2d", timedelta(days=9)),
        (" 90M ", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_durations_read_as_administrators_write_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "14", "d", "2 months", "1y", "-3d", "0d", "1.5h", "3d junk"])
def test_bad_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**9))
def test_format_then_parse_is_identity(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


def test_zero_formats_as_0s() -> None:
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    "text",
    [
        "١٤d",  # Arabic-Indic digits
        "１４d",  # full-width digits
        "14ｄ",  # a full-width unit
        "99999999999999999999w",  # overflows timedelta
        "5300w",  # over 100 years
        "36501d",
        "1" * 5000 + "s",  # past int()'s digit limit
    ],
)
def test_non_ascii_and_overlong_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_a_hundred_years_is_the_longest_duration() -> None:
    assert parse_duration("36500d") == timedelta(days=36500)
    assert parse_duration("5214w") == timedelta(weeks=5214)


def test_a_timedelta_longer_than_a_hundred_years_is_refused_as_a_setting() -> None:
    from pydantic import TypeAdapter, ValidationError

    from backup_keeper.durations import Duration

    adapter: TypeAdapter[timedelta] = TypeAdapter(Duration)
    assert adapter.validate_python(timedelta(days=2)) == timedelta(days=2)
    for bad in (timedelta(days=40000), timedelta(0), timedelta(seconds=-1)):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
