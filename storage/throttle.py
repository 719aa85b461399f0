"""Object-store throttling: an adaptive token bucket per operation and a circuit breaker.

`RateLimiter` keeps one token bucket per operation (``put``, ``get``, ``delete``). Its rate
follows AIMD: a throttling answer from the store (HTTP 503 / 429, ``SlowDown``) cuts the rate
by `ThrottleConfig.decrease_factor`; every success adds back a small fixed step; the rate
stays between `min_rate` and the operation's configured maximum. `acquire` waits for a token
with `asyncio.sleep` (a reservation, so waiters are served in arrival order) and refuses with
`ObjectStoreThrottled` when the wait would exceed `max_wait`, so callers never queue without
bound.

`CircuitBreaker` is closed → open after `failure_threshold` consecutive failures; while open
every call fails fast with `ObjectStoreUnavailable`; after `open_seconds` one probe goes
through (half-open); its success closes the breaker, its failure opens it again.

Both take a clock (and the limiter a sleep), so the tests drive them without real time.
Knows nothing of obstore beyond reading its error text.
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from . import metrics

OPERATIONS = ("put", "get", "delete")


class ObjectStoreError(RuntimeError):
    """The object store failed or cannot be reached; retriable for the caller.

    `retry_after` (seconds) says when a retry has a chance, when the store layer knows it.
    """

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ObjectStoreUnavailable(ObjectStoreError):
    """The circuit breaker is open: the store is failing, calls fail fast until a probe passes."""


class ObjectStoreThrottled(ObjectStoreError):
    """The rate limiter would make this call wait longer than `max_wait`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleConfig:
    # Token buckets (requests per second). S3 allows 3,500 PUT/COPY/POST/DELETE and 5,500 GET
    # per second per prefix; the defaults keep a margin below that.
    put_rate: float = 3000.0
    get_rate: float = 5000.0
    delete_rate: float = 3000.0
    min_rate: float = 1.0
    burst_seconds: float = 1.0  # bucket capacity = rate × burst_seconds (at least one token)
    decrease_factor: float = 0.5  # multiplicative decrease on a throttling answer
    increase_fraction: float = 0.01  # additive increase per success: this × the maximum rate
    decrease_interval: float = 0.1  # one decrease per interval: concurrent 503s count once
    max_wait: float = 10.0  # longest wait for a token before ObjectStoreThrottled
    # Circuit breaker.
    failure_threshold: int = 5  # consecutive failed calls that open it
    open_seconds: float = 5.0  # cool-down before a half-open probe
    probe_busy_retry: float = 0.1  # retry hint while the half-open probe is in flight
    # Retries of one ObjectStore call on transient errors (5xx, throttling, connection).
    attempts: int = 3
    retry_backoff: float = 0.05  # first pause between attempts, doubled, with jitter
    retry_backoff_max: float = 1.0
    # obstore's own retries (S3 only). Kept at 0 so that every throttling answer reaches the
    # limiter; the retries above replace them.
    store_max_retries: int = 0
    store_retry_timeout: float = 30.0

    def max_rate(self, op: str) -> float:
        return {"put": self.put_rate, "get": self.get_rate, "delete": self.delete_rate}[op]


_THROTTLING = re.compile(
    r"slow\s?down|too\s?many\s?requests|request\s?limit\s?exceeded"
    r"|status(?:\s?code)?:?\s*(?:503|429)\b|\b(?:503\s+service\s+unavailable|429\s+too)",
    re.IGNORECASE,
)


def is_throttling(exc: BaseException | str) -> bool:
    """Whether an object-store error is the store asking us to slow down (503, 429, SlowDown)."""
    return _THROTTLING.search(str(exc)) is not None


# -- rate limiter ------------------------------------------------------------------------


class _Bucket:
    __slots__ = ("max_rate", "rate", "tokens", "updated", "last_decrease")

    def __init__(self, max_rate: float, now: float, burst_seconds: float) -> None:
        self.max_rate = max_rate
        self.rate = max_rate
        self.tokens = max(1.0, max_rate * burst_seconds)
        self.updated = now
        self.last_decrease = float("-inf")


