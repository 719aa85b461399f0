"""A tiny counting HTTP reverse proxy for the benchmark's S3 endpoint.

It sits between a broker and moto's S3 server, forwards every byte unchanged,
and counts the requests by method (and PUTs by object-key suffix). The counts
are served by the proxy itself at ``GET /__bench__/stats`` (JSON), so the
harness can take a snapshot before and after each workload.

Only the client-to-server direction is parsed (request line, headers, body by
Content-Length or chunked encoding) so that keep-alive connections are counted
correctly; the server-to-client direction is piped blindly.

Standard library only. Run as a script:

    python bench/s3proxy.py --listen 127.0.0.1:9001 --upstream 127.0.0.1:9000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter

STATS_PATH = "/__bench__/stats"


class Stats:
    def __init__(self) -> None:
        self.by_method: Counter[str] = Counter()
        self.bytes_by_method: Counter[str] = Counter()
        self.put_by_suffix: Counter[str] = Counter()
        self.started = time.time()

    def as_dict(self) -> dict:
        return {
            "by_method": dict(self.by_method),
            "bytes_by_method": dict(self.bytes_by_method),
            "put_by_suffix": dict(self.put_by_suffix),
            "requests": sum(self.by_method.values()),
            "uptime_s": time.time() - self.started,
        }


def _suffix(path: str) -> str:
    key = path.split("?", 1)[0].rstrip("/")
    last = key.rsplit("/", 1)[-1]
    if "." in last:
        return "." + last.rsplit(".", 1)[-1]
    return "(none)"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def _forward_body(
    headers: dict[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> int:
    """Forward one request body; return the number of body bytes."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            writer.write(line)
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # trailers until an empty line
                while True:
                    t = await reader.readuntil(b"\r\n")
                    writer.write(t)
                    if t == b"\r\n":
                        break
                break
            chunk = await reader.readexactly(size + 2)
            writer.write(chunk)
            total += size
            await writer.drain()
        return total
    length = int(headers.get("content-length", "0") or 0)
    remaining = length
    while remaining > 0:
        data = await reader.read(min(remaining, 1 << 16))
        if not data:
            raise asyncio.IncompleteReadError(b"", remaining)
        writer.write(data)
        remaining -= len(data)
        await writer.drain()
    return length


class Proxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.stats = Stats()

    async def handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        sreader = swriter = None
        back: asyncio.Task | None = None
        try:
            while True:
                try:
                    head = await creader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                except asyncio.LimitOverrunError:
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) < 2:
                    break
                method, path = parts[0].upper(), parts[1]
                headers: dict[str, str] = {}
                for ln in lines[1:]:
                    if ":" in ln:
                        k, v = ln.split(":", 1)
                        headers[k.strip().lower()] = v.strip()

                if path.startswith(STATS_PATH):
                    body = json.dumps(self.stats.as_dict()).encode()
                    cwriter.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    await cwriter.drain()
                    continue

                if swriter is None:
                    sreader, swriter = await asyncio.open_connection(*self.upstream)
                    back = asyncio.create_task(_pipe(sreader, cwriter))

                self.stats.by_method[method] += 1
                if method == "PUT":
                    self.stats.put_by_suffix[_suffix(path)] += 1
                swriter.write(head)
                n = await _forward_body(headers, creader, swriter)
                self.stats.bytes_by_method[method] += n
                await swriter.drain()
                if back is not None and back.done():
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError):
            pass
        finally:
            if swriter is not None:
                try:
                    swriter.close()
                except Exception:
                    pass
            if back is not None:
                try:
                    await asyncio.wait_for(back, 5)
                except Exception:
                    back.cancel()
            try:
                cwriter.close()
            except Exception:
                pass


async def serve(listen: str, upstream: str) -> None:
    lh, lp = listen.rsplit(":", 1)
    uh, up = upstream.rsplit(":", 1)
    proxy = Proxy(uh, int(up))
    server = await asyncio.start_server(proxy.handle, lh, int(lp), limit=1 << 20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"s3proxy listening on {listen} -> {upstream}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="host:port to listen on")
    ap.add_argument("--upstream", required=True, help="host:port of the S3 server")
    args = ap.parse_args(argv)
    try:
        import uvloop  # type: ignore

        uvloop.run(serve(args.listen, args.upstream))
    except ImportError:
        asyncio.run(serve(args.listen, args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
