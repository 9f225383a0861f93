"""The retention planner: a pure function from records, a policy and a moment to a Plan.

Order of reasoning, for each instance's backups separately:
1. records dated after ``now`` are kept and take no part in the rules (restic does the same,
   and it makes a what-if plan "as of" an earlier moment see only what existed then);
2. the keep rules choose among restorable backups (completed, chain complete);
3. every kept backup keeps its chain (full, cumulative, incrementals it needs);
4. the safety floor keeps the newest completed full and everything built on it;
5. failed and unrestorable backups go only once older than ``failed_older_than``;
6. if the newest backup did not complete, nothing else is deleted unless the policy allows it.
Every decision carries the reasons for it, in words an administrator can act on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import PurePath

from backup_keeper.catalog.record import BackupRecord, TimePrecision
from backup_keeper.durations import format_duration
from backup_keeper.retention.periods import PERIOD_RULES
from backup_keeper.settings import RetentionPolicy

_ONE_DAY = timedelta(days=1)
_UNMANAGED_REASONS = ("unmanaged: never deleted by a rule",)


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


def plan(
    records: Iterable[BackupRecord], policy: RetentionPolicy, now: datetime, zone: tzinfo
) -> Plan:
    """Decide the fate of every record. Pure: no I/O, no clock, same input -> same plan.

    ``records`` must have their chains linked (the catalog does it). ``zone`` is the instance's
    local zone, which the calendar rules count days, weeks, months and years in.
    """
    ordered = sorted(records, key=_order_key)
    groups: dict[str | None, list[BackupRecord]] = defaultdict(list)
    result = Plan()
    for record in ordered:
        if record.managed:
            groups[record.instance].append(record)
        else:
            result.unmanaged.append(Decision(record, Action.UNMANAGED, _UNMANAGED_REASONS))
    reasons: dict[str, list[str]] = {}
    deletes: dict[str, str] = {}
    for group in groups.values():
        _plan_group(group, policy, now, zone, reasons, deletes, result.warnings)
    not_kept = _not_kept_reason(policy)
    for record in ordered:
        if not record.managed:
            continue
        kept = reasons.get(record.path)
        if kept is not None:
            result.keep.append(Decision(record, Action.KEEP, tuple(kept)))
        else:
            result.delete.append(
                Decision(record, Action.DELETE, (deletes.get(record.path, not_kept),))
            )
    return result


def _order_key(record: BackupRecord) -> tuple[object, ...]:
    return record.order


def _name(record: BackupRecord) -> str:
    return PurePath(record.path).name


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


def _keep(reasons: dict[str, list[str]], record: BackupRecord, why: str) -> None:
    reasons.setdefault(record.path, []).append(why)


def _plan_group(
    group: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    reasons: dict[str, list[str]],
    deletes: dict[str, str],
    warnings: list[str],
) -> None:
    past: list[BackupRecord] = []
    for record in group:
        if record.time > now:
            _keep(reasons, record, f"dated after now ({now.isoformat()}): never removed")
        else:
            past.append(record)
    restorable = [r for r in past if r.restorable]
    _apply_keep_last(restorable, policy, reasons)
    _apply_keep_within(restorable, policy, now, reasons)
    _apply_periods(restorable, policy, zone, reasons)
    _close_chains(restorable, reasons)
    _apply_safety_floor(restorable, reasons)
    held_back = bool(past) and not past[-1].status.usable and not policy.allow_purge_after_failure
    if held_back:
        # The failed newest backup holds the purge back, so it stays while it is the newest:
        # deleting it for age would lift the hold on the next run without a good backup.
        _keep(reasons, past[-1], f"newest backup, {past[-1].status}: kept while it holds the purge")
    _apply_failures(past, policy, now, reasons, deletes)
    if held_back:
        newest = past[-1]
        why = (
            f"newest backup {_name(newest)} is {newest.status}: nothing but old failed backups "
            "is deleted after a failure (allow_purge_after_failure is off)"
        )
        held = 0
        for record in past:
            if record.path not in reasons and record.path not in deletes:
                _keep(reasons, record, why)
                held += 1
        if held:
            warnings.append(f"{held} backup(s) held back: {why}")


def _apply_keep_last(
    restorable: list[BackupRecord], policy: RetentionPolicy, reasons: dict[str, list[str]]
) -> None:
    if policy.keep_last is None:
        return
    fulls = [r for r in restorable if r.kind.starts_chain]
    chosen = fulls[-policy.keep_last :]
    rank = {full.path: len(chosen) - i for i, full in enumerate(chosen)}
    for full in chosen:
        _keep(reasons, full, f"keep_last {policy.keep_last}: full #{rank[full.path]} newest")
    for record in restorable:
        if record.chain and record.chain[0] in rank:
            _keep(
                reasons,
                record,
                f"keep_last {policy.keep_last}: builds on kept full "
                f"{PurePath(record.chain[0]).name}",
            )


def _apply_keep_within(
    restorable: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    reasons: dict[str, list[str]],
) -> None:
    if policy.keep_within is None:
        return
    cutoff = now - policy.keep_within
    why = f"keep_within {format_duration(policy.keep_within)}: newer than {cutoff.isoformat()}"
    for record in restorable:
        if _latest_time(record) > cutoff:
            _keep(reasons, record, why)


def _apply_periods(
    restorable: list[BackupRecord],
    policy: RetentionPolicy,
    zone: tzinfo,
    reasons: dict[str, list[str]],
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
            _keep(reasons, record, f"{rule} {wanted}: newest of {label(key)} ({seen} of {wanted})")
            if seen == wanted:
                break


def _close_chains(restorable: list[BackupRecord], reasons: dict[str, list[str]]) -> None:
    """Every kept backup keeps what a restore of it needs; said once per needed backup."""
    by_path = {r.path: r for r in restorable}
    needed_by: dict[str, list[str]] = defaultdict(list)
    for record in restorable:
        if record.path in reasons:
            for base in record.chain:
                needed_by[base].append(_name(record))
    for base, dependents in needed_by.items():
        newest = dependents[-1]
        more = f" and {len(dependents) - 1} more" if len(dependents) > 1 else ""
        _keep(reasons, by_path[base], f"chain: needed to restore kept {newest}{more}")


def _apply_safety_floor(restorable: list[BackupRecord], reasons: dict[str, list[str]]) -> None:
    fulls = [r for r in restorable if r.kind.starts_chain]
    if not fulls:
        return
    newest = fulls[-1]
    _keep(reasons, newest, "safety floor: newest completed full")
    for record in restorable:
        if record.chain and record.chain[0] == newest.path:
            _keep(
                reasons,
                record,
                f"safety floor: builds on the newest completed full {_name(newest)}",
            )


def _apply_failures(
    past: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    reasons: dict[str, list[str]],
    deletes: dict[str, str],
) -> None:
    limit = policy.failed_older_than
    for record in past:
        if record.restorable or record.path in reasons:
            continue
        what = (
            f"{record.status} backup"
            if not record.status.usable
            else f"{record.kind} with no usable full before it (cannot be restored)"
        )
        if limit is None:
            _keep(reasons, record, f"{what}: kept because failed_older_than is not set")
        elif now - _latest_time(record) > limit:
            deletes[record.path] = f"{what}, older than failed_older_than {format_duration(limit)}"
        else:
            _keep(reasons, record, f"{what}: kept until older than {format_duration(limit)}")
