"""The zone a job's own text gives its times in."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backup_keeper.clock import fixed_clock
from backup_keeper.jobs.lifecycle import begin, zone_of
from backup_keeper.timezones import machine_zone

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_a_job_writes_its_times_in_its_timezone_option() -> None:
    report = begin(
        "catalog", clock=fixed_clock(NOW), directories=[], options={"timezone": "Asia/Tokyo"}
    )
    assert zone_of(report) == ZoneInfo("Asia/Tokyo")


def test_without_a_usable_timezone_option_a_job_writes_this_machines_times() -> None:
    for options in ({}, {"timezone": None}, {"timezone": "Not/AZone"}):
        report = begin("catalog", clock=fixed_clock(NOW), directories=[], options=options)
        assert zone_of(report) == machine_zone()
