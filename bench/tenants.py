"""The flush PUT rate and the produce latency with 1, 10, 100 and 1,000 active tenants on one
agent (issue 10: the PUT budget must hold whatever the number of organizations).

One agent's log (the write buffer, the flusher, the WAL) on S3 (moto's server behind the
counting proxy) and a PostgreSQL catalogue (a fresh database; SQLite with --sqlite). N
organizations each own a topic `orders`; every tenant's producer appends 1 KiB batches at
the same rate (together --rate batches per second) with acks=all, for --seconds. Each
count runs twice: with the shared flush objects (`objects_per_flush` = 4, the default) and
with one object per tenant per flush (the design before it). Reports PUTs per second
(counted by the proxy), and the p50/p99 of the time from append to durable. Writes
docs/BENCHMARKS-TENANTS.md and a chart beside it.

Usage: python bench/tenants.py [--seconds 10] [--rate 1000] [--tenants 1,10,100,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from procs import S3Stack, publish  # noqa: E402

from coordinator.catalogue import AgentId, Catalogue, OrgId  # noqa: E402
from storage.flush import FlushPolicy  # noqa: E402
from storage.log import LogManager, LogOptions  # noqa: E402
from storage.objectstore import ObjectStore  # noqa: E402
from storage.recordbatch import build_batch  # noqa: E402

PG_ADMIN = os.environ.get("STREAMHOUSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
UNBOUNDED = 1_000_000  # objects_per_flush: one object per tenant, as before


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)


async def run_one(n: int, objects_per_flush: int, args: argparse.Namespace, s3: S3Stack,
                  work: Path) -> dict[str, Any]:
    db = f"bench_tenants_{uuid.uuid4().hex[:8]}"
    if args.sqlite:
        url = f"sqlite:///{work / (db + '.db')}"
    else:
        _psql(f'CREATE DATABASE "{db}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
    cat = Catalogue.from_url(url)
    await cat.open()
    bucket = f"b{uuid.uuid4().hex[:10]}"
    s3.create_bucket(bucket)
    store = ObjectStore.from_url(f"s3://{bucket}/bench")
    try:
        topics = []
        for i in range(n):
            await cat.tenants.create_org(f"t{i}", f"tenant-{i}", f"Tenant {i}", "free")
            topics.append(await cat.create_topic("orders", 1, org_id=OrgId(f"t{i}")))
        logs = LogManager(catalogue=cat, store=store, agent_id=AgentId("bench"),
                          options=LogOptions(wal_dir=work / f"wal-{db}",
                                             retention_check_seconds=3600,
                                             flush=FlushPolicy(objects_per_flush=objects_per_flush)))
        await logs.start()
        plogs = [await logs.partition(t, 0) for t in topics]
        value = os.urandom(1024)
        payload = build_batch([(None, value, [], int(time.time() * 1000))])
        latencies: list[float] = []
        errors = 0

        async def waited(fut: asyncio.Future[None], t0: float) -> None:
            nonlocal errors
            try:
                await fut
                latencies.append(time.perf_counter() - t0)
            except Exception:
                errors += 1

        before = s3.stats()
        flushes_before = logs.buffer.flushes
        pending: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        interval = 1.0 / args.rate
        sent = 0
        while (now := time.perf_counter()) - started < args.seconds:
            due = int((now - started) / interval) + 1
            while sent < due:  # round-robin over the tenants, at the total rate
                plog = plogs[sent % n]
                t0 = time.perf_counter()
                fut = logs.append(plog, payload, acks=-1).durable
                pending.append(asyncio.ensure_future(waited(fut, t0)))
                sent += 1
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*pending)
        drained = time.perf_counter() - started
        after = s3.stats()
        flushes = logs.buffer.flushes - flushes_before
        await logs.stop()
        puts = _puts(after) - _puts(before)
        lat = sorted(latencies)
        return {
            "tenants": n, "objects_per_flush": objects_per_flush, "batches": sent,
            "errors": errors, "seconds": round(elapsed, 2),
            "puts": puts, "puts_per_s": round(puts / drained, 1),
            "flushes_per_s": round(flushes / drained, 2),
            "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
            "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
        }
    finally:
        await cat.close()
        if not args.sqlite:
            _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _puts(stats: dict[str, Any]) -> int:
    return int(stats["by_method"].get("PUT", 0))


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for opf, label in ((4, "shared objects (objects_per_flush=4)"),
                       (UNBOUNDED, "one object per tenant (before)")):
        rs = [r for r in rows if r["objects_per_flush"] == opf]
        xs = [r["tenants"] for r in rs]
        a.plot(xs, [r["puts_per_s"] for r in rs], marker="o", label=label)
        b.plot(xs, [r["p99_ms"] for r in rs], marker="o", label=label)
    for ax, title in ((a, "PUTs per second"), (b, "p99 produce latency, ms (acks=all)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("active tenants on one agent")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by = {(r["tenants"], r["objects_per_flush"]): r for r in rows}
    lines = [
        "# Benchmark: the PUT budget with many tenants",
        "",
        f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores,"
        f" `python bench/tenants.py --seconds {args.seconds} --rate {args.rate}`; objects on"
        f" S3 (moto's server behind the counting proxy), catalogue on"
        f" {'SQLite' if args.sqlite else 'PostgreSQL'}. Every tenant produces 1 KiB batches"
        f" with acks=all; together {args.rate} batches/s. Default flush budget: 10 flushes/s.",
        "",
        "![PUT rate and p99 latency against the number of tenants](benchmarks-tenants.png)",
        "",
        "| tenants | PUTs/s shared | PUTs/s one per tenant | ratio | p99 ms shared |"
        " p99 ms one per tenant | p50 ms shared | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sorted({r["tenants"] for r in rows}):
        s, u = by.get((n, 4)), by.get((n, UNBOUNDED))
        if s is None or u is None:
            continue
        ratio = f"{u['puts_per_s'] / s['puts_per_s']:.1f}×" if s["puts_per_s"] else "-"
        lines.append(f"| {n} | {s['puts_per_s']} | {u['puts_per_s']} | {ratio} |"
                     f" {s['p99_ms']} | {u['p99_ms']} | {s['p50_ms']} |"
                     f" {s['errors'] + u['errors']} |")
    lines += [
        "",
        "PUTs/s counts every PUT the proxy saw from the first append until the last batch was",
        "durable. With shared objects a flush writes at most 4 objects (the 3 largest tenants",
        "keep an object under their own prefix, the others share one under `shared/`), so the",
        "PUT rate is bounded by 10 flushes/s × 4 whatever the number of tenants; one object",
        "per tenant grows with the tenants until the store's latency, not the budget, limits",
        "it, and the produce latency grows with it. Design and trade-offs: docs/SECURITY.md,",
        "\"The PUT budget with many tenants\".",
        "",
    ]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        s3 = S3Stack(workdir=work).start()
        env = s3.broker_env()
        os.environ.update(env)
        os.environ["AWS_ALLOW_HTTP"] = "true"
        try:
            for n in args.tenants:
                for opf in (4, UNBOUNDED):
                    row = await run_one(n, opf, args, s3, work)
                    print(row, flush=True)
                    rows.append(row)
        finally:
            s3.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=1000, help="batches per second, all tenants")
    ap.add_argument("--tenants", type=lambda s: [int(x) for x in s.split(",")],
                    default=[1, 10, 100, 1000])
    ap.add_argument("--sqlite", action="store_true", help="SQLite catalogue, not PostgreSQL")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS-TENANTS.md")
    args = ap.parse_args(argv)
    rows = asyncio.run(main_async(args))
    publish(args.out, report(rows, args), lambda png: chart(rows, png), "benchmarks-tenants.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
