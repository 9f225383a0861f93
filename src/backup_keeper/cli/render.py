"""Human-readable reports. Every command's text has one shape: a heading saying what was looked
at (directories, the IRIS adapter, the time zone the times are in), the table, one summary line
(``<status>: <summary>``). Plain aligned text, so it reads the same in a terminal, a cron mail
and a Task Manager output file; on a terminal ``styles`` says which lines to colour (the door
prints them; JSON and logs are never coloured)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import PurePath

from backup_keeper import door
from backup_keeper.report import (
    FileOutcome,
    JobReport,
    JobStatus,
    RecordEntry,
    escape_surrogates,
)

_STATUS_STYLE = {JobStatus.OK: "green", JobStatus.SKIPPED: "yellow", JobStatus.FAILED: "bold red"}

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROLS = {
    code: _NAMED.get(chr(code), f"\\x{code:02x}") for code in [*range(0x20), *range(0x7F, 0xA0)]
} | {
    # line and paragraph separators, and the bidirectional overrides that reorder what is seen
    code: f"\\u{code:04x}"
    for code in [0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def printable(text: str) -> str:
    """``text`` safe for one line of a terminal: C0 and C1 controls, DEL, line separators and
    bidi overrides escaped (``\\n``, ``\\x1b``, ``\\u202e``), a byte that is not UTF-8 as
    ``\\xNN``. A file name can hold any of them; a newline in one must not forge a table row,
    nor an escape sequence repaint the screen."""
    return escape_surrogates(text).translate(_CONTROLS)


human_size = door.human_size
"""One way to write a size for the tables and the jobs' summary lines alike."""
zone_name = door.zone_name


def report_zone(report: JobReport) -> tzinfo:
    """The zone the job read local dates in (``--timezone``, else this machine's): the
    instance's, so a time reads as the instance's clock said it."""
    name = report.options.get("timezone")
    try:
        return door.resolve_zone(name if isinstance(name, str) else None)
    except ValueError:
        return UTC


def local_time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _when(entry: RecordEntry, zone: tzinfo) -> str:
    if entry.local_day is not None:
        return f"{entry.local_day.isoformat()} (day)"
    return local_time(entry.time, zone)


def _shown_path(path: str, report: JobReport) -> str:
    if len(report.directories) == 1:
        return PurePath(path).name
    return path


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Aligned columns, one line per row whatever the cells hold (each goes through
    ``printable``)."""
    shown = [[printable(cell) for cell in row] for row in [header, *rows]]
    widths = [0] * len(header)
    for row in shown:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in shown:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def render_catalog(report: JobReport) -> str:
    zone = report_zone(report)
    rows: list[tuple[str, ...]] = [
        (
            _shown_path(e.path, report),
            e.kind,
            _when(e, zone),
            e.status,
            human_size(e.size),
            e.source,
            " -> ".join(PurePath(p).name for p in e.chain)
            or ("-" if e.chain_complete else "INCOMPLETE"),
        )
        for e in report.records
    ]
    header: tuple[str, ...] = ("FILE", "KIND", "TIME", "STATUS", "SIZE", "SOURCE", "NEEDS FIRST")
    if report.roll_forward:  # with an IRIS port: how far the journals take each backup
        rows = [(*r, _rolls(report, e.path)) for r, e in zip(rows, report.records, strict=True)]
        header = (*header, "ROLLS FORWARD")
    if any(e.pin is not None for e in report.records):  # a catalog with no pin reads as before
        rows = [(*row, _pin(e, zone)) for row, e in zip(rows, report.records, strict=True)]
        header = (*header, "PIN")
    body = table(rows, header)
    return _framed(report, body, _total(report.records))


def _pin(entry: RecordEntry, zone: tzinfo) -> str:
    pin = entry.pin
    if pin is None:
        return "-"
    until = f" until {local_time(pin.until, zone)}" if pin.until else ""
    return f"{'expired pin' if pin.expired else 'pinned'}: {pin.reason}{until}"


def _rolls(report: JobReport, path: str) -> str:
    found = report.roll_forward.get(path)
    if found is None:
        return "-"
    if found.reach == "backup":
        missing = PurePath(found.first_missing or "?").name
        return f"own moment only ({missing} missing)"
    return "to now" if found.reach == "now" else "unknown"


def _total(entries: Sequence[RecordEntry]) -> str:
    return f"{human_size(sum(max(e.size, 0) for e in entries))} in all"


def render_purge(report: JobReport) -> str:
    """The purge's own summary already says how much it deleted (or would)."""
    return _framed(report, _decisions(report))


