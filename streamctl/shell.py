"""`streamctl shell`: the commands at a prompt, with history and completion of commands,
options, and topic and group names from the server (cached a few seconds)."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document

# Which argument of which command names a topic or a group.
TOPIC_COMMANDS = {("topic", c) for c in ("describe", "alter", "add-partitions", "delete",
                                         "produce", "consume")}
GROUP_COMMANDS = {("group", c) for c in ("describe", "reset", "seek", "delete")}


def command_tree() -> dict[str, dict[str, list[str]]]:
    """{group: {subcommand: [options]}} from the typer app itself, so it never drifts."""
    import typer.main

    from .main import app

    root = typer.main.get_command(app)
    tree: dict[str, dict[str, list[str]]] = {}
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            tree[name] = {s: sorted(o for p in c.params for o in p.opts if o.startswith("-"))
                          for s, c in subs.items()}
        else:
            tree[name] = {}
    return tree


class Names:
    """Topic and group names from the server, refreshed at most every `ttl` seconds."""

    def __init__(self, fetch: Any, ttl: float = 5.0) -> None:
        self._fetch, self._ttl = fetch, ttl
        self._cache: dict[str, tuple[float, list[str]]] = {}

    def get(self, kind: str) -> list[str]:
        at, names = self._cache.get(kind, (0.0, []))
        if time.monotonic() - at > self._ttl:
            try:
                names = self._fetch(kind)
            except Exception:  # the server away: complete what is known
                pass
            self._cache[kind] = (time.monotonic(), names)
        return names


def completer(tree: dict[str, dict[str, list[str]]], names: Names):  # type: ignore[no-untyped-def]
    from prompt_toolkit.completion import Completer, Completion

    class StreamctlCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent
                            ) -> Iterable[Completion]:
            text = document.text_before_cursor
            try:
                words = shlex.split(text)
            except ValueError:
                return
            if text.endswith(" ") or not text:
                words.append("")
            current = words[-1]
            done = words[:-1]
            if not done:
                options = list(tree) + ["exit", "help"]
            elif len(done) == 1:
                options = list(tree.get(done[0], {}))
            else:
                key = (done[0], done[1])
                flags = tree.get(done[0], {}).get(done[1], [])
                positional = [w for w in done[2:] if not w.startswith("-")]
                if current.startswith("-"):
                    options = flags
                elif key in TOPIC_COMMANDS and not positional:
                    options = names.get("topics")
                elif key in GROUP_COMMANDS and not positional:
                    options = names.get("groups")
                else:
                    options = flags
            for o in sorted(options):
                if o.startswith(current):
                    yield Completion(o, start_position=-len(current))

    return StreamctlCompleter()


def run_shell() -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    from . import config
    from .errors import CliError
    from .main import app, state

    def fetch(kind: str) -> list[str]:
        api = state.api()
        if kind == "topics":
            return [t["name"] for t in api.get("/api/v1/topics")]
        return [g["group_id"] for g in api.get("/api/v1/consumer-groups")]

    history = config.path().with_name("history")
    history.parent.mkdir(parents=True, exist_ok=True)
    if not history.exists():  # it may hold typed credentials: the owner's only
        import os

        os.close(os.open(history, os.O_CREAT | os.O_WRONLY, 0o600))
    # Each line runs the app again, whose callback resets the global options: the shell's
    # own (--profile, -X, --output, --debug) go with every line.
    started_with = [*(["--profile", state.profile] if state.profile else []),
                    *[x for o in state.overrides for x in ("-X", o)],
                    "--output", state.output, *(["--debug"] if state.debug else [])]
    profile = state.resolve()
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)), completer=completer(command_tree(), Names(fetch)),
        complete_while_typing=True)
    sys.stdout.write(f"streamctl shell on {profile.name} ({profile.rest}); Tab completes,"
                     " Ctrl-D or exit leaves\n")
    while True:
        try:
            line = session.prompt(f"streamctl({profile.name})> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        line = line.strip()
        if not line:
            continue
        if line in ("exit", "quit"):
            return
        try:
            args = shlex.split(line)
        except ValueError as exc:
            sys.stderr.write(f"streamctl: {exc}\n")
            continue
        if args[0] == "help":
            args = [*args[1:], "--help"]
        if args[0] == "shell":
            continue
        try:
            app(args=[*started_with, *args], standalone_mode=False)
        except CliError as exc:
            sys.stderr.write(f"streamctl: {exc.message}\n")
        except SystemExit:
            pass
        except Exception as exc:
            import click

            if isinstance(exc, click.ClickException):
                exc.show()
            else:
                sys.stderr.write(f"streamctl: {type(exc).__name__}: {exc}\n")
        sys.stdout.flush()
