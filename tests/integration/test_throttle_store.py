"""ObjectStore on S3 (moto) behind a fault-injecting HTTP proxy: SlowDown answers make it back
off and still succeed; refused connections open the circuit breaker, which closes once the
store is back."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from storage.objectstore import ObjectStore, ObjectStoreError, ObjectStoreUnavailable
from storage.throttle import BreakerState, ThrottleConfig
from tests.conftest import free_port

pytestmark = pytest.mark.s3

SLOW_DOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>"
)


class FaultProxy:
    """A tiny HTTP/1.1 proxy: answers the first `fail_puts` PUTs with 503 SlowDown, forwards
    everything else to `upstream`. One request per connection (it always closes)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.fail_puts = 0
        self.puts = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        """Stop listening: new connections are refused."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._conns):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ", 1)[0]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            assert "chunked" not in headers.get("transfer-encoding", "")
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests += 1
            if method == "PUT":
                self.puts += 1
                if self.fail_puts > 0:
                    self.fail_puts -= 1
                    writer.write(
                        b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(SLOW_DOWN_BODY)
                        + SLOW_DOWN_BODY
                    )
                    await writer.drain()
                    return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            try:
                kept = [
                    line
                    for line in lines[1:]
                    if line and not line.lower().startswith(("connection:", "keep-alive:"))
                ]
                up_writer.write(
                    "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
                    + body
                )
                await up_writer.drain()
                response = await up_reader.read()  # until the upstream closes
            finally:
                up_writer.close()
            writer.write(response)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_slowdown_backoff_and_breaker_over_a_faulty_s3(s3_env, monkeypatch):
    upstream = int(s3_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    proxy = FaultProxy(upstream)
    await proxy.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    config = ThrottleConfig(
        attempts=5,
        retry_backoff=0.01,
        decrease_interval=0,
        failure_threshold=4,
        open_seconds=1.0,
    )
    store = ObjectStore.from_url(f"s3://{s3_env['BUCKET']}/throttle", config)
    try:
        # 1. Three SlowDowns, then the PUT goes through: obstore does not retry on its own
        #    (max_retries 0), so the limiter sees every 503 and halves the PUT rate each time.
        backoffs = sample("streamhouse_throttle_backoffs_total", operation="put")
        proxy.fail_puts = 3
        await store.put("a", b"hello")
        assert proxy.puts == 4
        assert sample("streamhouse_throttle_backoffs_total", operation="put") == backoffs + 3
        assert store.limiter.rate("put") == pytest.approx(3000 / 8 + 30)  # one success since
        assert store.breaker.state is BreakerState.CLOSED
        assert await store.get("a") == b"hello"

        # 2. The store goes away: connections are refused. Four failed attempts open the
        #    breaker; then calls fail fast without touching the network.
        await proxy.stop()
        opened = sample(
            "streamhouse_circuit_breaker_transitions_total", from_state="closed", to_state="open"
        )
        with pytest.raises(ObjectStoreError) as info:
            await store.put("b", b"world")
        assert not isinstance(info.value, ObjectStoreUnavailable)
        assert info.value.retry_after > 0.5
        assert store.breaker.state is BreakerState.OPEN
        assert sample("streamhouse_circuit_breaker_state", state="open") == 1
        assert (
            sample(
                "streamhouse_circuit_breaker_transitions_total",
                from_state="closed",
                to_state="open",
            )
            == opened + 1
        )
        requests = proxy.requests
        with pytest.raises(ObjectStoreUnavailable):
            await store.get_range("a", 0, 2)
        with pytest.raises(ObjectStoreUnavailable):
            await store.put("b", b"world")

        # 3. The store comes back; after the cool-down the next call is the probe, and its
        #    success closes the breaker.
        await proxy.start()
        await asyncio.sleep(store.breaker.retry_after() + 0.05)
        await store.put("b", b"world")
        assert store.breaker.state is BreakerState.CLOSED
        assert sample("streamhouse_circuit_breaker_state", state="closed") == 1
        assert proxy.requests == requests + 1
        assert await store.get_range("b", 1, 3) == b"orl"
    finally:
        if proxy._server is not None:
            await proxy.stop()
