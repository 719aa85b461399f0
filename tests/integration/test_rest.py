"""The REST API against a running server: every endpoint, its errors, and the way across to Kafka."""

import base64
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from kafka.partitioner.default import murmur2 as kafka_murmur2

from streamhouse.api.partitioner import murmur2
from tests.wire import first_message

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api(server):
    # Read-after-write checks below want durable acks; the default (buffered) has its own test.
    with httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30,
                      headers={"X-Ack-Mode": "durable"}) as client:
        yield client


def test_health_and_ready(api):
    assert api.get("/health").json() == {"status": "ok"}
    ready = api.get("/ready")
    assert ready.status_code == 200 and ready.json()["catalogue"] == "ok"


def test_topics_crud_and_errors(api):
    created = api.post(
        "/api/v1/topics",
        json={"name": "orders", "partitions": 3, "config": {"retention.ms": "60000"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["partitions"] == 3
    assert api.post("/api/v1/topics", json={"name": "orders"}).status_code == 409
    bad = api.post("/api/v1/topics", json={"name": "bad name"})
    assert bad.status_code == 422 and "topic name" in bad.json()["message"]
    bad_cfg = api.post("/api/v1/topics", json={"name": "x", "config": {"retention.ms": "soon"}})
    assert bad_cfg.status_code == 422 and bad_cfg.json()["error"] == "invalid_config"
    assert [t["name"] for t in api.get("/api/v1/topics").json()] == ["orders"]
    got = api.get("/api/v1/topics/orders").json()
    assert got["config"] == {"retention.ms": "60000"}
    patched = api.patch(
        "/api/v1/topics/orders",
        json={"partitions": 5, "config": {"retention.ms": None, "cleanup.policy": "delete"}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["partitions"] == 5 and patched.json()["config"] == {
        "cleanup.policy": "delete"
    }
    shrink = api.patch("/api/v1/topics/orders", json={"partitions": 2})
    assert shrink.status_code == 422
    parts = api.get("/api/v1/topics/orders/partitions").json()
    assert [p["partition"] for p in parts] == [0, 1, 2, 3, 4]
    assert all(p["leader_agent"] and p["leader_epoch"] >= 1 for p in parts[:3])
    assert api.delete("/api/v1/topics/orders").status_code == 204
    missing = api.get("/api/v1/topics/orders")
    assert missing.status_code == 404 and missing.json() == {
        "error": "topic_not_found",
        "message": "topic 'orders' does not exist",
    }
    assert api.delete("/api/v1/topics/orders").status_code == 404


def test_key_hashing_matches_kafkas_default_partitioner():
    for key in [b"", b"a", b"ab", b"abc", b"abcd", b"user-42", bytes(range(37))]:
        assert murmur2(key) & 0x7FFFFFFF == kafka_murmur2(key) & 0x7FFFFFFF


def test_produce_and_consume(api, server):
    api.post("/api/v1/topics", json={"name": "r", "partitions": 2})
    body = {
        "topic": "r",
        "records": [
            {
                "key": "k1",
                "value": "plain text",
                "partition": 0,
                "timestamp": 1000,
                "headers": [{"key": "h", "value": "v"}],
            },
            {
                "key": "k2",
                "value": {"json": [1, 2]},
                "encoding": "json",
                "partition": 0,
                "timestamp": 2000,
            },
            {
                "value": base64.b64encode(b"\x00\xffbin").decode(),
                "encoding": "base64",
                "partition": 0,
                "timestamp": 3000,
            },
        ],
    }
    produced = api.post("/api/v1/produce", json=body)
    assert produced.status_code == 200, produced.text
    assert [r["offset"] for r in produced.json()["records"]] == [0, 1, 2]
    got = api.get("/api/v1/consume", params={"topic": "r", "partition": 0}).json()
    values = [(r["value"], r["value_encoding"]) for r in got["records"]]
    assert values == [
        ("plain text", "text"),
        ('{"json":[1,2]}', "text"),
        (base64.b64encode(b"\x00\xffbin").decode(), "base64"),
    ]
    assert got["records"][0]["headers"] == [{"key": "h", "value": "v", "encoding": "text"}]
    assert got["next_offset"] == 3 == got["high_watermark"]
    by_time = api.get("/api/v1/consume", params={"topic": "r", "timestamp": 1500}).json()
    assert [r["offset"] for r in by_time["records"]] == [1, 2]
    limited = api.get(
        "/api/v1/consume", params={"topic": "r", "offset": 1, "max_records": 1}
    ).json()
    assert [r["offset"] for r in limited["records"]] == [1] and limited["next_offset"] == 2
    assert api.get("/api/v1/consume", params={"topic": "r", "offset": 99}).status_code == 416
    assert api.get("/api/v1/consume", params={"topic": "r", "partition": 9}).status_code == 404
    assert api.get("/api/v1/consume", params={"topic": "r", "max_records": 5000}).status_code == 422
    bad64 = api.post(
        "/api/v1/produce", json={"topic": "r", "records": [{"value": "!!", "encoding": "base64"}]}
    )
    assert bad64.status_code == 422
    assert api.post("/api/v1/produce", json={"topic": "r", "records": []}).status_code == 422
    # The route validates its own body: the same 422s and messages as FastAPI's, and the
    # schema is still in /openapi.json for clients and schemathesis.
    typo = api.post("/api/v1/produce", json={"topic": "r", "records": [{"value": "x", "partition": -1}]})
    assert typo.status_code == 422 and typo.json()["error"] == "invalid_request"
    assert typo.json()["message"].startswith("records.0.partition: Input should be greater than")
    broken = api.post("/api/v1/produce", content=b'{"topic": "r", "records": [',
                      headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["message"]
    huge_ts = api.post("/api/v1/produce", json={"topic": "r", "records": [{"value": "x", "timestamp": 2**63}]})
    assert huge_ts.status_code == 422 and "timestamp" in huge_ts.json()["message"]
    # A JSON value is stored as sent: an integer past 64 bits stays exact.
    big = api.post("/api/v1/produce", content=b'{"topic":"big","records":[{"value":{"id":'
                   b'123456789012345678901234567890},"encoding":"json"}]}',
                   headers={"Content-Type": "application/json"})
    assert big.status_code == 200, big.text
    stored = api.get("/api/v1/consume", params={"topic": "big"}).json()["records"][0]["value"]
    assert stored == '{"id":123456789012345678901234567890}'
    form = api.post("/api/v1/produce", content=b"topic=r", headers={"Content-Type": "text/plain"})
    assert form.status_code == 415 and "application/json" in form.json()["message"]
    spec = api.get("/openapi.json").json()
    body_schema = spec["paths"]["/api/v1/produce"]["post"]["requestBody"]["content"]["application/json"]
    assert body_schema["schema"] == {"$ref": "#/components/schemas/ProduceRequest"}
    assert {"ProduceRequest", "ProduceRecord", "ProduceHeader"} <= set(spec["components"]["schemas"])
    wrong = api.post(
        "/api/v1/produce", json={"topic": "r", "records": [{"value": "x", "partition": 7}]}
    )
    assert wrong.status_code == 404


@pytest.mark.parametrize("mode", ["none", "buffered", "durable", ""])
def test_ack_modes(api, mode):
    # An empty header value stands for "no header": the default, buffered.
    headers = {"X-Ack-Mode": mode} if mode else {}
    plain = httpx.Client(base_url=str(api.base_url), timeout=30)
    resp = (api if mode else plain).post(
        "/api/v1/produce",
        headers=headers,
        json={"topic": f"acks-{mode or 'default'}", "records": [{"value": "v", "partition": 0}] * 5},
    )
    plain.close()
    assert resp.status_code == 200 and resp.json()["ack_mode"] == (mode or "buffered")
    mode = mode or "default"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got = api.get("/api/v1/consume", params={"topic": f"acks-{mode}"}).json()
        if len(got["records"]) == 5:
            break
        time.sleep(0.05)
    assert len(got["records"]) == 5
    assert (
        api.post(
            "/api/v1/produce",
            headers={"X-Ack-Mode": "maybe"},
            json={"topic": "x", "records": [{"value": "v"}]},
        ).status_code
        == 422
    )


def test_rest_and_kafka_see_the_same_log(api, server):
    api.post("/api/v1/topics", json={"name": "both", "partitions": 3})
    keys = [f"user-{i}" for i in range(30)]
    produced = api.post(
        "/api/v1/produce",
        json={"topic": "both", "records": [{"key": k, "value": f"rest-{k}"} for k in keys]},
    ).json()["records"]
    # REST's key hashing puts each key where a Kafka client's default partitioner would.
    p = Producer({"bootstrap.servers": server.bootstrap, "partitioner": "murmur2_random"})
    placed = {}
    for k in keys:
        p.produce(
            "both",
            key=k.encode(),
            value=f"kafka-{k}".encode(),
            on_delivery=lambda err, msg: placed.__setitem__(msg.key().decode(), msg.partition()),
        )
    assert p.flush(10) == 0
    assert {k: r["partition"] for k, r in zip(keys, produced, strict=True)} == placed
    c = Consumer(
        {
            "bootstrap.servers": server.bootstrap,
            "group.id": "rest-check",
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition("both", part, 0) for part in range(3)])
    seen = []
    deadline = time.monotonic() + 15
    while len(seen) < 60 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    assert sorted(seen) == sorted([f"rest-{k}" for k in keys] + [f"kafka-{k}" for k in keys])
    via_rest = []
    for part in range(3):
        via_rest += [
            r["value"]
            for r in api.get(
                "/api/v1/consume", params={"topic": "both", "partition": part, "max_records": 1000}
            ).json()["records"]
        ]
    assert sorted(via_rest) == sorted(seen)


def test_consumer_groups(api, server):
    api.post("/api/v1/topics", json={"name": "g", "partitions": 2})
    api.post(
        "/api/v1/produce",
        json={
            "topic": "g",
            "records": [
                {"value": f"v{i}", "partition": i % 2, "timestamp": 1000 * (i + 1)}
                for i in range(10)
            ],
        },
    )
    c = Consumer(
        {
            "bootstrap.servers": server.bootstrap,
            "group.id": "grp",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe(["g"])
    got = 0
    deadline = time.monotonic() + 15
    while got < 6 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    # Before any commit: the member's assignment, and lag rows for what it was assigned.
    fresh = api.get("/api/v1/consumer-groups/grp").json()
    assert fresh["members"][0]["assignment"] == [{"topic": "g", "partitions": [0, 1]}]
    assert sorted((r["topic"], r["partition"], r["committed_offset"]) for r in fresh["offsets"]) == [
        ("g", 0, -1), ("g", 1, -1)]
    assert fresh["total_lag"] == 10
    c.commit(asynchronous=False)
    groups = api.get("/api/v1/consumer-groups").json()
    assert [(g["group_id"], g["state"], g["members"]) for g in groups] == [("grp", "Stable", 1)]
    detail = api.get("/api/v1/consumer-groups/grp").json()
    assert detail["members"][0]["client_host"].startswith("/127.0.0.1")
    assert detail["total_lag"] == 10 - got
    refused = api.post("/api/v1/consumer-groups/grp/reset", json={"strategy": "earliest"})
    assert refused.status_code == 409 and refused.json()["error"] == "group_not_empty"
    assert api.delete("/api/v1/consumer-groups/grp").status_code == 409
    c.close()
    lag = api.get("/api/v1/consumer-groups/grp/lag").json()
    assert sum(r["lag"] for r in lag) == 10 - got
    earliest = api.post("/api/v1/consumer-groups/grp/reset", json={"strategy": "earliest"}).json()
    assert [r["committed_offset"] for r in earliest["offsets"]] == [0, 0]
    latest = api.post(
        "/api/v1/consumer-groups/grp/reset", json={"strategy": "latest", "topic": "g"}
    ).json()
    assert [r["lag"] for r in latest["offsets"]] == [0, 0]
    by_time = api.post(
        "/api/v1/consumer-groups/grp/reset",
        json={"strategy": "timestamp", "timestamp": 5000, "partition": 0},
    ).json()
    assert by_time["offsets"][0]["committed_offset"] == 2  # records 4 (t=5000) is offset 2 of p0
    seek = api.post(
        "/api/v1/consumer-groups/grp/seek", json={"topic": "g", "partition": 1, "offset": 3}
    ).json()
    assert seek["offsets"][1]["committed_offset"] == 3
    assert (
        api.post("/api/v1/consumer-groups/grp/reset", json={"strategy": "specific"}).status_code
        == 422
    )
    assert api.delete("/api/v1/consumer-groups/grp").status_code == 204
    assert api.get("/api/v1/consumer-groups/grp").status_code == 404


def test_agents_cluster_and_metrics(api, server):
    api.post("/api/v1/produce", json={"topic": "m", "records": [{"value": "x" * 100}] * 20})
    agents = api.get("/api/v1/agents").json()
    assert len(agents) == 1 and agents[0]["healthy"] and agents[0]["port"] == server.port
    detail = api.get(f"/api/v1/agents/{agents[0]['id']}").json()
    assert detail["id"] == agents[0]["id"] and detail["records_written"] >= 20
    assert detail["bytes_written"] > 2000
    assert {(x["topic"], x["partition"]) for x in detail["leases"]} >= {("m", 0)}
    assert all(x["epoch"] >= 1 for x in detail["leases"])
    assert api.get("/api/v1/agents/nobody").status_code == 404
    cluster = api.get("/api/v1/cluster").json()
    assert (
        cluster["agents_healthy"] == 1
        and cluster["partitions"] >= 1
        and cluster["storage_bytes"] > 0
    )
    summary = api.get("/api/v1/metrics").json()
    assert summary["produce_records_total"] >= 20 and summary["topics"] >= 1
    before = api.get("/metrics").text
    api.post("/api/v1/produce", json={"topic": "m", "records": [{"value": "y"}] * 7})
    after = api.get("/metrics").text

    def value(text: str, name: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name + "{") or line.startswith(name + " ")
        )

    assert (
        value(after, "streamhouse_producer_records_total")
        == value(before, "streamhouse_producer_records_total") + 7
    )
    assert value(after, "streamhouse_s3_requests_total") > value(
        before, "streamhouse_s3_requests_total"
    )
    # The Kafka side: requests and their latency, fetched records and bytes, connections,
    # error codes of any API, leases.
    p = Producer({"bootstrap.servers": server.bootstrap, "acks": "all"})
    for i in range(5):
        p.produce("m", value=b"k%d" % i)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "metrics-g",
                  "enable.auto.commit": False})
    c.assign([TopicPartition("m", 0, 0)])
    got = 0
    deadline = time.monotonic() + 15
    while got < 32 and time.monotonic() < deadline:
        m = c.poll(0.5)
        got += m is not None and not m.error()
    c.close()
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": server.bootstrap})  # kept: it runs the future
    deleting = admin.delete_consumer_groups(["no-such-group"], request_timeout=10)["no-such-group"]
    with pytest.raises(KafkaException) as refused:
        deleting.result(10)
    assert refused.value.args[0].name() == "GROUP_ID_NOT_FOUND"
    during = api.get("/metrics").text
    assert value(during, 'streamhouse_request_errors_total{api="delete_groups",'
                         'error="group_id_not_found"}') == 1
    assert got == 32
    assert value(during, "streamhouse_fetch_records_total") >= value(
        before, "streamhouse_fetch_records_total") + 32
    assert value(during, "streamhouse_fetch_bytes_total") > value(before, "streamhouse_fetch_bytes_total")
    assert value(during, 'streamhouse_requests_total{api="fetch"}') > 0
    assert value(during, 'streamhouse_request_latency_seconds_count{api="produce"}') >= 1
    assert value(during, "streamhouse_connections_active") >= 1
    assert value(during, "streamhouse_partitions_led") >= 1


def test_metrics_pass_promtool(api):
    assert shutil.which("promtool"), (
        "promtool is missing: apt-get install prometheus (make test does)"
    )
    api.post("/api/v1/produce", json={"topic": "p", "records": [{"value": "v"}]})
    text = api.get("/metrics").text
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_promtool_and_name_metrics_we_serve(api):
    """deploy/prometheus/alerts.yml: valid, its unit tests pass (alerts fire when they
    should, not before), and every streamhouse_* series it reads is one /metrics serves."""
    rules = ROOT / "deploy" / "prometheus"
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        result = subprocess.run(["promtool", *args], cwd=rules, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    api.post("/api/v1/produce", json={"topic": "alerts", "records": [{"value": "v"}]})
    served = set(re.findall(r"^# TYPE (\S+) ", api.get("/metrics").text, re.MULTILINE))
    read = set(re.findall(r"streamhouse_[a-z0-9_]+", (rules / "alerts.yml").read_text()))
    assert len(read) >= 10
    missing = {name for name in read if re.sub(r"_bucket$", "", name) not in served}
    assert not missing, f"alerts.yml reads metrics /metrics does not serve: {sorted(missing)}"


def test_openapi_with_schemathesis(api, server, tmp_path):
    """No 500s, and every response matches the schema, across generated requests."""
    assert api.get("/openapi.json").json()["info"]["title"] == "StreamHouse"
    exe = Path(sys.executable).parent / "st"
    result = subprocess.run(
        [
            str(exe),
            "run",
            f"http://127.0.0.1:{server.http_port}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "-n",
            "15",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_ready_fails_while_the_store_is_unreachable_and_cors_is_configurable(server_factory, tmp_path):
    """/ready says 503 (and which part is down) when the object store cannot be reached;
    /health stays up. Origins given with --cors-origins get CORS answers, others do not."""
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    s = server_factory(tmp_path / "nostore", env=env, extra=[
        "--objects", "s3://nowhere/x", "--cors-origins", "http://console.example:5173"]).start()
    with httpx.Client(base_url=f"http://127.0.0.1:{s.http_port}", timeout=60) as api:
        assert api.get("/health").status_code == 200
        ready = api.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["catalogue"] == "ok" and ready.json()["objects"] != "ok"
        pre = api.options("/api/v1/topics", headers={
            "Origin": "http://console.example:5173", "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "http://console.example:5173"
        other = api.get("/api/v1/topics", headers={"Origin": "http://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
    s.kill()


def test_rest_errors_for_unknown_things(api):
    api.post("/api/v1/topics", json={"name": "known", "partitions": 2})
    for method, path, body in [
        ("PATCH", "/api/v1/topics/ghost", {"partitions": 3}),
        ("GET", "/api/v1/topics/ghost/partitions", None),
        ("GET", "/api/v1/consumer-groups/ghost/lag", None),
        ("GET", "/api/v1/consumer-groups/ghost", None),
    ]:
        r = api.request(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert set(r.json()) == {"error", "message"} and r.json()["message"]
    # A reset naming an unknown topic or partition, on a group with offsets.
    api.post("/api/v1/consumer-groups/g-err/seek", json={"topic": "known", "partition": 0, "offset": 0})
    bad_topic = api.post("/api/v1/consumer-groups/g-err/reset", json={"strategy": "earliest", "topic": "ghost"})
    assert bad_topic.status_code == 404 and bad_topic.json()["error"] == "topic_not_found"
    bad_part = api.post("/api/v1/consumer-groups/g-err/reset",
                        json={"strategy": "latest", "topic": "known", "partition": 7})
    assert bad_part.status_code == 404 and bad_part.json()["error"] == "partition_not_found"


def test_binary_keys_and_headers_round_trip(api, server):
    raw_key, raw_header = b"\x00\xffkey", b"\x80\x81"
    r = api.post("/api/v1/produce", json={"topic": "bin", "records": [{
        "key": base64.b64encode(raw_key).decode(), "key_encoding": "base64",
        "value": "v", "headers": [
            {"key": "h-bin", "value": base64.b64encode(raw_header).decode(), "encoding": "base64"},
            {"key": "h-text", "value": "plain"}]}]})
    assert r.status_code == 200, r.text
    got = api.get("/api/v1/consume", params={"topic": "bin"}).json()["records"][0]
    assert (got["key"], got["key_encoding"]) == (base64.b64encode(raw_key).decode(), "base64")
    assert got["headers"] == [
        {"key": "h-bin", "value": base64.b64encode(raw_header).decode(), "encoding": "base64"},
        {"key": "h-text", "value": "plain", "encoding": "text"}]
    m = first_message(server.bootstrap, "bin", "bin-g")
    assert m is not None and m.key() == raw_key and dict(m.headers())["h-bin"] == raw_header
    bad = api.post("/api/v1/produce", json={"topic": "bin", "records": [
        {"value": "v", "headers": [{"key": "h", "value": "%%%", "encoding": "base64"}]}]})
    assert bad.status_code == 422 and "header 'h'" in bad.json()["message"]


def test_console_endpoints_whoami_configs_and_the_message_browser(api):
    me = api.get("/api/v1/whoami").json()
    assert me["auth"] is False and me["kind"] == "anonymous" and me["can_write"]
    assert me["org_id"] == "default" and not me["platform_admin"]
    assert api.post("/api/v1/topics", json={"name": "browse", "partitions": 2,
                                            "config": {"retention.ms": "3600000"}}
                    ).status_code == 201
    configs = {c["name"]: c for c in api.get("/api/v1/topics/browse/configs").json()}
    assert configs["retention.ms"] == {"name": "retention.ms", "value": "3600000",
                                       "source": "topic"}
    assert configs["cleanup.policy"]["source"] == "default"
    assert api.get("/api/v1/topics/nope/configs").status_code == 404
    records = [{"key": f"k{i}", "value": f"v{i}", "partition": i % 2, "timestamp": 1000 + i,
                "headers": [{"key": "n", "value": str(i)}]} for i in range(30)]
    assert api.post("/api/v1/produce", json={"topic": "browse", "records": records}
                    ).status_code == 200
    topic = api.get("/api/v1/topics/browse").json()
    assert topic["written"] == 30 and topic["last_append_at"] > 0
    first = api.get("/api/v1/topics/browse/messages", params={"limit": 10}).json()
    assert [r["value"] for r in first["records"]] == [f"v{i}" for i in range(10)]
    assert first["has_newer"] and not first["has_older"] and first["after"] == "0:5,1:5"
    nxt = api.get("/api/v1/topics/browse/messages",
                  params={"cursor": first["after"], "limit": 10}).json()
    assert [r["value"] for r in nxt["records"]] == [f"v{i}" for i in range(10, 20)]
    back = api.get("/api/v1/topics/browse/messages",
                   params={"cursor": nxt["before"], "direction": "backward", "limit": 10}).json()
    assert back["records"] == first["records"]
    newest = api.get("/api/v1/topics/browse/messages",
                     params={"position": "latest", "limit": 4}).json()
    assert [r["value"] for r in newest["records"]] == ["v26", "v27", "v28", "v29"]
    at = api.get("/api/v1/topics/browse/messages",
                 params={"position": "timestamp", "timestamp": 1025, "partitions": "1"}).json()
    assert [r["offset"] for r in at["records"]] == [12, 13, 14]  # i = 25, 27, 29
    found = api.get("/api/v1/topics/browse/messages",
                    params={"value": "v2", "header": "n=21"}).json()
    assert [(r["partition"], r["offset"], r["headers"][0]["value"]) for r in found["records"]
            ] == [(1, 10, "21")]
    for bad in ({"cursor": "x"}, {"partitions": "a"}, {"since": 5, "until": 4}):
        refused = api.get("/api/v1/topics/browse/messages", params=bad)
        assert refused.status_code == 422 and refused.json()["message"], bad
    assert api.get("/api/v1/topics/browse/messages", params={"partitions": "7"}
                   ).status_code == 404
