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

## Examples (real output)

```console
$ streamctl topic create orders-demo -p 3 -c retention.ms=604800000
Created topic orders-demo with 3 partition(s)
$ printf 'alice {"item":"book"}\nbob {"item":"pen"}\n' | streamctl topic produce orders-demo -f '%k %v'
Produced 2 record(s) to orders-demo in 0.0 s (52/s, ack mode durable)
$ streamctl topic consume orders-demo -f '%p:%o %k %v\n'
2:0 alice {"item":"book"}
2:1 bob {"item":"pen"}
$ streamctl topic consume orders-demo -J -n 1
{"topic":"orders-demo","partition":2,"offset":0,"timestamp":1796224752612,"key":"alice","value":"{\"item\":\"book\"}","headers":[]}
$ streamctl topic describe orders-demo
Topic: orders-demo
Partitions: 3
Retention: 7d
Cleanup policy: delete
Size: 112 B
Records: 2
Overrides: retention.ms=604800000
┏━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━┓
┃ Partition ┃ Leader         ┃ Epoch ┃ Log start ┃ High watermark ┃ Records ┃ Size  ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━┩
│ 0         │ agent-55184cb6 │ 1     │ 0         │ 0              │ 0       │ 0 B   │
│ 1         │ agent-55184cb6 │ 1     │ 0         │ 0              │ 0       │ 0 B   │
│ 2         │ agent-55184cb6 │ 1     │ 0         │ 2              │ 2       │ 112 B │
└───────────┴────────────────┴───────┴───────────┴────────────────┴─────────┴───────┘
$ streamctl schema check orders-value -f order-v2.avsc
✗ Not compatible (BACKWARD): type_mismatch at /fields/0/type (fields: id ("string" cannot be read as "int")): reader type: int not compatible with writer type: string (the new schema cannot read data written with version 1)
$ echo $?
5
$ streamctl topic describe nope; echo $?
streamctl: topic 'nope' does not exist (HTTP 404)
4
```
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
