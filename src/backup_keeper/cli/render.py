"""Human-readable tables for reports. Plain aligned text, so it reads the same in a terminal,
a cron mail and a Task Manager output file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from backup_keeper.purge.executor import RECOVERED
from backup_keeper.report import FileOutcome, JobReport, RecordEntry


def _when(entry: RecordEntry) -> str:
    if entry.local_day is not None:
        return f"{entry.local_day.isoformat()} (local day)"
    return entry.time.strftime("%Y-%m-%d %H:%M:%SZ")


def _shown_path(path: str, report: JobReport) -> str:
    if len(report.directories) == 1:
        return PurePath(path).name
    return path


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def render_catalog(report: JobReport) -> str:
    rows = [
        (
            _shown_path(e.path, report),
            e.kind,
            _when(e),
            e.status,
            e.source,
            " -> ".join(PurePath(p).name for p in e.chain)
            or ("-" if e.chain_complete else "INCOMPLETE"),
        )
        for e in report.records
    ]
    body = table(rows, ("FILE", "KIND", "TIME", "STATUS", "SOURCE", "NEEDS FIRST"))
    return _framed(report, body)


def render_purge(report: JobReport) -> str:
    return _framed(report, _decisions(report))


def _decisions(report: JobReport) -> str:
    rows: list[tuple[str, ...]] = []
    gone = {a.path for a in report.actions if a.outcome is FileOutcome.DELETED}
    groups = (("delete", report.delete), ("keep", report.keep), ("unmanaged", report.unmanaged))
    for action, entries in groups:
        rows += [
            (
                _label(action, e.path, report.dry_run, gone),
                _shown_path(e.path, report),
                e.kind,
                _when(e),
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
        if a.detail.startswith(RECOVERED)
    ]


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
    if report.keep or report.delete or report.unmanaged:
        lines += ["", _decisions(report)]
    return _framed(report, "\n".join(lines))


def render_summary(report: JobReport) -> str:
    """Jobs whose whole story is their findings (doctor, freshness)."""
    return _framed(report, "")


def render_verify(report: JobReport) -> str:
    rows = [
        (_shown_path(e.path, report), e.kind, e.status, "; ".join(e.reasons))
        for e in report.records
    ]
    return _framed(report, table(rows, ("FILE", "KIND", "STATUS", "RESULT")))


def render_restore(report: JobReport) -> str:
    plan = report.restore
    if plan is None or not plan.files:
        return _framed(report, "no restore plan")
    lines = [f"restores to: {plan.restores_to.isoformat() if plan.restores_to else '-'}", ""]
    lines += [f"  {n}. {f.path} ({f.kind})" for n, f in enumerate(plan.files, start=1)]
    lines += ["", f"databases: {', '.join(plan.databases) or '-'}"]
    lines += [f"journal restore starts at: {plan.journal_start or '-'}", "", "steps:"]
    lines += [f"  {step}" for step in plan.steps]
    return _framed(report, "\n".join(lines))


def _label(action: str, path: str, dry_run: bool, gone: set[str]) -> str:
    if action != "delete":
        return action
    if dry_run:
        return "would delete"
    return "deleted" if path in gone else "NOT deleted"


def _framed(report: JobReport, body: str) -> str:
    head = f"{report.job} of {', '.join(report.directories)}"
    parts = [head, "", body, ""]
    parts += [f"warning: {w}" for w in report.warnings]
    parts += [f"error: {e}" for e in report.errors]
    parts.append(f"{report.status}: {report.summary}")
    return "\n".join(parts)
