"""`topic produce` and `topic consume` over the Kafka protocol (confluent-kafka), so they
run at client speed: rpk's offset grammar and format strings, kcat's JSON envelopes."""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .config import Profile
from .errors import FAILED, NOT_FOUND, UNAVAILABLE, USAGE, CliError
from .grammar import timestamp_ms

ACKS = {"none": "0", "buffered": "1", "durable": "all"}


def client_config(profile: Profile, **extra: str) -> dict[str, str]:
    conf = {"bootstrap.servers": profile.bootstrap, "client.id": "streamctl"}
    if profile.credentials and "sasl.username" not in profile.kafka:
        # An API key logs in with SASL PLAIN (or SCRAM, with -X sasl.mechanism=...);
        # SASL_SSL with -X security.protocol=SASL_SSL.
        key, _sep, secret = profile.credentials.partition(":")
        conf.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                     "sasl.username": key, "sasl.password": secret})
    conf.update(extra)
    conf.update(profile.kafka)  # -X and the profile's own properties win
    return conf


# -- format strings ------------------------------------------------------------------------

_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\\\": "\\"}


def unescape(text: str) -> str:
    return re.sub(r"\\[ntr\\]", lambda m: _ESCAPES[m.group(0)], text)


def render(fmt: str, topic: str, partition: int, offset: int, timestamp: int,
           key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> bytes:
    """rpk-style: %t topic, %p partition, %o offset, %T timestamp (ms), %d timestamp (ISO),
    %k key, %v value, %h headers (k=v,...), %K/%V their lengths, %% a percent sign."""
    out = bytearray()
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 == len(fmt):
            out += c.encode()
            i += 1
            continue
        f = fmt[i + 1]
        i += 2
        if f == "v":
            out += value or b""
        elif f == "k":
            out += key or b""
        elif f == "t":
            out += topic.encode()
        elif f == "p":
            out += str(partition).encode()
        elif f == "o":
            out += str(offset).encode()
        elif f == "T":
            out += str(timestamp).encode()
        elif f == "d":
            out += time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp / 1000)).encode()
            out += f".{timestamp % 1000:03d}Z".encode()
        elif f == "h":
            out += ",".join(f"{k}={(v or b'').decode(errors='replace')}" for k, v in headers).encode()
        elif f == "K":
            out += str(-1 if key is None else len(key)).encode()
        elif f == "V":
            out += str(-1 if value is None else len(value)).encode()
        elif f == "%":
            out += b"%"
        else:
            raise CliError(f"unknown format escape %{f} (use %t %p %o %T %d %k %v %h %K %V %%)", USAGE)
    return bytes(out)


def compile_format(fmt: str) -> Callable[..., bytes]:
    """A format string made once into a function of a record (render's rules, without
    reading the string again per record); `%v\\n`, the default, is one concatenation."""
    if fmt == "%v\n":
        return lambda _t, _p, _o, _ts, _k, v, _h: (v or b"") + b"\n"
    parts: list[bytes | str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            if code not in "vktpoTdhKV%":
                raise CliError(f"unknown format escape %{code} (use %t %p %o %T %d %k %v %h %K %V %%)",
                               USAGE)
            parts.append(b"%" if code == "%" else code)
            i += 2
        else:
            parts.append(fmt[i].encode())
            i += 1
    plain = all(isinstance(x, bytes) or x in "vk" for x in parts)
    if plain:  # only keys, values and text: the common `%k %v\n` and friends
        def fast(_t: str, _p: int, _o: int, _ts: int, k: bytes | None, v: bytes | None,
                 _h: Any) -> bytes:
            return b"".join(x if isinstance(x, bytes) else ((v if x == "v" else k) or b"")
                            for x in parts)
        return fast
    return lambda t, p, o, ts, k, v, h: render(fmt, t, p, o, ts, k, v, h)


def envelope(topic: str, partition: int, offset: int, timestamp: int, key: bytes | None,
             value: bytes | None, headers: list[tuple[str, bytes]]) -> bytes:
    """kcat -J: one JSON object per record; text as text, other bytes as base64."""
    def text(b: bytes | None) -> tuple[str | None, str]:
        if b is None:
            return None, "text"
        try:
            return b.decode(), "text"
        except UnicodeDecodeError:
            return base64.b64encode(b).decode(), "base64"

    k, kenc = text(key)
    v, venc = text(value)
    doc: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset,
                           "timestamp": timestamp, "key": k, "value": v,
                           "headers": [[hk, text(hv)[0]] for hk, hv in headers]}
    if kenc != "text":
        doc["key_encoding"] = kenc
    if venc != "text":
        doc["value_encoding"] = venc
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


