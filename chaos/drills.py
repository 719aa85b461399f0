"""The chaos drills. Each ``drill_N(env, scale)`` drives real ``streamhouse serve`` processes,
injects one fault while idempotent producers write, then consumes everything back and returns
a :class:`~chaos.harness.Result` (acknowledged / recovered / lost / duplicated, offset
contiguity per partition, failover time = fault -> next acknowledgement).

CLI::

    python -m chaos.drills [--drill N ...] [--scale small|full] [--report docs/DURABILITY.md]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from .harness import (
    Env,
    PgDatabase,
    Result,
    Workload,
    check,
    create_topic,
    leaders,
    list_objects,
    make_bucket,
    node_id_of,
    wait_for,
)
from .proxy import S3FaultProxy, TcpProxy

SCALES = {
    # seconds of traffic before / after the fault, producer rate (records/s), partitions, TTL
    "small": {"before": 1.5, "after": 2.0, "rate": 500, "partitions": 4, "ttl_ms": 2000},
    "full": {"before": 5.0, "after": 8.0, "rate": 3000, "partitions": 12, "ttl_ms": 5000},
}

PG_HOST = ("127.0.0.1", 5432)


def _pg(env: Env) -> PgDatabase:
    db = PgDatabase()
    env.cleanups.append(db.drop)
    return db


def _bucket(env: Env) -> str:
    return make_bucket(env.s3_endpoint)


# -- (1) SIGKILL during produce, acks=all ------------------------------------------------


def drill_1(env: Env, scale: str = "small") -> Result:
    """Two agents (PostgreSQL + S3); SIGKILL one while an idempotent acks=all producer
    writes to all partitions; the survivor takes the dead agent's partitions at lease
    expiry; the killed agent is then restarted and rejoins."""
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    ttl = ["--lease-ttl-ms", str(s["ttl_ms"])]
    a1 = env.agent("d1-a1", db.url, bucket, extra=ttl).start()
    a2 = env.agent("d1-a2", db.url, bucket, extra=ttl).start()
    boot = f"{a1.bootstrap},{a2.bootstrap}"
    topic, n = "drill1", s["partitions"]
    create_topic(a1.bootstrap, topic, n)
    wait_for(lambda: len(set(leaders(a1.bootstrap, topic).values()) - {-1}) == 2, 20,
             what="both agents lead partitions")
    victim = node_id_of(a1.bootstrap, a2)
    affected = {p for p, lead in leaders(a1.bootstrap, topic).items() if lead == victim}
    w = Workload(boot, topic, rate=s["rate"], tag="d1").start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    fault = time.monotonic()
    a2.kill()
    wait_for(lambda: set(leaders(a1.bootstrap, topic).values()) == {node_id_of(a1.bootstrap, a1)},
             s["ttl_ms"] / 1000 + 10, what="survivor leads every partition")
    moved = time.monotonic() - fault
    time.sleep(s["after"])
    a2.start()  # same data dir: rejoins
    time.sleep(s["after"] / 2)
    w.stop()
    r = check("1. SIGKILL during produce (acks=all)", [w], a1.bootstrap, topic, n,
              fault_at=fault, affected=affected)
    r.notes.append(f"victim led {len(affected)}/{n} partitions; leases moved after {moved:.2f}s "
                   f"(TTL {s['ttl_ms']} ms); the victim was restarted afterwards and rejoined")
    return r


# -- (2) SIGKILL between object PUT and catalogue commit ---------------------------------


def drill_2(env: Env, scale: str = "small") -> Result:
    """One agent whose S3 traffic goes through the fault proxy. The proxy forwards one
    flush's PUT to moto, sees it succeed, and holds the response; the agent is SIGKILLed
    while the response is held — the object exists, its chunks are not committed. The agent
    restarts on the same data dir (and port) and the producer carries on."""
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    proxy = S3FaultProxy(env.s3_endpoint).start()
    env.cleanups.append(proxy.stop)
    a = env.agent("d2-a1", db.url, bucket, s3_endpoint=proxy.url,
                  extra=["--lease-ttl-ms", str(s["ttl_ms"])]).start()
    topic, n = "drill2", s["partitions"]
    create_topic(a.bootstrap, topic, n)
    w = Workload(a.bootstrap, topic, rate=s["rate"], tag="d2").start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    kills = 3 if scale == "full" else 1
    fault = None
    orphans = 0
    for _ in range(kills):
        proxy.hold_next_put(30.0)
        if not proxy.put_completed.wait(20):
            raise TimeoutError("no flush PUT reached the proxy")
        acked_before = w.acked_count()
        a.kill()  # the PUT succeeded upstream; its response (and so the commit) never happened
        fault = fault or time.monotonic()
        held = proxy.held_put_path
        if w.acked_count() != acked_before:
            raise AssertionError("acks arrived while the flush PUT was held")
        orphans += 1
        time.sleep(0.3)
        a.start()
        time.sleep(s["after"])
    w.stop()
    r = check("2. SIGKILL between object PUT and commit", [w], a.bootstrap, topic, n,
              fault_at=fault)
    keys = list_objects(env.s3_endpoint, bucket)
    r.notes.append(f"{kills} kill(s), each while the proxy held a completed PUT's response "
                   f"(last: {held}); {len(keys)} objects in the bucket afterwards, "
                   f"{orphans} of them written but never committed")
    return r


# -- (3) power-yank, acks=1 (WAL, fsync always) and acks=all -----------------------------


def _drill_3(env: Env, scale: str, acks: str) -> Result:
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    a = env.agent(f"d3-{acks}", db.url, bucket,
                  extra=["--wal-fsync", "always", "--lease-ttl-ms", str(s["ttl_ms"])]).start()
    topic, n = f"drill3-{acks}", s["partitions"]
    create_topic(a.bootstrap, topic, n)
    w = Workload(a.bootstrap, topic, acks=acks, rate=s["rate"], tag=f"d3{acks}").start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    fault = time.monotonic()
    a.kill()
    a.start()
    time.sleep(s["after"])
    w.stop()
    r = check(f"3. power-yank emulation, acks={acks}", [w], a.bootstrap, topic, n,
              fault_at=fault, settle=(acks == "1"))
    if acks == "1":
        replayed = a.log().count("wal_replayed")
        r.notes.append(f"non-idempotent producer with retries=0 (librdkafka needs acks=all for "
                       f"idempotence); --wal-fsync always; wal_replayed log lines: {replayed}")
    return r


def drill_3a(env: Env, scale: str = "small") -> Result:
    return _drill_3(env, scale, "1")


def drill_3b(env: Env, scale: str = "small") -> Result:
    return _drill_3(env, scale, "all")


# -- (4) an agent cut off from PostgreSQL (zombie) ---------------------------------------


def _drill_4(env: Env, scale: str, acks: str) -> Result:
    """Agent z reaches PostgreSQL only through a TCP proxy; agent b directly. While the
    producer writes through both, the proxy is cut: z can neither commit nor renew its
    leases, gives them up itself before they can run out, and b takes z's partitions
    after the TTL. Then the proxy heals and z comes back as a zombie holding stale epochs:
    its pending commits must be fenced. With acks=1, what z acknowledged from its WAL but
    could not commit is handed to b (appended anew), not lost."""
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    pgp = TcpProxy(PG_HOST).start()
    env.cleanups.append(pgp.stop)
    ttl = ["--lease-ttl-ms", str(s["ttl_ms"])]
    b = env.agent(f"d4{acks}-b", db.url, bucket, extra=ttl).start()
    z = env.agent(f"d4{acks}-zombie", db.url_via(pgp.port), bucket, extra=ttl).start()
    boot = f"{b.bootstrap},{z.bootstrap}"
    topic, n = f"drill4-{acks}", s["partitions"]
    create_topic(b.bootstrap, topic, n)
    wait_for(lambda: len(set(leaders(b.bootstrap, topic).values()) - {-1}) == 2, 20,
             what="both agents lead partitions")
    zid, bid = node_id_of(b.bootstrap, z), node_id_of(b.bootstrap, b)
    affected = {p for p, lead in leaders(b.bootstrap, topic).items() if lead == zid}
    w = Workload(boot, topic, acks=acks, rate=s["rate"], tag=f"d4{acks}").start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    fault = time.monotonic()
    pgp.cut()
    wait_for(lambda: set(leaders(b.bootstrap, topic).values()) == {bid},
             s["ttl_ms"] / 1000 + 15, what="b leads every partition")
    moved = time.monotonic() - fault
    time.sleep(s["after"])
    pgp.heal()  # the zombie reaches the catalogue again with stale epochs
    time.sleep(s["after"])
    if acks == "1":  # handing over what the zombie acknowledged may take a moment
        try:
            wait_for(lambda: "fenced_batch_" in z.log(), 10, what="hand-over")
        except AssertionError:
            pass  # nothing was left to hand over: the counters below say so
    w.stop()
    r = check(f"4{'' if acks == 'all' else 'b'}. agent cut off from PostgreSQL (zombie),"
              f" acks={acks}", [w], b.bootstrap, topic, n, fault_at=fault, affected=affected,
              settle=(acks == "1"))
    log = z.log()
    r.counters = {
        "gave_up_leases": log.count("leases_expired_locally"),
        "fenced_partitions": log.count("partition_fenced"),
        "handed_over": log.count("fenced_batch_forwarded"),
        "dropped": log.count("fenced_batch_dropped"),
    }
    r.notes.append(f"zombie led {len(affected)}/{n} partitions; b led all after {moved:.2f}s "
                   f"(TTL {s['ttl_ms']} ms); zombie: gave its leases up "
                   f"{r.counters['gave_up_leases']}x, flushes fenced for "
                   f"{r.counters['fenced_partitions']} partition(s), acknowledged batches handed "
                   f"to the new leader {r.counters['handed_over']}, dropped "
                   f"{r.counters['dropped']}; zombie still running: "
                   f"{z.proc is not None and z.proc.poll() is None}")
    return r


def drill_4(env: Env, scale: str = "small") -> Result:
    return _drill_4(env, scale, "all")


def drill_4b(env: Env, scale: str = "small") -> Result:
    return _drill_4(env, scale, "1")


# -- (5) object store: 503s, then unreachable --------------------------------------------


def drill_5(env: Env, scale: str = "small") -> Result:
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    proxy = S3FaultProxy(env.s3_endpoint).start()
    env.cleanups.append(proxy.stop)
    a = env.agent("d5-a1", db.url, bucket, s3_endpoint=proxy.url,
                  extra=["--lease-ttl-ms", str(s["ttl_ms"])]).start()
    topic, n = "drill5", s["partitions"]
    create_topic(a.bootstrap, topic, n)
    w = Workload(a.bootstrap, topic, rate=s["rate"], tag="d5", message_timeout_ms=120000).start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    phase = 2.0 if scale == "small" else 6.0
    fault = time.monotonic()
    proxy.set_503(0.5)
    time.sleep(phase)
    during_half = w.acked_count()
    proxy.set_503(1.0)
    time.sleep(phase)
    during_all = w.acked_count()
    proxy.set_unreachable()
    time.sleep(phase * 1.5)
    stalled = w.acked_count()
    restored = time.monotonic()
    proxy.set_pass()
    try:
        w.wait_acks(stalled + 1, 60)
    except TimeoutError:
        pass
    time.sleep(s["after"])
    w.stop()
    r = check("5. object store 503s, then unreachable", [w], a.bootstrap, topic, n,
              fault_at=fault)
    after_restore = [t for t, *_ in w.acked if t > restored]
    rec = (min(after_restore) - restored) if after_restore else None
    r.notes.append(
        f"phases of {phase:.0f}s: 50% 503 SlowDown, 100% 503, unreachable {phase * 1.5:.0f}s; "
        f"proxy answered {proxy.stats['503']} requests with 503, refused/dropped "
        f"{proxy.stats['refused'] + proxy.stats['dropped']}; acks by end of 50% phase: "
        f"{during_half}, of 100% phase: {during_all}, of unreachable phase: {stalled}; "
        f"S3 requests that reached moto: {sum(1 for e in proxy.log if e[3] != 503)}; first ack after the store came back: "
        f"{'none' if rec is None else f'{rec:.2f}s'}; delivery errors seen by the app: "
        f"{len(w.errors)} {sorted(set(w.errors))[:3]}")
    return r


# -- (6) PostgreSQL restarted ------------------------------------------------------------


def pg_restart() -> float:
    """Restart the machine's PostgreSQL cluster; returns how long it took."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    t = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=60)
    wait_for(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"],
                                    capture_output=True).returncode == 0, 30, what="pg_isready")
    return time.monotonic() - t


