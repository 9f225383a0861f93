"""The timeline job: one call draws the picture, with a dry-run plan given keep rules, pinned
backups kept with their chains as the purge keeps them; a failure is a failed report, never an
exception."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_pin, run_purge, run_timeline
from backup_keeper.report import JobStatus
from backup_keeper.settings import CatalogSettings, PinSettings, PurgeSettings
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


def test_a_pinned_backup_is_marked_and_kept_by_the_dry_run_plan_as_the_purge_keeps_it(
    tmp_path: Path,
) -> None:
    directory = drawn(tmp_path)
    settings = PurgeSettings.model_validate(
        {"directories": [directory], "timezone": "UTC", "retention": {"keep_last": 1}}
    )
    unpinned: list[str] = []
    run_timeline(settings, show=unpinned.append, clock=fixed_clock(NOW))
    oldest = min(
        (name for name, g in marks(unpinned[0]).items() if g.get("data-action") == "delete"),
    )
    pinned_by = run_pin(
        PinSettings(file=str(directory / oldest), reason="audit 2026", timezone="UTC"),
        clock=fixed_clock(NOW),
    )
    assert pinned_by.status is JobStatus.OK, pinned_by.errors
    before = directory_state(directory)

    shown: list[str] = []
    report = run_timeline(settings, show=shown.append, clock=fixed_clock(NOW))
    purge = run_purge(settings.model_copy(update={"dry_run": True}), clock=fixed_clock(NOW))

    assert report.status is JobStatus.OK, report.errors
    pinned = marks(shown[0])[oldest]
    assert pinned.get("data-pinned") == "true"
    assert pinned.get("data-action") == "keep"
    kept = {Path(e.path).name: e.reasons for e in purge.keep}
    assert "pinned: audit 2026" in kept[oldest]
    assert {n for n, g in marks(shown[0]).items() if g.get("data-action") == "keep"} == set(kept)
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