@dataclass
class LineFormat:
    """A produce format like `%k %v` or `%k\\t%v\\t%h`: each line split by its literals."""

    fields: list[str]
    pattern: re.Pattern[bytes]

    @classmethod
    def parse(cls, fmt: str) -> LineFormat:
        parts = re.split(r"(%[kvph])", unescape(fmt))
        fields = [p[1] for p in parts if re.fullmatch(r"%[kvph]", p)]
        if "v" not in fields:
            raise CliError(f"the produce format {fmt!r} has no %v", USAGE)
        regex = b""
        for n, p in enumerate(parts):
            if re.fullmatch(r"%[kvph]", p):
                regex += b"(.*)" if n == len(parts) - 2 and not parts[-1] else b"(.*?)"
            else:
                regex += re.escape(p.encode())
        return cls(fields=fields, pattern=re.compile(b"^" + regex + b"$", re.S))

    def split(self, line: bytes, number: int) -> dict[str, bytes]:
        m = self.pattern.match(line)
        if not m:
            raise CliError(f"line {number} does not match the format", USAGE)
        return dict(zip(self.fields, m.groups(), strict=True))


# -- consume -------------------------------------------------------------------------------


def start_offsets(spec: str, partitions: list[int], low: dict[int, int], high: dict[int, int],
                  by_time: Callable[[int], dict[int, int]] | None = None) -> dict[int, int]:
    """Where each partition starts: start, end, N, +N (after the start), -N (before the
    end), @time (the first record at or after it). `by_time(ms)` answers
    {partition: offset} (the end where there is none)."""
    if spec in ("start", "beginning", "earliest", "oldest"):
        return dict(low)
    if spec in ("end", "latest", "newest"):
        return dict(high)
    if spec.startswith("@"):
        assert by_time is not None
        return by_time(timestamp_ms(spec[1:]))
    m = re.fullmatch(r"([+-]?)(\d+)", spec)
    if not m:
        raise CliError(f"-o {spec!r}: use start, end, an offset, +N, -N or @time", USAGE)
    sign, n = m.group(1), int(m.group(2))
    if sign == "+":
        return {p: min(low[p] + n, high[p]) for p in partitions}
    if sign == "-":
        return {p: max(high[p] - n, low[p]) for p in partitions}
    return {p: min(max(n, low[p]), high[p]) for p in partitions}


