"""Object storage behind one small async interface: local folder, memory or S3.

Backed by obstore (Rust object_store), so every call is async and never blocks
the event loop. Knows nothing of Kafka, chunks or the catalogue.

Every put/get/get_range/delete goes through a per-operation rate limiter and a
circuit breaker (`throttle.py`): a call waits for a token, fails fast while the
breaker is open, and retries transient errors (5xx, throttling, connection) a
few times with jittered backoff; throttling answers slow the limiter down.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import obstore
from obstore.exceptions import BaseError, GenericError, JoinError
from obstore.store import LocalStore, MemoryStore, S3Store

from . import metrics
from .throttle import (
    CircuitBreaker,
    ObjectStoreError,
    ObjectStoreThrottled,
    ObjectStoreUnavailable,
    RateLimiter,
    ThrottleConfig,
    is_throttling,
)

_SINGLE_PUT_LIMIT = 4 * 1024**3  # bytes; S3 takes up to 5 GiB in one PUT

__all__ = [
    "ObjectStore",
    "ObjectStoreError",
    "ObjectStoreThrottled",
    "ObjectStoreUnavailable",
    "ThrottleConfig",
]

T = TypeVar("T")


def _is_missing(exc: BaseException) -> bool:
    return isinstance(exc, FileNotFoundError) or type(exc).__name__ == "NotFoundError"


def _is_transient(exc: BaseException) -> bool:
    """A failure of the store itself (5xx, throttling, connection, timeout), worth a retry and
    counted by the circuit breaker. Answers about the request (not found, permission denied,
    invalid path...) are not: the store is up and answered."""
    if isinstance(exc, GenericError | JoinError | TimeoutError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError)


def _answered(exc: BaseException) -> bool:
    """The store answered, though with an error (obstore's specific errors, not found...)."""
    return _is_missing(exc) or isinstance(exc, PermissionError) or (
        isinstance(exc, BaseError) and not _is_transient(exc)
    )


class ObjectStore:
    def __init__(
        self,
        store: Any,
        url: str,
        throttle: ThrottleConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self.url = url
        self.throttle = throttle or ThrottleConfig()
        self.limiter = RateLimiter(self.throttle, clock=clock, sleep=sleep)
        self.breaker = CircuitBreaker(self.throttle, clock=clock)
        self._sleep = sleep

    @classmethod
    def from_url(cls, url: str, throttle: ThrottleConfig | None = None) -> ObjectStore:
        throttle = throttle or ThrottleConfig()
        parsed = urlparse(url)
        if parsed.scheme == "memory":
            return cls(MemoryStore(), url, throttle)
        if parsed.scheme == "file":
            root = Path(parsed.netloc + parsed.path).resolve()
            root.mkdir(parents=True, exist_ok=True)
            return cls(LocalStore(str(root), mkdir=True), url, throttle)
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise ValueError(f"an S3 URL needs a bucket: s3://bucket/prefix, got {url!r}")
            config: Any = {}
            endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
            if endpoint:
                config["endpoint"] = endpoint
            if "AWS_DEFAULT_REGION" in os.environ and "AWS_REGION" not in os.environ:
                config["region"] = os.environ["AWS_DEFAULT_REGION"]
            client_options: Any = (
                {"allow_http": True} if (endpoint or "").startswith("http://") else None
            )
            prefix = parsed.path.strip("/") or None
            # Few or no retries inside obstore: a 503 SlowDown must reach the rate limiter.
            retry_config: Any = {
                "max_retries": throttle.store_max_retries,
                "retry_timeout": timedelta(seconds=throttle.store_retry_timeout),
                "backoff": {
                    "init_backoff": timedelta(seconds=throttle.retry_backoff),
                    "max_backoff": timedelta(seconds=throttle.retry_backoff_max),
                    "base": 2,
                },
            }
            store = S3Store(
                parsed.netloc,
                prefix=prefix,
                config=config or None,
                client_options=client_options,
                retry_config=retry_config,
            )
            return cls(store, url, throttle)
        raise ValueError(
            f"unsupported object store URL {url!r}: use file:///path, memory:// or s3://bucket/prefix"
        )

    async def _call(self, op: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one store request under the limiter and breaker, retrying transient errors.

        Raises `ObjectStoreError` (or its subclasses) for failures; a missing object is
        re-raised as the store's FileNotFoundError for the caller to decide."""
        try:
            self.breaker.check()
        except ObjectStoreUnavailable:
            metrics.THROTTLE_DECISIONS.labels(op, "circuit_open").inc()
            raise
        backoff = self.throttle.retry_backoff
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire(op)
            try:
                probe = self.breaker.before_call()
            except ObjectStoreUnavailable:
                metrics.THROTTLE_DECISIONS.labels(op, "circuit_open").inc()
                raise
            started = time.perf_counter()
            try:
                result = await call()
            except asyncio.CancelledError:
                self.breaker.release(probe)
                raise
            except Exception as exc:
                if _is_missing(exc):
                    self.breaker.record_success()
                    raise
                metrics.OBJECT_ERRORS.labels(op).inc()
                if not _is_transient(exc):
                    if _answered(exc):
                        self.breaker.record_success()
                    else:
                        self.breaker.release(probe)
                    raise ObjectStoreError(f"{what} failed: {exc}") from exc
                self.breaker.record_failure()
                throttled = is_throttling(exc)
                if throttled:
                    self.limiter.on_throttled(op)
                if attempt >= self.throttle.attempts or self.breaker.retry_after() > 0:
                    raise ObjectStoreError(
                        f"{what} failed after {attempt} attempt(s): {exc}",
                        retry_after=max(backoff, self.breaker.retry_after()),
                    ) from exc
                await self._sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self.throttle.retry_backoff_max)
                continue
            finally:
                metrics.OBJECT_REQUESTS.labels(op).inc()
                metrics.OBJECT_LATENCY.labels(op).observe(time.perf_counter() - started)
            self.breaker.record_success()
            self.limiter.on_success(op)
            return result

    async def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        body = bytes(data) if isinstance(data, bytearray) else data

        # One PUT request per object: a flush is in memory already and far below S3's 5 GiB
        # single-PUT limit, while a multipart upload would cost 2 POSTs and a PUT per 5 MiB
        # part, multiplying the requests the flush budget bounds.
        multipart = len(body) >= _SINGLE_PUT_LIMIT

        async def call() -> None:
            await obstore.put_async(self._store, key, body, use_multipart=multipart)

        try:
            await self._call("put", f"PUT {key}", call)
        except FileNotFoundError as exc:  # a local folder removed under us
            raise ObjectStoreError(f"PUT {key} failed: {exc}") from exc

    async def get_range(self, key: str, start: int, length: int) -> bytes:
        async def call() -> bytes:
            data = await obstore.get_range_async(self._store, key, start=start, length=length)
            return bytes(data)

        what = f"GET {key} [{start}+{length}]"
        try:
            return await self._call("get", what, call)
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"{what} failed: {exc}") from exc

    async def get(self, key: str) -> bytes:
        async def call() -> bytes:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())

        try:
            return await self._call("get", f"GET {key}", call)
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"GET {key} failed: {exc}") from exc

    async def delete(self, key: str) -> None:
        async def call() -> None:
            await obstore.delete_async(self._store, key)

        try:
            await self._call("delete", f"DELETE {key}", call)
        except FileNotFoundError:
            pass

    async def list_keys(self, prefix: str | None = None) -> list[str]:
        keys: list[str] = []
        async for page in obstore.list(self._store, prefix=prefix):
            keys.extend(str(meta["path"]) for meta in page)
        return keys

    async def ping(self) -> None:
        """Reach the store, bypassing the rate limiter and an open breaker; the outcome counts
        for the breaker (a successful ping closes it, as a successful probe would)."""
        try:
            async for _page in obstore.list(self._store, prefix="__ping__"):
                break
        except Exception as exc:
            if _is_transient(exc):
                self.breaker.record_failure()
            raise ObjectStoreError(f"object store unreachable: {exc}") from exc
        self.breaker.record_success()