def drill_6(env: Env, scale: str = "small") -> Result:
    s = SCALES[scale]
    db, bucket = _pg(env), _bucket(env)
    ttl = ["--lease-ttl-ms", str(s["ttl_ms"])]
    a1 = env.agent("d6-a1", db.url, bucket, extra=ttl).start()
    a2 = env.agent("d6-a2", db.url, bucket, extra=ttl).start()
    boot = f"{a1.bootstrap},{a2.bootstrap}"
    topic, n = "drill6", s["partitions"]
    create_topic(a1.bootstrap, topic, n)
    wait_for(lambda: len(set(leaders(a1.bootstrap, topic).values()) - {-1}) == 2, 20,
             what="both agents lead partitions")
    w = Workload(boot, topic, rate=s["rate"], tag="d6").start()
    time.sleep(s["before"])
    w.wait_acks(50, 20)
    fault = time.monotonic()
    took = pg_restart()
    before = w.acked_count()
    w.wait_acks(before + 50, 60)
    time.sleep(s["after"])
    w.stop()
    r = check("6. PostgreSQL restarted", [w], boot, topic, n, fault_at=fault)
    alive = [x.proc is not None and x.proc.poll() is None for x in (a1, a2)]
    r.notes.append(f"`pg_ctlcluster --skip-systemctl-redirect <ver> main restart` took {took:.2f}s "
                   f"(fast shutdown: every connection is dropped); agents alive after: {alive}")
    return r


