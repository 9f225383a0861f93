"""The timeline job: one call draws the picture, with a dry-run plan given keep rules, the pins
its provider names kept with their chains; a failure is a failed report, never an exception."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_timeline
from backup_keeper.report import JobStatus
from backup_keeper.settings import CatalogSettings, PurgeSettings
from tests.builders import directory_state
from tests.unit.test_timeline import DAYS, NOW, SVG, sixty_days


def drawn(tmp_path: Path) -> Path:
    directory = tmp_path / "backups"
    directory.mkdir()
    return sixty_days(directory)


def marks(svg: str) -> dict[str, ET.Element]:
    return {g.get("data-file", ""): g for g in ET.fromstring(svg).findall(f".//{SVG}g[@data-file]")}


def test_without_a_file_the_svg_goes_to_show_one_mark_per_backup(tmp_path: Path) -> None:
    directory = drawn(tmp_path)
    shown: list[str] = []

    report = run_timeline(
        CatalogSettings(directories=[directory], timezone="UTC"),
        show=shown.append,
        clock=fixed_clock(NOW),
    )

    assert report.status is JobStatus.OK, report.errors
    [svg] = shown
    assert len(marks(svg)) == DAYS + 1
    assert report.summary == f"timeline of {DAYS + 1} backup(s)"


def test_pins_from_the_provider_are_marked_and_kept_by_the_dry_run_plan(tmp_path: Path) -> None:
    directory = drawn(tmp_path)
    settings = PurgeSettings.model_validate(
        {"directories": [directory], "timezone": "UTC", "retention": {"keep_last": 1}}
    )
    before = directory_state(directory)
    unpinned: list[str] = []
    run_timeline(settings, show=unpinned.append, clock=fixed_clock(NOW))
    oldest = min(
        (name for name, g in marks(unpinned[0]).items() if g.get("data-action") == "delete"),
    )
    asked: list[datetime] = []

    def pins(records: Sequence[BackupRecord], now: datetime) -> Mapping[str, str]:
        asked.append(now)
        return {r.path: "audit 2026" for r in records if r.path.endswith("/" + oldest)}

    shown: list[str] = []
    report = run_timeline(settings, show=shown.append, pins=pins, clock=fixed_clock(NOW))

    assert report.status is JobStatus.OK, report.errors
    assert asked == [NOW]
    pinned = marks(shown[0])[oldest]
    assert pinned.get("data-pinned") == "true"
    assert pinned.get("data-action") == "keep"
    assert directory_state(directory) == before


def test_out_is_written_whole_and_named_in_the_summary(tmp_path: Path) -> None:
    directory = drawn(tmp_path)
    target = tmp_path / "picture.html"

    report = run_timeline(
        CatalogSettings(directories=[directory], timezone="UTC"),
        fmt="html",
        out=target,
        clock=fixed_clock(NOW),
    )

    assert report.status is JobStatus.OK, report.errors
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert report.summary == f"timeline of {DAYS + 1} backup(s) written to {target}"


def test_a_directory_that_cannot_be_read_is_a_failed_report_not_an_exception(
    tmp_path: Path,
) -> None:
    directory = drawn(tmp_path)
    settings = CatalogSettings(directories=[directory], timezone="UTC")
    directory.rename(tmp_path / "moved")
    shown: list[str] = []

    report = run_timeline(settings, show=shown.append, clock=fixed_clock(NOW))

    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("timeline failed: ")
    assert shown == []
