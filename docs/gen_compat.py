"""Generate the Kafka API table of docs/COMPATIBILITY.md from the code.

The table lists every API key this broker serves (protocol/registry.py: each
module's VERSIONS dict), its Kafka name (from kio's schema index) and the
version range, beside the newest version kio (Apache Kafka's schemas) knows.

    python docs/gen_compat.py            # print the table
    python docs/gen_compat.py --write    # rewrite it between the markers in COMPATIBILITY.md
    python docs/gen_compat.py --check    # exit 1 if COMPATIBILITY.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "COMPATIBILITY.md"
BEGIN = "<!-- BEGIN GENERATED: api-table (python docs/gen_compat.py --write) -->"
END = "<!-- END GENERATED: api-table -->"

sys.path.insert(0, str(ROOT))

from kio.schema.index import api_key_map, schema_name_map  # noqa: E402

from protocol import registry  # noqa: E402


def kafka_name(api_key: int) -> str:
    """Kafka's own name of an API (`InitProducerId`), from kio's request class names."""
    snake = api_key_map[api_key]
    versions = schema_name_map[snake]
    path = next(iter(versions.values()))
    for entity_type, target in path.items():
        if entity_type.name == "request":
            cls = target.rsplit(":", 1)[1]
            if cls.endswith("Request"):
                return cls[: -len("Request")]
    return "".join(part.capitalize() for part in snake.split("_"))


def served() -> list[tuple[int, tuple[int, int], str]]:
    rows: dict[int, tuple[tuple[int, int], str]] = {}
    for module in registry.MODULES:
        for api_key, versions in module.VERSIONS.items():
            if api_key in rows:
                raise SystemExit(f"API key {api_key} is claimed by two modules")
            rows[api_key] = (versions, module.__name__)
    return [(k, v, m) for k, (v, m) in sorted(rows.items())]


def table() -> str:
    lines = [
        "| API key | API | versions served | newest in Kafka's schemas (kio) | handler |",
        "| ---: | --- | --- | ---: | --- |",
    ]
    for api_key, (lo, hi), module in served():
        newest = max(schema_name_map[api_key_map[api_key]])
        lines.append(f"| {api_key} | {kafka_name(api_key)} | {lo}–{hi} | {newest} | `{module}` |")
    return "\n".join(lines)


def render(doc: str) -> str:
    try:
        head, rest = doc.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{DOC} lacks the markers {BEGIN!r} … {END!r}") from None
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="update docs/COMPATIBILITY.md")
    group.add_argument(
        "--check", action="store_true", help="fail if docs/COMPATIBILITY.md is stale"
    )
    args = parser.parse_args()
    if not (args.write or args.check):
        print(table())
        return 0
    current = DOC.read_text()
    updated = render(current)
    if args.check:
        if updated != current:
            print(
                f"{DOC.relative_to(ROOT)} is out of date: run python docs/gen_compat.py --write",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