DRILLS: dict[str, Callable[[Env, str], Result]] = {
    "1": drill_1, "2": drill_2, "3a": drill_3a, "3b": drill_3b, "4": drill_4, "4b": drill_4b,
    "5": drill_5, "6": drill_6,
}

HOW = {
    "1": "SIGKILL (`kill -9`) of one of two agents (PostgreSQL catalogue, S3 on moto) while an "
         "idempotent `acks=all` producer writes; the survivor takes its leases at TTL expiry; "
         "the victim is restarted afterwards.",
    "2": "The agent's S3 endpoint is `chaos.proxy.S3FaultProxy` in front of moto. The proxy "
         "forwards one flush's object PUT, sees moto answer 200, holds the response, and the "
         "drill SIGKILLs the agent while it is held: the object exists, its chunks were never "
         "committed. The agent restarts on the same data dir and port.",
    "3a": "Power-yank emulation, `acks=1`, `--wal-fsync always`: SIGKILL of the only agent, "
          "restart on the same data dir (WAL replay). A real power cut also drops the OS page "
          "cache; that cannot be done to one process here, so this checks the process-crash half "
          "only (with fsync=always the WAL bytes are on disk before the ack anyway). librdkafka "
          "only allows idempotence with acks=all, so this producer is non-idempotent, retries=0.",
    "3b": "Power-yank emulation, `acks=all`: SIGKILL of the only agent and restart; acked data "
          "lives in the object store and catalogue, so local disk loss would not matter.",
    "4": "One agent reaches PostgreSQL only through `chaos.proxy.TcpProxy`; the proxy is cut "
         "(connections closed, new ones refused) while clients still reach the agent. The other "
         "agent takes its partitions after the lease TTL; the proxy then heals and the zombie's "
         "stale commits must be fenced.",
    "4b": "As drill 4 with an `acks=1` producer (non-idempotent, retries=0): what the zombie "
          "acknowledged from its WAL during the cut but could not commit is handed to the new "
          "leader when its flush meets the fence (appended anew), and counted.",
    "5": "The agent's S3 endpoint is `chaos.proxy.S3FaultProxy`: 50% of requests answered "
         "`503 SlowDown` (S3 XML), then 100%, then connections closed/refused, then healthy. "
         "Few requests reach the proxy during the 100%/unreachable phases because the agent's "
         "retry backoff and circuit breaker (storage/throttle.py) hold them back.",
    "6": "The machine's PostgreSQL is restarted with `pg_ctlcluster --skip-systemctl-redirect "
         "<ver> main restart` while two agents serve an idempotent `acks=all` producer. This is "
         "the machine's shared PostgreSQL: anything else connected to it loses its connections "
         "for the ~3 s the restart takes.",
}


