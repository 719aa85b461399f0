"""Object-store throttling: token buckets, AIMD backoff, the circuit breaker (fake clock, no network)."""

from __future__ import annotations

import asyncio
from typing import Any

import obstore
import pytest
from obstore.exceptions import GenericError
from obstore.store import MemoryStore
from prometheus_client import REGISTRY

from storage.objectstore import ObjectStore, ObjectStoreError
from storage.throttle import (
    BreakerState,
    CircuitBreaker,
    ObjectStoreThrottled,
    ObjectStoreUnavailable,
    RateLimiter,
    ThrottleConfig,
    is_throttling,
)

SLOW_DOWN = (
    "Generic S3 error: Error performing PUT http://s3/b/k in 2ms - Server returned non-2xx"
    " status code: 503 Service Unavailable: <?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
    "<Message>Please reduce your request rate.</Message></Error>"
)
REFUSED = (
    "Generic S3 error: Error performing PUT http://127.0.0.1:1/b/k in 1ms - HTTP error:"
    " error sending request ... ConnectionRefused"
)


class FakeClock:
    """A monotonic clock whose sleep moves time forward at once."""

    def __init__(self, advance: bool = True) -> None:
        self.now = 1000.0
        self.advance = advance
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.advance:
            self.now += seconds
        await asyncio.sleep(0)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def limiter(clock: FakeClock, **cfg: Any) -> RateLimiter:
    return RateLimiter(ThrottleConfig(**cfg), clock=clock, sleep=clock.sleep)


# -- token bucket --------------------------------------------------------------------------


async def test_bucket_spends_its_burst_then_waits_for_refill():
    clock = FakeClock()
    lim = limiter(clock, put_rate=10, burst_seconds=0.5)  # capacity 5
    allowed = sample("streamhouse_throttle_decisions_total", operation="put", decision="allow")
    for _ in range(5):
        assert await lim.acquire("put") == 0.0
    assert sample(
        "streamhouse_throttle_decisions_total", operation="put", decision="allow"
    ) == allowed + 5
    limited = sample(
        "streamhouse_throttle_decisions_total", operation="put", decision="rate_limited"
    )
    assert await lim.acquire("put") == pytest.approx(0.1)
    assert clock.slept == [pytest.approx(0.1)]
    assert sample(
        "streamhouse_throttle_decisions_total", operation="put", decision="rate_limited"
    ) == limited + 1
    clock.now += 0.3
    assert lim.tokens("put") == pytest.approx(3.0)
    clock.now += 60  # refill stops at the capacity
    assert lim.tokens("put") == pytest.approx(5.0)
    # Other operations have their own buckets.
    assert lim.tokens("get") == pytest.approx(2500.0)


async def test_waiters_reserve_tokens_in_arrival_order():
    clock = FakeClock(advance=False)
    lim = limiter(clock, get_rate=4, burst_seconds=0.25)  # capacity 1
    await lim.acquire("get")
    waits = await asyncio.gather(*(lim.acquire("get") for _ in range(3)))
    assert waits == [pytest.approx(0.25), pytest.approx(0.5), pytest.approx(0.75)]


async def test_a_wait_past_max_wait_is_refused_without_taking_a_token():
    clock = FakeClock(advance=False)
    lim = limiter(clock, delete_rate=1, burst_seconds=1, max_wait=2)
    await lim.acquire("delete")
    await lim.acquire("delete")  # waits 1 s
    await lim.acquire("delete")  # waits 2 s
    before = lim.tokens("delete")
    rejected = sample(
        "streamhouse_throttle_decisions_total", operation="delete", decision="rejected"
    )
    with pytest.raises(ObjectStoreThrottled) as info:
        await lim.acquire("delete")
    assert isinstance(info.value, ObjectStoreError)  # retriable: KAFKA_STORAGE_ERROR
    assert info.value.retry_after == pytest.approx(3.0)
    assert lim.tokens("delete") == before
    assert sample(
        "streamhouse_throttle_decisions_total", operation="delete", decision="rejected"
    ) == rejected + 1


