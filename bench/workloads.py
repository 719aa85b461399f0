"""The confluent-kafka workloads, identical for every broker and store.

Every workload is time-bounded. Figures are payload figures: MB/s counts the
record values only (1 MB = 10^6 bytes), not keys, headers or framing.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic


@dataclass
class Settings:
    produce_seconds: float = 5.0
    fetch_seconds: float = 5.0
    drain_seconds: float = 30.0
    latency_messages: int = 300
    latency_seconds: float = 30.0
    many_producers: int = 8
    many_seconds: float = 5.0
    partitions: int = 3
    linger_ms: int = 5


def wait_ready(bootstrap: str, timeout: float, alive=lambda: True) -> float:
    """Poll list_topics() until the broker answers; return seconds waited."""
    t0 = time.monotonic()
    # log_level 0: no "connection refused" noise while the broker starts
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 2000, "log_level": 0})
    last: Exception | None = None
    while time.monotonic() - t0 < timeout:
        if not alive():
            raise RuntimeError("broker process exited during start-up")
        try:
            md = admin.list_topics(timeout=1.0)
            if md.brokers:
                return time.monotonic() - t0
        except KafkaException as e:
            last = e
        time.sleep(0.2)
    raise TimeoutError(f"broker at {bootstrap} not ready after {timeout}s ({last})")


def create_topics(bootstrap: str, names: list[str], partitions: int, timeout: float = 30.0) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names],
        operation_timeout=10,
        request_timeout=15,
    )
    for _name, fut in futures.items():
        try:
            fut.result(timeout)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    # wait until every partition has a leader
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        md = admin.list_topics(timeout=5)
        ok = all(
            n in md.topics
            and md.topics[n].error is None
            and len(md.topics[n].partitions) == partitions
            and all(p.leader >= 0 for p in md.topics[n].partitions.values())
            for n in names
        )
        if ok:
            return
        time.sleep(0.2)
    raise TimeoutError(f"topics {names} not ready")


def _producer_conf(bootstrap: str, s: Settings, backlog_kb: int) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": s.linger_ms,
        "batch.size": 1_000_000,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": backlog_kb,
        "compression.type": "none",
        "enable.idempotence": False,
        "message.timeout.ms": int((s.drain_seconds + 30) * 1000),
        "delivery.report.only.error": True,
        "socket.nagle.disable": True,
    }


class _Errors:
    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def __call__(self, err, msg) -> None:
        if err is not None:
            self.count += 1
            if self.first is None:
                self.first = str(err)


def produce_throughput(
    bootstrap: str,
    topic: str,
    value_size: int,
    s: Settings,
    producers: int = 1,
    seconds: float | None = None,
) -> dict:
    """Produce as fast as the client allows for `seconds`, then drain.

    The client backlog is capped (16 MiB in total) so that the drain after the
    window stays short; throughput = acknowledged records / (first send ..
    last acknowledgement). Only errors produce delivery callbacks, so the
    Python cost per record is one produce() call for every broker alike.
    """
    seconds = s.produce_seconds if seconds is None else seconds
    backlog_kb = max(1024, 16 * 1024 // producers)
    errs = _Errors()
    ps = []
    for _ in range(producers):
        conf = _producer_conf(bootstrap, s, backlog_kb)
        conf["on_delivery"] = errs
        ps.append(Producer(conf))
    # connect + metadata before the clock starts
    for p in ps:
        p.list_topics(topic, timeout=10)
    value = b"v" * value_size
    sent = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    i = 0
    n = len(ps)
    while True:
        p = ps[i % n]
        try:
            # 1000 records per check of the clock
            for _ in range(1000):
                p.produce(topic, value)
                sent += 1
        except BufferError:
            p.poll(0.005)
        p.poll(0)
        i += 1
        if time.perf_counter() >= end:
            break
    t_window = time.perf_counter() - t0
    remaining = 0
    drain_deadline = time.perf_counter() + s.drain_seconds
    for p in ps:
        left = max(0.1, drain_deadline - time.perf_counter())
        remaining += p.flush(left)
    if remaining:
        for p in ps:
            p.purge()
            p.flush(5)
    elapsed = time.perf_counter() - t0
    acked = sent - errs.count
    return {
        "producers": producers,
        "value_size": value_size,
        "sent": sent,
        "acked": acked,
        "errors": errs.count,
        "first_error": errs.first,
        "unflushed_at_deadline": remaining,
        "window_s": t_window,
        "elapsed_s": elapsed,
        "msgs_per_s": acked / elapsed if elapsed else 0.0,
        "mb_per_s": acked * value_size / elapsed / 1e6 if elapsed else 0.0,
    }


def fetch_throughput(
    bootstrap: str, topic: str, value_size: int, s: Settings, produced: int | None = None
) -> dict:
    """Read the topic from the start with assign() (no consumer group), until
    every record produced to it is read or `fetch_seconds` pass.

    `produced` is the count acknowledged by the produce workload; the end
    offsets reported by the broker are used if they are larger."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-fetch",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
            "fetch.wait.max.ms": 100,
            "fetch.min.bytes": 1,
            "queued.max.messages.kbytes": 262_144,
            "socket.nagle.disable": True,
        }
    )
    try:
        md = c.list_topics(topic, timeout=10)
        parts = sorted(md.topics[topic].partitions)
        expected = 0
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            expected += hi - max(lo, 0)
        if produced is not None:
            expected = max(expected, produced)
        got = 0
        errors = 0
        first_error = None
        t0 = time.perf_counter()
        t_last = t0
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        deadline = t0 + s.fetch_seconds
        while got < expected and time.perf_counter() < deadline:
            msgs = c.consume(num_messages=10_000, timeout=0.2)
            if not msgs:
                continue
            for m in msgs:
                if m.error() is None:
                    got += 1
                else:
                    errors += 1
                    first_error = first_error or str(m.error())
            t_last = time.perf_counter()
        elapsed = max(t_last - t0, 1e-9)
        return {
            "value_size": value_size,
            "expected": expected,
            "consumed": got,
            "complete": got >= expected,
            "errors": errors,
            "first_error": first_error,
            "elapsed_s": elapsed,
            "msgs_per_s": got / elapsed if got else 0.0,
            "mb_per_s": got * value_size / elapsed / 1e6 if got else 0.0,
        }
    finally:
        c.close()


