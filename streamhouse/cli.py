"""`streamhouse serve` and friends."""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import admin, config
from .logging import configure
from .memory import tune_allocator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="streamhouse", description="Kafka-compatible broker on object storage",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    # No abbreviations: `--lease-ttl 10` must not quietly mean `--lease-ttl-ms 10`.
    serve = sub.add_parser("serve", help="run an agent (embedded default: everything under ./data)",
                           allow_abbrev=False)
    config.add_arguments(serve)
    admin.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "admin":
        return admin.run(args)
    try:
        settings = config.load(args)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    configure(settings.log_format, settings.log_level)
    tune_allocator()  # before the agent's threads start (streamhouse/memory.py says why)
    from .app import serve as run

    if sys.platform == "linux":
        import uvloop

        uvloop.install()
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # a port in use, an unreachable catalogue or store
        print(f"streamhouse: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
