"""The confluent-kafka workloads, identical for every broker and store.

Every workload is time-bounded. Figures are payload figures: MB/s counts the
record values only (1 MB = 10^6 bytes), not keys, headers or framing.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
import uuid
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
    low_load_messages: int = 60
    low_load_interval: float = 0.25
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
            # librdkafka stops fetching a partition for fetch.queue.backoff.ms (1 s by
            # default) once its queue holds queued.min.messages (100k): a broker that
            # answers faster than this Python loop drains the queue then idles the
            # consumer for a whole second, and the figure measured that pause, not the
            # broker. 10 ms keeps the consumer fetching (the same for every broker).
            "fetch.queue.backoff.ms": 10,
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


def produce_latency(
    bootstrap: str,
    topic: str,
    s: Settings,
    value_size: int = 100,
    *,
    interval: float = 0.0,
    messages: int | None = None,
) -> dict:
    """One record in flight at a time (produce, then flush), acks=all.

    With `interval`, each record is sent that long after the previous one was sent
    (or at once when it took longer): a steady low load instead of back-to-back.
    """
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
    if interval:  # the warm-up ran back to back: start the paced run one interval later
        time.sleep(interval)
    lat: list[float] = []
    wanted = messages if messages is not None else s.latency_messages
    bound = max(s.latency_seconds, wanted * interval * 2)
    t0 = time.perf_counter()
    while len(lat) < wanted and time.perf_counter() - t0 < bound:
        sent = time.perf_counter()
        dt = one()
        if dt is not None:
            lat.append(dt * 1000)
        pause = interval - (time.perf_counter() - sent)
        if pause > 0:
            time.sleep(pause)
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
        "interval_s": interval,
        "elapsed_s": time.perf_counter() - t0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(lat),
        "max_ms": lat[-1],
        "min_ms": lat[0],
    }


# ------------------------------------------------------------ consumer groups


def _group_conf(bootstrap: str, group_id: str) -> dict:
    """librdkafka's defaults for the group protocol (classic, eager assignors
    range,roundrobin; session.timeout.ms 45 s, heartbeat.interval.ms 3 s), no
    auto-commit so that a partition moved by a rebalance is read from the
    start again by its new owner."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "socket.nagle.disable": True,
        "log_level": 3,  # errors only: a slow group is reported by the figures, not by log noise
    }


def _close_bounded(consumers: list, timeout: float) -> bool:
    """close() each consumer in a daemon thread; False if one did not finish
    within `timeout` (a broker that never answers LeaveGroup must not hang the run)."""
    threads = [threading.Thread(target=c.close, daemon=True) for c in consumers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def _fill_group_topic(bootstrap: str, topic: str, partitions: int, per_partition: int) -> int:
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "enable.idempotence": False,
            "message.timeout.ms": 30_000,
        }
    )
    errs = _Errors()
    for i in range(per_partition):
        for part in range(partitions):
            p.produce(topic, b"g" * 100, key=str(i).encode(), partition=part, on_delivery=errs)
    left = p.flush(30)
    if left or errs.count:
        raise RuntimeError(
            f"group topic not filled: {left} unflushed, {errs.count} errors ({errs.first})"
        )
    return partitions * per_partition


def _first_record(bootstrap: str, topic: str, timeout: float) -> dict:
    """(a) one consumer, fresh group: subscribe() -> first record from poll()."""
    c = Consumer(_group_conf(bootstrap, f"bench-single-{uuid.uuid4().hex[:8]}"))
    errors: list[str] = []
    t0 = time.perf_counter()
    c.subscribe([topic])
    took = None
    while time.perf_counter() - t0 < timeout:
        m = c.poll(0.1)
        if m is None:
            continue
        if m.error() is None:
            took = time.perf_counter() - t0
            break
        if len(errors) < 3:
            errors.append(str(m.error()))
    closed = _close_bounded([c], 15)
    return {"s": took, "timed_out": took is None, "errors": errors, "closed": closed}


class _Member:
    """A group member polling in its own thread; tracks its assignment via the
    rebalance callbacks and the time of its first record."""

    def __init__(self, bootstrap: str, group_id: str, topic: str) -> None:
        self.c = Consumer(_group_conf(bootstrap, group_id))
        self.topic = topic
        self.lock = threading.Lock()
        self.owned: set[int] = set()
        self.first_record: float | None = None
        self.records = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.leave = False  # close() when stopped (the member that leaves)
        self.close_started: float | None = None
        self.close_ended: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _assign(self, _c, parts) -> None:
        with self.lock:
            self.owned = {p.partition for p in parts}

    def _revoke(self, _c, parts) -> None:
        with self.lock:
            self.owned -= {p.partition for p in parts}

    def assignment(self) -> set[int]:
        with self.lock:
            return set(self.owned)

    def _run(self) -> None:
        self.c.subscribe(
            [self.topic], on_assign=self._assign, on_revoke=self._revoke, on_lost=self._revoke
        )
        while not self.stop.is_set():
            m = self.c.poll(0.05)
            if m is None:
                continue
            if m.error() is None:
                self.records += 1
                if self.first_record is None:
                    self.first_record = time.perf_counter()
            elif len(self.errors) < 3:
                self.errors.append(str(m.error()))
        if self.leave:
            self.close_started = time.perf_counter()
            self.c.close()
            self.close_ended = time.perf_counter()


