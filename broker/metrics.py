"""Metrics per organization: its traffic through this agent and the throttle time it was
given. Cheap on the hot path: one counter increment per request, on a child cached per
organization, and a running total kept beside it for the usage API."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge

QUOTA_THROTTLE_SECONDS = Counter(
    "streamhouse_quota_throttle_seconds",
    "Throttle time given to callers over a rate quota, by organization and quota",
    ["org", "quota"],
)
ORG_BYTES = Counter(
    "streamhouse_org_bytes",
    "Record bytes through this agent by organization and direction (in: produced, out: fetched)",
    ["org", "direction"],
)

ORG_REQUESTS = Counter(
    "streamhouse_org_requests", "Kafka requests handled by this agent, by organization", ["org"])
ORG_CONNECTIONS = Gauge(
    "streamhouse_org_connections", "Authenticated Kafka connections to this agent, by organization",
    ["org"])
ORG_STORAGE = Gauge(
    "streamhouse_org_storage_bytes",
    "Bytes an organization stores (the catalogue's count, the same on every agent)", ["org"])

_children: dict[tuple[str, str], tuple[Counter, list[int]]] = {}
_labelled: dict[tuple[int, tuple[str, ...]], Any] = {}


def labelled(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, looked up once: on a per-request path `labels()` costs
    more than the increment or observation it is for."""
    key = (id(metric), values)
    child = _labelled.get(key)
    if child is None:
        child = _labelled[key] = metric.labels(*values)
    return child


def _count(org_id: str, direction: str, n: int) -> None:
    entry = _children.get((org_id, direction))
    if entry is None:
        entry = _children[(org_id, direction)] = (ORG_BYTES.labels(org_id, direction), [0])
    entry[0].inc(n)
    entry[1][0] += n


def bytes_in(org_id: str, n: int) -> None:
    _count(org_id, "in", n)


def bytes_out(org_id: str, n: int) -> None:
    _count(org_id, "out", n)


def org_totals(org_id: str) -> tuple[int, int]:
    """(bytes in, bytes out) of an organization through this agent since it started."""
    got = [_children.get((org_id, d)) for d in ("in", "out")]
    return (got[0][1][0] if got[0] else 0, got[1][1][0] if got[1] else 0)


def request(org_id: str) -> None:
    labelled(ORG_REQUESTS, org_id).inc()


def connections(org_id: str, n: int) -> None:
    ORG_CONNECTIONS.labels(org_id).set(n)


def storage(org_id: str, stored: int) -> None:
    ORG_STORAGE.labels(org_id).set(stored)


def throttled(org_id: str, quota: str, throttle_ms: int) -> None:
    QUOTA_THROTTLE_SECONDS.labels(org_id, quota).inc(throttle_ms / 1000)
