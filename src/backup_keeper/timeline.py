"""A picture of the chains: the catalog's records (and, given one, a retention plan) drawn on a
time axis as one self-contained SVG, or that SVG in a minimal HTML page with a legend.

Nobody reads a 300-row purge table to see what a policy does; a picture of which chains stay
and which go is read at a glance. The picture must be safe to open anywhere and to mail around,
so it fetches nothing when viewed (no fonts, scripts, images or links: generic font families,
inline styles only) and every text in it -- file names first, which anyone who can write to the
backup directory chooses -- is escaped, characters XML cannot hold included. The same records
and plan always give the same bytes: no clock, no random ids, fixed number formats.

Every mark is drawn twice over: a kind has its shape (full circle, external diamond, cumulative
square, incremental triangle, unmanaged dashed ring) and a plan's verdict has its fill *and* its
outline (kept: solid; would be deleted: hollow, dashed, with a slash), so the picture reads in
greyscale and to people who do not tell red from green.

Pins: a caller passes ``pins`` (record path -> reason), as the planner takes ``held``; the
timeline job builds it from the pins the records carry (catalog/pins.py), and nothing here
changes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import PurePath
from xml.sax.saxutils import escape, quoteattr

from backup_keeper.catalog.record import ORDER_KEY, BackupRecord, BackupStatus
from backup_keeper.kinds import BackupKind
from backup_keeper.retention.plan import Action, Decision, Plan
from backup_keeper.sizes import human_size
from backup_keeper.timezones import format_moment

_LEFT, _RIGHT, _TOP = 40, 40, 70
_PLOT = 1000
"""Width of the time axis in px: a fixed width, so that the same span always reads the same."""
_ROW = 84
_LANE = 26
"""Consecutive chains alternate between two lanes of a row, so two chains never touch."""
_LEGEND = 110
_INK = "#1f2933"
_GRID = "#d9dee3"
_COLOURS = {
    Action.KEEP: "#1a7f37",
    Action.DELETE: "#c62828",
    Action.UNMANAGED: "#6b7280",
    None: "#2f5d8a",
}
"""The fill of a mark by the plan's verdict (None: no plan was given)."""
_PIN = "#b7791f"
_FAILED_STATUSES = (BackupStatus.FAILED, BackupStatus.ABORTED)
_TICK_STEPS = (
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
    timedelta(days=365),
)
_MOST_TICKS = 12
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters an XML 1.0 document cannot hold (controls, lone surrogates from undecodable file
names, U+FFFE/FFFF): each is written as its ``\\xNN`` / ``\\uNNNN`` escape instead."""


@dataclass(frozen=True, slots=True)
class _Mark:
    record: BackupRecord
    decision: Decision | None
    pin: str | None
    x: float
    y: int


def render_svg(
    records: Iterable[BackupRecord],
    zone: tzinfo,
    *,
    plan: Plan | None = None,
    pins: Mapping[str, str] | None = None,
    title: str = "Backup chains",
) -> str:
    """The records on a time axis as one SVG document; with ``plan``, each mark shows what a
    purge by it would do and why (each mark's ``<title>``, the hover text). ``records`` must
    have their chains linked (``catalog.discover`` does it). Pure: same input, same text."""
    ordered = sorted(records, key=ORDER_KEY)
    decisions = _decisions(plan)
    rows = _rows(ordered)
    start, end = _span(ordered)
    height = _TOP + _ROW * max(len(rows), 1) + _LEGEND
    width = _LEFT + _PLOT + _RIGHT
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12" fill="{_INK}" role="img">',
        f"<title>{_text(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="22" font-size="16" font-weight="bold">{_text(title)}</text>',
        f'<text x="{_LEFT}" y="42">{_text(_summary(ordered, plan, start, end, zone))}</text>',
    ]
    out += _axis(start, end, zone, _TOP + _ROW * max(len(rows), 1))
    for index, (label, members) in enumerate(rows):
        top = _TOP + index * _ROW
        out.append(f'<text x="{_LEFT}" y="{top + 14}" font-weight="bold">{_text(label)}</text>')
        marks = [
            _Mark(r, decisions.get(r.path), (pins or {}).get(r.path), _x(r.time, start, end), 0)
            for r in members
        ]
        out += _draw_row(marks, top, zone)
    out += _legend(_TOP + _ROW * max(len(rows), 1) + 34, plan is not None)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_html(
    records: Iterable[BackupRecord],
    zone: tzinfo,
    *,
    plan: Plan | None = None,
    pins: Mapping[str, str] | None = None,
    title: str = "Backup chains",
) -> str:
    """:func:`render_svg` inline in a minimal page (hover a mark for its reasons), with the
    plan's warnings below it. No script, no stylesheet or font from anywhere."""
    svg = render_svg(records, zone, plan=plan, pins=pins, title=title)
    warnings = "".join(f"<li>{_text(w)}</li>\n" for w in (plan.warnings if plan else []))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n"
        "<style>body{font-family:sans-serif;margin:16px;color:#1f2933;background:#fff}"
        "svg{max-width:100%;height:auto}</style>\n</head>\n<body>\n"
        + svg
        + "<p>Hover a mark for its file, kind, status, time and, with keep rules, why a purge "
        "would keep or delete it.</p>\n"
        + (f"<h2>Warnings</h2>\n<ul>\n{warnings}</ul>\n" if warnings else "")
        + "</body>\n</html>\n"
    )


