from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup_keeper import timezones
from backup_keeper.clock import fixed_clock, system_clock


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
