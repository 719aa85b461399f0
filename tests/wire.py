"""A tiny raw Kafka client for tests: send any kio request, read the response or the close."""

from __future__ import annotations

import io
import socket
import struct
from typing import Any

from kio.index import load_response_schema
from kio.serial import entity_reader, entity_writer

from protocol.build import build


class Wire:
    def __init__(self, bootstrap: str, timeout: float = 10.0) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def request_bytes(self, cls: type, values: dict[str, Any]) -> bytes:
        self.correlation += 1
        header_cls = cls.__header_schema__  # type: ignore[attr-defined]
        out = io.BytesIO()
        entity_writer(header_cls)(
            out,
            header_cls(
                request_api_key=cls.__api_key__,
                request_api_version=cls.__version__,  # type: ignore[attr-defined]
                correlation_id=self.correlation,
                client_id="wire-test",
            ),
        )
        entity_writer(cls)(out, build(cls, values))
        return out.getvalue()

    def fetch(self, topic: str, offset: int, *, partition: int = 0, max_wait: int = 500,
              min_bytes: int = 1, max_bytes: int = 1 << 20) -> Any:
        """One Fetch v12 of one partition (session-less, as the tests need)."""
        from kio.schema.fetch.v12.request import FetchRequest

        return self.call(FetchRequest, {
            "replica_id": -1, "max_wait": max_wait, "min_bytes": min_bytes,
            "max_bytes": max_bytes, "isolation_level": 0, "session_id": 0,
            "session_epoch": -1, "rack_id": "",
            "topics": [{"topic": topic, "partitions": [{
                "partition": partition, "current_leader_epoch": -1, "fetch_offset": offset,
                "last_fetched_epoch": -1, "log_start_offset": -1,
                "partition_max_bytes": max_bytes}]}],
            "forgotten_topics_data": []})

    def call(self, cls: type, values: dict[str, Any]) -> Any:
        self.send_raw(self.request_bytes(cls, values))
        return self.read_response(cls.__api_key__, cls.__version__)  # type: ignore[attr-defined]

    def read_frame(self) -> bytes | None:
        """The next response frame, or None if the broker closed the connection."""
        head = self._read(4)
        if head is None:
            return None
        (size,) = struct.unpack(">i", head)
        return self._read(size)

    def read_response(self, api_key: int, version: int) -> Any:
        frame = self.read_frame()
        if frame is None:
            return None
        cls = load_response_schema(api_key, version)
        (correlation,) = struct.unpack_from(">i", frame, 0)
        assert correlation == self.correlation
        offset = 4
        if cls.__flexible__ and api_key != 18:
            offset += 1  # empty tagged fields of response header v1
        body, _ = entity_reader(cls)(frame, offset)
        return body

    def _read(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                return None
            except TimeoutError:
                raise TimeoutError(f"no answer and no close within {self.sock.gettimeout()}s") from None
            if not chunk:
                return None
            buf += chunk
        return buf


def first_message(bootstrap: str, topic: str, group: str, timeout: float = 10.0) -> Any:
    """The first record of partition 0 through confluent-kafka (None if none in time)."""
    import time

    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    c.assign([TopicPartition(topic, 0, 0)])
    m = None
    deadline = time.monotonic() + timeout
    while m is None and time.monotonic() < deadline:
        m = c.poll(0.5)
    c.close()
    return m