def consume(profile: Profile, topic: str, *, offset: str, partitions: list[int] | None,
            count: int | None, follow: bool, fmt: str | None, json_lines: bool,
            out: BinaryIO, decoder: Any = None) -> int:
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    # A deep prefetch (librdkafka's default stops at 100,000 queued messages and waits on
    # this thread to drain them): 3x faster to a pipe, bounded by queued.max.messages.kbytes.
    c = Consumer(client_config(profile, **{"group.id": "streamctl", "enable.auto.commit": "false",
                                           "enable.partition.eof": "false",
                                           "queued.min.messages": "1000000"}))
    try:
        try:
            meta = c.list_topics(topic, timeout=15)
        except KafkaException as exc:
            raise CliError(f"cannot reach {profile.bootstrap}: {exc}", UNAVAILABLE) from None
        t = meta.topics.get(topic)
        if t is None or t.error is not None:
            raise CliError(f"topic {topic!r} does not exist", NOT_FOUND)
        chosen = sorted(partitions) if partitions else sorted(t.partitions)
        for p in chosen:
            if p not in t.partitions:
                raise CliError(f"{topic} has no partition {p}", NOT_FOUND)
        low, high = {}, {}
        for p in chosen:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
            low[p], high[p] = lo, hi

        def by_time(ms: int) -> dict[int, int]:
            found = c.offsets_for_times([TopicPartition(topic, p, ms) for p in chosen], timeout=15)
            out: dict[int, int] = {}
            for tp in found:
                out[int(tp.partition)] = tp.offset if tp.offset >= 0 else high[tp.partition]
            return out

        begin = start_offsets(offset, chosen, low, high, by_time)
        pending = {p for p in chosen if follow or begin[p] < high[p]}
        if not pending or count == 0:
            return 0
        c.assign([TopicPartition(topic, p, begin[p]) for p in chosen])
        template = unescape(fmt) if fmt is not None else "%v\n"
        line_of = compile_format(template)
        # Values alone, one a line (the default): no timestamps, headers or keys read.
        values_only = template == "%v\n" and not json_lines and decoder is None
        shown = 0
        while pending:
            lines: list[bytes] = []
            for m in c.consume(10_000, 0.5):
                if m.error() is not None:
                    continue
                p, o = m.partition(), m.offset()
                if p is None or o is None:
                    continue
                if not follow and o >= high[p]:
                    pending.discard(p)
                    continue
                if values_only:
                    v = m.value()
                    lines.append(v + b"\n" if v is not None else b"\n")
                else:
                    ts = m.timestamp()[1]
                    hdrs: list[tuple[str, bytes]] = list(m.headers() or [])  # type: ignore[arg-type]
                    key, value = m.key(), m.value()
                    if decoder is not None:
                        key, value = decoder.decode(key), decoder.decode(value)
                    lines.append(envelope(topic, p, o, ts, key, value, hdrs) if json_lines
                                 else line_of(topic, p, o, ts, key, value, hdrs))
                shown += 1
                if count is not None and shown >= count:
                    out.write(b"".join(lines))
                    return shown
                if not follow and o + 1 >= high[p]:
                    pending.discard(p)
            if lines:
                out.write(b"".join(lines))
                if follow:
                    out.flush()  # a live tail shows what came at once
        return shown
    finally:
        out.flush()
        c.close()


# -- produce -------------------------------------------------------------------------------


def _headers(text: bytes) -> list[tuple[str, bytes]]:
    out = []
    for part in filter(None, text.split(b",")):
        k, _sep, v = part.partition(b"=")
        out.append((k.decode(), v))
    return out


def lines_of(stream: BinaryIO) -> Iterator[bytes]:
    for raw in stream:
        yield raw.rstrip(b"\r\n")


def produce(profile: Profile, topic: str, records: Iterable[bytes], *, fmt: str,
            key: str | None, headers: list[str], partition: int | None, ack_mode: str,
            progress: Any = None) -> tuple[int, int]:
    """Send every line (or argument) as a record; (delivered, failed)."""
    from confluent_kafka import KafkaException, Producer

    if ack_mode not in ACKS:
        raise CliError(f"--ack-mode is none, buffered or durable, not {ack_mode!r}", USAGE)
    fixed = [(h.partition("=")[0], h.partition("=")[2].encode()) for h in headers]
    for h in headers:
        if "=" not in h or not h.partition("=")[0]:
            raise CliError(f"-H takes name=value, got {h!r}", USAGE)
    line_format = LineFormat.parse(fmt)
    p = Producer(client_config(profile, acks=ACKS[ack_mode], **{"linger.ms": "20",
                                                                "enable.idempotence": "false"}))
    delivered = failed = 0
    first_error: list[str] = []

    def done(err: Any, _msg: Any) -> None:
        nonlocal delivered, failed
        if err is None:
            delivered += 1
        else:
            failed += 1
            if not first_error:
                first_error.append(str(err))

    try:
        if fmt == "%v" and not headers:
            remaining = _produce_values(p, topic, records, key, partition, done, progress)
        else:
            remaining = _produce_lines(p, topic, records, line_format, key, fixed, partition,
                                       done, progress)
    except KafkaException as exc:
        raise CliError(f"cannot produce to {topic}: {exc}", FAILED) from None
    if remaining:
        raise CliError(f"{remaining} record(s) not acknowledged within 60 s", UNAVAILABLE)
    if failed:
        raise CliError(f"{failed} of {failed + delivered} record(s) failed: {first_error[0]}",
                       FAILED)
    return delivered, failed


