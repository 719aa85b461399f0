"""kcat (librdkafka CLI): produce and consume back 10,000 records.

kcat produces lines ``key<TAB>value`` read from stdin to one explicit
partition per run (``-p N -K '\\t'``); a line without the delimiter is sent
with a null key. It cannot set per-record headers or timestamps: ``-H`` adds
the same headers to every record of a run, and the timestamp is librdkafka's
CreateTime at produce(), so those records are checked against the headers of
their run and against the wall-clock window of the produce runs. Every codec
is set with ``-X compression.codec=...`` (librdkafka builds in all of them).
Consuming is ``-C -p N -o beginning -e -J`` (no group). A second test has
confluent-kafka produce records with per-record headers and explicit
timestamps and checks that kcat reads them back exactly.

COMPAT_KCAT_ARGS adds arguments to every kcat call (e.g. ``-d protocol``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import subprocess

import pytest
from compat_roundtrip import (
    CODECS,
    N_PARTITIONS,
    Rec,
    by_partition,
    make_records,
    now_ms,
    verify_roundtrip,
)

CLIENT = "kcat"
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
EXTRA = shlex.split(os.environ.get("COMPAT_KCAT_ARGS", ""))


@pytest.fixture
def kcat(bootstrap, need_tool):
    need_tool(KCAT is not None, "kcat is not installed (apt-get install -y kcat)")

    def run(*args: str, stdin: bytes | None = None, timeout: float = 90) -> bytes:
        cmd = [KCAT, "-b", bootstrap, *EXTRA, *args]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(
                f"{shlex.join(cmd)} exited {proc.returncode}:\n"
                + proc.stderr.decode(errors="replace")[-3000:]
            )
        return proc.stdout

    return run


def kcat_produce(
    kcat, topic: str, recs: list[Rec], headers: dict[int, list[tuple[str, bytes]]], *xconf: str
) -> None:
    for p, part_recs in sorted(by_partition(recs).items()):
        lines = b"".join(
            (b"" if r.key is None else r.key + b"\t") + r.value + b"\n" for r in part_recs
        )
        hargs = [a for k, v in headers[p] for a in ("-H", f"{k}={v.decode()}")]
        xargs = [a for x in xconf for a in ("-X", x)]
        kcat("-P", "-t", topic, "-p", str(p), "-K", "\t", *hargs, *xargs, stdin=lines)


def kcat_consume(kcat, topic: str) -> list[Rec]:
    out: list[Rec] = []
    for p in range(N_PARTITIONS):
        raw = kcat("-C", "-t", topic, "-p", str(p), "-o", "beginning", "-e", "-J", "-q")
        for line in raw.splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            h = d.get("headers") or []
            out.append(
                Rec(
                    partition=d["partition"],
                    key=None if d.get("key") is None else d["key"].encode(),
                    value=d["payload"].encode(),
                    headers=tuple((h[i], h[i + 1].encode()) for i in range(0, len(h), 2)),
                    timestamp=d.get("ts"),
                    offset=d["offset"],
                )
            )
    return out


def kcat_end_offsets(kcat, topic: str) -> dict[int, int]:
    # Query mode: offset for timestamp -1 is the partition's end (ListOffsets latest).
    args = [a for p in range(N_PARTITIONS) for a in ("-t", f"{topic}:{p}:-1")]
    # -J prints {"<topic>": {"topic": "<topic>", "0": {"partition": 0, "offset": N}, ...}}
    d = json.loads(kcat("-Q", "-J", *args))
    return {
        int(v["partition"]): int(v["offset"])
        for v in d.get(topic, {}).values()
        if isinstance(v, dict)
    }


@pytest.mark.parametrize("codec", CODECS)
def test_codec_roundtrip(kcat, topic, codec):
    recs = make_records(tag=topic, binary_headers=False)
    headers = {
        p: [("compat-part", b"%d" % p), ("compat-codec", codec.encode())]
        for p in range(N_PARTITIONS)
    }
    expected = [
        dataclasses.replace(r, headers=tuple(headers[r.partition]), timestamp=None) for r in recs
    ]
    t0 = now_ms()
    kcat_produce(kcat, topic, recs, headers, f"compression.codec={codec}")
    t1 = now_ms()
    consumed = kcat_consume(kcat, topic)
    verify_roundtrip(
        expected,
        consumed,
        ts_window=(t0, t1),
        end_offsets=kcat_end_offsets(kcat, topic),
        what=f"{CLIENT} compression={codec}",
    )


def test_consumes_per_record_headers_and_timestamps(kcat, bootstrap, topic):
    from test_confluent_kafka import produce

    expected = make_records(tag=topic, binary_headers=False)
    produce(bootstrap, topic, expected)
    consumed = kcat_consume(kcat, topic)
    verify_roundtrip(
        expected,
        consumed,
        end_offsets=kcat_end_offsets(kcat, topic),
        what=f"{CLIENT} consuming confluent-kafka's records",
    )
