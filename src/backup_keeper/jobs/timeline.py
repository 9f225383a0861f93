"""The timeline job: the backups of the directories drawn on a time axis (timeline.py) and, given
keep rules, what a purge by them would keep and delete, and why. It only reads: the plan is
computed as the purge job computes it, and nothing is deleted.

Pinned backups are marked and, in the plan, kept with every backup they need and for the same
reason ("pinned: <reason>"), as the purge keeps them: both read the pins the records carry
(catalog/pins.py), so the picture never shows a pinned backup going.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.pins import pin_holds, pins_of
from backup_keeper.clock import Clock, system_clock
from backup_keeper.jobs import lifecycle
from backup_keeper.report import JobReport
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.safe_files import write_atomic
from backup_keeper.settings import CatalogSettings, PurgeSettings
from backup_keeper.timeline import render_html, render_svg
from backup_keeper.timezones import resolve_zone

TimelineFormat = Literal["svg", "html"]
Show = Callable[[str], object]
"""Where the picture goes when no file is named (the CLI: stdout)."""


def run_timeline(
    settings: CatalogSettings,
    *,
    fmt: TimelineFormat = "svg",
    out: Path | None = None,
    show: Show | None = None,
    clock: Clock = system_clock,
) -> JobReport:
    """Draw ``settings.directories`` as of ``clock()``, with a dry-run plan when ``settings``
    carry keep rules (PurgeSettings); write the picture atomically to ``out``, else hand it to
    ``show``. Never raises: a directory or ``out`` that fails is a failed report."""
    report = lifecycle.begin(
        "timeline",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options={"timezone": settings.timezone, "format": fmt, "out": str(out) if out else None},
    )

    def steps() -> str:
        zone = resolve_zone(settings.timezone)
        now = report.started
        catalog = discover(settings.directories, zone, now=now)
        report.warnings += catalog.warnings
        pinned = pins_of(catalog.records, now)
        held = pin_holds(catalog.records, now)
        decided = (
            plan(catalog.records, settings.retention, now, zone, ordered=True, held=held)
            if isinstance(settings, PurgeSettings)
            else None
        )
        render = render_html if fmt == "html" else render_svg
        title = _title(settings.directories, decided)
        text = render(catalog.records, zone, plan=decided, pins=pinned, title=title)
        drawn = f"timeline of {len(catalog.records)} backup(s)"
        if out is not None:
            write_atomic(out.parent, out.name, text.encode("utf-8"))
            return f"{drawn} written to {out}"
        if show is not None:
            show(text)
        return drawn

    return lifecycle.conclude(report, steps, clock=clock, notifier=None, what="timeline")


def _title(directories: list[Path], decided: Plan | None) -> str:
    what = "Backup chains" if decided is None else "Backup chains and a dry-run purge"
    return f"{what}: {', '.join(str(d) for d in directories)}"
