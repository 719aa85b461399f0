"""Plumbing shared by the drills: moto, PostgreSQL databases, agents, an idempotent
producer that records what was acknowledged, and the consume-everything-back check."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.conftest import PG_ADMIN, ServerProcess, _pg_admin, free_port, wait_port

__all__ = ["PG_ADMIN", "ServerProcess", "free_port", "wait_port"]

AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


# -- environment -------------------------------------------------------------------------


class Moto:
    """moto's S3 server in a subprocess (the CLI's; tests pass their session fixture's URL)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, proc=self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def make_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"chaos-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket=bucket)
    return bucket


def list_objects(endpoint: str, bucket: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


class PgDatabase:
    def __init__(self) -> None:
        self.name = f"sh_chaos_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{self.name}"')
        self.url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{self.name}"

    def url_via(self, port: int) -> str:
        """The same database through a proxy listening on 127.0.0.1:port."""
        user = PG_ADMIN.split("://", 1)[1].split("@", 1)[0]
        return f"postgresql://{user}@127.0.0.1:{port}/{self.name}"

    def drop(self) -> None:
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception:  # noqa: BLE001 — best effort (PG may be restarting)
            pass


@dataclass
class Env:
    """What a drill runs in: a work folder, an S3 endpoint (moto) and a bucket."""

    workdir: Path
    s3_endpoint: str
    started: list[ServerProcess] = field(default_factory=list)
    cleanups: list[Any] = field(default_factory=list)

    def agent(self, name: str, catalogue: str, bucket: str, *, s3_endpoint: str | None = None,
              extra: list[str] | None = None) -> ServerProcess:
        env = {**AWS, "AWS_ENDPOINT_URL": s3_endpoint or self.s3_endpoint}
        a = ServerProcess(self.workdir / name, extra=[
            "--catalogue", catalogue, "--objects", f"s3://{bucket}/chaos", "--agent-id", name,
            *(extra or [])], env=env)
        self.started.append(a)
        return a

    def close(self) -> None:
        for a in self.started:
            if a.proc is not None and a.proc.poll() is None:
                a.proc.kill()
                a.proc.wait(10)
        for c in reversed(self.cleanups):
            try:
                c()
            except Exception:  # noqa: BLE001
                pass


# -- clients -----------------------------------------------------------------------------


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions)])[topic].result(15)
    wait_for(lambda: len(leaders(bootstrap, topic)) == partitions, 15, what="topic metadata")


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return {p.id: p.leader for p in md.topics[topic].partitions.values()}


def node_id_of(bootstrap: str, agent: ServerProcess) -> int:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    for b in md.brokers.values():
        if b.port == agent.port:
            return int(b.id)
    raise LookupError(f"agent on port {agent.port} not in metadata")


def wait_for(predicate: Any, timeout: float, step: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # noqa: BLE001 — metadata may fail while a fault lasts
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise TimeoutError(f"{what} not true within {timeout}s (last: {last!r})")


class Workload:
    """One producer in a thread, at a bounded rate; every acknowledgement is recorded with
    its time, partition and offset. ``idempotent`` producers use acks=all (librdkafka
    requires it); acks=1 runs without idempotence and without retries."""

    def __init__(self, bootstrap: str, topic: str, *, acks: str = "all", rate: int = 1000,
                 tag: str = "w", message_timeout_ms: int = 60000) -> None:
        self.topic = topic
        self.tag = tag.encode()
        self.rate = rate
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "linger.ms": 5,
            "message.timeout.ms": message_timeout_ms,
            "metadata.max.age.ms": 2000,
            "topic.metadata.refresh.interval.ms": 1000,
            "reconnect.backoff.max.ms": 500,
            "log_level": 2,
        }
        if acks == "all":
            conf["enable.idempotence"] = True
        else:
            conf["enable.idempotence"] = False
            conf["retries"] = 0
        self.producer = Producer(conf)
        self.acked: list[tuple[float, bytes, int, int]] = []  # (time, value, partition, offset)
        self.errors: list[str] = []
        self.produced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Workload:
        self._thread.start()
        return self

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            self.acked.append((time.monotonic(), msg.value(), msg.partition(), msg.offset()))

    def _run(self) -> None:
        step = 0.02
        per_step = max(1, int(self.rate * step))
        next_t = time.monotonic()
        while not self._stop.is_set():
            for _ in range(per_step):
                try:
                    self.producer.produce(self.topic, value=b"%s-%09d" % (self.tag, self.produced),
                                          on_delivery=self._on_delivery)
                    self.produced += 1
                except BufferError:
                    break
            self.producer.poll(0)
            next_t += step
            delay = next_t - time.monotonic()
            if delay > 0:
                self.producer.poll(delay)
            else:
                next_t = time.monotonic()

    def stop(self, flush_timeout: float = 90) -> int:
        self._stop.set()
        self._thread.join(30)
        return self.producer.flush(flush_timeout)

    def acked_count(self) -> int:
        return len(self.acked)

    def wait_acks(self, n: int, timeout: float) -> None:
        wait_for(lambda: len(self.acked) >= n, timeout, step=0.05, what=f"{n} acks")