class RateLimiter:
    def __init__(
        self,
        config: ThrottleConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config or ThrottleConfig()
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._buckets: dict[str, _Bucket] = {}
        for op in OPERATIONS:
            max_rate = max(self.config.max_rate(op), self.config.min_rate)
            self._buckets[op] = _Bucket(max_rate, now, self.config.burst_seconds)
            metrics.THROTTLE_RATE.labels(op).set(max_rate)

    def rate(self, op: str) -> float:
        return self._buckets[op].rate

    def tokens(self, op: str) -> float:
        bucket = self._buckets[op]
        self._refill(bucket, self._clock())
        return bucket.tokens

    def _capacity(self, bucket: _Bucket) -> float:
        return max(1.0, bucket.rate * self.config.burst_seconds)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = now - bucket.updated
        if elapsed > 0:
            bucket.tokens = min(self._capacity(bucket), bucket.tokens + elapsed * bucket.rate)
        bucket.updated = now

    async def acquire(self, op: str) -> float:
        """Take one token of `op`, waiting (without blocking the loop) until there is one.

        Returns the time waited. Raises `ObjectStoreThrottled` if the wait would exceed
        `max_wait`; no token is taken then.
        """
        bucket = self._buckets[op]
        self._refill(bucket, self._clock())
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            metrics.THROTTLE_DECISIONS.labels(op, "allow").inc()
            return 0.0
        wait = (1.0 - bucket.tokens) / bucket.rate
        if wait > self.config.max_wait:
            metrics.THROTTLE_DECISIONS.labels(op, "rejected").inc()
            raise ObjectStoreThrottled(
                f"{op.upper()} rate limited to {bucket.rate:.1f}/s: a token is {wait:.1f}s away",
                retry_after=wait,
            )
        bucket.tokens -= 1.0  # a reservation: later callers wait behind this one
        metrics.THROTTLE_DECISIONS.labels(op, "rate_limited").inc()
        try:
            await self._sleep(wait)
        except BaseException:
            bucket.tokens += 1.0  # hand the reservation back
            raise
        return wait

    def on_success(self, op: str) -> None:
        """Additive increase."""
        bucket = self._buckets[op]
        if bucket.rate < bucket.max_rate:
            self._refill(bucket, self._clock())
            bucket.rate = min(
                bucket.max_rate, bucket.rate + bucket.max_rate * self.config.increase_fraction
            )
            metrics.THROTTLE_RATE.labels(op).set(bucket.rate)

    def on_throttled(self, op: str) -> bool:
        """Multiplicative decrease, at most once per `decrease_interval`; True if it applied."""
        bucket = self._buckets[op]
        now = self._clock()
        if now - bucket.last_decrease < self.config.decrease_interval:
            return False
        self._refill(bucket, now)
        bucket.last_decrease = now
        previous = bucket.rate
        bucket.rate = max(
            min(self.config.min_rate, bucket.max_rate), bucket.rate * self.config.decrease_factor
        )
        # Stop the burst: whatever was saved up is spent, the next call waits 1/rate.
        bucket.tokens = min(bucket.tokens, 0.0)
        metrics.THROTTLE_RATE.labels(op).set(bucket.rate)
        if bucket.rate < previous:
            metrics.THROTTLE_BACKOFFS.labels(op).inc()
        return True


# -- circuit breaker ---------------------------------------------------------------------


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        config: ThrottleConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or ThrottleConfig()
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0  # consecutive
        self.opened_at = 0.0
        self._probe_in_flight = False
        self._export()

    def retry_after(self) -> float:
        """Seconds until a call may go through (0 when closed)."""
        if self.state is BreakerState.OPEN:
            return max(0.0, self.opened_at + self.config.open_seconds - self._clock())
        if self.state is BreakerState.HALF_OPEN and self._probe_in_flight:
            return self.config.probe_busy_retry
        return 0.0

    def check(self) -> None:
        """Fail fast if a call would be refused now; changes nothing."""
        wait = self.retry_after()
        if wait > 0:
            self._refuse(wait)

    def before_call(self) -> bool:
        """Admit a call or raise `ObjectStoreUnavailable`; True if the call is the probe."""
        if self.state is BreakerState.CLOSED:
            return False
        wait = self.retry_after()
        if wait > 0:
            self._refuse(wait)
        if self.state is BreakerState.OPEN:
            self._move(BreakerState.HALF_OPEN)
        self._probe_in_flight = True
        return True

    def release(self, probe: bool) -> None:
        """An admitted call ended without telling anything about the store (e.g. cancelled)."""
        if probe:
            self._probe_in_flight = False

    def record_success(self) -> None:
        self.failures = 0
        self._probe_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self.failures += 1
        self._probe_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            self._open()
        elif self.state is BreakerState.CLOSED:
            if self.failures >= self.config.failure_threshold:
                self._open()
        else:  # still failing while open (a ping, or a call admitted before it opened)
            self.opened_at = self._clock()

    def _open(self) -> None:
        self.opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _refuse(self, wait: float) -> None:
        raise ObjectStoreUnavailable(
            f"object store circuit breaker is {self.state.value} after {self.failures}"
            f" consecutive failures; retry in {wait:.2f}s",
            retry_after=wait,
        )

    def _move(self, to: BreakerState) -> None:
        metrics.BREAKER_TRANSITIONS.labels(self.state.value, to.value).inc()
        self.state = to
        self._export()

    def _export(self) -> None:
        for state in BreakerState:
            metrics.BREAKER_STATE.labels(state.value).set(1 if state is self.state else 0)
