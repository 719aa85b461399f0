"""The command tree. Each command resolves the profile, calls the server, and prints a
table (or --output json|yaml); failures are one line on stderr and an exit code
(streamctl/errors.py), the trace only with --debug."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from . import errors
from .errors import CliError
from .paths import seg

if TYPE_CHECKING:
    from rich.console import Console

    from .api import Api
    from .config import Profile

app = typer.Typer(no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                  help="The command line for StreamHouse: topics, records, groups, schemas,"
                       " organizations.\n\nExample: streamctl topic list")
profile_app = typer.Typer(no_args_is_help=True, help="Named clusters and their credentials.")
topic_app = typer.Typer(no_args_is_help=True, help="Create, list, describe, change and delete topics.")
group_app = typer.Typer(no_args_is_help=True, help="Consumer groups: describe, reset, seek, delete.")
cluster_app = typer.Typer(no_args_is_help=True, help="The cluster as a whole.")
agents_app = typer.Typer(no_args_is_help=True, help="The agents (StreamHouse processes) of the cluster.")
app.add_typer(profile_app, name="profile")
app.add_typer(topic_app, name="topic")
app.add_typer(group_app, name="group")
app.add_typer(cluster_app, name="cluster")
app.add_typer(agents_app, name="agents")


@dataclass
class State:
    profile: str | None = None
    output: str = "table"
    overrides: list[str] = field(default_factory=list)
    debug: bool = False

    def resolve(self) -> Profile:
        from .config import resolve

        return resolve(self.profile, self.overrides)

    def api(self) -> Api:
        from .api import Api

        return Api(self.resolve())


state = State()
Output = Annotated[str | None, typer.Option("--output", "-o", help="table, json or yaml")]


def _fmt(output: str | None) -> str:
    fmt = output or state.output
    if fmt not in ("table", "json", "yaml"):
        raise CliError(f"--output is table, json or yaml, not {fmt!r}", errors.USAGE)
    return fmt


@app.callback()
def main(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="a profile of the config file")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or yaml")] = "table",
    overrides: Annotated[list[str] | None, typer.Option("-X", help="a Kafka client property, key=value (repeatable)")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="show the full trace of a failure")] = False,
) -> None:
    state.profile, state.output, state.overrides, state.debug = profile, output, overrides or [], debug


# -- profiles ---------------------------------------------------------------------------


@profile_app.command("create")
def profile_create(
    name: str,
    rest: Annotated[str, typer.Option(help="the REST API's URL")] = "http://localhost:8080",
    bootstrap: Annotated[str, typer.Option(help="Kafka bootstrap servers")] = "localhost:9092",
    registry: Annotated[str, typer.Option(help="the schema registry's URL")] = "http://localhost:8081",
    credentials: Annotated[str, typer.Option(help="an API key, KEYID:SECRET")] = "",
    organization: Annotated[str, typer.Option(help="(platform admin) act in this organization")] = "",
    use: Annotated[bool, typer.Option("--use/--no-use", help="make it the current profile")] = True,
) -> None:
    """Create or replace a profile.

    Example: streamctl profile create prod --rest https://sh.example.com:8080 --credentials KEY:SECRET
    """
    from .config import Profile, load_all, save_all

    current, profiles = load_all()
    profiles[name] = Profile(name=name, rest=rest, bootstrap=bootstrap, registry=registry,
                             credentials=credentials, organization=organization)
    where = save_all(name if use or current is None else current, profiles)
    typer.echo(f"Profile {name!r} saved in {where}" + (" and in use" if use else ""))


@profile_app.command("use")
def profile_use(name: str) -> None:
    """Make a profile the current one. Example: streamctl profile use prod"""
    from .config import load_all, save_all

    _current, profiles = load_all()
    if name not in profiles:
        raise CliError(f"no profile {name!r} (profiles: {', '.join(sorted(profiles)) or 'none'})",
                       errors.NOT_FOUND)
    save_all(name, profiles)
    typer.echo(f"Using profile {name!r}")


@profile_app.command("list")
def profile_list(output: Output = None) -> None:
    """The profiles (secrets hidden), the current one marked."""
    from .config import load_all
    from .output import emit

    current, profiles = load_all()
    rows = [{**p.public(), "current": name == current} for name, p in sorted(profiles.items())]
    emit(rows, _fmt(output), columns=[("name", "Profile"), ("current", "Current", lambda v: "*" if v else ""),
                                      ("rest", "REST"), ("bootstrap", "Bootstrap"),
                                      ("credentials", "Credentials")])


# -- who, health, cluster ----------------------------------------------------------------


@app.command()
def whoami(output: Output = None) -> None:
    """Who the profile's credentials are, and in which organization."""
    from .output import emit

    me = state.api().get("/api/v1/whoami")
    text = (f"{me['principal']} ({me['kind']}, scope {me['scope'] or 'all'}) in organization"
            f" {me['org_slug']}" + (" [platform admin]" if me["platform_admin"] else "")
            + ("" if me["auth"] else "; logins are off (open mode)"))
    emit(me, _fmt(output), text=text)


