"""Metrics of the broker's own decisions (quotas), per organization: cheap on the hot path
(one counter increment when a caller is throttled, nothing otherwise)."""

from __future__ import annotations

from prometheus_client import Counter

QUOTA_THROTTLE_SECONDS = Counter(
    "streamhouse_quota_throttle_seconds",
    "Throttle time given to callers over a rate quota, by organization and quota",
    ["org", "quota"],
)


def throttled(org_id: str, quota: str, throttle_ms: int) -> None:
    QUOTA_THROTTLE_SECONDS.labels(org_id, quota).inc(throttle_ms / 1000)