def run(drills: list[str], scale: str, s3_endpoint: str, workdir: Path) -> list[tuple[str, Result | str]]:
    out: list[tuple[str, Result | str]] = []
    for d in drills:
        env = Env(workdir=workdir / f"drill{d}", s3_endpoint=s3_endpoint)
        env.workdir.mkdir(parents=True, exist_ok=True)
        t = time.monotonic()
        try:
            r = DRILLS[d](env, scale)
            r.seconds = time.monotonic() - t
            out.append((d, r))
        except Exception as exc:  # noqa: BLE001 — the report says what broke
            out.append((d, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))
        finally:
            env.close()
        res = out[-1][1]
        print(f"drill {d}: {res if isinstance(res, str) else summary(res)}", flush=True)
    return out


def summary(r: Result) -> str:
    fo = "-" if r.failover_s is None else f"{r.failover_s:.2f}s"
    return (f"acked={r.acknowledged} recovered={r.recovered} lost={r.lost} dup={r.duplicated} "
            f"contiguous={r.contiguous} failover={fo} gap={r.longest_gap_s} errors={r.delivery_errors} "
            f"{'OK' if r.ok else 'FAIL'}")


def report(results: list[tuple[str, Result | str]], scale: str, command: str) -> str:
    lines = [
        "# Durability drills",
        "",
        "Generated by `chaos/drills.py` — do not edit by hand.",
        "",
        f"- Command: `{command}`",
        f"- Date: {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {platform.node()} — {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"- Scale: {scale}",
        "",
        "Each drill runs real `streamhouse serve` processes (PostgreSQL catalogue, S3 on moto), "
        "writes with confluent-kafka producers that record every acknowledged value, injects "
        "one fault, then consumes every partition back from the earliest offset to the high "
        "watermark. *Lost* = acknowledged but not read back; *duplicated* = read back more "
        "than once; *contiguous* = every partition's offsets have no gap or repeat; "
        "*failover* = time from the fault to the next acknowledgement of a record on an "
        "affected partition; *longest ack gap* = the longest time without any acknowledgement, "
        "from one second before the fault to the end (the client-visible outage).",
        "",
    ]
    for d, r in results:
        lines.append(f"## Drill {d}")
        lines.append("")
        lines.append(f"How the fault was made: {HOW[d]}")
        lines.append("")
        if isinstance(r, str):
            lines += ["**The drill did not complete:**", "", "```", r.strip(), "```", ""]
            continue
        fo = "-" if r.failover_s is None else f"{r.failover_s:.2f} s"
        gap = "-" if r.longest_gap_s is None else f"{r.longest_gap_s:.2f} s"
        lines += [
            f"**{r.drill}** — {'PASS' if r.ok else 'FAIL'} ({r.seconds:.0f} s)",
            "",
            "| produced | acknowledged | recovered | lost | duplicated | offsets contiguous "
            "| failover | longest ack gap | delivery errors | unacked but present |",
            "|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|",
            f"| {r.produced} | {r.acknowledged} | {r.recovered} | {r.lost} | {r.duplicated} | "
            f"{'yes' if r.contiguous else 'NO'} | {fo} | {gap} | {r.delivery_errors} | "
            f"{r.unacked_present} |",
            "",
        ]
        for note in r.notes + r.gaps:
            lines.append(f"- {note}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chaos.drills")
    ap.add_argument("--drill", action="append", choices=sorted(DRILLS) + ["3"],
                    help="drill to run (repeatable; 3 = 3a and 3b); default: all")
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--report", type=Path, help="write a Markdown report here")
    ap.add_argument("--s3-endpoint", help="an existing S3 endpoint (default: start moto)")
    args = ap.parse_args(argv)
    drills: list[str] = []
    for d in args.drill or list(DRILLS):
        drills += ["3a", "3b"] if d == "3" else [d]
    moto = None
    if args.s3_endpoint is None:
        from .harness import Moto

        moto = Moto()
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    try:
        results = run(drills, args.scale, args.s3_endpoint or moto.url, workdir)  # type: ignore[union-attr]
    finally:
        if moto is not None:
            moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.report:
        cmd = "python -m chaos.drills " + " ".join(sys.argv[1:] if argv is None else argv)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report(results, args.scale, cmd.strip()))
    return 0 if all(not isinstance(r, str) and r.ok for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