def _decisions(plan: Plan | None) -> dict[str, Decision]:
    if plan is None:
        return {}
    return {d.record.path: d for d in (*plan.keep, *plan.delete, *plan.unmanaged)}


def _rows(ordered: list[BackupRecord]) -> list[tuple[str, list[BackupRecord]]]:
    """One row per directory and instance, in the order they first appear."""
    rows: dict[tuple[str, str], list[BackupRecord]] = defaultdict(list)
    for record in ordered:
        directory = str(PurePath(record.path).parent)
        rows[(directory, record.instance or "")].append(record)
    return [
        (f"{directory}  (instance {instance})" if instance else directory, members)
        for (directory, instance), members in rows.items()
    ]


def _span(ordered: list[BackupRecord]) -> tuple[datetime, datetime]:
    """The axis: from the oldest managed backup to the newest (an unmanaged file's time is
    its mtime, which may be anything: it is drawn at the nearer end when outside), padded so
    no mark sits on the frame."""
    timed = [r.time for r in ordered if r.managed] or [r.time for r in ordered]
    if not timed:
        return datetime(2000, 1, 1).astimezone(), datetime(2000, 1, 2).astimezone()
    first, last = min(timed), max(timed)
    pad = max((last - first) / 40, timedelta(hours=12))
    return first - pad, last + pad


def _x(moment: datetime, start: datetime, end: datetime) -> float:
    fraction = (moment - start) / (end - start)
    return _LEFT + _PLOT * min(max(fraction, 0.0), 1.0)


def _draw_row(marks: list[_Mark], top: int, zone: tzinfo) -> list[str]:
    """The chains of a row (a line from each full to its last member), then its marks, each
    chain in the lane after the previous one's."""
    lane_of, chains = _chains(marks)
    out: list[str] = []
    for base, members in chains.items():
        y = top + 34 + _LANE * lane_of[base]
        first, last = members[0].x, members[-1].x
        out.append(
            f'<line class="chain" data-chain={_attr(PurePath(base).name)} x1="{first:.1f}" '
            f'y1="{y}" x2="{last:.1f}" y2="{y}" stroke="{_INK}" stroke-width="2"/>'
        )
    for mark in marks:
        base = mark.record.chain[0] if mark.record.chain else mark.record.path
        y = top + 34 + _LANE * lane_of.get(base, 0)
        out.append(_mark(_Mark(mark.record, mark.decision, mark.pin, mark.x, y), zone))
    return out


def _chains(marks: list[_Mark]) -> tuple[dict[str, int], dict[str, list[_Mark]]]:
    """Each chain's lane (0 or 1, alternating oldest first) and its members, by its base."""
    chains: dict[str, list[_Mark]] = {}
    for mark in marks:
        record = mark.record
        if record.chain:
            chains.setdefault(record.chain[0], []).append(mark)
        elif record.managed and record.kind in (BackupKind.FULL, BackupKind.EXTERNAL):
            chains.setdefault(record.path, []).insert(0, mark)
    lanes = {base: index % 2 for index, base in enumerate(chains)}
    return lanes, {base: members for base, members in chains.items() if len(members) > 1}