def _produce_lines(p: Any, topic: str, records: Iterable[bytes], line_format: LineFormat,
                   key: str | None, fixed: list[tuple[str, bytes]], partition: int | None,
                   done: Any, progress: Any) -> int:
    """Each line split by its format (keys, headers, partition); what is left unacked."""
    for n, line in enumerate(records, 1):
        parts = line_format.split(line, n)
        rec_key = parts.get("k", key.encode() if key is not None else None)
        rec_headers = fixed + (_headers(parts["h"]) if "h" in parts else [])
        rec_partition = int(parts["p"]) if "p" in parts else partition
        kwargs: dict[str, Any] = {"value": parts["v"], "key": rec_key, "on_delivery": done}
        if rec_headers:
            kwargs["headers"] = rec_headers
        if rec_partition is not None:
            kwargs["partition"] = rec_partition
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        if n % 1000 == 0:
            p.poll(0)
        if progress is not None:
            progress(len(line) + 1)
    return int(p.flush(60))


def _produce_values(p: Any, topic: str, records: Iterable[bytes], key: str | None,
                    partition: int | None, done: Any, progress: Any) -> int:
    """The common case, one value per line: no parsing, no per-record dict; what is left
    unacked."""
    produce_one = p.produce
    k = key.encode() if key is not None else None
    part = -1 if partition is None else partition
    for n, line in enumerate(records, 1):
        while True:
            try:
                produce_one(topic, line, k, part, on_delivery=done)
                break
            except BufferError:  # the queue is full: let deliveries drain it
                p.poll(0.05)
        if n % 1000 == 0:
            p.poll(0)
            if progress is not None:
                progress(1000 * (len(line) + 1))
    return int(p.flush(60))


def produce_with_schema(api: Any, topic: str, records: Iterable[bytes], *, subject: str,
                        key: str | None, headers: list[str], partition: int | None,
                        ack_mode: str, progress: Any = None) -> int:
    """JSON values written with a subject's latest schema (Avro, JSON Schema or Protobuf)
    by the server (REST produce with value_subject), in requests of 500; the server checks
    every value against the schema and refuses the request naming the record."""
    if ack_mode not in ACKS:
        raise CliError(f"--ack-mode is none, buffered or durable, not {ack_mode!r}", USAGE)
    fixed = [{"key": h.partition("=")[0], "value": h.partition("=")[2]} for h in headers]
    sent = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal sent
        if batch:
            api.post("/api/v1/produce", {"topic": topic, "records": batch},
                     headers={"X-Ack-Mode": ack_mode})
            sent += len(batch)
            batch.clear()

    for n, line in enumerate(records, 1):
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise CliError(f"line {n} is not JSON: {exc}", USAGE) from None
        rec: dict[str, Any] = {"value": value, "value_subject": subject}
        if key is not None:
            rec["key"] = key
        if partition is not None:
            rec["partition"] = partition
        if fixed:
            rec["headers"] = fixed
        batch.append(rec)
        if len(batch) >= 500:
            flush()
        if progress is not None:
            progress(len(line) + 1)
    flush()
    return sent


def stdin_bytes() -> BinaryIO:
    return sys.stdin.buffer