def consume_all(bootstrap: str, topic: str, partitions: int, timeout: float = 60,
                settle: bool = False) -> dict[int, list[tuple[int, bytes]]]:
    """Every record of the topic, per partition, as (offset, value), read from the earliest
    offset up to the high watermark (waited on until it stops moving if ``settle``)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        ends: dict[int, tuple[int, int]] = {}
        while True:
            now = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
                   for p in range(partitions)}
            if now == ends or not settle:
                ends = now
                break
            ends = now
            time.sleep(1.0)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got: dict[int, list[tuple[int, bytes]]] = {p: [] for p in range(partitions)}
        pos = {p: ends[p][0] for p in range(partitions)}
        deadline = time.monotonic() + timeout
        while any(pos[p] < ends[p][1] for p in pos) and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got[m.partition()].append((m.offset(), m.value()))
            pos[m.partition()] = m.offset() + 1
        return got
    finally:
        c.close()


@dataclass
class Result:
    drill: str
    acknowledged: int
    recovered: int
    lost: int
    duplicated: int
    contiguous: bool
    failover_s: float | None
    longest_gap_s: float | None = None
    produced: int = 0
    delivery_errors: int = 0
    unacked_present: int = 0
    notes: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)  # what the drill saw happen

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.contiguous


def check(drill: str, workloads: list[Workload], bootstrap: str, topic: str, partitions: int,
          fault_at: float | None = None, affected: set[int] | None = None,
          settle: bool = False) -> Result:
    got = consume_all(bootstrap, topic, partitions, settle=settle)
    values: dict[bytes, int] = {}
    contiguous = True
    gaps: list[str] = []
    for p, recs in got.items():
        offsets = [o for o, _ in recs]
        if offsets and offsets != list(range(offsets[0], offsets[0] + len(offsets))):
            contiguous = False
            gaps.append(f"partition {p}: offsets not contiguous (first {offsets[0]}, "
                        f"{len(offsets)} records, last {offsets[-1]})")
        for _, v in recs:
            values[v] = values.get(v, 0) + 1
    acked = {v for w in workloads for _, v, _, _ in w.acked}
    recovered = sum(1 for v in acked if v in values)
    failover = None
    if fault_at is not None:
        after = [t for w in workloads for t, _, p, _ in w.acked
                 if t > fault_at and (affected is None or p in affected)]
        failover = (min(after) - fault_at) if after else None
    times = sorted(t for w in workloads for t, *_ in w.acked if fault_at is None or t > fault_at - 1)
    gap = max((b - a for a, b in zip(times, times[1:], strict=False)), default=None)
    return Result(
        drill=drill,
        acknowledged=len(acked),
        recovered=recovered,
        lost=len(acked) - recovered,
        duplicated=sum(n - 1 for n in values.values() if n > 1),
        contiguous=contiguous,
        failover_s=failover,
        longest_gap_s=gap,
        produced=sum(w.produced for w in workloads),
        delivery_errors=sum(len(w.errors) for w in workloads),
        unacked_present=sum(1 for v in values if v not in acked),
        gaps=gaps,
    )
