"""Journal coverage: whether a backup can still roll forward to now, and whether a retention
policy keeps backups that IRIS's journal purge will strand.

A ``.cbk`` restores the databases as they were at the backup's moment; the journal files from
the one its backup named as required (``Journal file '<f>' and the subsequent ones are
required ...``, or ExternalFreeze's ``RequiredFile``) up to the current one roll it forward.
IRIS purges journal files after ``DaysBeforePurge`` days or ``BackupsBeforePurge`` successful
backups, whichever comes first (docs/iris-ledger.md section 14), so a long retention keeps
backups that can no longer reach the present. Findings layer: pure judgements over what the
catalog, the sidecars and the port found; an answer that is not known is ``unknown``, never
"fine".

Journal files are ordered by their ``YYYYMMDD.NNN`` tail, never by the whole name: a prefix
(``JournalFilePrefix``, ``MIRROR-<name>-``) would sort them by prefix first. Within one day
``NNN`` counts up one by one, so a number skipped is a missing file; whether ``NNN`` restarts
at 001 each day is not known, so across days only a number that is neither 001 nor the
previous one plus one is read as a gap. IRIS's own list is believed to stop at the first
missing file (a third-party note, unverified): then a purged file shows as the required file
missing, which is the same verdict.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise
from pathlib import PurePath

from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.iris.port import JournalFiles, JournalSettings
from backup_keeper.iris.replies import MAX_PURGE_BACKUPS, MAX_PURGE_DAYS
from backup_keeper.iris_formats.backup_log import parse_backup_log
from backup_keeper.settings import RetentionPolicy
from backup_keeper.small_files import read_small

_TAIL = re.compile(r"(?P<day>[0-9]{8})\.(?P<seq>[0-9]{3,9})", re.ASCII)
LOG_LIMIT = 8 * 1024 * 1024
"""The most of a backup's IRIS log read for its required journal file (a log is a few KB)."""
JOURNAL_SETTINGS_WHERE = (
    "Config.Journal (DaysBeforePurge, BackupsBeforePurge), or the Management Portal: System "
    "Administration > Configuration > System Configuration > Journal Settings"
)


@dataclass(frozen=True, slots=True, order=True)
class JournalKey:
    """Where a journal file stands in time: its ``YYYYMMDD`` and ``NNN``."""

    day: str
    seq: int


def journal_key(path: str) -> JournalKey | None:
    """The ``YYYYMMDD.NNN`` tail of a journal file's name, whatever its directory and prefix
    (``/j/MIRROR-AUGEST-20220917.010``); None for a name without one."""
    name = re.split(r"[/\\]", path)[-1]
    found = _TAIL.search(name)
    if found is None or found.end() != len(name):
        return None
    return JournalKey(found["day"], int(found["seq"]))


def _day(key: JournalKey) -> date | None:
    try:
        return date(int(key.day[:4]), int(key.day[4:6]), int(key.day[6:]))
    except ValueError:
        return None


class Reach(StrEnum):
    NOW = "now"
    """Every journal file from the required one to the current one is there."""
    BACKUP = "backup"
    """Only to the backup's own moment: a journal file it needs is gone."""
    UNKNOWN = "unknown"
    """No journal list, or no required file recorded: not known, so never called fine."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """How far the journals take one backup."""

    reach: Reach
    required: str | None = None
    first_missing: str | None = None
    rollback_lost: bool = False
    """The required file itself is gone: transactions open at backup time cannot be rolled
    back (ledger section 14, confirmed-with-doubt)."""
    last_day: date | None = None
    """For a gap after the required file: the day of the newest file of the unbroken run, so
    the journals surely reach that day's start."""
    why: str = ""

    @property
    def words(self) -> str:
        """One line for a table or a plan."""
        if self.reach is Reach.NOW:
            return "to now"
        if self.reach is Reach.UNKNOWN:
            return f"unknown: {self.why}"
        if self.rollback_lost:
            return (
                f"only to its own moment: its required journal file {self.first_missing} is "
                "missing, so transactions open at backup time cannot be rolled back"
            )
        return f"only to its own moment: first missing journal file {self.first_missing}"


def coverage(required: str | None, journals: JournalFiles | None) -> Coverage:
    """Whether the journals from ``required`` up to the current file are all in ``journals``
    (None: not listed, as without an IRIS connection)."""
    if journals is None:
        return Coverage(Reach.UNKNOWN, required, why="journal files not listed (no IRIS)")
    if not required:
        return Coverage(Reach.UNKNOWN, why="no required journal file recorded for this backup")
    want = journal_key(required)
    if want is None:
        return Coverage(Reach.UNKNOWN, required, why=f"{required!r} is no journal file name")
    present: dict[JournalKey, str] = {}
    for path in (journals.current, *(f.path for f in journals.files)):
        key = journal_key(path)
        if key is not None:
            present.setdefault(key, path)
    if not present:
        return Coverage(Reach.UNKNOWN, required, why="IRIS listed no journal file")
    return _walk(required, want, present, journal_key(journals.current), journals.complete)