def _covers(members: list[_Member], partitions: int) -> bool:
    """Every member owns something, the members' assignments are disjoint and
    together cover every partition."""
    owned = [m.assignment() for m in members]
    if not all(owned):
        return False
    union = set().union(*owned)
    return len(union) == partitions == sum(len(o) for o in owned)


def _wait(cond, timeout: float, since: float) -> float | None:
    while time.perf_counter() - since < timeout:
        if cond():
            return time.perf_counter() - since
        time.sleep(0.005)
    return None


def consumer_groups(
    bootstrap: str,
    topic: str,
    partitions: int = 6,
    per_partition: int = 50,
    repeats: int = 3,
    group_size: int = 3,
    timeout: float = 40.0,
) -> dict:
    """Consumer-group timings on a topic that already holds data:

    (a) one consumer, fresh group.id: subscribe() -> first record, `repeats` times;
    (b) `group_size` consumers of a fresh group, each polling in its own thread,
        subscribing at once -> every member has a record AND the members'
        assignments are disjoint, non-empty and cover every partition;
    (c) that group stable, one member close()s (LeaveGroup) -> the others own
        every partition again.
    Each figure is bounded by `timeout`; a timeout is recorded as such
    (value None, *_timed_out True), never as a number.
    """
    t_start = time.perf_counter()
    records = _fill_group_topic(bootstrap, topic, partitions, per_partition)
    out: dict = {
        "partitions": partitions,
        "records": records,
        "repeats": repeats,
        "group_size": group_size,
        "timeout_s": timeout,
    }

    # (a)
    singles = [_first_record(bootstrap, topic, timeout) for _ in range(repeats)]
    vals = [r["s"] for r in singles]
    keyed = sorted(math.inf if v is None else v for v in vals)
    n = len(keyed)
    med = keyed[n // 2] if n % 2 else (keyed[n // 2 - 1] + keyed[n // 2]) / 2
    out["single_runs_s"] = vals
    out["single_median_s"] = None if math.isinf(med) else med
    out["single_median_timed_out"] = math.isinf(med)
    out["single_max_s"] = None if math.isinf(keyed[-1]) else keyed[-1]
    out["single_max_timed_out"] = math.isinf(keyed[-1])
    out["single_errors"] = [e for r in singles for e in r["errors"]][:3]
    out["single_unclosed"] = sum(1 for r in singles if not r["closed"])

    # (b)
    gid = f"bench-group-{uuid.uuid4().hex[:8]}"
    members = [_Member(bootstrap, gid, topic) for _ in range(group_size)]
    t0 = time.perf_counter()
    for m in members:
        m.thread.start()
    ready = _wait(
        lambda: all(m.first_record is not None for m in members) and _covers(members, partitions),
        timeout,
        t0,
    )
    out["group_ready_s"] = ready
    out["group_ready_timed_out"] = ready is None
    firsts = [None if m.first_record is None else m.first_record - t0 for m in members]
    out["group_member_first_record_s"] = firsts
    out["group_assignment"] = [sorted(m.assignment()) for m in members]

    # (c)
    rebalance = None
    if ready is not None:
        leaver, rest = members[0], members[1:]
        leaver.leave = True
        leaver.stop.set()
        while leaver.close_started is None and leaver.thread.is_alive():
            time.sleep(0.001)
        since = leaver.close_started or time.perf_counter()
        rebalance = _wait(lambda: _covers(rest, partitions), timeout, since)
        leaver.thread.join(15)
        out["leave_close_s"] = (
            leaver.close_ended - since if leaver.close_ended is not None else None
        )
        out["rebalance_assignment"] = [sorted(m.assignment()) for m in rest]
        out["rebalance_s"] = rebalance
        out["rebalance_timed_out"] = rebalance is None
    else:
        out["rebalance_s"] = None
        out["rebalance_timed_out"] = None  # not measured: the group never became stable
        out["rebalance_skipped"] = "the group of 3 never became stable"
    for m in members:
        m.stop.set()
    for m in members:
        m.thread.join(5)
    out["group_errors"] = [e for m in members for e in m.errors][:3]
    still = [m.c for m in members if not m.leave]
    out["group_unclosed"] = 0 if _close_bounded(still, 15) else 1
    out["elapsed_s"] = time.perf_counter() - t_start
    return out
