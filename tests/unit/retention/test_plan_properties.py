"""Invariants of the planner over generated backup histories (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.record import ORDER_KEY, BackupRecord, BackupStatus, RecordSource
from backup_keeper.kinds import BackupKind
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import KEEP_RULES, RetentionPolicy

START = datetime(2026, 1, 1, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Paris")

kinds = st.sampled_from(
    [
        BackupKind.FULL,
        BackupKind.INCREMENTAL,
        BackupKind.INCREMENTAL,
        BackupKind.CUMULATIVE,
        BackupKind.EXTERNAL,
    ]
)
statuses = st.sampled_from(
    [BackupStatus.COMPLETED] * 6
    + [
        BackupStatus.WARNING,
        BackupStatus.FAILED,
        BackupStatus.ABORTED,
        BackupStatus.UNKNOWN,
        BackupStatus.UNREADABLE,
    ]
)


@st.composite
def histories(draw: st.DrawFn) -> list[BackupRecord]:
    count = draw(st.integers(min_value=0, max_value=40))
    hours = sorted(draw(st.lists(st.integers(0, 24 * 400), min_size=count, max_size=count)))
    records = []
    for i, hour in enumerate(hours):
        unmanaged = draw(st.integers(0, 12)) == 0
        records.append(
            BackupRecord(
                path=f"/b/{i:03d}.cbk",
                kind=BackupKind.UNKNOWN if unmanaged else draw(kinds),
                status=BackupStatus.UNKNOWN if unmanaged else draw(statuses),
                source=RecordSource.UNMANAGED if unmanaged else RecordSource.SIDECAR,
                time=START + timedelta(hours=hour),
                size=1,
                mtime_ns=hour,
                instance=draw(st.sampled_from([None, None, None, "MIRROR-B"])),
            )
        )
    return records


durations = st.sampled_from(["12h", "2d", "1w", "30d"])


@st.composite
def policies(draw: st.DrawFn) -> RetentionPolicy:
    """One to three keep rules: single rules are where the chain and floor logic must carry."""
    rules = draw(st.sets(st.sampled_from(KEEP_RULES), min_size=1, max_size=3))
    fields: dict[str, object] = {
        rule: draw(durations if rule == "keep_within" else st.integers(1, 6)) for rule in rules
    }
    fields["failed_older_than"] = draw(st.none() | durations)
    fields["allow_purge_after_failure"] = draw(st.booleans())
    return RetentionPolicy.model_validate(fields)


nows = st.integers(0, 24 * 420).map(lambda h: START + timedelta(hours=h))


def decide(records: list[BackupRecord], policy: RetentionPolicy, now: datetime) -> Plan:
    return plan(link_chains(records), policy, now, ZONE)


def by_action(result: Plan) -> tuple[set[str], set[str], set[str]]:
    return (
        {d.record.path for d in result.keep},
        {d.record.path for d in result.delete},
        {d.record.path for d in result.unmanaged},
    )


@given(histories(), policies(), nows)
def test_every_record_gets_exactly_one_decision_with_a_reason(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    result = decide(records, policy, now)
    keep, delete, unmanaged = by_action(result)
    assert keep | delete | unmanaged == {r.path for r in records}
    assert len(keep) + len(delete) + len(unmanaged) == len(records)
    assert all(d.reasons for d in [*result.keep, *result.delete, *result.unmanaged])


@given(histories(), policies(), nows)
def test_no_kept_backup_misses_a_dependency(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    result = decide(records, policy, now)
    keep, _, _ = by_action(result)
    for decision in result.keep:
        assert set(decision.record.chain) <= keep, decision.record.path


@given(histories(), policies(), nows)
def test_safety_floor_holds(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    result = decide(records, policy, now)
    keep, _, _ = by_action(result)
    for instance in {r.instance for r in records}:
        fulls = [
            r
            for r in records
            if r.instance == instance and r.restorable and r.kind.starts_chain and r.time <= now
        ]
        if not fulls:
            continue
        newest = max(fulls, key=ORDER_KEY)
        assert newest.path in keep
        built_on = [r for r in records if r.restorable and r.chain[:1] == (newest.path,)]
        assert {r.path for r in built_on} <= keep


@given(histories(), policies(), nows)
def test_unmanaged_and_future_backups_are_never_deleted(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    _, delete, _ = by_action(decide(records, policy, now))
    for r in records:
        if not r.managed or r.time > now:
            assert r.path not in delete


@given(histories(), policies(), nows)
def test_failed_backups_go_only_by_failed_older_than(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    _, delete, _ = by_action(decide(records, policy, now))
    for r in records:
        if r.managed and not r.restorable and r.path in delete:
            assert policy.failed_older_than is not None
            assert now - r.time > policy.failed_older_than


@given(histories(), policies(), nows)
def test_after_a_failure_only_unrestorable_backups_are_deleted(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    result = decide(records, policy, now)
    _, delete, _ = by_action(result)
    for instance in {r.instance for r in records}:
        past = sorted(
            (r for r in records if r.instance == instance and r.managed and r.time <= now),
            key=ORDER_KEY,
        )
        if past and not past[-1].status.usable and not policy.allow_purge_after_failure:
            assert all(not r.restorable for r in past if r.path in delete)


@given(histories(), policies(), nows, st.randoms(use_true_random=False))
def test_planning_twice_in_any_input_order_gives_the_same_plan(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime, rnd: random.Random
) -> None:
    first = decide(records, policy, now)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    second = decide(shuffled, policy, now)

    def flat(p: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(d.record.path, d.action, d.reasons) for d in [*p.keep, *p.delete, *p.unmanaged]]

    assert flat(first) == flat(second)


@given(histories(), policies(), nows)
def test_planning_what_is_left_after_a_purge_deletes_nothing_more_than_new_rules_allow(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    """Idempotence: applying a plan and planning again at the same moment deletes nothing."""
    result = decide(records, policy, now)
    _, delete, _ = by_action(result)
    left = [r for r in records if r.path not in delete]
    again = decide(left, policy, now)
    assert again.delete == []


RULE_REASONS = ("keep_", "safety floor", "chain:")
"""How a reason names a keep rule, the floor or a chain: what "counted as completed" means."""


@given(histories(), policies(), nows)
def test_unreadable_backups_are_never_deleted_and_never_counted(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    result = decide(records, policy, now)
    _, delete, _ = by_action(result)
    unreadable = {r.path for r in records if r.status is BackupStatus.UNREADABLE}
    assert not unreadable & delete
    for decision in result.keep:
        if decision.record.path in unreadable:
            assert not any(r.startswith(RULE_REASONS) for r in decision.reasons), decision
        assert not unreadable & set(decision.record.chain), decision.record.path


@given(histories(), policies(), nows)
def test_the_floor_is_the_newest_readable_completed_full_whatever_comes_after(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    """Turning any later backup unreadable never moves the floor onto it or drops the floor."""
    result = decide(records, policy, now)
    floors = {
        d.record.path for d in result.keep if "safety floor: newest completed full" in d.reasons
    }
    for path in floors:
        (floor,) = [r for r in records if r.path == path]
        assert floor.status is not BackupStatus.UNREADABLE and floor.restorable


@given(histories(), policies(), nows)
def test_a_backup_that_cannot_be_read_never_makes_another_one_deletable(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    """Anyone who can write to the directory can plant a backup whose log cannot be read: what
    the plan deletes with it must be a subset of what it deletes without it."""
    honest = [r for r in records if r.status is not BackupStatus.UNREADABLE]
    _, delete_honest, _ = by_action(decide(honest, policy, now))
    _, delete_all, _ = by_action(decide(records, policy, now))
    assert delete_all <= delete_honest, sorted(delete_all - delete_honest)


@given(histories(), policies(), nows)
def test_a_plan_trusting_the_catalogs_order_is_the_plan_that_sorts(
    records: list[BackupRecord], policy: RetentionPolicy, now: datetime
) -> None:
    linked = link_chains(records)
    sorting, trusting = (
        plan(linked, policy, now, ZONE),
        plan(linked, policy, now, ZONE, ordered=True),
    )

    def flat(p: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(d.record.path, d.action, d.reasons) for d in [*p.keep, *p.delete, *p.unmanaged]]

    assert flat(trusting) == flat(sorting)
    assert trusting.warnings == sorting.warnings