def _decisions(report: JobReport) -> str:
    zone = report_zone(report)
    rows: list[tuple[str, ...]] = []
    gone = {a.path for a in report.actions if a.outcome is FileOutcome.DELETED}
    groups = (("delete", report.delete), ("keep", report.keep), ("unmanaged", report.unmanaged))
    for action, entries in groups:
        rows += [
            (
                _label(action, e.path, report.dry_run, gone),
                _shown_path(e.path, report),
                e.kind,
                _when(e, zone),
                e.status,
                "; ".join(e.reasons),
            )
            for e in entries
        ]
    rows += _recovered(report)
    return table(rows, ("ACTION", "FILE", "KIND", "TIME", "STATUS", "WHY"))


def _recovered(report: JobReport) -> list[tuple[str, ...]]:
    """Leftovers of an interrupted purge this run removed: files, not backups of the plan."""
    labels = {FileOutcome.DELETED: "deleted", FileOutcome.WOULD_DELETE: "would delete"}
    return [
        (labels.get(a.outcome, "NOT deleted"), _shown_path(a.path, report), "-", "-", "-", a.detail)
        for a in report.actions
        if a.detail.startswith(door.RECOVERED)
    ]


def render_copy(report: JobReport) -> str:
    """One row per object sent, proved already there, or skipped (and, after a copy, per
    backup the destination's policy removed), then what was left alone on purpose."""
    rows = [
        (_COPY_LABELS.get(a.outcome, str(a.outcome)), PurePath(a.path).name, a.detail or "-")
        for a in report.actions
    ]
    body = table(rows, ("ACTION", "OBJECT", "DETAIL"))
    if report.checked:
        body += "\n\n" + "\n".join(printable(f"note: {line}") for line in report.checked)
    to = report.options.get("to")
    where = ", ".join(report.directories) or "-"
    return _framed(report, body, looked_at=f"{where} to {to}" if to else None)


_COPY_LABELS = {
    FileOutcome.COPIED: "copied",
    FileOutcome.WOULD_COPY: "would copy",
    FileOutcome.SKIPPED: "skipped",
    FileOutcome.DELETED: "deleted there",
    FileOutcome.WOULD_DELETE: "would delete there",
    FileOutcome.FAILED: "FAILED",
}


def render_backup(report: JobReport) -> str:
    lines = []
    details = report.backup
    if details is not None:
        kind = details.kind
        if details.kind != details.requested_kind:
            kind += f" (requested {details.requested_kind})"
        lines += [
            f"iris:        {report.iris}",
            f"kind:        {kind}",
            f"result:      {details.result or '-'}",
            f"file:        {details.file or '-'}",
            f"size:        {human_size(details.size)}",
            f"log:         {details.log or '-'}",
            f"checksum:    {details.checksum or '-'}",
            f"journal:     {details.journal_required or '-'} (first file a restore applies)",
            f"chain:       {details.chain_parent or '-'}",
        ]
        if details.freeze_window_ms is not None:
            lines += [
                f"snapshot:    {details.snapshot_id or '-'}",
                f"frozen for:  {details.freeze_window_ms} ms",
                *(f"  | {line}" for line in details.command_output),
            ]
        lines = [printable(line) for line in lines]
    if report.keep or report.delete or report.unmanaged:
        lines += ["", _decisions(report)]
    return _framed(report, "\n".join(lines))


