"""`streamctl`, the real binary in a subprocess, against a real server: tables and JSON,
exit codes that mean something, profiles, and a group reset previewed then applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer

from tests.conftest import ServerProcess

STREAMCTL = str(Path(sys.executable).parent / "streamctl")


def run(env: dict[str, str], *args: str, input: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STREAMCTL, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, input=input)


@pytest.fixture
def env(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    return {"STREAMCTL_CONFIG": str(tmp_path / "streamctl.toml"),
            "STREAMCTL_REST": f"http://127.0.0.1:{server.http_port}",
            "STREAMCTL_BOOTSTRAP": server.bootstrap, "COLUMNS": "160"}


def test_topics_in_tables_and_json_with_meaningful_exit_codes(env) -> None:
    made = run(env, "topic", "create", "orders", "-p", "3", "-c", "retention.ms=3600000")
    assert made.returncode == 0 and "Created topic orders with 3 partition(s)" in made.stdout
    again = run(env, "topic", "create", "orders")
    assert again.returncode == 5 and "already exists" in again.stderr  # conflict
    assert again.stderr.count("\n") == 1  # one line, no trace
    listed = json.loads(run(env, "-o", "json", "topic", "list").stdout)
    assert [(t["name"], t["partitions"]) for t in listed] == [("orders", 3)]
    table = run(env, "topic", "list").stdout
    assert "orders" in table and "Partitions" in table
    described = run(env, "topic", "describe", "orders").stdout
    assert "Partitions: 3" in described and "Retention: 1h" in described
    assert "Cleanup policy: delete" in described and "Records: 0" in described
    as_json = json.loads(run(env, "topic", "describe", "orders", "-o", "json").stdout)
    assert len(as_json["partition_states"]) == 3
    assert {c["name"]: c["source"] for c in as_json["configs"]}["retention.ms"] == "topic"
    assert run(env, "topic", "alter", "orders", "-c", "cleanup.policy=compact").returncode == 0
    assert run(env, "topic", "alter", "orders", "-d", "retention.ms").returncode == 0
    cfg = json.loads(run(env, "-o", "json", "topic", "describe", "orders").stdout)["config"]
    assert cfg == {"cleanup.policy": "compact"}
    bad = run(env, "topic", "alter", "orders", "-c", "retention.ms=soon")
    assert bad.returncode == 2 and "retention.ms" in bad.stderr
    grown = run(env, "topic", "add-partitions", "orders", "--to", "5")
    assert grown.returncode == 0 and "now has 5 partitions" in grown.stdout
    missing = run(env, "topic", "describe", "nope")
    assert missing.returncode == 4 and "topic 'nope' does not exist" in missing.stderr
    assert run(env, "-o", "xml", "topic", "list").returncode == 2
    refused = run(env, "topic", "delete", "orders", input="n\n")
    assert refused.returncode == 1 and run(env, "topic", "list", "-o", "json").stdout.count("orders")
    assert run(env, "topic", "delete", "orders", "-y").returncode == 0
    assert json.loads(run(env, "-o", "yaml", "topic", "list").stdout or "[]") == []
    down = run({**env, "STREAMCTL_REST": "http://127.0.0.1:1"}, "topic", "list")
    assert down.returncode == 6 and "is StreamHouse running?" in down.stderr


def test_whoami_health_cluster_and_agents(env, server) -> None:
    me = json.loads(run(env, "-o", "json", "whoami").stdout)
    assert me["kind"] == "anonymous" and not me["auth"]
    assert "logins are off" in run(env, "whoami").stdout
    assert run(env, "health").stdout.strip() == "ready: catalogue ok, objects ok"
    info = json.loads(run(env, "-o", "json", "cluster", "info").stdout)
    assert info["agents_healthy"] == 1
    agents = json.loads(run(env, "-o", "json", "agents", "list").stdout)
    assert agents[0]["port"] == server.port and agents[0]["healthy"]
    one = run(env, "agents", "describe", agents[0]["id"]).stdout
    assert f"Agent: {agents[0]['id']}" in one and "Healthy: yes" in one
    assert run(env, "agents", "describe", "nope").returncode == 4


def test_profiles_hide_secrets_and_are_chosen(env, server, tmp_path) -> None:
    plain = {k: v for k, v in env.items() if k != "STREAMCTL_REST"}
    made = run(plain, "profile", "create", "here", "--rest", env["STREAMCTL_REST"],
               "--credentials", "KEY1:s3cret")
    assert made.returncode == 0 and "in use" in made.stdout
    run(plain, "profile", "create", "elsewhere", "--rest", "http://127.0.0.1:1", "--no-use")
    profiles = json.loads(run(plain, "-o", "json", "profile", "list").stdout)
    assert {p["name"]: (p["current"], p["credentials"]) for p in profiles} == {
        "here": (True, "KEY1:****"), "elsewhere": (False, "")}
    assert "s3cret" not in run(plain, "profile", "list").stdout
    assert oct(Path(env["STREAMCTL_CONFIG"]).stat().st_mode & 0o777) == "0o600"
    assert run(plain, "topic", "list").returncode == 0  # "here" (open mode ignores the key)
    assert run(plain, "--profile", "elsewhere", "topic", "list").returncode == 6
    unknown = run(plain, "--profile", "nope", "topic", "list")
    assert unknown.returncode == 2 and "no profile 'nope'" in unknown.stderr
    assert run(plain, "profile", "use", "elsewhere").returncode == 0
    assert run(plain, "topic", "list").returncode == 6
    assert run(plain, "profile", "use", "nope").returncode == 4


def test_group_reset_dry_run_then_apply(env, server) -> None:
    http = httpx.Client(base_url=env["STREAMCTL_REST"], headers={"X-Ack-Mode": "durable"})
    http.post("/api/v1/topics", json={"name": "events", "partitions": 2})
    http.post("/api/v1/produce", json={"topic": "events", "records": [
        {"value": f"e{i}", "partition": i % 2, "timestamp": 1_000_000 + i} for i in range(10)]})
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "readers",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["events"])
    got, deadline = 0, time.monotonic() + 30
    while got < 10 and time.monotonic() < deadline:
        got += sum(1 for m in c.consume(100, 0.5) if m.error() is None)
    c.commit(asynchronous=False)
    c.close()
    described = run(env, "group", "describe", "readers").stdout
    assert "State: Empty" in described and "Total lag: 0" in described
    dry = json.loads(run(env, "-o", "json", "group", "reset", "readers", "--to", "earliest",
                         "--dry-run").stdout)
    assert dry["dry_run"] and sorted((o["old"], o["new"]) for o in dry["offsets"]) == [(5, 0), (5, 0)]
    assert json.loads(run(env, "-o", "json", "group", "list").stdout)[0]["total_lag"] == 0
    table = run(env, "group", "reset", "readers", "--to", "@1970-01-01T00:16:40.006",
                "--topic", "events", "--dry-run").stdout
    assert "Old" in table and "New" in table
    applied = run(env, "group", "reset", "readers", "--to", "1", "--partition", "0",
                  "--topic", "events", "-y")
    assert applied.returncode == 0 and "Reset 1 partition(s) of readers" in applied.stdout
    lag = {(r["topic"], r["partition"]): r["committed_offset"]
           for r in http.get("/api/v1/consumer-groups/readers/lag").json()}
    assert lag == {("events", 0): 1, ("events", 1): 5}
    sought = run(env, "group", "seek", "readers", "--topic", "events", "--partition", "1",
                 "--offset", "2")
    assert sought.returncode == 0 and "events[1] at 2 (lag 3)" in sought.stdout
    copied = run(env, "group", "reset", "copy", "--to-group", "readers", "-y")
    assert copied.returncode == 0 and "Reset 2 partition(s) of copy" in copied.stdout
    copy_lag = {(r["topic"], r["partition"]): r["committed_offset"]
                for r in http.get("/api/v1/consumer-groups/copy/lag").json()}
    assert copy_lag == {("events", 0): 1, ("events", 1): 2}
    assert run(env, "group", "reset", "readers").returncode == 2  # --to or --to-group
    bad = run(env, "group", "reset", "readers", "--to", "sometime")
    assert bad.returncode == 2 and "earliest, latest" in bad.stderr
    assert run(env, "group", "delete", "readers", "-y").returncode == 0
    assert run(env, "group", "describe", "readers").returncode == 4


def test_produce_a_100k_line_file_and_read_it_back_exactly(env, tmp_path) -> None:
    assert run(env, "topic", "create", "bulk", "-p", "3").returncode == 0
    lines = [f"k{i % 97}\t{{\"n\": {i}}}" for i in range(100_000)]
    src = tmp_path / "records.txt"
    src.write_text("\n".join(lines) + "\n")
    made = run(env, "topic", "produce", "bulk", "--file", str(src), "-f", "%k\\t%v",
               "--ack-mode", "buffered")
    assert made.returncode == 0, made.stderr
    assert "Produced 100,000 record(s) to bulk" in made.stderr
    out = run(env, "topic", "consume", "bulk", "-f", "%k\\t%v\\n")
    assert out.returncode == 0
    assert sorted(out.stdout.splitlines()) == sorted(lines)
    # Keys kept their partition: each key on one partition only.
    envelopes = [json.loads(x) for x in run(env, "topic", "consume", "bulk", "-J").stdout.splitlines()]
    homes: dict[str, set[int]] = {}
    for e in envelopes:
        homes.setdefault(e["key"], set()).add(e["partition"])
    assert len(envelopes) == 100_000 and all(len(p) == 1 for p in homes.values())


def test_consume_grammar_edge_cases(env, server) -> None:
    assert run(env, "topic", "create", "empty").returncode == 0
    nothing = run(env, "topic", "consume", "empty")
    assert nothing.returncode == 0 and nothing.stdout == ""
    http = httpx.Client(base_url=env["STREAMCTL_REST"], headers={"X-Ack-Mode": "durable"})
    http.post("/api/v1/topics", json={"name": "few", "partitions": 1})
    http.post("/api/v1/produce", json={"topic": "few", "records": [
        {"key": f"k{i}", "value": f"v{i}", "timestamp": 1_700_000_000_000 + i * 1000,
         "headers": [{"key": "n", "value": str(i)}]} for i in range(5)]})

    def values(*args: str) -> list[str]:
        r = run(env, "topic", "consume", "few", *args)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    assert values() == ["v0", "v1", "v2", "v3", "v4"]
    assert values("-o", "3") == ["v3", "v4"]
    assert values("-o", "99") == []  # past the end: nothing, not an error
    assert values("-o", "end") == []
    assert values("-o", "+1", "-n", "2") == ["v1", "v2"]
    assert values("-o", "-2") == ["v3", "v4"]
    assert values("-o", "-99") == values()  # more than there is: from the start
    assert values("-o", "@2020-01-01T00:00") == values()  # before the first record
    assert values("-o", "@1700000002500") == ["v3", "v4"]
    assert values("-o", "@2099-01-01T00:00") == []  # after the last
    assert values("-f", "%p:%o %k %h %T\\n", "-n", "1") == ["0:0 k0 n=0 1700000000000"]
    env_line = json.loads(values("-J", "-n", "1")[0])
    assert env_line == {"topic": "few", "partition": 0, "offset": 0,
                        "timestamp": 1_700_000_000_000, "key": "k0", "value": "v0",
                        "headers": [["n", "0"]]}
    bad = run(env, "topic", "consume", "few", "-o", "sometime")
    assert bad.returncode == 2 and "use start, end" in bad.stderr
    assert run(env, "topic", "consume", "few", "-f", "%q").returncode == 2
    assert run(env, "topic", "consume", "nope").returncode == 4
    assert run(env, "topic", "consume", "few", "-p", "3").returncode == 4
    # The consume follows: a record produced while it runs arrives.
    follow = subprocess.Popen([STREAMCTL, "topic", "consume", "few", "-o", "end", "-F", "-n", "1"],
                              env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    assert run(env, "topic", "produce", "few", "late").returncode == 0
    assert follow.communicate(timeout=30)[0] == "late\n"


def test_schemas(env, server, tmp_path) -> None:
    env = {**env, "STREAMCTL_REGISTRY": f"http://127.0.0.1:{server.registry_port}"}
    v1 = tmp_path / "v1.avsc"
    v1.write_text(json.dumps({"type": "record", "name": "O", "fields": [
        {"name": "id", "type": "string"}]}))
    bad = tmp_path / "bad.avsc"
    bad.write_text(json.dumps({"type": "record", "name": "O", "fields": [
        {"name": "id", "type": "int"}]}))
    good = tmp_path / "v2.avsc"
    good.write_text(json.dumps({"type": "record", "name": "O", "fields": [
        {"name": "id", "type": "string"}, {"name": "n", "type": "int", "default": 0}]}))
    made = run(env, "schema", "register", "orders-value", "-f", str(v1))
    assert made.returncode == 0 and made.stdout.startswith("Registered as ID ")
    assert "(version 1 of orders-value)" in made.stdout
    check = run(env, "schema", "check", "orders-value", "-f", str(bad))
    assert check.returncode == 5 and "✗ Not compatible (BACKWARD)" in check.stdout
    ok = run(env, "schema", "check", "orders-value", "-f", str(good))
    assert ok.returncode == 0 and ok.stdout.strip() == "✓ Compatible (BACKWARD)"
    assert run(env, "schema", "register", "orders-value", "-f", str(bad)).returncode == 5
    assert run(env, "schema", "register", "orders-value", "-f", str(good)).returncode == 0
    listed = json.loads(run(env, "-o", "json", "schema", "list").stdout)
    assert [(s["subject"], s["version"], s["type"]) for s in listed] == [("orders-value", 2, "AVRO")]
    got = run(env, "schema", "get", "orders-value", "-v", "1").stdout
    assert got.startswith("# orders-value version 1") and '"name": "id"' in got
    assert run(env, "schema", "config", "orders-value", "--set", "full").stdout.strip() == "orders-value: FULL"
    assert run(env, "schema", "config").stdout.strip() == "global: BACKWARD"
    assert run(env, "schema", "delete", "orders-value", "-v", "1", "-y").returncode == 0
    assert run(env, "schema", "delete", "orders-value", "--permanent", "-y").returncode == 0
    assert json.loads(run(env, "-o", "json", "schema", "list").stdout) == []
    assert run(env, "schema", "get", "orders-value").returncode == 4


def test_organizations_keys_acls_and_refused_credentials(server_factory, tmp_path) -> None:
    from tests.integration.test_tenancy import ADMIN_SECRET

    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_SECRET + "\n")
    from tests.conftest import free_port

    s = server_factory(tmp_path / "server", extra=[
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{free_port()}",
        "--admin-key-file", str(key_file)]).start()
    base = {"STREAMCTL_CONFIG": str(tmp_path / "c.toml"), "COLUMNS": "160",
            "STREAMCTL_REST": f"http://127.0.0.1:{s.http_port}"}
    admin = {**base, "STREAMCTL_CREDENTIALS": ADMIN_SECRET}
    anon = run(base, "topic", "list")
    assert anon.returncode == 3 and "credentials" in anon.stderr
    wrong = run({**base, "STREAMCTL_CREDENTIALS": "NOPE:nope"}, "topic", "list")
    assert wrong.returncode == 3 and wrong.stderr.count("\n") == 1
    made = json.loads(run(admin, "-o", "json", "org", "create", "acme", "--plan", "pro").stdout)
    org = made["id"]
    assert any(o["slug"] == "acme" for o in json.loads(run(admin, "-o", "json", "org", "list").stdout))
    key = json.loads(run(admin, "-o", "json", "key", "create", "--scope", "admin", "--org", org).stdout)
    acme = {**base, "STREAMCTL_CREDENTIALS": f"{key['id']}:{key['secret']}"}
    assert "in organization acme" in run(acme, "whoami").stdout
    reader = run(acme, "key", "create", "--scope", "read-only")
    assert reader.returncode == 0 and "shown only now" in reader.stdout
    keys = json.loads(run(acme, "-o", "json", "key", "list").stdout)
    assert sorted(k["scope"] for k in keys) == ["admin", "read-only"]
    assert "storage" in run(acme, "org", "describe").stdout
    assert run(admin, "quota", "set", "topics", "5", "--org", org).returncode == 0
    quotas = json.loads(run(acme, "-o", "json", "quota", "get").stdout)
    assert quotas["quotas"][""]["topics"] == 5
    added = run(acme, "acl", "create", "--principal", "User:bob", "--operation", "read",
                "--topic", "orders-", "--prefixed")
    assert added.returncode == 0 and "ALLOW User:bob READ on TOPIC orders- (prefix)" in added.stdout
    acls = json.loads(run(acme, "-o", "json", "acl", "list").stdout)
    assert [(a["principal"], a["pattern_type"]) for a in acls] == [("User:bob", "PREFIXED")]
    bad = run(acme, "acl", "create", "--principal", "User:bob", "--operation", "write",
              "--group", "g")
    assert bad.returncode == 2 and "GROUP supports only" in bad.stderr
    assert run(acme, "acl", "delete", "--principal", "User:bob").stdout.strip() == "Removed 1 ACL(s)"
    assert run(admin, "org", "suspend", org).stdout.strip() == "acme is suspended"
    assert run(acme, "topic", "list").returncode == 3
    s.stop()


def test_the_shell_completes_names_and_runs_commands(env, tmp_path) -> None:
    """The REPL through a pseudo-terminal: Tab completes a topic name from the server,
    a failing command prints its one line and the prompt comes back, history is kept."""
    import pexpect

    assert run(env, "topic", "create", "orders-eu", "-p", "2").returncode == 0
    p = pexpect.spawn(STREAMCTL, ["shell"], env={**os.environ, **env}, encoding="utf-8",
                      timeout=20, dimensions=(40, 160))
    prompt = r"streamctl\(local\)>"
    p.expect(prompt)
    p.send("topic describe orders-")
    time.sleep(1.0)  # completions come while typing
    p.send("\t")
    time.sleep(0.5)
    p.send("\r")
    p.expect("Topic: orders-eu")
    p.expect("Partitions: 2")
    p.expect(prompt)
    p.send("topic describe nope\r")
    p.expect("topic 'nope' does not exist")
    p.expect(prompt)
    p.send("group lis")
    time.sleep(1.0)
    p.send("\t\r")
    p.expect("Group")  # the table's header
    p.expect(prompt)
    p.send("exit\r")
    p.expect(pexpect.EOF)
    history = (tmp_path / "history").read_text()
    assert "topic describe nope" in history


def test_registry_encoding_round_trip(env, server) -> None:
    """--schema-subject writes JSON with a registered schema; --decode reads it back, and
    reads what Confluent's own serializers wrote (Protobuf with references included)."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from tests.integration.test_registry import order_class

    env = {**env, "STREAMCTL_REGISTRY": f"http://127.0.0.1:{server.registry_port}"}
    reg = httpx.Client(base_url=env["STREAMCTL_REGISTRY"])
    schemas = {
        "avro-value": {"schema": json.dumps({"type": "record", "name": "O", "fields": [
            {"name": "id", "type": "string"}, {"name": "qty", "type": "int"}]})},
        "json-value": {"schemaType": "JSON", "schema": json.dumps({
            "type": "object", "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}},
            "required": ["id"]})},
        "proto-value": {"schemaType": "PROTOBUF", "schema":
                        'syntax = "proto3"; package t; message O { string id = 1; int32 qty = 2; }'},
    }
    for subject, body in schemas.items():
        assert reg.post(f"/subjects/{subject}/versions", json=body).status_code == 200
        topic = subject.removesuffix("-value")
        assert run(env, "topic", "create", topic).returncode == 0
        made = run(env, "topic", "produce", topic, "-s", subject, '{"id": "a", "qty": 2}',
                   '{"id": "b", "qty": 3}')
        assert made.returncode == 0, made.stderr
        raw = run(env, "topic", "consume", topic, "-f", "%v\\n").stdout.encode(errors="ignore")
        assert b'"id"' not in raw or topic == "json"  # framed binary, not JSON (but JSON Schema)
        got = [json.loads(json.loads(line)["value"]) for line in
               run(env, "topic", "consume", topic, "-J", "--decode").stdout.splitlines()]
        assert got == [{"id": "a", "qty": 2}, {"id": "b", "qty": 3}], topic
    refused = run(env, "topic", "produce", "avro", "-s", "avro-value", '{"id": "c"}')
    assert refused.returncode == 2 and "Avro schema" in refused.stderr
    # Confluent's Protobuf serializer, with a reference and a well-known type.
    order = order_class()
    client = SchemaRegistryClient({"url": env["STREAMCTL_REGISTRY"]})
    ser = ProtobufSerializer(order, client, {"use.deprecated.format": False})
    assert run(env, "topic", "create", "orders").returncode == 0
    p = Producer({"bootstrap.servers": server.bootstrap})
    total = order().total.__class__
    msg = order(id="o1", total=total(cents=1250, currency="EUR"))
    msg.placed.seconds = 1_700_000_000
    p.produce("orders", value=ser(msg, SerializationContext("orders", MessageField.VALUE)))
    assert p.flush(10) == 0
    decoded = run(env, "topic", "consume", "orders", "--decode")
    assert decoded.returncode == 0, decoded.stderr
    line = decoded.stdout.strip()
    assert json.loads(line) == {"id": "o1", "total": {"cents": "1250", "currency": "EUR"},
                                "placed": "2023-11-14T22:13:20Z"}