def _mark(mark: _Mark, zone: tzinfo) -> str:
    """One ``<g>`` per backup: its shape, a cross when it failed, a slash when a purge would
    delete it, a ring when pinned, and its hover text."""
    record, decision = mark.record, mark.decision
    action = decision.action if decision else (None if record.managed else Action.UNMANAGED)
    colour = _COLOURS[action]
    deleted = action is Action.DELETE
    fill = "#ffffff" if deleted or not record.managed else colour
    dash = ' stroke-dasharray="3 2"' if deleted or not record.managed else ""
    style = f'fill="{fill}" stroke="{colour}" stroke-width="2"{dash}'
    parts = [_shape(record, mark.x, mark.y, style)]
    if record.status in _FAILED_STATUSES:
        parts.append(_cross(mark.x, mark.y, 8, _INK))
    if deleted:
        parts.append(
            f'<line x1="{mark.x - 9:.1f}" y1="{mark.y + 9}" x2="{mark.x + 9:.1f}" '
            f'y2="{mark.y - 9}" stroke="{colour}" stroke-width="2"/>'
        )
    if mark.pin is not None:
        parts.append(
            f'<circle cx="{mark.x:.1f}" cy="{mark.y}" r="12" fill="none" '
            f'stroke="{_PIN}" stroke-width="2"/>'
        )
    name = PurePath(record.path).name
    attrs = (
        f"data-file={_attr(name)} data-kind={_attr(str(record.kind))} "
        f"data-status={_attr(str(record.status))}"
        + (f" data-action={_attr(str(action))}" if action is not None else "")
        + (' data-pinned="true"' if mark.pin is not None else "")
    )
    hover = _text(_hover(record, decision, mark.pin, zone))
    return f'<g class="mark" {attrs}><title>{hover}</title>{"".join(parts)}</g>'


def _shape(record: BackupRecord, x: float, y: int, style: str) -> str:
    if not record.managed or record.kind is BackupKind.UNKNOWN:
        return f'<circle cx="{x:.1f}" cy="{y}" r="6" {style}/>'
    if record.kind is BackupKind.FULL:
        return f'<circle cx="{x:.1f}" cy="{y}" r="7" {style}/>'
    if record.kind is BackupKind.EXTERNAL:
        points = f"{x:.1f},{y - 8} {x + 8:.1f},{y} {x:.1f},{y + 8} {x - 8:.1f},{y}"
        return f'<polygon points="{points}" {style}/>'
    if record.kind is BackupKind.CUMULATIVE:
        return f'<rect x="{x - 6:.1f}" y="{y - 6}" width="12" height="12" {style}/>'
    points = f"{x:.1f},{y - 6} {x + 6:.1f},{y + 5} {x - 6:.1f},{y + 5}"
    return f'<polygon points="{points}" {style}/>'


def _cross(x: float, y: int, size: int, colour: str) -> str:
    return (
        f'<path d="M{x - size:.1f},{y - size} L{x + size:.1f},{y + size} '
        f'M{x - size:.1f},{y + size} L{x + size:.1f},{y - size}" '
        f'stroke="{colour}" stroke-width="2.5" fill="none"/>'
    )


def _hover(record: BackupRecord, decision: Decision | None, pin: str | None, zone: tzinfo) -> str:
    """What a person hovering the mark reads: the file and what the catalog knows, then the
    plan's verdict and every reason for it."""
    lines = [
        PurePath(record.path).name,
        f"{record.kind}, {record.status}, {human_size(record.size)}",
        f"taken {format_moment(record.time, zone)}"
        if record.managed
        else "unmanaged" + (f": {record.note}" if record.note else ""),
    ]
    if record.chain:
        lines.append(f"chain: needs {len(record.chain)}, from {PurePath(record.chain[0]).name}")
    elif not record.chain_complete:
        lines.append("cannot be restored: no usable full before it")
    if pin is not None:
        lines.append(f"pinned: {pin}")
    if decision is not None:
        verdict = {Action.KEEP: "kept", Action.DELETE: "would be deleted"}.get(
            decision.action, "unmanaged"
        )
        lines.append(f"{verdict}: " + "; ".join(decision.reasons))
    return "\n".join(lines)


