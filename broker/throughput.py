"""The agent's running totals of records and bytes in and out (since it started)."""

from __future__ import annotations

from storage import metrics as _m


def totals() -> tuple[float, float, float, float]:
    """(records produced, bytes produced, bytes fetched, records fetched)."""
    return (
        _m.counter_total(_m.PRODUCE_RECORDS),
        _m.counter_total(_m.PRODUCE_BYTES),
        _m.counter_total(_m.FETCH_BYTES),
        _m.counter_total(_m.FETCH_RECORDS),
    )
