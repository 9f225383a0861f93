"""The freshness check: the alarm for the failure nobody sees, a schedule that stopped.

It reads what exists (the catalog of the directories and, when IRIS is reachable, IRIS's own
backup history) and fails when the newest completed backup of a kind is older than ``max_age``,
when there is no full backup at all, or when the newest backup failed or cannot be judged (its
IRIS log cannot be read). A backup dated after now proves nothing: it is a warning, never fresh.
With IRIS, it also warns when the retention policy keeps backups IRIS's journal purge settings
will strand, saying which setting to change; without a policy it only notes, as information, how
many backups found are already past that purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.record import BackupRecord, BackupStatus
from backup_keeper.clock import Clock, system_clock
from backup_keeper.durations import format_duration
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.journal_purge import read_journal_settings
from backup_keeper.journal_coverage import (
    held_line,
    policy_keeps,
    stranding,
    stranding_warning,
)
from backup_keeper.kinds import BackupKind
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import JobReport
from backup_keeper.settings import FreshnessSettings, RetentionPolicy
from backup_keeper.timezones import format_moment, resolve_zone

_GOOD_HISTORY = {"completed", "warning"}


@dataclass(frozen=True, slots=True)
class _Seen:
    kind: BackupKind
    time: datetime
    good: bool
    where: str
    unreadable: bool = False


def run_freshness_check(
    settings: FreshnessSettings,
    *,
    iris: IrisPort | None,
    notifier: Notifier | None,
    clock: Clock = system_clock,
    retention: RetentionPolicy | None = None,
) -> JobReport:
    """``retention``: the policy the directories are purged by, judged (with IRIS) against
    the instance's journal purge settings; without one, the backups found are."""
    report = lifecycle.begin(
        "check-freshness",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name if iris is not None else None,
    )
    zone = resolve_zone(settings.timezone)
    now = report.started
    try:
        seen = _from_catalog(settings, zone, report) + _from_history(iris, zone, report)
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        seen = []
    else:
        report.errors += _findings(seen, settings, now, zone)
        report.checked += _checked(seen, settings, now, zone)
        if iris is not None:
            _journal_purge(iris, seen, retention, report)
    summary = "; ".join(report.errors) if report.errors else "backups are fresh"
    report = lifecycle.end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report


def _from_catalog(settings: FreshnessSettings, zone: tzinfo, report: JobReport) -> list[_Seen]:
    """Backups dated after now are left out: the catalog warns about them."""
    now = report.started
    catalog = discover(settings.directories, zone, now=now)
    report.warnings += catalog.warnings
    return [_seen(r) for r in catalog.records if r.managed and r.time <= now]


def _seen(record: BackupRecord) -> _Seen:
    unreadable = record.status is BackupStatus.UNREADABLE
    return _Seen(record.kind, record.time, record.restorable, record.path, unreadable)


def _from_history(iris: IrisPort | None, zone: tzinfo, report: JobReport) -> list[_Seen]:
    if iris is None:
        return []
    try:
        history = iris.backup_history()
    except IrisTimeout as exc:  # a hung IRIS is news, an answering one that refuses is not
        report.errors.append(f"IRIS backup history not read: {exc}")
        return []
    except IrisError as exc:
        report.warnings.append(f"IRIS backup history not read: {exc}")
        return []
    seen: list[_Seen] = []
    for h in history:
        where = f"IRIS history ({h.device or h.description or h.kind})"
        try:
            when = h.time if h.time.tzinfo else h.time.replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:
            report.warnings.append(f"{where}: its time {h.time} cannot be represented: left out")
            continue
        if when > report.started:
            report.warnings.append(
                f"{where}: dated {format_moment(when, zone)}, after now "
                f"({format_moment(report.started, zone)}): "
                "a clock is wrong; never counted as fresh"
            )
            continue
        seen.append(_Seen(h.kind, when, h.status.lower() in _GOOD_HISTORY, where))
    return seen


def _findings(
    seen: list[_Seen], settings: FreshnessSettings, now: datetime, zone: tzinfo
) -> list[str]:
    findings: list[str] = []
    limit = settings.max_age
    if seen:
        newest = max(seen, key=lambda s: s.time)
        if not newest.good:
            what = "'s IRIS log cannot be read" if newest.unreadable else " failed"
            findings.append(
                f"the newest backup{what}: {newest.where} at {format_moment(newest.time, zone)}"
            )
    for kind in map(BackupKind, settings.kinds):
        good = [s for s in seen if s.kind is kind and s.good]
        if not good:
            if kind is BackupKind.FULL:
                findings.append("no completed full backup found at all")
            continue
        newest_good = max(good, key=lambda s: s.time)
        age = now - newest_good.time
        if age > limit:
            findings.append(
                f"newest completed {kind} backup is {format_duration(age)} old "
                f"(max {format_duration(limit)}): {newest_good.where}"
            )
    return findings


def _checked(
    seen: list[_Seen], settings: FreshnessSettings, now: datetime, zone: tzinfo
) -> list[str]:
    """Per kind, the newest completed backup found and its age: what the verdict rests on."""
    in_history = sum(1 for s in seen if s.where.startswith("IRIS history"))
    lines = [f"backups seen: {len(seen) - in_history} in the directories, {in_history} in IRIS"]
    for kind in map(BackupKind, settings.kinds):
        good = [s for s in seen if s.kind is kind and s.good]
        if not good:
            lines.append(f"{kind}: none found")
            continue
        newest = max(good, key=lambda s: s.time)
        lines.append(
            f"{kind}: newest completed {format_moment(newest.time, zone)}, "
            f"{format_duration(now - newest.time)} old: {newest.where}"
        )
    return lines


def _journal_purge(
    iris: IrisPort, seen: list[_Seen], retention: RetentionPolicy | None, report: JobReport
) -> None:
    """The stranding rule over what is kept (journal_coverage.py); IRIS's history counts
    toward BackupsBeforePurge. A warning, never a failed check: the backups are fresh."""
    journal = read_journal_settings(iris, report)
    if journal is None:
        return
    now = report.started
    good = [s.time for s in seen if s.good]
    found_here = [s.time for s in seen if s.good and not s.where.startswith("IRIS history")]
    if retention is not None:
        kept = policy_keeps(retention, now)
        found = stranding(kept, journal, now=now, successful=good)
        warning = stranding_warning(found, "the retention policy")
        report.warnings += [warning] if warning else []
        return
    found = stranding(found_here, journal, now=now, successful=good)
    line = held_line(found, "the backup directories")
    report.checked += [line] if line else []