def _summary(
    ordered: list[BackupRecord], plan: Plan | None, start: datetime, end: datetime, zone: tzinfo
) -> str:
    chains = sum(1 for r in ordered if r.managed and r.kind.starts_chain)
    text = f"{len(ordered)} backup(s), {chains} chain(s)"
    if ordered:
        managed = [r.time for r in ordered if r.managed] or [r.time for r in ordered]
        text += f", {_day(min(managed), zone)} to {_day(max(managed), zone)}"
    if plan is not None:
        text += (
            f"; a purge by these rules would keep {len(plan.keep)}, delete {len(plan.delete)}"
            f" and leave {len(plan.unmanaged)} unmanaged"
        )
    return text


def _day(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d")


def _axis(start: datetime, end: datetime, zone: tzinfo, bottom: int) -> list[str]:
    """A baseline with dated ticks, at most a dozen, each a day's (or an hour's) start in
    ``zone``, and a faint line down through the rows at each."""
    step = next((s for s in _TICK_STEPS if (end - start) / s <= _MOST_TICKS), _TICK_STEPS[-1])
    local = start.astimezone(zone)
    if step >= timedelta(days=1):
        tick = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        tick = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    out = [
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{_LEFT + _PLOT}" y2="{bottom}" '
        f'stroke="{_INK}" stroke-width="1"/>'
    ]
    fmt = "%Y-%m-%d" if step >= timedelta(days=1) else "%m-%d %H:%M"
    while tick < end:
        x = _x(tick, start, end)
        out.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{bottom + 5}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" font-size="10">'
            f"{_text(tick.strftime(fmt))}</text>"
        )
        tick = (tick + step).astimezone(zone)
    return out


def _legend(top: int, planned: bool) -> list[str]:
    """What each shape, fill and overlay means, drawn with the very marks it explains."""
    blue = _COLOURS[None]
    solid = f'fill="{blue}" stroke="{blue}" stroke-width="2"'
    items: list[tuple[str, str]] = [
        ("full", f'<circle cx="0" cy="0" r="7" {solid}/>'),
        ("incremental", f'<polygon points="0,-6 6,5 -6,5" {solid}/>'),
        ("cumulative", f'<rect x="-6" y="-6" width="12" height="12" {solid}/>'),
        ("external", f'<polygon points="0,-8 8,0 0,8 -8,0" {solid}/>'),
        (
            "unmanaged",
            f'<circle cx="0" cy="0" r="6" fill="#ffffff" stroke="{_COLOURS[Action.UNMANAGED]}" '
            'stroke-width="2" stroke-dasharray="3 2"/>',
        ),
        ("failed", f'<circle cx="0" cy="0" r="7" {solid}/>{_cross(0, 0, 8, _INK)}'),
        (
            "pinned",
            f'<circle cx="0" cy="0" r="7" {solid}/>'
            f'<circle cx="0" cy="0" r="12" fill="none" stroke="{_PIN}" stroke-width="2"/>',
        ),
    ]
    if planned:
        keep, delete = _COLOURS[Action.KEEP], _COLOURS[Action.DELETE]
        items += [
            (
                "kept",
                f'<circle cx="0" cy="0" r="7" fill="{keep}" stroke="{keep}" stroke-width="2"/>',
            ),
            (
                "would be deleted",
                f'<circle cx="0" cy="0" r="7" fill="#ffffff" stroke="{delete}" '
                f'stroke-width="2" stroke-dasharray="3 2"/><line x1="-9" y1="9" x2="9" y2="-9" '
                f'stroke="{delete}" stroke-width="2"/>',
            ),
        ]
    out = [f'<g class="legend"><text x="{_LEFT}" y="{top}" font-weight="bold">Legend</text>']
    for index, (label, drawing) in enumerate(items):
        column, line = index % 5, index // 5
        x, y = _LEFT + 12 + column * 200, top + 26 + line * 30
        out.append(
            f'<g transform="translate({x},{y})">{drawing}'
            f'<text x="18" y="4">{_text(label)}</text></g>'
        )
    out.append("</g>")
    return out


def _text(value: str) -> str:
    """``value`` as XML character data: markup escaped, and characters XML cannot hold
    written as their Python escapes, so a hostile file name stays visible text."""
    return escape(_NOT_XML.sub(_escaped, value))


def _attr(value: str) -> str:
    """``value`` as a quoted XML attribute (quotes, newlines and tabs escaped too)."""
    return quoteattr(_NOT_XML.sub(_escaped, value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")
