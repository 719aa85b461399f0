"""Two organizations through every client over SASL (PLAIN and SCRAM): the same topic and
group names, each organization reading back only its own records and listing only its own
topics. Clients: confluent-kafka, kafka-python, aiokafka, kafkajs, kcat."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ADMIN_SECRET, Broker

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def orgs(broker: Broker) -> dict[str, tuple[str, str]]:
    """Two organizations, each with an admin API key: slug -> (key id, secret)."""
    if broker.sasl_bootstrap is None or broker.http is None:
        pytest.fail("set STREAMHOUSE_SASL_BOOTSTRAP and STREAMHOUSE_HTTP for an external broker",
                    pytrace=False)
    admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    out = {}
    for slug in (f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"):
        org = httpx.post(f"{broker.http}/api/v1/organizations", json={"slug": slug},
                         headers=admin)
        assert org.status_code == 201, org.text
        key = httpx.post(f"{broker.http}/api/v1/organizations/{org.json()['id']}/api-keys",
                         json={"scope": "admin"}, headers=admin)
        assert key.status_code == 201, key.text
        out[slug] = (key.json()["id"], key.json()["secret"])
    return out


def _confluent(bootstrap: str, mechanism: str, user: str, secret: str, topic: str,
               values: list[str]) -> tuple[list[str], list[str]]:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": secret}
    p = Producer(conf)
    for v in values:
        p.produce(topic, value=v.encode())
    assert p.flush(20) == 0
    c = Consumer({**conf, "group.id": "shared-group", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    read: list[str] = []
    deadline = time.monotonic() + 30
    while len(read) < len(values) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            read.append(m.value().decode())
    c.close()
    return read, sorted(AdminClient(conf).list_topics(timeout=10).topics)


def _kafka_python(bootstrap: str, mechanism: str, user: str, secret: str, topic: str,
                  values: list[str]) -> tuple[list[str], list[str]]:
    from kafka import KafkaConsumer, KafkaProducer

    conf: dict[str, Any] = {"bootstrap_servers": bootstrap, "security_protocol": "SASL_PLAINTEXT",
                            "sasl_mechanism": mechanism, "sasl_plain_username": user,
                            "sasl_plain_password": secret}
    p = KafkaProducer(**conf)
    for v in values:
        p.send(topic, v.encode()).get(timeout=20)
    p.close()
    c = KafkaConsumer(topic, group_id="shared-group", auto_offset_reset="earliest",
                      consumer_timeout_ms=15000, **conf)
    read = []
    for m in c:
        read.append(m.value.decode())
        if len(read) >= len(values):
            break
    topics = sorted(c.topics())
    c.close()
    return read, topics


def _aiokafka(bootstrap: str, mechanism: str, user: str, secret: str, topic: str,
              values: list[str]) -> tuple[list[str], list[str]]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    conf: dict[str, Any] = {"bootstrap_servers": bootstrap, "security_protocol": "SASL_PLAINTEXT",
                            "sasl_mechanism": mechanism, "sasl_plain_username": user,
                            "sasl_plain_password": secret}

    async def run() -> tuple[list[str], list[str]]:
        p = AIOKafkaProducer(**conf)
        await p.start()
        try:
            for v in values:
                await p.send_and_wait(topic, v.encode())
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic, group_id="shared-group", auto_offset_reset="earliest", **conf)
        await c.start()
        read: list[str] = []
        try:
            deadline = time.monotonic() + 30
            while len(read) < len(values) and time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=500)
                for records in batch.values():
                    read += [r.value.decode() for r in records]
            topics = sorted(await c.topics())
        finally:
            await c.stop()
        return read, topics

    return asyncio.run(run())


def _kafkajs(bootstrap: str, mechanism: str, user: str, secret: str, topic: str,
             values: list[str]) -> tuple[list[str], list[str]]:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    out = subprocess.run([node, str(HERE / "kafkajs" / "sasl_roundtrip.js"), bootstrap,
                          mechanism.lower(), user, secret, topic, "shared-group", *values],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["read"], answer["topics"]


def _kcat(bootstrap: str, mechanism: str, user: str, secret: str, topic: str,
          values: list[str]) -> tuple[list[str], list[str]]:
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is not installed"
    sasl = ["-b", bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}",
            "-X", f"sasl.password={secret}"]
    subprocess.run([kcat, *sasl, "-P", "-t", topic], input="\n".join(values) + "\n", text=True,
                   check=True, timeout=60, capture_output=True)
    read = subprocess.run([kcat, *sasl, "-C", "-t", topic, "-e", "-o", "beginning", "-q"],
                          capture_output=True, text=True, check=True, timeout=60)
    listed = subprocess.run([kcat, *sasl, "-L", "-J"], capture_output=True, text=True,
                            check=True, timeout=60)
    topics = sorted(t["topic"] for t in json.loads(listed.stdout)["topics"])
    return read.stdout.split(), topics


CLIENTS = [
    ("confluent-kafka", _confluent, "PLAIN", "SCRAM-SHA-512"),
    ("kafka-python", _kafka_python, "SCRAM-SHA-512", "PLAIN"),
    ("aiokafka", _aiokafka, "SCRAM-SHA-256", "SCRAM-SHA-512"),
    ("kafkajs", _kafkajs, "SCRAM-SHA-512", "PLAIN"),
    ("kcat", _kcat, "SCRAM-SHA-256", "PLAIN"),
]


@pytest.mark.parametrize("client,run,mech_a,mech_b", CLIENTS, ids=[c[0] for c in CLIENTS])
def test_two_organizations_stay_apart(broker: Broker, orgs: dict[str, tuple[str, str]],
                                      client: str, run: Any, mech_a: str, mech_b: str,
                                      need_tool: Any) -> None:
    if client == "kafkajs":
        need_tool(shutil.which("node") is not None
                  and (HERE / "kafkajs" / "node_modules" / "kafkajs").exists(),
                  "kafkajs is not installed (cd compat-tests/kafkajs && npm ci)")
    if client == "kcat":
        need_tool(shutil.which("kcat") is not None, "kcat is not installed")
    assert broker.sasl_bootstrap is not None
    topic = f"orders-{client}"  # the same name in both organizations
    (a, (key_a, secret_a)), (b, (key_b, secret_b)) = sorted(orgs.items())
    read_a, topics_a = run(broker.sasl_bootstrap, mech_a, key_a, secret_a, topic,
                           [f"{a}-1", f"{a}-2"])
    read_b, topics_b = run(broker.sasl_bootstrap, mech_b, key_b, secret_b, topic, [f"{b}-1"])
    assert sorted(read_a) == [f"{a}-1", f"{a}-2"]
    assert read_b == [f"{b}-1"]
    # Each lists its own topics only: the other's (and the open default organization's)
    # never show.
    assert topic in topics_a and topic in topics_b
    assert not [t for t in topics_a if t.startswith("compat-")]
    assert set(topics_a) <= {f"orders-{c[0]}" for c in CLIENTS}