def render_summary(report: JobReport) -> str:
    """Checks (doctor, freshness): the settings they ran with and what they looked at, so that
    "all clear" can be weighed, then their findings."""
    lines = [
        f"{key.replace('_', ' ')}: {_option(value)}"
        for key, value in report.options.items()
        if value is not None
    ]
    lines += ["checked:", *(f"  {line}" for line in report.checked)] if report.checked else []
    return _framed(report, "\n".join(printable(line) for line in lines))


def _option(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def render_verify(report: JobReport) -> str:
    rows = [
        (_shown_path(e.path, report), e.kind, human_size(e.size), e.status, "; ".join(e.reasons))
        for e in report.records
    ]
    body = table(rows, ("FILE", "KIND", "SIZE", "STATUS", "RESULT"))
    return _framed(report, body, _total(report.records))


def render_restore(report: JobReport) -> str:
    plan = report.restore
    if plan is None or not plan.files:
        return _framed(report, "no restore plan")
    moment = plan.restores_to
    lines = [f"restores to: {local_time(moment, report_zone(report)) if moment else '-'}", ""]
    lines += [f"  {n}. {f.path} ({f.kind})" for n, f in enumerate(plan.files, start=1)]
    lines += ["", f"databases: {', '.join(plan.databases) or '-'}"]
    lines += [f"journal restore starts at: {plan.journal_start or '-'}"]
    lines += [f"rolls forward: {plan.roll_forward}"] if plan.roll_forward else []
    lines += ["", "steps:"]
    lines += [f"  {step}" for step in plan.steps]
    return _framed(report, "\n".join(printable(line) for line in lines))


def _label(action: str, path: str, dry_run: bool, gone: set[str]) -> str:
    if action != "delete":
        return action
    if dry_run:
        return "would delete"
    return "deleted" if path in gone else "NOT deleted"


def heading(report: JobReport, looked_at: str | None = None) -> str:
    """``catalog of /backups (iris fake; times in Europe/Paris)``: what was looked at, through
    which adapter, and the zone every time below is in."""
    where = looked_at or ", ".join(report.directories) or "-"
    details = [f"iris {report.iris}"] if report.iris else []
    details += ["dry run"] if report.dry_run else []
    details.append(f"times in {zone_name(report_zone(report))}")
    return f"{report.job} of {where} ({'; '.join(details)})"


def _framed(report: JobReport, body: str, totals: str = "", looked_at: str | None = None) -> str:
    """``body`` (already printable: built by ``table`` or escaped line by line) between the
    heading and the findings, each of which is one escaped line whatever names it quotes; the
    last line is the one summary, with ``totals`` (sizes) when the body has them."""
    parts = [printable(heading(report, looked_at)), "", body, ""]
    parts += [printable(f"warning: {w}") for w in report.warnings]
    parts += [printable(f"error: {e}") for e in report.errors]
    summary = f"{report.summary}; {totals}" if totals else report.summary
    parts.append(printable(f"{report.status}: {summary}"))
    return "\n".join(parts)


def render_alert_test(report: JobReport) -> str:
    """One row per channel: ``email  delivered``, or why not."""
    rows = [line.partition(": ")[::2] for line in report.checked]
    body = table(rows, ("CHANNEL", "OUTCOME"))
    return _framed(report, body, looked_at="the configured alert channels")


def styles(text: str, report: JobReport) -> list[tuple[str, str]]:
    """Each line of ``text`` (a ``_framed`` rendering of ``report``) with the style a terminal
    shows it in ("" for none): the heading bold, warnings yellow, errors red, the summary by
    status. Known by position, never by what a line says: a file name cannot restyle a row."""
    lines = text.split("\n")
    found = [""] * len(lines)
    found[0] = "bold"
    end = len(lines) - 1
    found[end] = _STATUS_STYLE.get(report.status, "")
    errors_from = end - len(report.errors)
    warnings_from = errors_from - len(report.warnings)
    for index in range(max(warnings_from, 1), end):
        found[index] = "yellow" if index < errors_from else "red"
    return list(zip(lines, found, strict=True))
