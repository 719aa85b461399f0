"""RecordBatch v2 (magic 2): header reading, validation and base-offset rewrite.

Sans-io: functions take bytes and return values. The produce path reads only
the 61-byte batch headers and checks CRC32C over each batch as a whole; it
never decodes records one by one. Record-level encoding and decoding below is
for tests, the REST API and tools, never for the produce or fetch path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import crc32c

# baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8, crc u32,
# attributes i16, lastOffsetDelta i32, firstTimestamp i64, maxTimestamp i64,
# producerId i64, producerEpoch i16, baseSequence i32, recordsCount i32
HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = HEADER.size  # 61
LOG_OVERHEAD = 12  # baseOffset + batchLength precede the length-counted part
CRC_START = 21  # attributes onwards are covered by the CRC

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_LOG_APPEND = 0x08
TRANSACTIONAL = 0x10
CONTROL = 0x20

NO_PRODUCER_ID = -1
NO_SEQUENCE = -1


class InvalidBatch(ValueError):
    """A record set that is not a well-formed, intact RecordBatch v2 sequence."""

    def __init__(self, message: str, *, corrupt: bool = True) -> None:
        super().__init__(message)
        self.corrupt = corrupt


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchHeader:
    position: int  # byte offset of the batch inside its record set
    base_offset: int
    size: int  # whole batch, LOG_OVERHEAD included
    partition_leader_epoch: int
    attributes: int
    last_offset_delta: int
    first_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL)

    @property
    def last_sequence(self) -> int:
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF


def read_header(data: bytes | bytearray | memoryview, position: int = 0) -> BatchHeader:
    if len(data) - position < HEADER_SIZE:
        raise InvalidBatch("record set ends inside a batch header")
    (
        base_offset,
        batch_length,
        leader_epoch,
        magic,
        _crc,
        attributes,
        last_offset_delta,
        first_ts,
        max_ts,
        producer_id,
        producer_epoch,
        base_sequence,
        records_count,
    ) = HEADER.unpack_from(data, position)
    if magic != 2:
        raise InvalidBatch(f"unsupported record batch magic {magic}; only magic 2 is accepted")
    size = batch_length + LOG_OVERHEAD
    if batch_length < HEADER_SIZE - LOG_OVERHEAD:
        raise InvalidBatch(f"batch length {batch_length} is shorter than a batch header")
    return BatchHeader(
        position=position,
        base_offset=base_offset,
        size=size,
        partition_leader_epoch=leader_epoch,
        attributes=attributes,
        last_offset_delta=last_offset_delta,
        first_timestamp=first_ts,
        max_timestamp=max_ts,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        records_count=records_count,
    )


def validate_record_set(data: bytes | bytearray | memoryview) -> list[BatchHeader]:
    """Every batch of a produced record set, checked for magic, sizes and CRC32C."""
    headers: list[BatchHeader] = []
    view = memoryview(data)
    position = 0
    total = len(view)
    if total == 0:
        raise InvalidBatch("empty record set")
    while position < total:
        header = read_header(view, position)
        end = position + header.size
        if end > total:
            raise InvalidBatch("record set ends inside a batch")
        (stored_crc,) = struct.unpack_from(">I", view, position + 17)
        if crc32c.crc32c(view[position + CRC_START : end]) != stored_crc:
            raise InvalidBatch(f"CRC32C mismatch in the batch at byte {position}")
        if header.last_offset_delta < 0 or header.records_count < 0:
            raise InvalidBatch("negative record count or offset delta")
        if header.records_count == 0 and not header.is_control:
            raise InvalidBatch("a batch holds no records")
        headers.append(header)
        position = end
    return headers


def scan_headers(data: bytes | bytearray | memoryview) -> list[BatchHeader]:
    """Headers of stored batches (already validated), without CRC checks."""
    headers = []
    position = 0
    total = len(data)
    while position + HEADER_SIZE <= total:
        header = read_header(data, position)
        if position + header.size > total:
            break
        headers.append(header)
        position += header.size
    return headers


def set_base_offset(buf: bytearray, position: int, base_offset: int) -> None:
    struct.pack_into(">q", buf, position, base_offset)


def set_leader_epoch(buf: bytearray, position: int, epoch: int) -> None:
    struct.pack_into(">i", buf, position + 12, epoch)


def set_log_append_time(buf: bytearray, header: BatchHeader, timestamp_ms: int) -> None:
    """LogAppendTime: mark the batch and set its max timestamp; the CRC is recomputed."""
    position = header.position
    attributes = header.attributes | TIMESTAMP_TYPE_LOG_APPEND
    struct.pack_into(">h", buf, position + 21, attributes)
    struct.pack_into(">q", buf, position + 35, timestamp_ms)
    end = position + header.size
    crc = crc32c.crc32c(memoryview(buf)[position + CRC_START : end])
    struct.pack_into(">I", buf, position + 17, crc)


# ---------------------------------------------------------------------------
# Records: encoding and decoding, for tests and tools (not the hot path).


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


def _encode_varint(n: int) -> bytes:
    v = ((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF  # zigzag
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


# Varints of -1 (null) to 16383 precomputed: lengths, deltas and header counts of a
# batch are almost always small, and a table lookup beats the bit loop in Python.
_SMALL_VARINTS = tuple(_encode_varint(n) for n in range(-1, 1 << 14))
_SMALL_LIMIT = (1 << 14) - 1


def _varint(n: int) -> bytes:
    return _SMALL_VARINTS[n + 1] if -1 <= n < _SMALL_LIMIT else _encode_varint(n)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    result = 0
    while True:
        if pos >= len(data):
            raise InvalidBatch("record ends inside a varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise InvalidBatch("varint too long")
    return (result >> 1) ^ -(result & 1), pos


def compress(codec: int, data: bytes) -> bytes:
    if codec == 0:
        return data
    if codec == 1:
        import gzip

        return gzip.compress(data)
    if codec == 2:
        import cramjam

        return bytes(cramjam.snappy.compress_raw(data))
    if codec == 3:
        import lz4.frame

        return bytes(lz4.frame.compress(data))
    if codec == 4:
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    raise InvalidBatch(f"unknown compression codec {codec}")


def decompress(codec: int, data: bytes) -> bytes:
    if codec == 0:
        return data
    if codec == 1:
        import gzip

        return gzip.decompress(data)
    if codec == 2:
        import cramjam

        # Java clients use xerial's framed snappy; librdkafka and others raw.
        if data[:8] == b"\x82SNAPPY\x00":
            out = bytearray()
            pos = 16
            while pos < len(data):
                (n,) = struct.unpack_from(">i", data, pos)
                out += bytes(cramjam.snappy.decompress_raw(data[pos + 4 : pos + 4 + n]))
                pos += 4 + n
            return bytes(out)
        return bytes(cramjam.snappy.decompress_raw(data))
    if codec == 3:
        import lz4.frame

        return bytes(lz4.frame.decompress(data))
    if codec == 4:
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise InvalidBatch(f"unknown compression codec {codec}")


def _encode_headers(headers: list[tuple[str, bytes | None]]) -> bytes:
    out = [_varint(len(headers))]
    for key, value in headers:
        name = key.encode()
        out += (_varint(len(name)), name)
        out += (_SMALL_VARINTS[0],) if value is None else (_varint(len(value)), value)
    return b"".join(out)


def build_batch(
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int]],
    *,
    base_offset: int = 0,
    compression: int = 0,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = -1,
    base_sequence: int = NO_SEQUENCE,
) -> bytes:
    """A RecordBatch v2 from (key, value, headers, timestamp_ms) tuples."""
    if not records:
        raise ValueError("a batch needs at least one record")
    first_ts = min(r[3] for r in records)
    max_ts = max(r[3] for r in records)
    # Every number below is >= 0 (first_ts is the smallest timestamp), so a table hit
    # is `n < limit`; this loop is the REST produce path's hottest Python, hence one
    # join per record and no helper calls for the common sizes.
    small, limit, varint = _SMALL_VARINTS, _SMALL_LIMIT, _encode_varint
    null, no_headers = small[0], small[1]
    parts: list[bytes] = []
    append = parts.append
    for delta, (key, value, headers, ts) in enumerate(records):
        ts -= first_ts
        if key is None:
            key_length, key = null, b""
        else:
            n = len(key)
            key_length = small[n + 1] if n < limit else varint(n)
        if value is None:
            value_length, value = null, b""
        else:
            n = len(value)
            value_length = small[n + 1] if n < limit else varint(n)
        encoded = b"".join((
            b"\x00",  # attributes
            small[ts + 1] if ts < limit else varint(ts),
            small[delta + 1] if delta < limit else varint(delta),
            key_length, key, value_length, value,
            _encode_headers(headers) if headers else no_headers,
        ))
        n = len(encoded)
        append(small[n + 1] if n < limit else varint(n))
        append(encoded)
    body = b"".join(parts)
    payload = compress(compression, body)
    batch_length = HEADER_SIZE - LOG_OVERHEAD + len(payload)
    out = bytearray(
        HEADER.pack(
            base_offset,
            batch_length,
            -1,
            2,
            0,
            compression,
            len(records) - 1,
            first_ts,
            max_ts,
            producer_id,
            producer_epoch,
            base_sequence,
            len(records),
        )
    )
    out += payload
    struct.pack_into(">I", out, 17, crc32c.crc32c(memoryview(out)[CRC_START:]))
    return bytes(out)


def decode_records(data: bytes) -> list[Record]:
    """Every record of every batch in a record set (control batches skipped)."""
    out: list[Record] = []
    for header in scan_headers(data):
        if header.is_control:
            continue
        start = header.position + HEADER_SIZE
        payload = decompress(header.compression, bytes(data[start : header.position + header.size]))
        log_append = bool(header.attributes & TIMESTAMP_TYPE_LOG_APPEND)
        pos = 0
        for _ in range(header.records_count):
            length, pos = _read_varint(payload, pos)
            end = pos + length
            pos += 1  # attributes
            ts_delta, pos = _read_varint(payload, pos)
            off_delta, pos = _read_varint(payload, pos)
            klen, pos = _read_varint(payload, pos)
            key = None if klen < 0 else payload[pos : pos + klen]
            pos += max(klen, 0)
            vlen, pos = _read_varint(payload, pos)
            value = None if vlen < 0 else payload[pos : pos + vlen]
            pos += max(vlen, 0)
            nheaders, pos = _read_varint(payload, pos)
            hdrs = []
            for _h in range(nheaders):
                hklen, pos = _read_varint(payload, pos)
                hk = payload[pos : pos + hklen].decode()
                pos += hklen
                hvlen, pos = _read_varint(payload, pos)
                hv = None if hvlen < 0 else payload[pos : pos + hvlen]
                pos += max(hvlen, 0)
                hdrs.append((hk, hv))
            if pos != end:
                raise InvalidBatch("record length does not match its fields")
            out.append(
                Record(
                    offset=header.base_offset + off_delta,
                    timestamp=header.max_timestamp
                    if log_append
                    else header.first_timestamp + ts_delta,
                    key=key,
                    value=value,
                    headers=tuple(hdrs),
                )
            )
    return out


def key_value_prefixes(
    data: bytes, size: int = 5
) -> list[tuple[int, bytes | None, bytes | None]]:
    """(record index, first `size` bytes of the key, of the value) for every record of a record set.

    Walks the records' framing only (decompressing when needed); used by topics that
    ask for schema validation, never by the plain produce path.
    """
    out: list[tuple[int, bytes | None, bytes | None]] = []
    index = 0
    for header in scan_headers(data):
        start = header.position + HEADER_SIZE
        payload = decompress(header.compression, bytes(data[start : header.position + header.size]))
        pos = 0
        for _ in range(header.records_count):
            length, pos = _read_varint(payload, pos)
            end = pos + length
            p = pos + 1  # attributes
            _ts, p = _read_varint(payload, p)
            _off, p = _read_varint(payload, p)
            klen, p = _read_varint(payload, p)
            key = None if klen < 0 else payload[p : p + min(klen, size)]
            p += max(klen, 0)
            vlen, p = _read_varint(payload, p)
            value = None if vlen < 0 else payload[p : p + min(vlen, size)]
            if end > len(payload):
                raise InvalidBatch("record ends past its batch")
            out.append((index, key, value))
            index += 1
            pos = end
    return out