@app.command()
def health(output: Output = None) -> None:
    """Whether the agent is up and its catalogue and object store answer (exit 6 if not)."""
    from .output import emit

    api = state.api()
    api.get("/health")
    try:
        ready = api.get("/ready")
    except CliError as exc:
        raise CliError(f"not ready: {exc.message}", errors.UNAVAILABLE) from None
    emit(ready, _fmt(output), text=f"ready: catalogue {ready['catalogue']}, objects {ready['objects']}")


@cluster_app.command("info")
def cluster_info(output: Output = None) -> None:
    """The cluster: agents healthy and stale, partitions, storage."""
    from .output import emit, size

    c = state.api().get("/api/v1/cluster")
    text = (f"cluster {c['cluster_id']}: {c['agents_healthy']} healthy agent(s), {c['agents_stale']}"
            f" stale; {c['partitions']} partitions; {size(c['storage_bytes'])} stored")
    emit(c, _fmt(output), text=text)


@agents_app.command("list")
def agents_list(output: Output = None) -> None:
    """The agents: address, zone, health, partitions led."""
    from .output import emit

    rows = state.api().get("/api/v1/agents")
    emit(rows, _fmt(output), columns=[
        ("id", "Agent"), ("broker_id", "Broker"), ("host", "Host"), ("port", "Port"), ("rack", "Zone"),
        ("healthy", "Healthy", lambda v: "yes" if v else "STALE"), ("partitions_led", "Led"),
        ("uptime_seconds", "Uptime s", lambda v: f"{float(v):.0f}")])


@agents_app.command("describe")
def agents_describe(agent: str, output: Output = None) -> None:
    """One agent and the partitions it leads (lease epochs and expiry)."""
    from .output import emit

    a = state.api().get(f"/api/v1/agents/{seg(agent)}")
    fmt = _fmt(output)
    if fmt != "table":
        emit(a, fmt)
        return
    typer.echo(f"Agent: {a['id']} (broker {a['broker_id']})\nAddress: {a['host']}:{a['port']}\n"
               f"Zone: {a['rack'] or '-'}  Group: {a['group']}\n"
               f"Healthy: {'yes' if a['healthy'] else 'NO (stale heartbeat)'}\n"
               f"Uptime: {a['uptime_seconds']:.0f} s\nPartitions led: {a['partitions_led']}")
    emit(a["leases"], "table", columns=[("topic", "Topic"), ("partition", "Partition"),
                                        ("epoch", "Epoch"), ("expires_at", "Lease expires (ms)")])


# -- topics ------------------------------------------------------------------------------


