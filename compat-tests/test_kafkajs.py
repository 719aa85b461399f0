"""kafkajs (2.2, node): produce and consume back 10,000 records.

The node side is kafkajs/produce_consume.js: it produces the records this test
writes to a file (explicit partitions, headers, timestamps), reads every
partition back with a manual Fetch loop (kafkajs' Consumer needs a consumer
group), and writes what it read to another file, which is checked here.

Codecs: gzip (built into kafkajs), snappy (kafkajs-snappy, pure JS), lz4
(lz4js) and zstd (zstd-codec, WebAssembly) through small codec shims, so no
native build is needed. Setup: ``cd compat-tests/kafkajs && npm ci``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from compat_roundtrip import (
    CODECS,
    CONSUME_TIMEOUT_S,
    N_PARTITIONS,
    Rec,
    make_records,
    verify_roundtrip,
)

CLIENT = "kafkajs"
HERE = Path(__file__).resolve().parent / "kafkajs"
SCRIPT = HERE / "produce_consume.js"
NODE = shutil.which("node")


@pytest.fixture
def kafkajs(bootstrap, topic, tmp_path, need_tool):
    need_tool(NODE is not None, "node is not installed")
    need_tool(
        (HERE / "node_modules" / "kafkajs").is_dir(),
        "kafkajs is not installed (cd compat-tests/kafkajs && npm ci)",
    )

    def run(
        recs: list[Rec], *, codec: str = "none", acks: int = -1, idempotent: bool = False
    ) -> tuple[list[Rec], dict]:
        src, dst = tmp_path / "records.jsonl", tmp_path / "consumed.jsonl"
        src.write_text("".join(r.to_json() + "\n" for r in recs))
        cmd = [
            NODE,
            str(SCRIPT),
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--input",
            str(src),
            "--output",
            str(dst),
            "--codec",
            codec,
            "--acks",
            str(acks),
            "--partitions",
            str(N_PARTITIONS),
            "--timeout-ms",
            str(int(CONSUME_TIMEOUT_S * 1000)),
        ]
        if idempotent:
            cmd.append("--idempotent")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CONSUME_TIMEOUT_S + 60)
        if proc.returncode != 0:
            raise AssertionError(
                f"{shlex.join(cmd)} exited {proc.returncode}:\n" + proc.stderr[-4000:]
            )
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        consumed = [Rec.from_json(line) for line in dst.read_text().splitlines() if line]
        return consumed, summary

    return run


def roundtrip(kafkajs, topic: str, what: str, **kw) -> dict:
    expected = make_records(tag=topic)
    consumed, summary = kafkajs(expected, **kw)
    assert summary["produced"] == len(expected), summary
    end_offsets = {int(p): o for p, o in summary["endOffsets"].items()}
    verify_roundtrip(expected, consumed, end_offsets=end_offsets, what=f"{CLIENT} {what}")
    return summary


@pytest.mark.parametrize("codec", CODECS)
def test_codec_roundtrip(kafkajs, topic, codec):
    roundtrip(kafkajs, topic, f"compression={codec}", codec=codec)


@pytest.mark.parametrize("acks", [0, 1, -1])
def test_acks(kafkajs, topic, acks):
    roundtrip(kafkajs, topic, f"acks={acks}", acks=acks)


def test_idempotent_producer(kafkajs, topic):
    roundtrip(kafkajs, topic, "idempotent=true", idempotent=True)
