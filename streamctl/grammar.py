"""The offset and time grammar shared by `group reset` and `topic consume` (rpk's and
kcat's): earliest/start, latest/end, an offset, `@2026-12-01T10:00` (UTC unless it says
otherwise), `@-1h`/`@-30m`/`@-2d` (before now), `@1733047200000` (ms)."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

from .errors import USAGE, CliError

_AGO = re.compile(r"^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def timestamp_ms(text: str, now_ms: int | None = None) -> int:
    """`@...` without the @: a time in ms since the epoch."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    m = _AGO.match(text)
    if m:
        return now - int(float(m.group(1)) * _UNIT_MS[m.group(2)])
    if text.isdigit():
        return int(text)
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"@{text} is not a time: use @2026-12-01T10:00, @-1h or @<ms>", USAGE) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() * 1000)


def reset_body(to: str, now_ms: int | None = None) -> dict[str, Any]:
    """`group reset --to` as the REST reset body."""
    if to in ("earliest", "start", "beginning"):
        return {"strategy": "earliest"}
    if to in ("latest", "end"):
        return {"strategy": "latest"}
    if to.startswith("@"):
        return {"strategy": "timestamp", "timestamp": timestamp_ms(to[1:], now_ms)}
    if to.isdigit():
        return {"strategy": "specific", "offset": int(to)}
    raise CliError(f"--to {to!r}: use earliest, latest, an offset or @time", USAGE)