def _walk(
    required: str,
    want: JournalKey,
    present: dict[JournalKey, str],
    current: JournalKey | None,
    complete: bool,
) -> Coverage:
    """From the required file to the current one (the newest listed when IRIS named none)."""
    last = current or max(present)
    if want > last:
        why = f"{required} is newer than the current journal file {present[last]}"
        return Coverage(Reach.UNKNOWN, required, why=why)
    if want not in present:
        if not complete and want < min(present):
            why = "older than the oldest journal file IRIS listed (the list was cut)"
            return Coverage(Reach.UNKNOWN, required, why=why)
        return Coverage(Reach.BACKUP, required, required, rollback_lost=True)
    run = sorted(k for k in present if want <= k <= last)
    for before, after in pairwise(run):
        missing = _missing_between(before, present[before], after, present[after])
        if missing is not None:
            return Coverage(Reach.BACKUP, required, missing, last_day=_day(before))
    return Coverage(Reach.NOW, required)


def _missing_between(
    before: JournalKey, path: str, after: JournalKey, after_path: str
) -> str | None:
    """The first file missing between two listed ones, named as IRIS would name it when that
    is known (same day: the next number), else described."""
    if before.day == after.day:
        if after.seq == before.seq + 1:
            return None
        width = len(path) - len(path.rstrip("0123456789"))
        return f"{path[:-width]}{before.seq + 1:0{width}d}"
    if after.seq in (1, before.seq + 1):
        return None
    return f"a journal file between {path} and {after_path}"


def reach_until(
    cover: Coverage, backup_time: datetime, now: datetime, zone: tzinfo
) -> datetime | None:
    """The latest moment the journals surely take this backup to: now when nothing is
    missing, the start of the last unbroken file's day (at least the backup's moment) after a
    gap, the backup's moment when its required file is gone; None when unknown."""
    if cover.reach is Reach.NOW:
        return now
    if cover.reach is Reach.UNKNOWN:
        return None
    if cover.last_day is None:
        return backup_time
    start = datetime.combine(cover.last_day, time(0), tzinfo=zone)
    return max(backup_time, start)


def required_journal(record: BackupRecord, manifest: Manifest | None) -> str | None:
    """The first journal file a restore of ``record`` needs: its sidecar's, else what its own
    IRIS log says (a backup known only from IRIS's log and file name). A log that cannot be
    read, or that names another device, says nothing."""
    if manifest is not None and manifest.journal_file_required:
        return manifest.journal_file_required
    for companion in record.companions:
        if companion.endswith(".log"):
            return _required_from_log(companion, record.path)
    return None


def _required_from_log(log: str, backup: str) -> str | None:
    try:
        text = read_small(log, limit=LOG_LIMIT).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    parsed = parse_backup_log(text)
    if parsed.device is not None:
        named = re.split(r"[/\\]", parsed.device)[-1]
        if named != PurePath(backup).name.removesuffix(".zst"):
            return None
    return parsed.journal_required


class Verdict(StrEnum):
    SAFE = "safe"
    STRANDED = "stranded"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Stranding:
    """What IRIS's journal purge does to the backups a policy keeps."""

    verdict: Verdict
    stranded: int = 0
    """How many kept backups lose their roll-forward journals at the next purge."""
    binding: str | None = None
    """The setting that strands them first (the one that reaches the youngest kept backup;
    DaysBeforePurge on a tie, the advice names both): DaysBeforePurge, BackupsBeforePurge,
    PurgeArchived."""
    advice: str = ""


def stranding(
    kept: Sequence[datetime],
    settings: JournalSettings,
    *,
    now: datetime,
    successful: Sequence[datetime] = (),
) -> Stranding:
    """The stranding rule (docs/iris-ledger.md section 14, "whichever is shorter"): a kept
    backup at least DaysBeforePurge days old (when > 0), or with at least BackupsBeforePurge
    successful backups of the instance after it (when > 0: it is older than the
    BackupsBeforePurge-th most recent), loses its roll-forward journals at the next purge.
    ``successful`` are the instance's successful backups besides ``kept`` (its history): a
    backup taken elsewhere counts too. With PurgeArchived the files go as soon as they are
    archived: coverage depends on the archive target, which is not seen here, so unknown."""
    if settings.purge_archived:
        return Stranding(Verdict.UNKNOWN, binding="PurgeArchived", advice=_ARCHIVED)
    days, count = settings.days_before_purge, settings.backups_before_purge
    successes = sorted({*successful, *kept})
    by_days = [t for t in kept if days > 0 and now - t >= timedelta(days=days)]
    newer = {t: len(successes) - bisect_right(successes, t) for t in kept}
    by_count = [t for t in kept if count > 0 and newer[t] >= count]
    stranded = set(by_days) | set(by_count)
    if not stranded:
        return Stranding(Verdict.SAFE)
    youngest_days = max(by_days, default=None)
    youngest_count = max(by_count, default=None)
    binding = (
        "BackupsBeforePurge"
        if youngest_days is None or (youngest_count is not None and youngest_count > youngest_days)
        else "DaysBeforePurge"
    )
    oldest = min(kept)
    advice = stranding_advice(now - oldest, newer[oldest] + 1, settings)
    return Stranding(Verdict.STRANDED, len(stranded), binding, advice)