def _configs(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--config takes key=value, got {item!r}", errors.USAGE)
        out[key] = value
    return out


@topic_app.command("list")
def topic_list(output: Output = None) -> None:
    """Every topic: partitions, records, size."""
    from .output import emit, size

    rows = state.api().get("/api/v1/topics")
    emit(rows, _fmt(output), columns=[("name", "Topic"), ("partitions", "Partitions"),
                                      ("records", "Records"), ("size_bytes", "Size", size)])


@topic_app.command("create")
def topic_create(
    name: str,
    partitions: Annotated[int, typer.Option("--partitions", "-p", help="1 to 10,000")] = 1,
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="key=value (repeatable)")] = None,
    output: Output = None,
) -> None:
    """Create a topic. Example: streamctl topic create orders -p 6 -c retention.ms=86400000"""
    from .output import emit

    t = state.api().post("/api/v1/topics", {"name": name, "partitions": partitions,
                                            "config": _configs(config)})
    emit(t, _fmt(output), text=f"Created topic {t['name']} with {t['partitions']} partition(s)")


@topic_app.command("describe")
def topic_describe(name: str, output: Output = None) -> None:
    """A topic: its configs, partitions, leaders, watermarks, size and records."""
    from .output import emit, ms_duration, size

    api = state.api()
    t = api.get(f"/api/v1/topics/{seg(name)}")
    configs = api.get(f"/api/v1/topics/{seg(name)}/configs")
    parts = api.get(f"/api/v1/topics/{seg(name)}/partitions")
    fmt = _fmt(output)
    if fmt != "table":
        emit({**t, "configs": configs, "partition_states": parts}, fmt)
        return
    value = {c["name"]: c["value"] for c in configs}
    typer.echo(f"Topic: {t['name']}\nPartitions: {t['partitions']}\n"
               f"Retention: {ms_duration(value.get('retention.ms', '-1'))}\n"
               f"Cleanup policy: {value.get('cleanup.policy', 'delete')}\n"
               f"Size: {size(t['size_bytes'])}\nRecords: {t['records']:,}")
    overrides = {k: v for k, v in t["config"].items()}
    if overrides:
        typer.echo("Overrides: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())))
    emit(parts, "table", columns=[
        ("partition", "Partition"), ("leader_agent", "Leader"), ("leader_epoch", "Epoch"),
        ("low_watermark", "Log start"), ("high_watermark", "High watermark"), ("records", "Records"),
        ("size_bytes", "Size", size)])


@topic_app.command("alter")
def topic_alter(
    name: str,
    config: Annotated[list[str] | None, typer.Option("--config", "-c", help="key=value to set (repeatable)")] = None,
    delete: Annotated[list[str] | None, typer.Option("--delete", "-d", help="a config to reset to its default")] = None,
    output: Output = None,
) -> None:
    """Set or reset a topic's configs. Example: streamctl topic alter orders -c retention.ms=3600000"""
    from .output import emit

    change: dict[str, str | None] = {**_configs(config), **{k: None for k in delete or []}}
    if not change:
        raise CliError("nothing to change: give --config key=value or --delete key", errors.USAGE)
    t = state.api().patch(f"/api/v1/topics/{seg(name)}", {"config": change})
    emit(t, _fmt(output), text=f"Topic {name}: " + ", ".join(
        f"{k}={v}" if v is not None else f"{k} reset" for k, v in change.items()))


@topic_app.command("add-partitions")
def topic_add_partitions(
    name: str,
    count: Annotated[int, typer.Option("--to", help="the new partition count")],
    output: Output = None,
) -> None:
    """Grow a topic to --to partitions (partitions only grow)."""
    from .output import emit

    t = state.api().patch(f"/api/v1/topics/{seg(name)}", {"partitions": count})
    emit(t, _fmt(output), text=f"Topic {name} now has {t['partitions']} partitions")


@topic_app.command("delete")
def topic_delete(
    names: list[str],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Delete topics and their records. Example: streamctl topic delete old-orders -y"""
    if not yes and not typer.confirm(f"Delete {', '.join(names)} and every record in it?"):
        raise CliError("nothing deleted", errors.FAILED)
    api = state.api()
    for name in names:
        api.delete(f"/api/v1/topics/{seg(name)}")
        typer.echo(f"Deleted topic {name}")


@topic_app.command("produce")
def topic_produce(
    topic: str,
    values: Annotated[list[str] | None, typer.Argument(help="record values (else lines of --file or stdin)")] = None,
    file: Annotated[str | None, typer.Option("--file", help="read records from this file, one per line")] = None,
    key: Annotated[str | None, typer.Option("--key", "-k", help="the key of every record")] = None,
    header: Annotated[list[str] | None, typer.Option("--header", "-H", help="name=value (repeatable)")] = None,
    partition: Annotated[int | None, typer.Option("--partition", "-p", help="a fixed partition")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="how a line splits: %k key, %v value, %p partition, %h headers (k=v,...), e.g. '%k %v'")] = "%v",
    ack_mode: Annotated[str, typer.Option("--ack-mode", help="none (acks=0), buffered (acks=1), durable (acks=all)")] = "durable",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar, no summary")] = False,
    schema_subject: Annotated[str | None, typer.Option("--schema-subject", "-s", help="values are JSON, written with this subject's latest schema (Avro, JSON Schema, Protobuf)")] = None,
) -> None:
    """Write records: arguments, or one per line of --file or stdin.

    Examples: streamctl topic produce orders '{"id": 1}' -k customer-7 -H source=cli
              streamctl topic produce orders --file orders.txt --format '%k %v'
    """
    import os

    from .records import lines_of, produce, produce_with_schema, stdin_bytes

    profile = state.resolve()
    started = time.perf_counter()
    if schema_subject:
        opened = open(file, "rb") if file else None  # noqa: SIM115 (closed below)
        source = ((v.encode() for v in values) if values
                  else lines_of(opened if opened is not None else stdin_bytes()))
        try:
            delivered = produce_with_schema(state.api(), topic, source, subject=schema_subject,
                                            key=key, headers=header or [], partition=partition,
                                            ack_mode=ack_mode)
        finally:
            if opened is not None:
                opened.close()
    elif values:
        delivered, _ = produce(profile, topic, (v.encode() for v in values), fmt=fmt, key=key,
                               headers=header or [], partition=partition, ack_mode=ack_mode)
    else:
        stream = open(file, "rb") if file else stdin_bytes()  # noqa: SIM115 (closed below)
        total = os.path.getsize(file) if file else None
        try:
            if quiet or not sys.stderr.isatty() and total is None:
                delivered, _ = produce(profile, topic, lines_of(stream), fmt=fmt, key=key,
                                       headers=header or [], partition=partition,
                                       ack_mode=ack_mode)
            else:
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )

                with Progress(TextColumn("producing"), BarColumn(), DownloadColumn(),
                              TransferSpeedColumn(), TimeRemainingColumn(),
                              console=_stderr_console(), transient=False) as bar:
                    task = bar.add_task("produce", total=total)
                    delivered, _ = produce(profile, topic, lines_of(stream), fmt=fmt, key=key,
                                           headers=header or [], partition=partition,
                                           ack_mode=ack_mode,
                                           progress=lambda n: bar.advance(task, n))
        finally:
            if file:
                stream.close()
    if not quiet:
        took = time.perf_counter() - started
        sys.stderr.write(f"Produced {delivered:,} record(s) to {topic} in {took:.1f} s"
                         f" ({delivered / max(took, 1e-6):,.0f}/s, ack mode {ack_mode})\n")


@topic_app.command("consume")
def topic_consume(
    topic: str,
    offset: Annotated[str, typer.Option("--offset", "-o", help="start, end, N, +N (after the start), -N (before the end), @2026-12-01T10:00, @-1h")] = "start",
    partition: Annotated[list[int] | None, typer.Option("--partition", "-p", help="only these partitions (repeatable)")] = None,
    num: Annotated[int | None, typer.Option("--num", "-n", help="stop after this many records")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="keep reading new records (else stop at the end)")] = False,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="%t %p %o %T %d %k %v %h %K %V; default '%v\\n'")] = None,
    json_lines: Annotated[bool, typer.Option("--json", "-J", help="one JSON envelope per record (kcat -J)")] = False,
    decode: Annotated[bool, typer.Option("--decode", "-d", help="read registry-framed keys and values (Avro, JSON Schema, Protobuf) as JSON")] = False,
) -> None:
    """Read records over the Kafka protocol, to the end (or -n, or --follow).

    Examples: streamctl topic consume orders -o -10
              streamctl topic consume orders -o @-1h -f '%p:%o %k %v\\n'
              streamctl topic consume orders -J -n 100 | jq .value
    """
    from .records import consume

    profile = state.resolve()
    decoder = None
    if decode:
        from dataclasses import replace

        from .api import Api
        from .serde import Decoder

        decoder = Decoder(Api(replace(profile, rest=profile.registry)))
    try:
        consume(profile, topic, offset=offset, partitions=partition, count=num,
                follow=follow, fmt=fmt, json_lines=json_lines, out=sys.stdout.buffer,
                decoder=decoder)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # | head
        pass


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


# -- groups ------------------------------------------------------------------------------


@group_app.command("list")
def group_list(output: Output = None) -> None:
    """Every consumer group: state, members, lag."""
    from .output import emit

    rows = state.api().get("/api/v1/consumer-groups")
    emit(rows, _fmt(output), columns=[("group_id", "Group"), ("state", "State"),
                                      ("members", "Members"), ("total_lag", "Lag")])


@group_app.command("describe")
def group_describe(group: str, output: Output = None) -> None:
    """A group: its members and assignment, and per partition the committed offset and lag."""
    from .output import emit

    g = state.api().get(f"/api/v1/consumer-groups/{seg(group)}")
    fmt = _fmt(output)
    if fmt != "table":
        emit(g, fmt)
        return
    typer.echo(f"Group: {g['group_id']}\nState: {g['state']}\nAssignor: {g['protocol'] or '-'}\n"
               f"Members: {len(g['members'])}\nTotal lag: {g['total_lag']:,}")
    if g["members"]:
        emit([{**m, "assignment": "; ".join(f"{a['topic']}[{','.join(map(str, a['partitions']))}]"
                                             for a in m["assignment"])} for m in g["members"]],
             "table", columns=[("member_id", "Member"), ("client_id", "Client"),
                               ("client_host", "Host"), ("assignment", "Assignment")])
    emit(g["offsets"], "table", columns=[("topic", "Topic"), ("partition", "Partition"),
                                         ("committed_offset", "Committed"),
                                         ("high_watermark", "High watermark"), ("lag", "Lag")])


@group_app.command("reset")
def group_reset(
    group: str,
    to: Annotated[str | None, typer.Option("--to", help="earliest, latest, an offset, or a time (@2026-12-01T10:00, @-1h)")] = None,
    to_group: Annotated[str | None, typer.Option("--to-group", help="copy another group's committed offsets")] = None,
    topic: Annotated[str | None, typer.Option(help="only this topic (default: every topic of the group)")] = None,
    partition: Annotated[int | None, typer.Option(help="only this partition")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show old → new offsets, change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    output: Output = None,
) -> None:
    """Move a group's offsets (the group must be Empty). Shows old → new first.

    Examples: streamctl group reset billing --to earliest --topic orders --dry-run
              streamctl group reset billing-v2 --to-group billing -y
    """
    from .grammar import reset_body
    from .output import emit

    if (to is None) == (to_group is None):
        raise CliError("give one of --to or --to-group", errors.USAGE)
    api = state.api()
    try:
        current = api.get(f"/api/v1/consumer-groups/{seg(group)}/lag")
    except CliError as exc:
        if exc.code != errors.NOT_FOUND or to_group is None:
            raise
        current = []  # a new group, made by copying
    before = {(o["topic"], o["partition"]): o["committed_offset"] for o in current}
    if to_group is not None:
        source = [o for o in api.get(f"/api/v1/consumer-groups/{seg(to_group)}/lag")
                  if o["committed_offset"] >= 0 and (topic is None or o["topic"] == topic)
                  and (partition is None or o["partition"] == partition)]
        if not source:
            raise CliError(f"group {to_group!r} has no committed offsets to copy", errors.NOT_FOUND)
        rows = [{"topic": o["topic"], "partition": o["partition"],
                 "old": before.get((o["topic"], o["partition"]), -1), "new": o["committed_offset"],
                 "lag_after": max(0, o["high_watermark"] - o["committed_offset"])} for o in source]
    else:
        assert to is not None
        body = {**reset_body(to), "topic": topic, "partition": partition}
        preview = api.post(f"/api/v1/consumer-groups/{seg(group)}/reset", {**body, "dry_run": True})
        rows = [{"topic": o["topic"], "partition": o["partition"],
                 "old": before.get((o["topic"], o["partition"]), -1), "new": o["committed_offset"],
                 "lag_after": o["lag"]} for o in preview["offsets"]]
    fmt = _fmt(output)
    if dry_run or fmt == "table":
        emit(rows if fmt == "table" else {"group_id": group, "dry_run": dry_run, "offsets": rows},
             fmt, columns=[("topic", "Topic"), ("partition", "Partition"), ("old", "Old"),
                           ("new", "New"), ("lag_after", "Lag after")])
    if dry_run:
        return
    if not yes and not typer.confirm(f"Commit these offsets for {group}?"):
        raise CliError("nothing changed", errors.FAILED)
    if to_group is not None:
        for r in rows:
            api.post(f"/api/v1/consumer-groups/{seg(group)}/seek",
                     {"topic": r["topic"], "partition": r["partition"], "offset": r["new"]})
    else:
        api.post(f"/api/v1/consumer-groups/{seg(group)}/reset", {**body, "dry_run": False})
    if fmt == "table":
        typer.echo(f"Reset {len(rows)} partition(s) of {group}")
    else:
        emit({"group_id": group, "dry_run": False, "offsets": rows}, fmt)


@group_app.command("seek")
def group_seek(
    group: str,
    topic: Annotated[str, typer.Option(help="the topic")],
    partition: Annotated[int, typer.Option(help="the partition")],
    offset: Annotated[int, typer.Option(help="the offset to commit")],
) -> None:
    """Commit one partition's offset (the group must be Empty)."""
    r = state.api().post(f"/api/v1/consumer-groups/{seg(group)}/seek",
                         {"topic": topic, "partition": partition, "offset": offset})
    row = next(o for o in r["offsets"] if o["topic"] == topic and o["partition"] == partition)
    typer.echo(f"{group} {topic}[{partition}] at {row['committed_offset']} (lag {row['lag']})")


@group_app.command("delete")
def group_delete(
    group: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Delete an Empty group and its committed offsets."""
    if not yes and not typer.confirm(f"Delete group {group} and its offsets?"):
        raise CliError("nothing deleted", errors.FAILED)
    state.api().delete(f"/api/v1/consumer-groups/{seg(group)}")
    typer.echo(f"Deleted group {group}")


@app.command()
def shell() -> None:
    """An interactive prompt: every command, with history and completion (topic and group
    names from the server)."""
    from .shell import run_shell

    run_shell()


def _add_admin() -> None:
    from .admin import acl_app, key_app, org_app, quota_app, schema_app

    app.add_typer(schema_app, name="schema")
    app.add_typer(org_app, name="org")
    app.add_typer(key_app, name="key")
    app.add_typer(quota_app, name="quota")
    app.add_typer(acl_app, name="acl")


_add_admin()


def run(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)  # typer.Exit(n) from a command: its meaning (schema check: 5)
    except CliError as exc:
        if state.debug:
            raise
        sys.stderr.write(f"streamctl: {exc.message}\n")
        sys.exit(exc.code)
    except typer.Abort:
        sys.stderr.write("streamctl: aborted\n")
        sys.exit(errors.FAILED)
    except Exception as exc:  # click's usage errors and anything unforeseen
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(errors.USAGE)
        if state.debug:
            raise
        sys.stderr.write(f"streamctl: {type(exc).__name__}: {exc} (--debug shows where)\n")
        sys.exit(errors.FAILED)