def produce_latency(bootstrap: str, topic: str, s: Settings, value_size: int = 100) -> dict:
    """One record in flight at a time (produce, then flush), acks=all."""
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 0,
            "enable.idempotence": False,
            "socket.nagle.disable": True,
            "message.timeout.ms": 30_000,
        }
    )
    value = b"l" * value_size
    failures = 0

    def one() -> float | None:
        nonlocal failures
        res: list = []
        t = time.perf_counter()
        p.produce(topic, value, on_delivery=lambda err, msg: res.append(err))
        p.flush(30)
        dt = time.perf_counter() - t
        if not res or res[0] is not None:
            failures += 1
            return None
        return dt

    for _ in range(10):  # warm-up: connection, metadata, first flush
        one()
    failures = 0
    lat: list[float] = []
    t0 = time.perf_counter()
    while len(lat) < s.latency_messages and time.perf_counter() - t0 < s.latency_seconds:
        dt = one()
        if dt is not None:
            lat.append(dt * 1000)
    if not lat:
        return {"count": 0, "failures": failures}
    lat.sort()

    def pct(q: float) -> float:
        # nearest-rank percentile
        k = min(len(lat) - 1, max(0, math.ceil(q * len(lat)) - 1))
        return lat[k]

    return {
        "count": len(lat),
        "failures": failures,
        "value_size": value_size,
        "elapsed_s": time.perf_counter() - t0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(lat),
        "max_ms": lat[-1],
        "min_ms": lat[0],
    }
