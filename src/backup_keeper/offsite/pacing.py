"""How fast a transfer may go, and how it recovers from trouble that passes.

A bandwidth limit matters because an off-site copy shares the site's uplink with everything
else: a 400 GB backup at full speed is an outage for the users. It is a token bucket over the
stream of chunks, so the average rate stays under the limit whatever the chunk size, while a
short burst (one second's worth) is let through at once.

Retries matter because object stores throttle (HTTP 429/503 SlowDown) and links drop; both
pass. Only those two kinds are retried, with exponential backoff and jitter (so a fleet of
instances copying at 02:00 does not retry in step), a bounded number of times. Bad
credentials, a missing bucket, a full quota or corrupt bytes do not pass by waiting: they fail
at once, so the administrator hears of them within one attempt.

Time is injected (``stopwatch``, ``sleep``, ``jitter``), so tests pace and back off without
sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from backup_keeper.clock import Stopwatch, system_stopwatch
from backup_keeper.destinations.store import DestinationError, FaultKind

RETRIED: frozenset[FaultKind] = frozenset({"unreachable", "throttled"})
"""The kinds of trouble that pass by themselves; every other kind fails at once."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Transfer:
    """How one copy job moves bytes: its bandwidth limit and its patience."""

    bandwidth: int | None = None
    """Bytes per second over the link, both ways (None: as fast as it goes)."""
    attempts: int = 5
    """Tries of one operation (a put, a read-back) before its trouble is reported."""
    first_delay: float = 1.0
    """Seconds before the first retry; doubled for each retry after it."""
    max_delay: float = 60.0
    """Longest wait between two tries."""
    stopwatch: Stopwatch = field(default=system_stopwatch, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)
    """A number in [0, 1): how much of the second half of each backoff is waited."""

    def __post_init__(self) -> None:
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError("a bandwidth limit is a positive number of bytes per second")
        if self.attempts < 1:
            raise ValueError("a transfer makes at least one attempt")
        if self.first_delay < 0 or self.max_delay < self.first_delay:
            raise ValueError("retry delays: 0 <= first_delay <= max_delay")

    def bucket(self) -> TokenBucket | None:
        """A fresh bucket for one transfer; None when there is no limit."""
        if self.bandwidth is None:
            return None
        return TokenBucket(self.bandwidth, self.stopwatch, self.sleep)


class TokenBucket:
    """At most ``rate`` bytes per second on average, bursts of up to one second's worth.

    A chunk larger than the bucket is let through and its excess paid for by sleeping, so any
    chunk size works; the debt is what the bucket holds below zero.
    """

    def __init__(self, rate: int, stopwatch: Stopwatch, sleep: Callable[[float], None]) -> None:
        self.rate = rate
        self.stopwatch = stopwatch
        self.sleep = sleep
        self.tokens = float(rate)
        self.last = stopwatch()

    def take(self, amount: int) -> None:
        """Spend ``amount`` bytes; sleep first when the bucket cannot pay for them."""
        now = self.stopwatch()
        self.tokens = min(float(self.rate), self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= amount
        if self.tokens < 0:
            self.sleep(-self.tokens / self.rate)


def paced(chunks: Iterable[bytes], bucket: TokenBucket | None) -> Iterator[bytes]:
    """``chunks`` no faster than ``bucket`` allows (unchanged when there is no bucket)."""
    if bucket is None:
        yield from chunks
        return
    for chunk in chunks:
        bucket.take(len(chunk))
        yield chunk


def backoff(transfer: Transfer, retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1 = the first): half of the doubled
    delay for sure, the other half by jitter, never more than ``max_delay``."""
    ceiling = min(transfer.max_delay, transfer.first_delay * 2.0 ** (retry - 1))
    return ceiling / 2 + ceiling / 2 * transfer.jitter()


def retrying(
    action: Callable[[], _T],
    transfer: Transfer,
    what: str,
    notes: list[str] | None = None,
) -> _T:
    """``action()``, tried again after a backoff while it fails with a passing kind of trouble.

    Each retry is noted in ``notes`` (for the job's report: a copy that needed four tries is
    worth a look even when it succeeded). The last failure is raised with the number of
    attempts added to its message, its kind unchanged.
    """
    attempt = 1
    while True:
        try:
            return action()
        except DestinationError as exc:
            if exc.kind not in RETRIED:
                raise
            if attempt >= transfer.attempts:
                raise DestinationError(
                    exc.kind, f"{exc.message} (gave up after {attempt} attempts)"
                ) from exc
            delay = backoff(transfer, attempt)
            if notes is not None:
                notes.append(f"{what}: {exc.message}; tried again after {delay:.1f} s")
            transfer.sleep(delay)
            attempt += 1