_ARCHIVED = (
    "PurgeArchived is 1: IRIS purges each journal file as soon as it is copied to the archive "
    "target, so whether kept backups can roll forward depends on that archive, which "
    "backup-keeper cannot see; check that the archive keeps journals as long as the backups"
)


def stranding_advice(oldest_age: timedelta, kept_count: int, settings: JournalSettings) -> str:
    """Which setting to change, and to what, so IRIS keeps the journals of backups up to
    ``oldest_age`` old and ``kept_count`` backups deep."""
    days, count = settings.days_before_purge, settings.backups_before_purge
    need_days = max(1, math.ceil(oldest_age / timedelta(days=1)) + 1)
    need_count = kept_count + 1
    said = [
        f"IRIS purges journal files after DaysBeforePurge={days} day(s) or "
        f"BackupsBeforePurge={count} backup(s), whichever comes first, but the policy keeps "
        f"backups up to {_age(oldest_age)} old ({kept_count} deep)"
    ]
    if days > 0 and need_days > days:
        said.append(
            f"raise DaysBeforePurge to at least {need_days}"
            if need_days <= MAX_PURGE_DAYS
            else f"DaysBeforePurge cannot go above {MAX_PURGE_DAYS}: keep backups under "
            f"{MAX_PURGE_DAYS} days, or keep the journals elsewhere"
        )
    if count > 0 and need_count > count:
        said.append(
            f"raise BackupsBeforePurge to at least {need_count}"
            if need_count <= MAX_PURGE_BACKUPS
            else f"BackupsBeforePurge cannot go above {MAX_PURGE_BACKUPS}: set it to 0 so "
            "only DaysBeforePurge applies"
        )
    said.append(
        f"(or set the other criterion to 0 so only one applies) in {JOURNAL_SETTINGS_WHERE}"
    )
    return "; ".join(said)


def _age(age: timedelta) -> str:
    hours = age / timedelta(hours=1)
    return f"{hours / 24:.1f} day(s)" if hours >= 24 else f"{hours:.0f} hour(s)"


_DAY = timedelta(days=1)
_SPANS = {"keep_daily": _DAY, "keep_weekly": 7 * _DAY, "keep_monthly": 31 * _DAY}


def policy_keeps(policy: RetentionPolicy, now: datetime) -> list[datetime]:
    """The moments of backups ``policy`` keeps at its fullest: the oldest as old as its longest
    rule reaches, as many as its largest count. A policy is judged by what it will keep, not
    by what a young directory holds today."""
    span = policy.keep_within or timedelta(0)
    count = max(1, policy.keep_last or 0)
    for rule, unit in (*_SPANS.items(), ("keep_yearly", 366 * _DAY)):
        n = getattr(policy, rule)
        if n is not None:
            span = max(span, (n - 1) * unit)
            count = max(count, n)
    if count == 1:
        return [now - span]
    return [now - span * i / (count - 1) - timedelta(seconds=i) for i in range(count)]


def stranding_warning(found: Stranding, what: str) -> str | None:
    """The warning doctor and the freshness check give for ``what`` (the retention policy, or
    the backups a directory holds); None when the journals stay."""
    if found.verdict is Verdict.SAFE:
        return None
    if found.verdict is Verdict.UNKNOWN:
        return f"{what}: {found.advice}"
    return (
        f"{what}: {found.stranded} kept backup(s) will be stranded by IRIS's journal purge "
        f"(they will restore only to their own moment; {found.binding} purges first): "
        f"{found.advice}"
    )


def held_line(found: Stranding, what: str) -> str | None:
    """Without a policy, what the backups held already are: information for ``checked``, not a
    warning (the policy that keeps them was not given, so there is nothing to change)."""
    if found.verdict is Verdict.SAFE:
        return None
    if found.verdict is Verdict.UNKNOWN:
        return f"{what}: {found.advice}"
    return (
        f"{what}: {found.stranded} backup(s) held are past IRIS's journal purge "
        f"({found.binding}): they restore only to their own moment; give the keep rules "
        "(--keep-*) to be told which setting to change"
    )


def settings_line(settings: JournalSettings) -> str:
    """What a report's ``checked`` says of the instance's journal purge settings."""
    archived = {True: "1", False: "0", None: "not set"}[settings.purge_archived]
    return (
        f"journal purge: DaysBeforePurge={settings.days_before_purge}, "
        f"BackupsBeforePurge={settings.backups_before_purge}, PurgeArchived={archived}"
    )
