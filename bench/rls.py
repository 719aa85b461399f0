"""What PostgreSQL row-level security would cost the flush commit (issue 10: RLS on the
tenant tables as defence in depth, if its cost is measured and acceptable).

A fresh database with StreamHouse's migrations; the agent connects as a role that is not
a superuser (superusers bypass RLS). Two runs of the same commits: without RLS, and with
RLS on `objects`, `chunks`, `partitions` and `producer_states`, each policy limiting rows
to the organizations named in the transaction's `streamhouse.orgs` setting (what the
agent would set before each flush commit: one flush may hold several organizations).
Reports the mean and p99 time of one flush commit (`commit_flushes`) with 1 organization
× 10 partitions, and 100 organizations × 1 partition each (a shared object). Writes
docs/BENCHMARKS-RLS.md.

Usage: python bench/rls.py [--commits 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from procs import publish  # noqa: E402

from coordinator.catalogue import (  # noqa: E402
    AgentId,
    Catalogue,
    Chunk,
    FlushCommit,
    OrgId,
    Topic,
)

PG_ADMIN = os.environ.get("STREAMHOUSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROLE = "streamhouse_rls_bench"
AGENT = AgentId("bench")
_VISIBLE = "= ANY (string_to_array(current_setting('streamhouse.orgs', true), ','))"
RLS = [
    "ALTER TABLE objects ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY by_org ON objects USING (org_id {_VISIBLE} OR org_id = 'shared')",
    "ALTER TABLE topics ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY by_org ON topics USING (org_id {_VISIBLE})",
]
for table in ("chunks", "partitions", "producer_states"):
    RLS += [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"CREATE POLICY by_org ON {table} USING (topic_id IN"
            f" (SELECT id FROM topics WHERE org_id {_VISIBLE}))"]


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-qc", sql], check=True, capture_output=True)


def db_url(name: str, user: str = "postgres") -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgres@", f"{user}@", 1)
    return f"{base}/{name}"


@contextlib.asynccontextmanager
async def database(rls: bool) -> AsyncIterator[tuple[Catalogue, str]]:
    name = f"bench_rls_{uuid.uuid4().hex[:8]}"
    psql(PG_ADMIN, f'CREATE DATABASE "{name}"')
    try:
        setup = Catalogue.from_url(db_url(name))
        await setup.open()  # migrations, as the owner
        await setup.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(PG_ADMIN, f"CREATE ROLE {ROLE} LOGIN")
        psql(db_url(name), f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE};"
             f" GRANT USAGE, CREATE ON SCHEMA public TO {ROLE}")
        if rls:
            for statement in RLS:
                psql(db_url(name), statement)
        cat = Catalogue.from_url(db_url(name, ROLE))
        await cat.open()
        try:
            yield cat, name
        finally:
            await cat.close()
    finally:
        psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def prepare(name: str, orgs: int, partitions: int
                  ) -> tuple[list[Topic], dict[Any, int]]:
    """Organizations and topics led by the bench's agent, made as the owner (RLS hides
    rows from the agent's role outside a scoped transaction); their lease epochs."""
    owner = Catalogue.from_url(db_url(name))
    await owner.open()
    topics = []
    epochs = {}
    try:
        for i in range(orgs):
            await owner.tenants.create_org(f"o{i}", f"org-{i}", f"Org {i}", "free")
            topics.append(await owner.create_topic("t", partitions, org_id=OrgId(f"o{i}"),
                                                   leader=AGENT, lease_ttl_ms=3_600_000))
        for t in topics:
            for p in await owner.list_partitions(t.id):
                epochs[(t.id, p.partition)] = p.leader_epoch
    finally:
        await owner.close()
    return topics, epochs


async def high_watermarks(name: str, topics: list[Topic]) -> int:
    owner = Catalogue.from_url(db_url(name))
    await owner.open()
    try:
        total = 0
        for t in topics:
            total += sum(p.high_watermark for p in await owner.list_partitions(t.id))
        return total
    finally:
        await owner.close()


def flush(topics: list[Topic], n: int, epochs: dict[Any, int]) -> list[FlushCommit]:
    shared = len(topics) > 1
    key = f"shared/objects/{uuid.uuid4().hex}" if shared else f"org-o0/objects/{uuid.uuid4().hex}"
    chunks = []
    for t in topics:
        for p in range(t.partition_count):
            chunks.append(Chunk(topic_id=t.id, partition=p, base_offset=n, last_offset=n,
                                object_key=key, byte_start=len(chunks) * 100, byte_length=100,
                                first_timestamp=n, max_timestamp=n, record_count=1))
    return [FlushCommit(agent_id=AGENT, object_key=key,
                        org_id=OrgId("shared" if shared else "o0"),
                        object_size=100 * len(chunks), chunks=chunks,
                        epochs={(c.topic_id, c.partition): epochs[(c.topic_id, c.partition)]
                                for c in chunks})]


async def measure(rls: bool, orgs: int, partitions: int, commits: int) -> dict[str, Any]:
    async with database(rls) as (cat, name):
        topics, epochs = await prepare(name, orgs, partitions)
        visible = ",".join(t.org_id for t in topics)
        original = cat.driver.transaction

        @contextlib.asynccontextmanager
        async def scoped() -> AsyncIterator[Any]:
            async with original() as tx:
                await tx.execute("SELECT set_config('streamhouse.orgs', $1, true)", visible)
                yield tx

        if rls:
            cat.driver.transaction = scoped  # type: ignore[method-assign]
        times = []
        for n in range(commits):
            started = time.perf_counter()
            fenced = await cat.commit_flushes(flush(topics, n, epochs))
            times.append(time.perf_counter() - started)
            assert not fenced, "the agent's leases must hold"
        high = await high_watermarks(name, topics)
        assert high == commits * orgs * partitions, high  # every commit went through
        times.sort()
        return {"rls": rls, "orgs": orgs, "partitions": partitions,
                "mean_ms": round(1000 * statistics.mean(times), 2),
                "p99_ms": round(1000 * times[int(0.99 * (len(times) - 1))], 2)}


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for orgs, partitions in ((1, 10), (100, 1)):
        for rls in (False, True):
            row = await measure(rls, orgs, partitions, args.commits)
            print(row, flush=True)
            rows.append(row)
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by = {(r["orgs"], r["rls"]): r for r in rows}
    lines = [
        "# Benchmark: row-level security on the flush commit",
        "",
        f"Measured {datetime.date.today()}, `python bench/rls.py --commits {args.commits}`,"
        " PostgreSQL on loopback, the agent as a role that is not a superuser.",
        "",
        "| flush | mean ms, no RLS | mean ms, RLS | ratio | p99 ms, no RLS | p99 ms, RLS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for orgs, label in ((1, "1 organization × 10 partitions"),
                        (100, "100 organizations × 1 partition (shared object)")):
        off, on = by[(orgs, False)], by[(orgs, True)]
        lines.append(f"| {label} | {off['mean_ms']} | {on['mean_ms']} |"
                     f" {on['mean_ms'] / off['mean_ms']:.2f}× | {off['p99_ms']} | {on['p99_ms']} |")
    lines += ["", "What it means, and the decision: docs/SECURITY.md, \"Row-level security\".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS-RLS.md")
    args = ap.parse_args(argv)
    rows = asyncio.run(main_async(args))
    publish(args.out, report(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
