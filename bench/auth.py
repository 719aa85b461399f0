"""The cost of logins and TLS on one agent: produce and fetch throughput through a PLAINTEXT
listener, a SASL_PLAINTEXT one (SCRAM-SHA-512) and a SASL_SSL one, in alternating rounds
on the same agent, and the time to authenticate a connection (PLAIN, SCRAM-SHA-256/512).

Writes docs/BENCHMARKS-AUTH.md. Usage: python bench/auth.py [--records 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from procs import free_port, wait_port  # noqa: E402

sys.path.insert(0, str(ROOT))

from tests.integration.test_tenancy import _self_signed  # noqa: E402
from tests.wire import Wire  # noqa: E402

ADMIN = "bench-platform-admin-secret"


def produce_rate(conf: dict[str, Any], topic: str, records: int, value: bytes) -> float:
    p = Producer({**conf, "linger.ms": 5, "batch.size": 1 << 20, "acks": "all",
                  "queue.buffering.max.kbytes": 1 << 20})
    started = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                p.produce(topic, value=value)
                break
            except BufferError:
                p.poll(0.01)
    assert p.flush(120) == 0
    return records / (time.perf_counter() - started)


def fetch_rate(conf: dict[str, Any], topic: str, records: int) -> float:
    c = Consumer({**conf, "group.id": f"bench-{time.monotonic_ns()}", "enable.auto.commit": False,
                  "fetch.queue.backoff.ms": 10})
    c.assign([TopicPartition(topic, 0, 0)])
    got = 0
    started = None
    while got < records:
        batch = c.consume(10_000, timeout=5)
        if not batch:
            raise RuntimeError(f"fetch stalled at {got} of {records}")
        if started is None:
            started = time.perf_counter()
        got += sum(1 for m in batch if not m.error())
    c.close()
    assert started is not None
    return got / (time.perf_counter() - started)


def login_ms(bootstrap: str, mechanism: str, key: str, secret: str, tls: ssl.SSLContext | None,
             n: int) -> float:
    """Median time from connect to an authenticated connection (handshake + exchange)."""
    from kio.schema.sasl_authenticate.v2.request import SaslAuthenticateRequest
    from kio.schema.sasl_handshake.v1.request import SaslHandshakeRequest

    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    from test_credentials import client_final

    times = []
    for i in range(n):
        started = time.perf_counter()
        w = Wire(bootstrap)
        if tls is not None:
            w.sock = tls.wrap_socket(w.sock, server_hostname="127.0.0.1")
        w.call(SaslHandshakeRequest, {"mechanism": mechanism})
        if mechanism == "PLAIN":
            answer = w.call(SaslAuthenticateRequest,
                            {"auth_bytes": b"\0" + key.encode() + b"\0" + secret.encode()})
        else:
            bare = f"n={key},r=bench{i}"
            first = w.call(SaslAuthenticateRequest, {"auth_bytes": f"n,,{bare}".encode()})
            final, _ = client_final(secret, mechanism, bare, first.auth_bytes.decode())
            answer = w.call(SaslAuthenticateRequest, {"auth_bytes": final.encode()})
        assert answer.error_code == 0, answer
        times.append(time.perf_counter() - started)
        w.close()
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--value-bytes", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--logins", type=int, default=40)
    ap.add_argument("--report", default=str(ROOT / "docs" / "BENCHMARKS-AUTH.md"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sh-auth-bench-"))
    cert, key_pem = _self_signed(work)
    (work / "admin.key").write_text(ADMIN)
    plain, sasl, sasl_ssl, http = free_port(), free_port(), free_port(), free_port()
    exe = str(Path(sys.executable).parent / "streamhouse")
    proc = subprocess.Popen([
        exe, "serve", "--data-dir", str(work / "data"), "--kafka-listen", f"127.0.0.1:{plain}",
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{sasl_ssl}",
        "--tls-cert", str(cert), "--tls-key", str(key_pem), "--admin-key-file",
        str(work / "admin.key"), "--http-listen", f"127.0.0.1:{http}", "--registry-listen",
        "off", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for port in (plain, sasl, sasl_ssl, http):
            wait_port(port, 30, proc)
        h = {"Authorization": f"Bearer {ADMIN}"}
        base = f"http://127.0.0.1:{http}"
        # The default organization has the PLAINTEXT listener; its admin key logs in on the
        # SASL listeners, so the three paths serve the same organization.
        k = httpx.post(f"{base}/api/v1/organizations/default/api-keys",
                       json={"scope": "admin"}, headers=h).json()
        trust = ssl.create_default_context(cafile=str(cert))
        paths = {
            "PLAINTEXT": {"bootstrap.servers": f"127.0.0.1:{plain}"},
            "SASL_PLAINTEXT (SCRAM-SHA-512)": {
                "bootstrap.servers": f"127.0.0.1:{sasl}", "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": k["id"],
                "sasl.password": k["secret"]},
            "SASL_SSL (SCRAM-SHA-512)": {
                "bootstrap.servers": f"127.0.0.1:{sasl_ssl}", "security.protocol": "SASL_SSL",
                "ssl.ca.location": str(cert), "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": k["id"], "sasl.password": k["secret"]},
        }
        value = b"x" * args.value_bytes
        results: dict[str, dict[str, list[float]]] = {p: {"produce": [], "fetch": []}
                                                      for p in paths}
        for r in range(args.rounds):
            for name, conf in paths.items():  # alternating: noise hits every path alike
                topic = f"bench-{r}-{name.split()[0].lower()}"
                results[name]["produce"].append(produce_rate(conf, topic, args.records, value))
                results[name]["fetch"].append(fetch_rate(conf, topic, args.records))
                print(name, r, {k2: round(v[-1]) for k2, v in results[name].items()}, flush=True)
        logins = {}
        for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            logins[f"{mechanism} over SASL_PLAINTEXT"] = login_ms(
                f"127.0.0.1:{sasl}", mechanism, k["id"], k["secret"], None, args.logins)
        logins["SCRAM-SHA-512 over SASL_SSL (with the TLS handshake)"] = login_ms(
            f"127.0.0.1:{sasl_ssl}", "SCRAM-SHA-512", k["id"], k["secret"], trust, args.logins)
    finally:
        proc.terminate()
        proc.wait(30)
    write_report(args, results, logins)


def write_report(args: argparse.Namespace, results: dict[str, dict[str, list[float]]],
                 logins: dict[str, float]) -> None:
    base = {kind: statistics.median(results["PLAINTEXT"][kind]) for kind in ("produce", "fetch")}
    lines = [
        "# Logins and TLS: what they cost",
        "",
        f"`python bench/auth.py --records {args.records} --rounds {args.rounds}`,"
        f" {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()},"
        f" Python {platform.python_version()}. One agent (embedded default) with three"
        " listeners; confluent-kafka produces"
        f" {args.records:,} records of {args.value_bytes} B (acks=all) to a new topic, then"
        " reads them back, through each listener in turn, for each round (so the shared,"
        " noisy machine's drift hits every path alike). Medians of the rounds; the ratio is"
        " against PLAINTEXT in the same run.",
        "",
        "| path | produce records/s | ratio | rounds (k/s) | fetch records/s | ratio |"
        " rounds (k/s) |",
        "| --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        p, f = statistics.median(r["produce"]), statistics.median(r["fetch"])
        spread = {k: f"{min(v) / 1000:.0f}-{max(v) / 1000:.0f}" for k, v in r.items()}
        lines.append(f"| {name} | {p:,.0f} | {p / base['produce']:.2f}x | {spread['produce']} |"
                     f" {f:,.0f} | {f / base['fetch']:.2f}x | {spread['fetch']} |")
    lines += ["", "After its login a SASL connection runs the same request path as a PLAINTEXT one"
              " (the principal is bound once per connection); a difference smaller than the"
              " spread of the rounds is not a finding. TLS costs the agent the encryption of"
              " every byte it sends and receives, which is what the fetch column shows.",
              "", "Time to authenticate a new connection (median of"
              f" {args.logins}, connect to authenticated, client on the same machine):", "",
              "| login | ms |", "| --- | ---: |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in logins.items()]
    lines += ["", "Raw rounds:", "", "```", json.dumps(results, indent=1), "```", ""]
    Path(args.report).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
