"""Soak: one agent under a mixed load with topic churn for --minutes; RSS and open files
sampled every 10 s, their growth per hour after warm-up, and nothing lost (issue 18).

The load, all at once on the embedded default (SQLite, a local folder):
- an idempotent producer (confluent-kafka, acks=all) at --rate bytes a second into
  `soak` (6 partitions), each record numbered;
- a consumer group of two reading `soak` and committing;
- a REST batch of 100 records every second into `soak-rest`;
- a topic created, written and deleted every --churn seconds.

At the end the group must have read every record the producer had acknowledged (by
number), and every REST batch must be there. Writes docs/SOAK.md and docs/soak.png.

Usage: python bench/soak.py [--minutes 60] [--rate 4000000] [--churn 20]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from procs import find_streamhouse, publish, start_streamhouse  # noqa: E402
from scale import rss_mib  # noqa: E402
from workloads import create_topics, wait_ready  # noqa: E402

RECORD = 200


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def held_mib(http: str) -> float:
    """What the agent holds by design and bounds (read caches, write buffer), from /metrics."""
    try:
        with urllib.request.urlopen(f"{http}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith(("streamhouse_read_cache_bytes{", "streamhouse_write_buffer_bytes ")):
            total += float(line.rsplit(" ", 1)[1])
    return total / 2**20


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    var = sum((p[0] - mx) ** 2 for p in points)
    if var == 0:
        return 0.0
    return 3600 * sum((p[0] - mx) * (p[1] - my) for p in points) / var


class Load:
    def __init__(self, bootstrap: str, http: str, rate: int, churn: float) -> None:
        self.bootstrap, self.http, self.rate, self.churn = bootstrap, http, rate, churn
        self.stop = threading.Event()
        self.acked: set[int] = set()
        self.produce_errors = 0
        self.consumed: set[int] = set()
        self.rest_batches = 0
        self.rest_errors = 0
        self.churned = 0
        self.churn_errors = 0
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for target in (self._produce, self._rest, self._churn, self._consume, self._consume):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def _produce(self) -> None:
        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 10})

        def done(err: Any, msg: Any) -> None:
            if err is None:
                self.acked.add(int(msg.key()))
            else:
                self.produce_errors += 1

        per_tick = max(1, self.rate // RECORD // 100)  # every 10 ms
        n = 0
        value = b"s" * RECORD
        next_at = time.perf_counter()
        while not self.stop.is_set():
            for _ in range(per_tick):
                try:
                    p.produce("soak", value, key=str(n).encode(), on_delivery=done)
                    n += 1
                except BufferError:
                    p.poll(0.05)
            next_at += 0.01
            p.poll(max(0.0, next_at - time.perf_counter()))
        p.flush(60)

    def _consume(self) -> None:
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "soak-group",
                      "auto.offset.reset": "earliest", "enable.auto.commit": True})
        c.subscribe(["soak"])
        idle_after_stop = 0
        while True:
            msgs = c.consume(1000, 0.5)
            for m in msgs:
                if m.error() is None and m.key() is not None:
                    self.consumed.add(int(m.key()))
            if self.stop.is_set():
                idle_after_stop = idle_after_stop + 1 if not msgs else 0
                if self.consumed >= self.acked or idle_after_stop > 60:
                    break
        c.close()

    def _post(self, path: str, body: dict[str, Any] | None, method: str = "POST") -> int:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status

    def _rest(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self._post("/api/v1/produce", {"topic": "soak-rest", "records": [
                    {"value": f"r{self.rest_batches}-{i}"} for i in range(100)]})
                self.rest_batches += 1
            except Exception:
                self.rest_errors += 1

    def _churn(self) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        i = 0
        while not self.stop.wait(self.churn):
            name = f"churn-{i}"
            i += 1
            try:
                admin.create_topics([NewTopic(name, 3)])[name].result(30)
                # A producer of its own, gone before the delete: a producer that still
                # knows the topic asks for its metadata and so creates it again (topic
                # auto-creation, as with Kafka), and the churn would leave topics behind.
                p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all"})
                for k in range(300):
                    p.produce(name, b"c" * RECORD, partition=k % 3)
                p.flush(30)
                del p
                admin.delete_topics([name])[name].result(30)
                self.churned += 1
            except Exception:
                self.churn_errors += 1


def chart(samples: list[dict[str, float]], warm_s: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    t = [s["t"] / 60 for s in samples]
    a.plot(t, [s["rss_mib"] for s in samples], label="RSS")
    a.plot(t, [s["held_mib"] for s in samples], label="read caches + write buffer")
    a.plot(t, [s["rss_mib"] - s["held_mib"] for s in samples], label="RSS less those")
    a.set_title("memory, MiB")
    b.plot(t, [s["fds"] for s in samples])
    b.set_title("open files")
    for ax in (a, b):
        ax.axvline(warm_s / 60, color="grey", linestyle="--", label="end of warm-up")
        ax.set_xlabel("minutes")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate", type=int, default=4_000_000, help="producer bytes a second")
    ap.add_argument("--churn", type=float, default=20.0, help="seconds between topic churns")
    ap.add_argument("--warm-up", type=float, default=None,
                    help="minutes not counted in the growth (default: a sixth of the run)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "SOAK.md")
    args = ap.parse_args(argv)
    warm_s = 60 * (args.warm_up if args.warm_up is not None else args.minutes / 6)
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = find_streamhouse(None)
        assert cmd is not None, "streamhouse is not installed"
        run = start_streamhouse(cmd, "local", Path(tmp), None, None, ["--log-level", "warning"])
        assert run.child is not None and run.child.proc is not None
        pid = run.child.proc.pid
        try:
            wait_ready(run.bootstrap, 60, alive=lambda: run.child.proc.poll() is None)
            create_topics(run.bootstrap, ["soak"], 6, timeout=60)
            create_topics(run.bootstrap, ["soak-rest"], 1, timeout=60)
            load = Load(run.bootstrap, f"http://127.0.0.1:{run.http_port}", args.rate,
                        args.churn)
            started = time.monotonic()
            load.start()
            while (elapsed := time.monotonic() - started) < 60 * args.minutes:
                samples.append({"t": elapsed, "rss_mib": rss_mib(pid) or 0.0,
                                "held_mib": held_mib(load.http), "fds": open_files(pid)})
                if len(samples) % 6 == 1:
                    s = samples[-1]
                    print(f"{elapsed / 60:5.1f} min  rss {s['rss_mib']:.0f} MiB  caches and"
                          f" buffer {s['held_mib']:.0f} MiB  fds"
                          f" {s['fds']:.0f}  acked {len(load.acked)}  consumed"
                          f" {len(load.consumed)}  churned {load.churned}", flush=True)
                time.sleep(10)
            load.stop.set()
            for t in load.threads:
                t.join(180)
            rest_count = rest_records(run.bootstrap)
            # What the group missed at the end (a rebalance as its members leave) is told
            # apart from what is not in the topic at all: read it whole, without a group.
            missed = load.acked - load.consumed
            in_topic = topic_keys(run.bootstrap, "soak") if missed else set()
        finally:
            run.child.stop()
    after = [s for s in samples if s["t"] >= warm_s]
    rss_h = slope_per_hour([(s["t"], s["rss_mib"]) for s in after])
    held_h = slope_per_hour([(s["t"], s["held_mib"]) for s in after])
    rest_h = slope_per_hour([(s["t"], s["rss_mib"] - s["held_mib"]) for s in after])
    fds_h = slope_per_hour([(s["t"], s["fds"]) for s in after])
    lost = len(missed - in_topic)
    text = "\n".join([
        "# Soak: one agent under mixed load with topic churn",
        "",
        f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores,"
        f" `python bench/soak.py --minutes {args.minutes:g} --rate {args.rate} --churn"
        f" {args.churn:g}`: an idempotent producer at {args.rate / 1e6:g} MB/s, a group of"
        " two consumers, a REST batch of 100 records a second, a topic of 3 partitions"
        f" created, written and deleted every {args.churn:g} s; the embedded default"
        " (SQLite, a local folder).",
        "",
        "![RSS and open files over the run](soak.png)",
        "",
        "| | value |",
        "|---|---:|",
        f"| records acknowledged | {len(load.acked)} |",
        f"| acknowledged but not read by the group at the end | {len(missed)} |",
        f"| acknowledged but not in the topic (lost) | {lost} |",
        f"| producer errors | {load.produce_errors} |",
        f"| REST batches (records found / sent) | {rest_count} / {100 * load.rest_batches}"
        f" ({load.rest_errors} failed) |",
        f"| topics created and deleted | {load.churned} ({load.churn_errors} failed) |",
        f"| RSS after warm-up ({warm_s / 60:.3g} min) | {after[0]['rss_mib']:.0f} →"
        f" {after[-1]['rss_mib']:.0f} MiB |" if after else "| RSS | - |",
        f"| RSS growth after warm-up | {rss_h:+.1f} MiB/hour |",
        f"| of which read caches and write buffer (bounded: 64 + 256 MiB of caches) |"
        f" {held_h:+.1f} MiB/hour ({after[-1]['held_mib']:.0f} MiB held at the end) |"
        if after else "| read caches | - |",
        f"| RSS less caches and buffer, growth after warm-up | {rest_h:+.1f} MiB/hour |",
        f"| open files after warm-up | {after[0]['fds']:.0f} → {after[-1]['fds']:.0f} |"
        if after else "| open files | - |",
        f"| open-file growth after warm-up | {fds_h:+.1f}/hour |",
        "",
    ])
    publish(args.out, text, lambda png: chart(samples, warm_s, png), "soak.png")
    return 0 if lost == 0 else 1


def topic_keys(bootstrap: str, topic: str) -> set[int]:
    """Every record key of a topic, read from the start of each partition to its end."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak-audit",
                  "enable.auto.commit": False})
    meta = c.list_topics(topic, timeout=30).topics[topic]
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in meta.partitions}
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    keys: set[int] = set()
    done = {p for p, end in ends.items() if end == 0}
    deadline = time.monotonic() + 600
    while len(done) < len(ends) and time.monotonic() < deadline:
        for m in c.consume(10_000, 1.0):
            if m.error() is None:
                if m.key() is not None:
                    keys.add(int(m.key()))
                if m.offset() + 1 >= ends[m.partition()]:
                    done.add(m.partition())
    c.close()
    return keys


def rest_records(bootstrap: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak-rest-count",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["soak-rest"])
    n = 0
    quiet = 0
    while quiet < 10:
        msgs = c.consume(1000, 0.5)
        n += sum(1 for m in msgs if m.error() is None)
        quiet = quiet + 1 if not msgs else 0
    c.close()
    return n


if __name__ == "__main__":
    sys.exit(main())