async def test_a_cancelled_waiter_hands_its_reservation_back():
    clock = FakeClock()
    gate = asyncio.Event()

    async def blocked_sleep(_seconds: float) -> None:
        await gate.wait()

    lim = RateLimiter(
        ThrottleConfig(put_rate=1, burst_seconds=1), clock=clock, sleep=blocked_sleep
    )
    await lim.acquire("put")
    assert lim.tokens("put") == pytest.approx(0.0)
    task = asyncio.create_task(lim.acquire("put"))
    await asyncio.sleep(0)
    assert lim.tokens("put") == pytest.approx(-1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lim.tokens("put") == pytest.approx(0.0)


# -- AIMD ----------------------------------------------------------------------------------


def test_throttling_errors_are_recognised():
    assert is_throttling(SLOW_DOWN)
    assert is_throttling("Server returned non-2xx status code: 429 Too Many Requests: ")
    assert is_throttling("<Code>SlowDown</Code>")
    assert is_throttling("Please Slow Down")
    assert not is_throttling(REFUSED)
    assert not is_throttling("GET org/503/objects/x [0+503] failed: not found")
    assert not is_throttling("status code: 500 Internal Server Error")


def test_rate_halves_on_slowdown_and_recovers_additively_within_bounds():
    clock = FakeClock()
    lim = limiter(clock, put_rate=100, min_rate=10, increase_fraction=0.05, decrease_interval=1)
    backoffs = sample("streamhouse_throttle_backoffs_total", operation="put")
    assert lim.on_throttled("put")
    assert lim.rate("put") == 50
    assert sample("streamhouse_throttle_rate_current", operation="put") == 50
    assert lim.tokens("put") <= 0  # the saved-up burst is gone: the next call is paced
    # Concurrent 503s from the same congestion count once.
    assert not lim.on_throttled("put")
    assert lim.rate("put") == 50
    for _ in range(5):
        clock.now += 1
        lim.on_throttled("put")
    assert lim.rate("put") == 10  # the floor: 50, 25, 12.5, 10, 10, 10
    assert sample("streamhouse_throttle_backoffs_total", operation="put") == backoffs + 4
    lim.on_success("put")
    assert lim.rate("put") == 15  # + 5 % of the maximum per success
    assert sample("streamhouse_throttle_rate_current", operation="put") == 15
    for _ in range(100):
        lim.on_success("put")
    assert lim.rate("put") == 100  # the ceiling
    assert lim.rate("get") == 5000  # untouched


# -- circuit breaker -----------------------------------------------------------------------


def breaker(clock: FakeClock, **cfg: Any) -> CircuitBreaker:
    return CircuitBreaker(ThrottleConfig(**cfg), clock=clock)


def transitions(src: str, dst: str) -> float:
    return sample(
        "streamhouse_circuit_breaker_transitions_total", from_state=src, to_state=dst
    )


def test_breaker_closed_open_half_open_closed():
    clock = FakeClock()
    cb = breaker(clock, failure_threshold=3, open_seconds=5)
    opened, probing, closed = (
        transitions("closed", "open"),
        transitions("open", "half_open"),
        transitions("half_open", "closed"),
    )
    cb.record_failure()
    cb.record_failure()
    cb.record_success()  # a success resets the count
    cb.record_failure()
    cb.record_failure()
    assert cb.state is BreakerState.CLOSED
    assert not cb.before_call()
    cb.record_failure()
    assert cb.state is BreakerState.OPEN
    assert transitions("closed", "open") == opened + 1
    assert sample("streamhouse_circuit_breaker_state", state="open") == 1
    assert sample("streamhouse_circuit_breaker_state", state="closed") == 0
    # Fail fast while open.
    clock.now += 4
    with pytest.raises(ObjectStoreUnavailable) as info:
        cb.before_call()
    assert info.value.retry_after == pytest.approx(1.0)
    with pytest.raises(ObjectStoreUnavailable):
        cb.check()
    # After the cool-down one probe goes through; others still fail fast.
    clock.now += 1
    cb.check()
    assert cb.before_call() is True
    assert cb.state is BreakerState.HALF_OPEN
    assert sample("streamhouse_circuit_breaker_state", state="half_open") == 1
    assert transitions("open", "half_open") == probing + 1
    with pytest.raises(ObjectStoreUnavailable) as busy:
        cb.before_call()
    assert busy.value.retry_after == pytest.approx(0.1)
    cb.record_success()
    assert cb.state is BreakerState.CLOSED
    assert transitions("half_open", "closed") == closed + 1
    assert sample("streamhouse_circuit_breaker_state", state="closed") == 1
    assert not cb.before_call()


def test_breaker_half_open_probe_failure_opens_again():
    clock = FakeClock()
    cb = breaker(clock, failure_threshold=1, open_seconds=2)
    reopened = transitions("half_open", "open")
    cb.record_failure()
    assert cb.state is BreakerState.OPEN
    clock.now += 2
    assert cb.before_call()
    cb.record_failure()
    assert cb.state is BreakerState.OPEN
    assert transitions("half_open", "open") == reopened + 1
    assert cb.retry_after() == pytest.approx(2.0)  # a fresh cool-down
    clock.now += 2
    assert cb.before_call()
    cb.release(True)  # the probe was cancelled: the next call may probe
    assert cb.before_call()
    cb.record_success()
    assert cb.state is BreakerState.CLOSED


# -- ObjectStore under the limiter and the breaker -------------------------------------------


class FlakyPut:
    """obstore.put_async that fails with `errors` first, then stores for real."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.real = obstore.put_async

    async def __call__(self, store: Any, key: str, data: Any, **options: Any) -> Any:
        self.calls += 1
        if self.errors:
            raise GenericError(self.errors.pop(0))
        return await self.real(store, key, data, **options)


def make_store(clock: FakeClock, **cfg: Any) -> ObjectStore:
    return ObjectStore(
        MemoryStore(), "memory://", ThrottleConfig(**cfg), clock=clock, sleep=clock.sleep
    )


async def test_put_backs_off_on_slowdown_and_succeeds(monkeypatch):
    clock = FakeClock()
    store = make_store(clock, put_rate=100, attempts=4, decrease_interval=0)
    flaky = FlakyPut([SLOW_DOWN, SLOW_DOWN])
    monkeypatch.setattr(obstore, "put_async", flaky)
    requests = sample("streamhouse_s3_requests_total", operation="put")
    errors = sample("streamhouse_s3_errors_total", operation="put")
    await store.put("k", b"data")
    assert flaky.calls == 3
    assert await store.get("k") == b"data"
    assert store.limiter.rate("put") == pytest.approx(25 + 1)  # halved twice, one success
    assert store.breaker.state is BreakerState.CLOSED and store.breaker.failures == 0
    assert sample("streamhouse_s3_requests_total", operation="put") == requests + 3
    assert sample("streamhouse_s3_errors_total", operation="put") == errors + 2
    assert len(clock.slept) >= 2  # backoff between attempts (and pacing by the bucket)


async def test_put_gives_up_after_its_attempts(monkeypatch):
    clock = FakeClock()
    store = make_store(clock, attempts=2, failure_threshold=10)
    monkeypatch.setattr(obstore, "put_async", FlakyPut([SLOW_DOWN] * 5))
    with pytest.raises(ObjectStoreError, match="after 2 attempt"):
        await store.put("k", b"x")
    assert store.breaker.failures == 2


async def test_breaker_fails_fast_while_the_store_is_down_and_recovers(monkeypatch):
    clock = FakeClock()
    store = make_store(clock, attempts=1, failure_threshold=3, open_seconds=5)
    flaky = FlakyPut([REFUSED] * 4)
    monkeypatch.setattr(obstore, "put_async", flaky)
    fast = sample("streamhouse_throttle_decisions_total", operation="put", decision="circuit_open")
    for _ in range(3):
        with pytest.raises(ObjectStoreError) as info:
            await store.put("k", b"x")
        assert not isinstance(info.value, ObjectStoreUnavailable)
    assert info.value.retry_after == pytest.approx(5.0)  # the flusher waits for the cool-down
    assert store.breaker.state is BreakerState.OPEN
    with pytest.raises(ObjectStoreUnavailable):
        await store.put("k", b"x")
    with pytest.raises(ObjectStoreUnavailable):
        await store.get_range("k", 0, 1)
    assert flaky.calls == 3  # nothing was sent while open
    assert sample(
        "streamhouse_throttle_decisions_total", operation="put", decision="circuit_open"
    ) == fast + 1
    # After the cool-down the probe fails: open again, for another cool-down.
    clock.now += 5
    with pytest.raises(ObjectStoreError):
        await store.put("k", b"x")
    assert store.breaker.state is BreakerState.OPEN and flaky.calls == 4
    clock.now += 5
    await store.put("k", b"x")  # the probe succeeds
    assert store.breaker.state is BreakerState.CLOSED
    assert await store.get("k") == b"x"


async def test_ping_bypasses_the_limiter_and_closes_the_breaker(monkeypatch):
    clock = FakeClock()
    store = make_store(clock, attempts=1, failure_threshold=1, open_seconds=30, put_rate=1)
    monkeypatch.setattr(obstore, "put_async", FlakyPut([REFUSED]))
    with pytest.raises(ObjectStoreError):
        await store.put("k", b"x")
    assert store.breaker.state is BreakerState.OPEN
    await store.ping()  # not refused, not rate limited
    assert store.breaker.state is BreakerState.CLOSED
    assert store.limiter.tokens("put") < 1


async def test_missing_objects_do_not_count_as_store_failures():
    clock = FakeClock()
    store = make_store(clock, failure_threshold=1)
    with pytest.raises(ObjectStoreError):
        await store.get("missing")
    with pytest.raises(ObjectStoreError):
        await store.get_range("missing", 0, 10)
    await store.delete("missing")
    assert store.breaker.state is BreakerState.CLOSED and store.breaker.failures == 0
