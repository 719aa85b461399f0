"""docs/CLI.md from the command tree itself (`python -m streamctl.docs > docs/CLI.md`);
a test compares the two, so the page never drifts from the commands."""

from __future__ import annotations

import sys
from typing import Any

INTRO = """# streamctl

The command line for StreamHouse. It speaks to the REST API, the schema registry and
the Kafka protocol of the profile's cluster (`streamctl profile create`), like any
client would. Every command takes `--output table|json|yaml` (JSON is stable for
scripts) where it prints data; `--debug` shows a failure's full trace.

Exit codes: 0 done, 1 failed, 2 usage (a bad argument, or the server refused the
request as invalid), 3 credentials refused (401/403), 4 not found, 5 conflict (exists
already, not compatible, group not empty), 6 unreachable or unavailable.

Offsets (`topic consume -o`, `group reset --to`): `start`, `end`, an offset, `+N` (after
the start), `-N` (before the end), `@2026-12-01T10:00` (UTC unless it says otherwise),
`@-1h`, `@-30m`, `@<ms>`.

Formats: `topic consume -f` takes `%t` topic, `%p` partition, `%o` offset, `%T`
timestamp (ms), `%d` timestamp (ISO), `%k` key, `%v` value, `%h` headers, `%K`/`%V`
lengths, `\\n` `\\t`; `-J` writes one JSON envelope per record. `topic produce -f`
splits each line by `%k`, `%v`, `%p`, `%h` (`k=v,...`).

This page is generated from the commands: `python -m streamctl.docs > docs/CLI.md`.
"""


def _params(cmd: Any) -> list[str]:
    import click

    lines = []
    for p in cmd.params:
        if p.name in ("help",):
            continue
        if isinstance(p, click.Argument):
            lines.append(f"- `{p.human_readable_name}` (argument)")
            continue
        names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
        default = "" if p.default in (None, False, (), []) or p.is_flag else f" (default: `{p.default}`)"
        lines.append(f"- {names}: {(p.help or '').strip()}{default}")
    return lines


def render() -> str:
    import typer.main

    from .main import app

    root = typer.main.get_command(app)
    out = [INTRO, "## Global options", "", *_params(root), ""]
    for name, cmd in sorted(root.commands.items()):  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out += [f"## {name}", "", (cmd.help or "").strip(), ""]
            for sub, c in sorted(subs.items()):
                out += [f"### streamctl {name} {sub}", "", (c.help or "").strip(), "",
                        *_params(c), ""]
        else:
            out += [f"## streamctl {name}", "", (cmd.help or "").strip(), "", *_params(cmd), ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
