"""A producer over its byte-rate quota is held to it, and another tenant on the same agent
keeps its own throughput.

One agent with logins on; organization `limited` gets a producer_byte_rate quota, `free`
none. Phase 1: `free` produces alone for --seconds (its baseline). Phase 2: both produce at
once for --seconds; the limited producer pushes as fast as its client can. Reports the
limited producer's achieved rate against its quota (target within 10 %), each second's
rate, and the free producer's rate beside its baseline. Writes docs/BENCHMARKS-QUOTAS.md.

Usage: python bench/quotas.py [--seconds 30] [--quota-bytes 2000000]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from procs import free_port, wait_port  # noqa: E402

ADMIN = "bench-platform-admin-secret"


def produce_for(conf: dict[str, Any], topic: str, seconds: float, value: bytes,
                per_second: list[int]) -> tuple[int, int]:
    """Produce as fast as the client can for `seconds`; (bytes acknowledged, errors)."""
    acked = [0, 0]

    def done(err: Any, msg: Any) -> None:
        if err is None:
            acked[0] += len(msg.value())
            second = int(time.monotonic() - started)
            while len(per_second) <= second:
                per_second.append(0)
            per_second[second] += len(msg.value())
        else:
            acked[1] += 1

    p = Producer({**conf, "linger.ms": 5, "batch.size": 131072, "acks": "all",
                  "queue.buffering.max.kbytes": 4096})  # a small queue: the run ends on time
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            p.produce(topic, value=value, on_delivery=done)
        except BufferError:
            p.poll(0.01)
            continue
        p.poll(0)
    p.flush(120)
    return acked[0], acked[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--quota-bytes", type=float, default=2_000_000)
    ap.add_argument("--report", default=str(ROOT / "docs" / "BENCHMARKS-QUOTAS.md"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sh-quota-bench-"))
    (work / "admin.key").write_text(ADMIN)
    plain, sasl, http = free_port(), free_port(), free_port()
    exe = str(Path(sys.executable).parent / "streamhouse")
    proc = subprocess.Popen([
        exe, "serve", "--data-dir", str(work / "data"), "--kafka-listen", f"127.0.0.1:{plain}",
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{sasl}", "--admin-key-file",
        str(work / "admin.key"), "--http-listen", f"127.0.0.1:{http}", "--registry-listen",
        "off", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in (plain, sasl, http):
            wait_port(port, 30, proc)
        h = {"Authorization": f"Bearer {ADMIN}"}
        base = f"http://127.0.0.1:{http}"
        confs = {}
        for slug in ("limited", "free"):
            org = httpx.post(f"{base}/api/v1/organizations", json={"slug": slug}, headers=h).json()
            k = httpx.post(f"{base}/api/v1/organizations/{org['id']}/api-keys",
                           json={"scope": "admin"}, headers=h).json()
            confs[slug] = {"bootstrap.servers": f"127.0.0.1:{sasl}",
                           "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                           "sasl.username": k["id"], "sasl.password": k["secret"]}
            if slug == "limited":
                httpx.put(f"{base}/api/v1/organizations/{org['id']}/quotas", headers=h,
                          json={"name": "producer_byte_rate", "value": args.quota_bytes}
                          ).raise_for_status()
        value = b"q" * 1024
        alone: list[int] = []
        free_alone, _ = produce_for(confs["free"], "free-alone", args.seconds, value, alone)
        results: dict[str, tuple[int, int]] = {}
        seconds: dict[str, list[int]] = {"limited": [], "free": []}

        def run(slug: str) -> None:
            results[slug] = produce_for(confs[slug], f"{slug}-together", args.seconds, value,
                                        seconds[slug])

        threads = [threading.Thread(target=run, args=(s,)) for s in ("limited", "free")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.wait(30)
    limited_bytes, limited_errors = results["limited"]
    free_bytes, free_errors = results["free"]
    # The first second holds the bucket's credit (one second's worth): steady state after it.
    steady = seconds["limited"][1:-1]  # not the credit's second, not the last partial one
    steady_rate = sum(steady) / max(len(steady), 1)
    lines = [
        "# Quotas: a producer held to its byte rate, and its neighbour",
        "",
        f"`python bench/quotas.py --seconds {args.seconds:g} --quota-bytes"
        f" {args.quota_bytes:g}`, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC,"
        f" {platform.machine()}, Python {platform.python_version()}. One agent, logins on,"
        " two organizations over SASL_PLAINTEXT (confluent-kafka, 1 KB records, acks=all,"
        " each producer as fast as its client goes).",
        "",
        "| | bytes/s | against |",
        "| --- | ---: | --- |",
        f"| limited, all {len(seconds['limited'])} s until its last ack |"
        f" {limited_bytes / len(seconds['limited']):,.0f} |"
        f" {limited_bytes / len(seconds['limited']) / args.quota_bytes:.3f}x its quota"
        f" ({args.quota_bytes:,.0f}) |",
        f"| limited, seconds 1 to {len(seconds['limited']) - 2} | {steady_rate:,.0f} |"
        f" {steady_rate / args.quota_bytes:.3f}x its quota; each second within"
        f" {min(steady) / args.quota_bytes:.2f}-{max(steady) / args.quota_bytes:.2f}x |",
        f"| free, beside it | {free_bytes / args.seconds:,.0f} |"
        f" {free_bytes / max(free_alone, 1):.2f}x its own rate alone"
        f" ({free_alone / args.seconds:,.0f}) |",
        "",
        f"Delivery errors: limited {limited_errors}, free {free_errors}. The whole-run figure"
        " includes the first second's credit (one second's worth of quota). Each second of"
        " the limited producer (bytes acknowledged in that second):",
        "",
        "```",
        " ".join(f"{b / 1e6:.2f}" for b in seconds["limited"]) + "  (MB)",
        "```",
        "",
        "The neighbour runs on the same 2-core machine as the limited producer's client, the"
        " agent and its own client, so its ratio also shows the CPU they share, not only the"
        " agent.",
        "",
    ]
    Path(args.report).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
