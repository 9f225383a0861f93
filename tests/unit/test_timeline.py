"""The picture of the chains (timeline.py): real backup files in ``tmp_path``, catalogued as the
CLI catalogues them, drawn, and the SVG read back with ``xml.etree``."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.record import BackupRecord, BackupStatus
from backup_keeper.kinds import BackupKind
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import RetentionPolicy
from backup_keeper.timeline import render_html, render_svg
from tests.builders import T0, write_managed_backup

SVG = "{http://www.w3.org/2000/svg}"
DAYS = 60
NOW = T0 + timedelta(days=DAYS - 1, hours=6)
POLICY = RetentionPolicy(keep_last=2, keep_daily=10, failed_older_than=timedelta(days=7))
HOSTILE = '<script>alert("x")&amp;\x01.cbk'


def sixty_days(directory: Path) -> Path:
    """Weekly fulls with daily incrementals for 60 days, a cumulative mid-week, one failed
    incremental, and a file nothing describes (unmanaged)."""
    for day in range(DAYS):
        started = T0 + timedelta(days=day)
        kind = {0: BackupKind.FULL, 3: BackupKind.CUMULATIVE}.get(day % 7, BackupKind.INCREMENTAL)
        status = BackupStatus.FAILED if day == 16 else BackupStatus.COMPLETED
        write_managed_backup(directory, f"{kind}_{started:%Y%m%d}.cbk", kind, started, status)
    stray = directory / "copied-by-hand.cbk"
    stray.write_bytes(b"who knows")
    os.utime(stray, (T0.timestamp() + 86400 * 20,) * 2)
    return directory


def catalogued(directory: Path) -> list[BackupRecord]:
    return discover([directory], UTC).records


def marks(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f".//{SVG}g[@data-file]")


def title(mark: ET.Element) -> str:
    found = mark.find(f"{SVG}title")
    assert found is not None and found.text is not None
    return found.text


@pytest.fixture
def records(tmp_path: Path) -> list[BackupRecord]:
    return catalogued(sixty_days(tmp_path))


@pytest.fixture
def decided(records: list[BackupRecord]) -> Plan:
    return plan(records, POLICY, NOW, UTC)


def test_a_sixty_day_chain_draws_exactly_one_mark_per_backup(records: list[BackupRecord]) -> None:
    drawn = marks(render_svg(records, UTC))
    assert len(records) == DAYS + 1
    assert sorted(m.get("data-file", "") for m in drawn) == sorted(
        Path(r.path).name for r in records
    )


def test_each_weekly_chain_is_joined_by_one_line(records: list[BackupRecord]) -> None:
    lines = ET.fromstring(render_svg(records, UTC)).findall(f".//{SVG}line[@class='chain']")
    assert sorted(line.get("data-chain", "") for line in lines) == sorted(
        Path(r.path).name for r in records if r.kind is BackupKind.FULL
    )


def test_kinds_have_distinct_shapes_and_the_failed_one_is_crossed(
    records: list[BackupRecord],
) -> None:
    drawn = marks(render_svg(records, UTC))
    shapes = {(m.get("data-kind"), m.get("data-action")): m[1].tag.removeprefix(SVG) for m in drawn}
    assert shapes[("full", None)] == "circle"
    assert shapes[("cumulative", None)] == "rect"
    assert shapes[("incremental", None)] == "polygon"
    assert shapes[("unknown", "unmanaged")] == "circle"
    crossed = [m.get("data-file") for m in drawn if m.find(f"{SVG}path") is not None]
    assert crossed == ["incremental_20261117.cbk"]


def test_with_a_plan_every_reason_is_the_hover_text_of_its_mark(
    records: list[BackupRecord], decided: Plan
) -> None:
    drawn = {m.get("data-file"): m for m in marks(render_svg(records, UTC, plan=decided))}
    assert decided.keep and decided.delete and decided.unmanaged
    for verdict, decisions in (("keep", decided.keep), ("delete", decided.delete)):
        for decision in decisions:
            mark = drawn[Path(decision.record.path).name]
            assert mark.get("data-action") == verdict
            for reason in decision.reasons:
                assert reason in title(mark)
    assert "would be deleted: " in title(drawn[Path(decided.delete[0].record.path).name])


def test_kept_and_deleted_differ_in_fill_and_outline_so_they_read_in_greyscale(
    records: list[BackupRecord], decided: Plan
) -> None:
    drawn = marks(render_svg(records, UTC, plan=decided))
    by_action: dict[str, set[tuple[str, str]]] = {"keep": set(), "delete": set()}
    for mark in drawn:
        action = mark.get("data-action", "")
        if action in by_action:
            shape = mark[1]
            by_action[action].add((shape.get("fill", ""), shape.get("stroke-dasharray", "")))
    assert {fill for fill, _ in by_action["delete"]} == {"#ffffff"}
    assert {dash for _, dash in by_action["delete"]} == {"3 2"}
    assert "#ffffff" not in {fill for fill, _ in by_action["keep"]}
    assert {dash for _, dash in by_action["keep"]} == {""}


def test_hostile_file_names_stay_text(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, HOSTILE, BackupKind.FULL, T0)
    (tmp_path / os.fsdecode(b"<img src=x onerror=alert(1)>\xff.cbk")).write_bytes(b"stray")
    records = catalogued(tmp_path)
    for text in (render_svg(records, UTC), render_html(records, UTC)):
        assert "<script" not in text and "<img" not in text
    tree = ET.fromstring(render_svg(records, UTC, title="<b>t</b>"))
    assert {e.tag.removeprefix(SVG) for e in tree.iter()} <= {
        "svg", "title", "rect", "text", "line", "g", "circle", "polygon", "path"
    }  # fmt: skip
    files = {m.get("data-file") for m in marks(ET.tostring(tree, encoding="unicode"))}
    assert '<script>alert("x")&amp;\\x01.cbk' in files
    assert "<img src=x onerror=alert(1)>\\udcff.cbk" in files


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    first = catalogued(sixty_days(tmp_path))
    again = catalogued(tmp_path)
    drawn = [
        render_html(r, UTC, plan=plan(r, POLICY, NOW, UTC), pins={first[5].path: "audit"})
        for r in (first, list(reversed(again)))
    ]
    assert drawn[0] == drawn[1]


def test_a_pinned_backup_is_ringed_and_says_why(records: list[BackupRecord]) -> None:
    pinned = records[9]
    drawn = marks(render_svg(records, UTC, pins={pinned.path: "legal hold <case 7>"}))
    ringed = [m for m in drawn if m.get("data-pinned") == "true"]
    assert [m.get("data-file") for m in ringed] == [Path(pinned.path).name]
    assert "pinned: legal hold <case 7>" in title(ringed[0])


def test_the_page_is_self_contained(records: list[BackupRecord], decided: Plan) -> None:
    page = render_html(records, UTC, plan=decided)
    assert "<script" not in page and "url(" not in page and "@import" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "would be deleted" in page and "kept" in page  # the legend


@pytest.mark.parametrize(
    ("kind", "shape"), [(BackupKind.EXTERNAL, "polygon"), (BackupKind.FULL, "circle")]
)
def test_an_hour_long_span_still_draws_its_marks(
    tmp_path: Path, kind: BackupKind, shape: str
) -> None:
    for minute in (0, 30):
        started = datetime(2026, 11, 1, 2, minute, tzinfo=UTC)
        write_managed_backup(tmp_path, f"b{minute}.cbk", kind, started)
    drawn = marks(render_svg(catalogued(tmp_path), UTC))
    assert [m[1].tag.removeprefix(SVG) for m in drawn] == [shape, shape]


def test_no_backups_is_an_empty_axis_not_an_error() -> None:
    tree = ET.fromstring(render_svg([], UTC))
    assert tree.findall(f".//{SVG}g[@data-file]") == []
