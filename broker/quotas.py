"""Quotas per organization, and per client id within it (DESIGN.md §13).

Rates (`producer_byte_rate`, `consumer_byte_rate`, bytes/s, and `request_rate`,
requests/s) are kept as Kafka keeps them: the request is served, and the caller is told
how long to hold off (throttle time; the Kafka door also stops reading the connection
for that long, KIP-219). Each rate is a token bucket holding one second's worth: while it
is in credit nothing is throttled, and a caller over its rate is held back to it. Counts
(`topics`, `partitions`, `storage_bytes`) refuse what would pass them, with
POLICY_VIOLATION and a message naming the limit.

An organization's quotas are the platform admin's to set; its admin keys set client-id
quotas within it, never above the organization's own.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from coordinator.quotas import QuotaStore

from . import errors, metrics
from .acls import Operation as Op
from .context import RequestContext

if TYPE_CHECKING:
    from .service import Broker

log = structlog.get_logger("streamhouse.quotas")

RATES = ("producer_byte_rate", "consumer_byte_rate", "request_rate")
COUNTS = ("topics", "partitions", "storage_bytes", "connections")
NAMES = RATES + COUNTS
_RELOAD_S = 2.0  # a quota set through another agent takes effect here within this
_MAX_THROTTLE_MS = 30_000


@dataclass(slots=True)
class _Bucket:
    rate: float  # per second
    tokens: float
    at: float = field(default_factory=time.monotonic)

    def charge(self, amount: float) -> int:
        """Take `amount`; how long (ms) the caller must hold off to be back within the rate."""
        now = time.monotonic()
        self.tokens = min(self.tokens + (now - self.at) * self.rate, self.rate)
        self.at = now
        self.tokens -= amount
        if self.tokens >= 0:
            return 0
        return min(int(-self.tokens / self.rate * 1000) + 1, _MAX_THROTTLE_MS)

    def debt_ms(self) -> int:
        """How long until the bucket is back in credit (0 if it is)."""
        now = time.monotonic()
        tokens = min(self.tokens + (now - self.at) * self.rate, self.rate)
        return 0 if tokens >= 0 else int(-tokens / self.rate * 1000) + 1


class Quotas:
    def __init__(self, broker: Broker, store: QuotaStore) -> None:
        self._b = broker
        self.store = store
        self._limits: dict[str, tuple[float, dict[tuple[str, str], float]]] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._storage: dict[str, tuple[float, int]] = {}  # org -> (when, bytes stored)
        self._refreshing: set[tuple[str, str]] = set()

    # -- the limits ----------------------------------------------------------------------

    async def limits(self, org_id: str) -> dict[tuple[str, str], float]:
        now = time.monotonic()
        cached = self._limits.get(org_id)
        if cached is None or now - cached[0] > _RELOAD_S:
            try:
                cached = (now, await self.store.all(org_id))
            except Exception as exc:
                # The catalogue down: keep the last known limits (none if never read), so a
                # catalogue outage does not fail every request that carries a throttle time.
                log.warning("quota_limits_unavailable", org=org_id, error=str(exc))
                cached = (now, cached[1] if cached is not None else {})
            self._limits[org_id] = cached
        return cached[1]

    async def describe(self, ctx: RequestContext, org_id: str | None = None
                       ) -> dict[str, dict[str, float]]:
        """client id ('' for the organization) -> quota name -> value."""
        org = self._org(ctx, org_id)
        self._b.auth.require_cluster(ctx, Op.DESCRIBE_CONFIGS)
        out: dict[str, dict[str, float]] = {}
        for (client, name), value in sorted((await self.store.all(org)).items()):
            out.setdefault(client, {})[name] = value
        return out

    async def set(self, ctx: RequestContext, client_id: str, name: str, value: float | None,
                  *, org_id: str | None = None, validate_only: bool = False) -> None:
        org = self._org(ctx, org_id)
        if name not in NAMES:
            raise errors.InvalidRequest(f"unknown quota {name!r}: one of {', '.join(NAMES)}")
        if value is not None and value <= 0:
            raise errors.InvalidRequest(f"quota {name} must be positive, got {value}")
        if ctx.principal.kind != "platform_admin":
            if client_id == "":
                raise errors.NotAuthorized("an organization's own quotas are the platform"
                                           " admin's to set")
            if ctx.principal.scope not in (None, "admin"):
                raise errors.NotAuthorized("setting client quotas needs an admin key")
            ceiling = (await self.store.all(org)).get(("", name))
            if value is not None and ceiling is not None and value > ceiling:
                raise errors.PolicyViolation(
                    f"{name} of client {client_id!r} cannot exceed the organization's {ceiling:g}")
        self._b.auth.require_cluster(ctx, Op.ALTER_CONFIGS)
        if validate_only:
            return
        try:
            await self.store.set(org, client_id, name, value)
        except Exception as exc:
            raise errors.translate(exc) from exc
        self._limits.pop(org, None)
        for key in [k for k in self._buckets if k[0] == org and k[2] == name]:
            del self._buckets[key]
        log.info("quota_set", org=org, client_id=client_id, quota=name, value=value,
                 principal=ctx.principal.name)

    @staticmethod
    def _org(ctx: RequestContext, org_id: str | None) -> str:
        if org_id is None or org_id == ctx.org_id:
            return ctx.org_id
        if ctx.principal.kind != "platform_admin":
            raise errors.UnknownOrganization(f"organization {org_id!r} does not exist")
        return org_id

    # -- rates ---------------------------------------------------------------------------

    async def charge(self, ctx: RequestContext, name: str, amount: float) -> int:
        """Charge `amount` against the caller's rate quotas (its organization's and its
        client id's); the throttle time in ms (0 within them)."""
        limits = await self.limits(ctx.org_id)
        if not limits:
            return 0
        return self._charge(ctx, limits, name, amount)

    def charge_now(self, ctx: RequestContext, name: str, amount: float) -> int:
        """`charge` without waiting for the catalogue (the limits as last read; a stale or
        missing read is refreshed in the background and counts from then on). The Kafka door
        charges a produce with it as the request is read, so that the throttle it earns
        holds back the requests read after it, however many a client pipelines."""
        cached = self._limits.get(ctx.org_id)
        self._refresh_soon(ctx.org_id, cached)
        if cached is None:
            return 0
        return self._charge(ctx, cached[1], name, amount)

    def _charge(self, ctx: RequestContext, limits: dict[tuple[str, str], float], name: str,
                amount: float) -> int:
        throttle = 0
        for client in _clients(ctx):
            rate = limits.get((client, name))
            if rate is None:
                continue
            key = (ctx.org_id, client, name)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(rate=rate, tokens=rate)
            throttle = max(throttle, bucket.charge(amount))
        if throttle:
            metrics.throttled(ctx.org_id, name, throttle)
        return throttle

    async def debt_ms(self, ctx: RequestContext, name: str) -> int:
        """How long the caller must wait before its rate quota is in credit again."""
        limits = await self.limits(ctx.org_id)
        debt = 0
        for client in _clients(ctx):
            bucket = self._buckets.get((ctx.org_id, client, name))
            if bucket is not None and (client, name) in limits:
                debt = max(debt, bucket.debt_ms())
        return debt

    # -- counts --------------------------------------------------------------------------

    def check_storage_now(self, ctx: RequestContext) -> None:
        """Refuse new records while the organization holds more than its storage quota.

        Without waiting (the produce path must not suspend before its appends: a connection's
        pipelined produce requests are appended in the order they arrived, which idempotent
        producers' sequences depend on): the limits and the stored bytes as last read, both
        refreshed in the background."""
        cached = self._limits.get(ctx.org_id)
        self._refresh_soon(ctx.org_id, cached)
        limit = cached[1].get(("", "storage_bytes")) if cached is not None else None
        if limit is None:
            return
        stored = self._storage.get(ctx.org_id)
        if stored is None or time.monotonic() - stored[0] > _RELOAD_S:
            self._background(("storage", ctx.org_id), self._read_storage(ctx.org_id))
        if stored is not None and stored[1] >= limit:
            raise errors.PolicyViolation(
                f"quota exceeded: the organization stores {stored[1]} bytes, its storage_bytes"
                f" limit is {limit:g}")

    async def _read_storage(self, org_id: str) -> None:
        total = 0
        catalogue = self._b.catalogue
        for topic in await catalogue.list_topics(org_id):  # type: ignore[arg-type]
            total += sum(p.size_bytes for p in await catalogue.list_partitions(topic.id))
        self._storage[org_id] = (time.monotonic(), total)

    def _refresh_soon(self, org_id: str,
                      cached: tuple[float, dict[tuple[str, str], float]] | None) -> None:
        if cached is None or time.monotonic() - cached[0] > _RELOAD_S:
            self._background(("limits", org_id), self.limits(org_id))

    def _background(self, key: tuple[str, str], work: Any) -> None:
        """Run `work` once at a time per key, in the background; failures are logged."""
        if key in self._refreshing:
            work.close()
            return
        self._refreshing.add(key)
        task = asyncio.get_running_loop().create_task(work)

        def done(t: asyncio.Task[Any]) -> None:
            self._refreshing.discard(key)
            if not t.cancelled() and t.exception() is not None:
                log.warning("quota_refresh_failed", what=key[0], org=key[1],
                            error=str(t.exception()))

        task.add_done_callback(done)

    async def check_count(self, ctx: RequestContext, name: str, after: int) -> None:
        """Refuse (POLICY_VIOLATION) what would leave the organization above a count quota."""
        limit = (await self.limits(ctx.org_id)).get(("", name))
        if limit is not None and after > limit:
            raise errors.PolicyViolation(
                f"quota exceeded: {name} would be {after}, the organization's limit is {limit:g}")


def _clients(ctx: RequestContext) -> tuple[str, ...]:
    """The quota entities a caller counts against: its organization (''), its client id."""
    return ("", ctx.client_id) if ctx.client_id else ("",)
