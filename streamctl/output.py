"""Tables for people, JSON (stable, for scripts) and YAML."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

FORMATS = ("table", "json", "yaml")

Column = tuple[str, str] | tuple[str, str, Callable[[Any], str]]  # (key, header[, format])


def emit(data: Any, fmt: str, *, columns: Sequence[Column] | None = None,
         title: str | None = None, text: str | None = None) -> None:
    """`data` as JSON or YAML, or as a table of `columns` (rows: a list of dicts), or as
    `text` when a sentence says it better than a table."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        return
    if fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return
    if text is not None:
        sys.stdout.write(text + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    rows = data if isinstance(data, list) else [data]
    table = Table(title=title, show_lines=False, header_style="bold")
    cols = columns or [(k, k) for k in (rows[0].keys() if rows else [])]
    for col in cols:
        table.add_column(col[1], overflow="fold")
    for row in rows:
        cells = []
        for col in cols:
            value = row.get(col[0])
            cells.append(col[2](value) if len(col) > 2 else _cell(value))
        table.add_row(*cells)
    Console(soft_wrap=True).print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def size(n: Any) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


def ms_duration(ms: Any) -> str:
    n = int(ms)
    if n < 0:
        return "forever"
    for unit, span in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if n >= span and n % span == 0:
            return f"{n // span}{unit}"
    return f"{n} ms"
