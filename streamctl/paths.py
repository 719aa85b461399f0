"""URL path segments (no heavy imports: main.py loads this at start)."""

from __future__ import annotations

from urllib.parse import quote


def seg(value: object) -> str:
    """One path segment, quoted: a name with '/', '?', '#', '%' or '..' stays one name."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text
