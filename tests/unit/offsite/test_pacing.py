"""Bandwidth limit and retries, on a clock that only moves when slept on."""

from __future__ import annotations

import pytest

from backup_keeper.destinations.store import DestinationError
from backup_keeper.offsite.pacing import RETRIED, Transfer, backoff, paced, retrying
from tests.unit.offsite.backups import FakeTime

MIB = 1 << 20


def test_a_limited_stream_averages_no_more_than_the_limit() -> None:
    time = FakeTime()
    bucket = time.transfer(bandwidth=MIB).bucket()
    sent = sum(len(chunk) for chunk in paced([b"x" * 256 * 1024] * 40, bucket))
    assert sent == 10 * MIB
    # one second's burst is free, the other nine seconds are waited
    assert time.now == pytest.approx(9.0)


def test_chunks_larger_than_the_bucket_are_paid_for_by_waiting() -> None:
    time = FakeTime()
    bucket = time.transfer(bandwidth=MIB).bucket()
    for _ in paced([b"x" * 4 * MIB] * 3, bucket):
        pass
    assert time.now == pytest.approx(11.0)


def test_time_spent_elsewhere_refills_the_bucket_up_to_one_second() -> None:
    time = FakeTime()
    bucket = time.transfer(bandwidth=MIB).bucket()
    assert bucket is not None
    bucket.take(MIB)
    time.now += 100  # idle: the bucket refills, but only to one second's worth
    bucket.take(MIB)
    assert time.sleeps == []
    bucket.take(MIB)
    assert time.sleeps == [pytest.approx(1.0)]


def test_no_limit_means_no_bucket_and_no_waiting() -> None:
    time = FakeTime()
    assert time.transfer().bucket() is None
    assert list(paced([b"a", b"b"], None)) == [b"a", b"b"]
    assert time.sleeps == []


def test_backoff_doubles_with_jitter_and_stops_at_the_ceiling() -> None:
    low = Transfer(first_delay=1, max_delay=10, jitter=lambda: 0.0)
    high = Transfer(first_delay=1, max_delay=10, jitter=lambda: 0.999)
    assert [backoff(low, n) for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]
    assert [backoff(high, n) for n in (1, 2, 5)] == pytest.approx([0.9995, 1.999, 9.995])


def test_only_passing_trouble_is_retried() -> None:
    assert frozenset({"unreachable", "throttled"}) == RETRIED
    time = FakeTime()
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise DestinationError("credentials", "access denied")

    with pytest.raises(DestinationError, match="access denied"):
        retrying(refused, time.transfer(), "listing")
    assert calls == [1]
    assert time.sleeps == []


def test_retrying_returns_the_first_success_and_notes_each_retry() -> None:
    time = FakeTime()
    outcomes: list[DestinationError | str] = [
        DestinationError("throttled", "SlowDown"),
        DestinationError("unreachable", "connection reset"),
        "done",
    ]

    def flaky() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, DestinationError):
            raise outcome
        return outcome

    notes: list[str] = []
    assert retrying(flaky, time.transfer(), "storing x", notes) == "done"
    assert notes == [
        "storing x: SlowDown; tried again after 0.8 s",
        "storing x: connection reset; tried again after 1.5 s",
    ]
    assert retrying(lambda: 1, time.transfer(), "nothing to retry") == 1


@pytest.mark.parametrize(
    "options",
    [{"bandwidth": 0}, {"attempts": 0}, {"first_delay": -1.0}, {"first_delay": 5, "max_delay": 1}],
)
def test_a_transfer_that_could_never_work_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Transfer(**options)  # type: ignore[arg-type]
