"""The retention planner, one rule per test, read as sentences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource
from backup_keeper.kinds import BackupKind
from backup_keeper.retention.plan import Plan, plan
from backup_keeper.settings import RetentionPolicy
from tests.builders import T0, names, record, series

UTC_ZONE = ZoneInfo("UTC")


def run(records: list[BackupRecord], now: datetime | None = None, **policy: object) -> Plan:
    linked = link_chains(records)
    moment = now or (max(r.time for r in records) + timedelta(hours=1))
    return plan(linked, RetentionPolicy.model_validate(policy), moment, UTC_ZONE)


def kept(result: Plan) -> list[str]:
    return names([d.record.path for d in result.keep])


def deleted(result: Plan) -> list[str]:
    return names([d.record.path for d in result.delete])


def reasons_of(result: Plan, name: str) -> list[str]:
    for decision in [*result.keep, *result.delete, *result.unmanaged]:
        if decision.record.path.endswith("/" + name):
            return list(decision.reasons)
    raise AssertionError(f"{name} not in plan")


def test_keep_last_keeps_newest_fulls_with_everything_built_on_them() -> None:
    result = run(series("FIIFIIFII"), keep_last=2)
    assert deleted(result) == ["b000_F.cbk", "b001_I.cbk", "b002_I.cbk"]
    assert "keep_last 2: full #2 newest" in reasons_of(result, "b003_F.cbk")
    assert "keep_last 2: builds on kept full b003_F.cbk" in reasons_of(result, "b004_I.cbk")


def test_plan_keeps_full_needed_by_kept_incremental() -> None:
    result = run(series("FIIIII"), keep_within="36h")
    assert deleted(result) == []
    assert any(
        "chain: needed to restore kept b005_I.cbk" in r for r in reasons_of(result, "b000_F.cbk")
    )


def test_incremental_after_cumulative_needs_full_and_cumulative_but_not_earlier_incrementals() -> (
    None
):
    records = series("FIICII")
    link_chains(records)
    assert names(list(records[5].chain)) == ["b000_F.cbk", "b003_C.cbk", "b004_I.cbk"]
    assert names(list(records[3].chain)) == ["b000_F.cbk"]


def test_kept_cumulative_keeps_its_full_and_frees_older_incrementals() -> None:
    records = series("FIICFIIC", step=timedelta(hours=6))
    result = run(records, keep_last=1)
    assert deleted(result) == ["b000_F.cbk", "b001_I.cbk", "b002_I.cbk", "b003_C.cbk"]


def test_safety_floor_keeps_newest_full_and_its_chain_even_if_no_rule_does() -> None:
    now = T0 + timedelta(days=400)
    result = run(series("FIIFII"), now=now, keep_within="1d")
    assert deleted(result) == ["b000_F.cbk", "b001_I.cbk", "b002_I.cbk"]
    assert "safety floor: newest completed full" in reasons_of(result, "b003_F.cbk")
    assert any(r.startswith("safety floor: builds on") for r in reasons_of(result, "b005_I.cbk"))


def test_keep_within_keeps_what_is_strictly_newer_than_now_minus_duration() -> None:
    records = series("FFFF", step=timedelta(hours=12))
    now = records[-1].time + timedelta(hours=12)
    result = run(records, now=now, keep_within="24h")
    # b002 is exactly 24h old: not strictly newer, so it goes
    assert kept(result) == ["b003_F.cbk"]


def test_keep_daily_keeps_newest_of_each_day_that_has_a_backup_skipping_empty_days() -> None:
    records = [
        record("d1_a.cbk", "full", T0),
        record("d1_b.cbk", "full", T0 + timedelta(hours=10)),
        record("d3_a.cbk", "full", T0 + timedelta(days=2)),
        record("d6_a.cbk", "full", T0 + timedelta(days=5)),
        record("d6_b.cbk", "full", T0 + timedelta(days=5, hours=3)),
    ]
    result = run(records, keep_daily=3)
    assert kept(result) == ["d1_b.cbk", "d3_a.cbk", "d6_b.cbk"]
    assert "keep_daily 3: newest of 2026-11-01 (3 of 3)" in reasons_of(result, "d1_b.cbk")


def test_calendar_rules_count_in_the_instance_zone() -> None:
    # 23:30 UTC on 1 Nov is 00:30 on 2 Nov in Paris: a different day there.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    records = [record("a.cbk", "full", late - timedelta(hours=2)), record("b.cbk", "full", late)]
    linked = link_chains(records)
    policy = RetentionPolicy(keep_daily=2)
    in_utc = plan(linked, policy, late + timedelta(hours=1), ZoneInfo("UTC"))
    in_paris = plan(linked, policy, late + timedelta(hours=1), ZoneInfo("Europe/Paris"))
    assert kept(in_utc) == ["b.cbk"]
    assert kept(in_paris) == ["a.cbk", "b.cbk"]


@pytest.mark.parametrize(
    ("rule", "step", "expected"),
    [
        ("keep_weekly", timedelta(days=3), ["b009_F.cbk", "b011_F.cbk"]),
        # 2027-05-20 and 2027-06-09 are the newest of May and June
        ("keep_monthly", timedelta(days=20), ["b010_F.cbk", "b011_F.cbk"]),
        # 2031-10-06 is the only one of 2031; 2032-11-09 the newest of 2032
        ("keep_yearly", timedelta(days=200), ["b009_F.cbk", "b011_F.cbk"]),
    ],
)
def test_weekly_monthly_yearly_keep_newest_per_period(
    rule: str, step: timedelta, expected: list[str]
) -> None:
    result = run(series("F" * 12, step=step), None, **{rule: 2})
    assert kept(result) == expected


def test_failed_backups_never_count_toward_keep_rules() -> None:
    records = series("FIIX")
    result = run(records, keep_daily=2, allow_purge_after_failure=True, failed_older_than="30d")
    assert "b003_X.cbk" in kept(result)
    assert "failed backup: kept until older than 4w2d" in reasons_of(result, "b003_X.cbk")
    # the two newest days with a *completed* backup are days 2 and 3
    assert "keep_daily 2: newest of 2026-11-03 (1 of 2)" in reasons_of(result, "b002_I.cbk")


def test_failed_backups_go_once_older_than_failed_older_than() -> None:
    records = series("FXIFI")
    result = run(records, keep_last=1, failed_older_than="2d")
    assert "b001_X.cbk" in deleted(result)
    assert reasons_of(result, "b001_X.cbk") == ["failed backup, older than failed_older_than 2d"]


def test_failed_backups_stay_when_failed_older_than_is_unset() -> None:
    result = run(series("FXFI"), keep_last=1)
    assert "b001_X.cbk" in kept(result)
    assert reasons_of(result, "b001_X.cbk") == [
        "failed backup: kept because failed_older_than is not set"
    ]


def test_nothing_but_old_failures_is_deleted_when_newest_backup_failed() -> None:
    records = series("XFIIFIX")
    result = run(records, keep_last=1, failed_older_than="3d")
    assert deleted(result) == ["b000_X.cbk"]
    assert any(
        "is failed: nothing but old failed backups" in r for r in reasons_of(result, "b001_F.cbk")
    )
    assert any("held back" in w for w in result.warnings)


def test_allow_purge_after_failure_lets_rules_apply_after_a_failure() -> None:
    result = run(series("FIIFIX"), keep_last=1, allow_purge_after_failure=True)
    assert deleted(result) == ["b000_F.cbk", "b001_I.cbk", "b002_I.cbk"]


def test_incremental_without_a_full_before_it_is_unrestorable_and_kept_by_default() -> None:
    result = run(series("IIFI"), keep_last=1)
    assert "b000_I.cbk" in kept(result)
    assert reasons_of(result, "b000_I.cbk") == [
        "incremental with no usable full before it (cannot be restored): "
        "kept because failed_older_than is not set"
    ]


def test_incremental_after_failed_full_depends_on_the_last_usable_backup() -> None:
    records = series("FIXFI")
    records[2] = record("b002_X.cbk", "full", records[2].time, BackupStatus.FAILED)
    link_chains(records)
    assert names(list(records[4].chain)) == ["b003_F.cbk"]
    records = series("FIXI")
    link_chains(records)
    assert names(list(records[3].chain)) == ["b000_F.cbk", "b001_I.cbk"]


def test_backups_dated_after_now_are_kept_and_ignored_by_rules() -> None:
    records = series("FIFI")
    now = records[1].time + timedelta(hours=1)
    result = run(records, now=now, keep_last=1)
    assert kept(result) == names([r.path for r in records])
    assert any(r.startswith("dated after now") for r in reasons_of(result, "b002_F.cbk"))


def test_unmanaged_files_are_listed_apart_and_never_deleted() -> None:
    odd = record(
        "odd.cbk", BackupKind.UNKNOWN, T0 - timedelta(days=999), source=RecordSource.UNMANAGED
    )
    result = run([odd, *series("FF")], keep_last=1)
    assert names([d.record.path for d in result.unmanaged]) == ["odd.cbk"]
    assert "odd.cbk" not in deleted(result)


def test_instances_have_separate_chains_and_floors() -> None:
    a = [record(f"a{i}.cbk", "full", T0 + timedelta(days=i), instance="A") for i in range(3)]
    b = [record("b0.cbk", "full", T0 - timedelta(days=50), instance="B")]
    result = run([*a, *b], keep_last=1)
    assert deleted(result) == ["a0.cbk", "a1.cbk"]
    assert "safety floor: newest completed full" in reasons_of(result, "b0.cbk")


def test_deleted_backups_say_which_rules_did_not_keep_them() -> None:
    result = run(series("FF"), keep_last=1, keep_within="1h")
    assert reasons_of(result, "b000_F.cbk") == [
        "no keep rule keeps it (keep_last=1, keep_within=1h) and no kept backup needs it"
    ]


def test_day_precision_records_are_judged_by_the_end_of_their_day() -> None:
    from backup_keeper.catalog.record import TimePrecision

    day_start = datetime(2026, 11, 10, tzinfo=UTC)
    old = record("FullDBList_20261110_001.cbk", "full", day_start, source=RecordSource.FILE_NAME)
    old.precision = TimePrecision.DAY
    newer = record("n.cbk", "full", day_start + timedelta(days=1, hours=12))
    # now - 36h = 2026-11-10T12:00: the named day may have been after that, so it stays
    result = run([old, newer], now=day_start + timedelta(days=2), keep_within="36h")
    assert kept(result) == ["FullDBList_20261110_001.cbk", "n.cbk"]


def test_a_failed_day_precision_backup_is_judged_by_the_end_of_its_day_for_failed_older_than() -> (
    None
):
    from backup_keeper.catalog.record import TimePrecision

    day_start = datetime(2026, 11, 10, tzinfo=UTC)
    failed = record(
        "FullDBList_20261110_001.cbk",
        "full",
        day_start,
        BackupStatus.FAILED,
        source=RecordSource.FILE_NAME,
    )
    failed.precision = TimePrecision.DAY
    good = record("n.cbk", "full", day_start + timedelta(days=1, hours=12))
    # 2d before now is 2026-11-10T12:00: the failure may have been later that day, so it stays
    result = run(
        [failed, good],
        now=day_start + timedelta(days=2, hours=12),
        keep_last=1,
        failed_older_than="2d",
    )
    assert kept(result) == ["FullDBList_20261110_001.cbk", "n.cbk"]
    assert reasons_of(result, "FullDBList_20261110_001.cbk") == [
        "failed backup: kept until older than 2d"
    ]


def test_each_chain_reason_is_given_once_when_several_instances_share_a_directory() -> None:
    a = [
        record("a_full.cbk", "full", T0, instance="A"),
        record("a_incr.cbk", "incremental", T0 + timedelta(hours=1), instance="A"),
    ]
    b = [
        record("b_full.cbk", "full", T0, instance="B"),
        record("b_incr.cbk", "incremental", T0 + timedelta(hours=1), instance="B"),
    ]
    result = run([*a, *b], keep_within="1d")
    for name in ("a_full.cbk", "b_full.cbk"):
        chain_reasons = [r for r in reasons_of(result, name) if r.startswith("chain:")]
        assert len(chain_reasons) == 1, reasons_of(result, name)


# --- unreadable IRIS logs (issue 11, item 4) ---


def unreadable(records: list[BackupRecord], *indexes: int) -> list[BackupRecord]:
    for index in indexes:
        records[index].status = BackupStatus.UNREADABLE
    return records


def test_a_newest_full_whose_log_cannot_be_read_is_not_the_safety_floor() -> None:
    """The incident: run by a user who cannot read IRIS's logs, a failed newest full counted as
    completed, became the floor, and both good fulls before it were deleted."""
    records = unreadable(series("FFF"), 2)
    result = run(records, keep_last=1, allow_purge_after_failure=True)
    assert deleted(result) == ["b000_F.cbk"]
    assert "safety floor: newest completed full" in reasons_of(result, "b001_F.cbk")
    assert "keep_last 1: full #1 newest" in reasons_of(result, "b001_F.cbk")


def test_an_unreadable_newest_backup_holds_the_purge_back_like_a_failure() -> None:
    result = run(unreadable(series("FFF"), 2), keep_last=1)
    assert deleted(result) == []
    assert any(
        "is unreadable: nothing but old failed backups" in r
        for r in reasons_of(result, "b000_F.cbk")
    )


def test_unreadable_backups_are_never_deleted_even_by_failed_older_than() -> None:
    records = unreadable(series("FIFIFI"), 0, 1)
    result = run(records, keep_last=1, failed_older_than="1d", allow_purge_after_failure=True)
    assert "b000_F.cbk" in kept(result) and "b001_I.cbk" in kept(result)
    assert deleted(result) == ["b002_F.cbk", "b003_I.cbk"]
    assert reasons_of(result, "b000_F.cbk") == [
        "its IRIS log cannot be read: it may have failed, so it is kept, never deleted by a "
        "rule, and not counted as completed"
    ]


def test_unreadable_backups_never_count_toward_keep_rules() -> None:
    records = unreadable(series("FIII"), 3)
    result = run(records, keep_daily=1, allow_purge_after_failure=True)
    assert "keep_daily 1: newest of 2026-11-03 (1 of 1)" in reasons_of(result, "b002_I.cbk")
    assert not any(r.startswith("keep_daily") for r in reasons_of(result, "b003_I.cbk"))


def test_all_logs_unreadable_deletes_nothing() -> None:
    records = unreadable(series("FIIFIIFII"), *range(9))
    result = run(records, keep_last=1, failed_older_than="1d", allow_purge_after_failure=True)
    assert deleted(result) == []


def test_backups_dated_after_now_are_one_warning() -> None:
    records = series("FIFI")
    result = run(records, now=records[1].time + timedelta(hours=1), keep_last=1)
    (warning,) = [w for w in result.warnings if "after now" in w]
    assert warning.startswith("2 backup(s) dated after now")
    assert "b002_F.cbk, b003_I.cbk" in warning


@pytest.mark.parametrize(
    ("start", "now", "within"),
    [
        (datetime(40, 1, 1, tzinfo=UTC), datetime(40, 2, 1, tzinfo=UTC), "5214w"),
        (datetime(1, 1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC), "1d"),
    ],
)
def test_a_keep_within_window_opening_before_year_1_keeps_everything(
    start: datetime, now: datetime, within: str
) -> None:
    """Planning is pure and total: the window's start cannot be represented, so no backup is
    older than it, and the plan says so rather than raising OverflowError."""
    records = series("FII", start=start, step=timedelta(hours=1))
    result = run(records, now=now, keep_within=within)
    assert deleted(result) == []
    assert any("reaches past year 1" in r for r in reasons_of(result, "b000_F.cbk"))


def test_a_newer_backup_that_cannot_be_read_never_makes_the_failure_it_follows_deletable() -> None:
    """Found by the adversarial suite: a planted newer file whose log is a FIFO became the
    "newest", and the real failed backup that held the purge went by failed_older_than."""
    records = series("FIX")
    honest = run(records, keep_last=1, failed_older_than="12h")
    planted = record(
        "b003_F.cbk", BackupKind.FULL, records[-1].time + timedelta(days=1), BackupStatus.UNREADABLE
    )
    result = run([*records, planted], keep_last=1, failed_older_than="12h")
    assert "b002_X.cbk" in kept(honest)
    assert "b002_X.cbk" in kept(result)
    assert any("kept while it holds the purge" in r for r in reasons_of(result, "b002_X.cbk"))


def test_a_held_incremental_is_kept_with_everything_a_restore_of_it_needs() -> None:
    records = link_chains(series("FIIFII"))
    moment = records[-1].time + timedelta(hours=1)
    held = {records[2].path: "not yet copied to s3://b/p"}
    result = plan(records, RetentionPolicy(keep_last=1), moment, UTC_ZONE, held=held)
    assert deleted(result) == []
    assert reasons_of(result, "b002_I.cbk") == ["not yet copied to s3://b/p"]
    assert any(
        "chain: needed to restore kept b002_I.cbk" in r for r in reasons_of(result, "b000_F.cbk")
    )


def test_a_hold_on_a_path_the_plan_does_not_know_changes_nothing() -> None:
    records = link_chains(series("FIFI"))
    moment = records[-1].time + timedelta(hours=1)
    plain = plan(records, RetentionPolicy(keep_last=1), moment, UTC_ZONE)
    held = plan(
        records, RetentionPolicy(keep_last=1), moment, UTC_ZONE, held={"/elsewhere/x.cbk": "why"}
    )
    assert deleted(held) == deleted(plain) == ["b000_F.cbk", "b001_I.cbk"]
