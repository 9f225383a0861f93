from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup_keeper import timezones
from backup_keeper.clock import fixed_clock, system_clock
from backup_keeper.timezones import format_moment, zone_name


def test_fixed_clock_is_frozen_and_normalised_to_utc() -> None:
    moment = datetime(2026, 11, 22, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    clock = fixed_clock(moment)
    assert clock() == clock() == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    assert clock().tzinfo is UTC


def test_fixed_clock_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fixed_clock(datetime(2026, 11, 22))


def test_system_clock_is_aware() -> None:
    assert system_clock().tzinfo is UTC


def test_named_zone_is_resolved_and_unknown_one_refused() -> None:
    assert timezones.resolve_zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    with pytest.raises(ValueError, match="unknown time zone"):
        timezones.resolve_zone("Europe/Atlantis")


def test_machine_zone_prefers_tz_then_localtime_link_then_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert timezones.resolve_zone(None) == ZoneInfo("America/New_York")

    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    monkeypatch.setenv("TZ", "Not/AZone")
    monkeypatch.setattr(timezones, "Path", lambda _: link)
    assert timezones.machine_zone() == ZoneInfo("Asia/Tokyo")

    monkeypatch.delenv("TZ")
    plain = tmp_path / "plain"
    plain.write_text("not a link")
    monkeypatch.setattr(timezones, "Path", lambda _: plain)
    assert timezones.machine_zone().utcoffset(datetime.now()) is not None


def test_a_moment_is_written_in_the_zone_with_the_zone_shown() -> None:
    moment = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert format_moment(moment, ZoneInfo("Europe/Paris")) == "2026-11-23 02:00:00 CET"
    assert format_moment(moment, ZoneInfo("Asia/Tokyo")) == "2026-11-23 10:00:00 JST"
    assert format_moment(moment, UTC) == "2026-11-23 01:00:00 UTC"


def test_a_naive_moment_is_taken_as_already_in_the_zone() -> None:
    naive = datetime(2026, 11, 23, 2, 0)
    assert format_moment(naive, ZoneInfo("Asia/Tokyo")) == "2026-11-23 02:00:00 JST"


def test_a_moment_no_zone_can_hold_is_written_as_it_is() -> None:
    edge = datetime(1, 1, 1, tzinfo=UTC)
    assert format_moment(edge, ZoneInfo("America/New_York")) == edge.isoformat()


def test_a_zone_is_named_by_its_iana_key_else_by_what_it_calls_itself() -> None:
    assert zone_name(ZoneInfo("Asia/Tokyo")) == "Asia/Tokyo"
    assert zone_name(UTC) == "UTC"
