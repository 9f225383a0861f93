"""The retention planner: a pure function from records, a policy and a moment to a Plan.

Order of reasoning, for each instance's backups separately:
1. records dated after ``now`` are kept and take no part in the rules (restic does the same,
   and it makes a what-if plan "as of" an earlier moment see only what existed then); the plan
   warns about them;
2. records whose IRIS log cannot be read are kept and take no part in the rules either: they may
   have failed, so they never count as completed, and they may be good, so no rule deletes them;
3. the keep rules choose among restorable backups (completed, chain complete), and a caller's
   holds (``held``: a backup not yet copied off-site) keep what they name as a rule would;
4. every kept backup keeps its chain (full, cumulative, incrementals it needs);
5. the safety floor keeps the newest completed full and everything built on it;
6. failed and unrestorable backups go only once older than ``failed_older_than``;
7. if the newest backup did not complete (or cannot be judged), nothing else is deleted unless
   the policy allows it.
Every decision carries the reasons for it, in words an administrator can act on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from operator import attrgetter

from backup_keeper.catalog.record import (
    ORDER_KEY,
    USABLE_STATUSES,
    BackupRecord,
    BackupStatus,
    RecordSource,
    TimePrecision,
)
from backup_keeper.durations import format_duration
from backup_keeper.retention.periods import PERIOD_RULES
from backup_keeper.settings import RetentionPolicy
from backup_keeper.timezones import format_moment

_ONE_DAY = timedelta(days=1)
_UNMANAGED = RecordSource.UNMANAGED
_UNMANAGED_REASONS = ("unmanaged: never deleted by a rule",)
_UNREADABLE = BackupStatus.UNREADABLE
_UNREADABLE_REASON = (
    "its IRIS log cannot be read: it may have failed, so it is kept, never deleted by a rule, "
    "and not counted as completed"
)
_NAMED_IN_A_WARNING = 10
_TIME = attrgetter("time")


class Action(StrEnum):
    KEEP = "keep"
    DELETE = "delete"
    UNMANAGED = "unmanaged"


@dataclass(slots=True)
class Decision:
    record: BackupRecord
    action: Action
    reasons: tuple[str, ...]


@dataclass(slots=True)
class Plan:
    """Decisions oldest first within each list; ``delete`` is carried out newest first."""

    keep: list[Decision] = field(default_factory=list)
    delete: list[Decision] = field(default_factory=list)
    unmanaged: list[Decision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Ledger:
    """For one instance's backups: why each kept one is kept, and why a failed one goes,
    keyed by path. One per instance, so chain closure only ever sees its own instance."""

    __slots__ = ("deletes", "kept", "reasons", "warnings")

    def __init__(self) -> None:
        self.reasons: dict[str, list[str]] = {}
        self.kept: dict[str, BackupRecord] = {}
        self.deletes: dict[str, str] = {}
        self.warnings: list[str] = []

    def keep(self, record: BackupRecord, why: str) -> None:
        if self.keep_path(record.path, why):
            self.kept[record.path] = record

    def keep_path(self, path: str, why: str) -> bool:
        """Add a reason to keep ``path``; True when it was not kept before."""
        found = self.reasons.get(path)
        if found is None:
            self.reasons[path] = [why]
            return True
        found.append(why)
        return False


def plan(
    records: Iterable[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    *,
    ordered: bool = False,
    held: Mapping[str, str] | None = None,
) -> Plan:
    """Decide the fate of every record. Pure: no I/O, no clock, same input -> same plan.

    ``records`` must have their chains linked (the catalog does it). ``zone`` is the instance's
    local zone, which the calendar rules count days, weeks, months and years in. ``ordered``
    says ``records`` are already in :data:`ORDER_KEY` order, as :func:`link_chains` returns
    them (and so a catalog holds them): a million records are then not sorted a second time.
    ``held`` maps record paths to a reason to keep them that is not the policy's (a backup not
    yet copied off-site): each is kept like a keep rule keeps one, before chain closure, so
    everything a restore of it needs stays too.
    """
    by_order = records if ordered and isinstance(records, list) else sorted(records, key=ORDER_KEY)
    result = Plan()
    unmanaged, one_instance = _unmanaged_and_instances(by_order)
    result.unmanaged = [Decision(r, Action.UNMANAGED, _UNMANAGED_REASONS) for r in unmanaged]
    managed = by_order if not unmanaged else [r for r in by_order if r.source is not _UNMANAGED]
    reasons: dict[str, list[str]] = {}
    deletes: dict[str, str] = {}
    for group in [managed] if one_instance else _by_instance(managed):
        ledger = _plan_group(group, policy, now, zone, held or {})
        reasons |= ledger.reasons
        deletes |= ledger.deletes
        result.warnings += ledger.warnings
    _decide(managed, reasons, deletes, (_not_kept_reason(policy),), result)
    return result


def _unmanaged_and_instances(records: list[BackupRecord]) -> tuple[list[BackupRecord], bool]:
    """The unmanaged records, and whether the managed ones are of one instance (or none), in
    one walk: at a million records each pass of its own costs tens of milliseconds, as every
    record is fetched from memory again."""
    unmanaged: list[BackupRecord] = []
    instance: object = _NOT_YET
    one = True
    for record in records:
        if record.source is _UNMANAGED:
            unmanaged.append(record)
        elif record.instance is not instance and one:
            if instance is _NOT_YET:
                instance = record.instance
            elif record.instance != instance:
                one = False
    return unmanaged, one


_NOT_YET = object()
"""No instance seen yet (``None`` is an instance: the one backups without a name belong to)."""


def _by_instance(managed: list[BackupRecord]) -> list[list[BackupRecord]]:
    """Each instance's backups, oldest first (more than one instance: see
    :func:`_unmanaged_and_instances`)."""
    groups: dict[str | None, list[BackupRecord]] = defaultdict(list)
    for record in managed:
        groups[record.instance].append(record)
    return list(groups.values())


def _decide(
    managed: list[BackupRecord],
    reasons: dict[str, list[str]],
    deletes: dict[str, str],
    not_kept: tuple[str, ...],
    result: Plan,
) -> None:
    """One decision per managed record, oldest first; a loop with its names bound locally,
    as it runs once per backup of a million-record plan."""
    keep_action, delete_action = Action.KEEP, Action.DELETE
    keep, delete = result.keep.append, result.delete.append
    get_kept = reasons.get
    # None when no failed backup goes (the usual case): one look-up per backup, not two
    get_deleted = {path: (why,) for path, why in deletes.items()}.get if deletes else None
    for record in managed:
        path = record.path
        kept = get_kept(path)
        if kept is not None:
            keep(Decision(record, keep_action, tuple(kept)))
        elif get_deleted is None:
            delete(Decision(record, delete_action, not_kept))
        else:
            delete(Decision(record, delete_action, get_deleted(path, not_kept)))


def _name(record: BackupRecord) -> str:
    return _base_name(record.path)


def _base_name(path: str) -> str:
    """A record's file name: its path is a directory and a name joined with ``/`` (the
    catalog builds it so), and ``PurePath`` costs microseconds each at thousands of reasons."""
    return path.rpartition("/")[2]


def _latest_time(record: BackupRecord) -> datetime:
    """The latest moment the backup may have been taken: its day's end when only the day is
    known, so that date-only records are never judged older than they may be."""
    if record.precision is TimePrecision.DAY:
        return record.time + _ONE_DAY
    return record.time


def _not_kept_reason(policy: RetentionPolicy) -> str:
    rules = ", ".join(
        f"{name}={_show(getattr(policy, name))}"
        for name in ("keep_last", "keep_within", *(r[0] for r in PERIOD_RULES))
        if getattr(policy, name) is not None
    )
    return f"no keep rule keeps it ({rules}) and no kept backup needs it"


def _show(value: object) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def _plan_group(
    group: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    held: Mapping[str, str],
) -> _Ledger:
    ledger = _Ledger()
    # oldest first, so what is dated after now is the group's tail
    cut = bisect_right(group, now, key=_TIME)
    past, future = group[:cut], group[cut:]
    if future:
        why_future = f"dated after now ({format_moment(now, zone)}): never removed"
        for record in future:
            ledger.keep(record, why_future)
        ledger.warnings.append(_future_warning(future, now, zone))
    # ``restorable`` inlined (every record here is managed): this runs once per backup
    restorable = [r for r in past if r.chain_complete and r.status in USABLE_STATUSES]
    unrestorable: list[BackupRecord] = []
    if len(restorable) != len(past):
        for record in past:
            if record.status is _UNREADABLE:
                ledger.keep(record, _UNREADABLE_REASON)
            elif not (record.chain_complete and record.status in USABLE_STATUSES):
                unrestorable.append(record)
    _apply_keep_last(restorable, policy, ledger)
    _apply_keep_within(restorable, policy, now, zone, ledger)
    _apply_periods(restorable, policy, zone, ledger)
    if held:
        _apply_holds(past, held, ledger)
    _close_chains(ledger)
    _apply_safety_floor(restorable, ledger)
    held_back = bool(past) and not past[-1].status.usable and not policy.allow_purge_after_failure
    if held_back:
        _keep_the_failure_that_holds(past, ledger)
    _apply_failures(unrestorable, policy, now, ledger)
    if held_back:
        _hold_after_failure(past, ledger)
    return ledger


def _future_warning(future: list[BackupRecord], now: datetime, zone: tzinfo) -> str:
    """One line, not one per backup: a what-if plan "as of" last month sees a month of them."""
    listed = ", ".join(_name(r) for r in future[:_NAMED_IN_A_WARNING])
    more = len(future) - _NAMED_IN_A_WARNING
    return (
        f"{len(future)} backup(s) dated after now ({format_moment(now, zone)}): {listed}"
        + (f" and {more} more" if more > 0 else "")
        + ": kept, and left out of every rule (a wrong clock or sidecar, or a plan as of the past)"
    )


def _keep_the_failure_that_holds(past: list[BackupRecord], ledger: _Ledger) -> None:
    """The failed newest backup holds the purge back, so it stays while it holds: deleting it
    for age would lift the hold on the next run without a good backup. "Newest" is among the
    backups that can be read: anyone who can write to the directory can plant one whose log
    cannot be read, and that must never make the real failure behind it deletable."""
    readable = [r for r in past if r.status is not _UNREADABLE]
    if readable and not readable[-1].status.usable:
        newest = readable[-1]
        ledger.keep(newest, f"newest backup, {newest.status}: kept while it holds the purge")


def _hold_after_failure(past: list[BackupRecord], ledger: _Ledger) -> None:
    newest = past[-1]
    why = (
        f"newest backup {_name(newest)} is {newest.status}: nothing but old failed backups "
        "is deleted after a failure (allow_purge_after_failure is off)"
    )
    held = 0
    for record in past:
        if record.path not in ledger.reasons and record.path not in ledger.deletes:
            ledger.keep(record, why)
            held += 1
    if held:
        ledger.warnings.append(f"{held} backup(s) held back: {why}")


def _newest_fulls(restorable: list[BackupRecord], count: int) -> list[BackupRecord]:
    """The ``count`` newest fulls, oldest first, walking back only as far as needed."""
    found: list[BackupRecord] = []
    for record in reversed(restorable):
        if record.kind.starts_chain:
            found.append(record)
            if len(found) == count:
                break
    found.reverse()
    return found


def _built_on(restorable: list[BackupRecord], fulls: list[BackupRecord]) -> Iterator[BackupRecord]:
    """Every backup whose chain starts at one of ``fulls``. Chains point back in time, so the
    walk from the newest stops at the oldest of them."""
    if not fulls:
        return
    paths = {full.path for full in fulls}
    oldest = fulls[0]
    for record in reversed(restorable):
        if record is oldest:
            return
        if record.chain and record.chain[0] in paths:
            yield record


def _apply_keep_last(
    restorable: list[BackupRecord], policy: RetentionPolicy, ledger: _Ledger
) -> None:
    if policy.keep_last is None:
        return
    chosen = _newest_fulls(restorable, policy.keep_last)
    for rank, full in enumerate(reversed(chosen), start=1):
        ledger.keep(full, f"keep_last {policy.keep_last}: full #{rank} newest")
    for record in _built_on(restorable, chosen):
        base = _base_name(record.chain[0])
        ledger.keep(record, f"keep_last {policy.keep_last}: builds on kept full {base}")


def _apply_keep_within(
    restorable: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    ledger: _Ledger,
) -> None:
    if policy.keep_within is None:
        return
    try:
        cutoff = now - policy.keep_within
        floor = cutoff - _ONE_DAY  # nothing at or before this can be newer than the cutoff
    except OverflowError:  # the window opens before the calendar does: all of it is inside
        why = f"keep_within {format_duration(policy.keep_within)}: reaches past year 1"
        for record in restorable:
            ledger.keep(record, why)
        return
    window = format_duration(policy.keep_within)
    why = f"keep_within {window}: newer than {format_moment(cutoff, zone)}"
    for record in reversed(restorable):
        if record.time <= floor:
            break
        if _latest_time(record) > cutoff:
            ledger.keep(record, why)


def _apply_periods(
    restorable: list[BackupRecord], policy: RetentionPolicy, zone: tzinfo, ledger: _Ledger
) -> None:
    for rule, period_of, label in PERIOD_RULES:
        wanted = getattr(policy, rule)
        if wanted is None:
            continue
        seen = 0
        last_key: tuple[int, ...] | None = None
        for record in reversed(restorable):
            key = period_of(record.time, zone)
            if key == last_key:
                continue
            last_key = key
            seen += 1
            ledger.keep(record, f"{rule} {wanted}: newest of {label(key)} ({seen} of {wanted})")
            if seen == wanted:
                break


def _apply_holds(past: list[BackupRecord], held: Mapping[str, str], ledger: _Ledger) -> None:
    for record in past:
        why = held.get(record.path)
        if why is not None:
            ledger.keep(record, why)


def _close_chains(ledger: _Ledger) -> None:
    """Every kept backup keeps what a restore of it needs; said once per needed backup."""
    needed_by: dict[str, list[str]] = defaultdict(list)
    for record in sorted(ledger.kept.values(), key=ORDER_KEY):
        for base in record.chain:
            needed_by[base].append(_name(record))
    for base, dependents in needed_by.items():
        newest = dependents[-1]
        more = f" and {len(dependents) - 1} more" if len(dependents) > 1 else ""
        ledger.keep_path(base, f"chain: needed to restore kept {newest}{more}")


def _apply_safety_floor(restorable: list[BackupRecord], ledger: _Ledger) -> None:
    newest = _newest_fulls(restorable, 1)
    if not newest:
        return
    ledger.keep(newest[0], "safety floor: newest completed full")
    why = f"safety floor: builds on the newest completed full {_name(newest[0])}"
    for record in _built_on(restorable, newest):
        ledger.keep(record, why)


def _apply_failures(
    unrestorable: list[BackupRecord], policy: RetentionPolicy, now: datetime, ledger: _Ledger
) -> None:
    limit = policy.failed_older_than
    for record in unrestorable:
        if record.path in ledger.reasons:
            continue
        what = (
            f"{record.status} backup"
            if not record.status.usable
            else f"{record.kind} with no usable full before it (cannot be restored)"
        )
        if limit is None:
            ledger.keep(record, f"{what}: kept because failed_older_than is not set")
        elif now - _latest_time(record) > limit:
            ledger.deletes[record.path] = (
                f"{what}, older than failed_older_than {format_duration(limit)}"
            )
        else:
            ledger.keep(record, f"{what}: kept until older than {format_duration(limit)}")
