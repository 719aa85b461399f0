"""Object storage behind one small async interface: local folder, memory or S3.

Backed by obstore (Rust object_store), so every call is async and never blocks
the event loop. Knows nothing of Kafka, chunks or the catalogue.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import obstore
from obstore.store import LocalStore, MemoryStore, S3Store

from . import metrics


class ObjectStoreError(RuntimeError):
    """The object store failed or cannot be reached; retriable for the caller."""


class ObjectStore:
    def __init__(self, store: Any, url: str) -> None:
        self._store = store
        self.url = url

    @classmethod
    def from_url(cls, url: str) -> ObjectStore:
        parsed = urlparse(url)
        if parsed.scheme == "memory":
            return cls(MemoryStore(), url)
        if parsed.scheme == "file":
            root = Path(parsed.netloc + parsed.path).resolve()
            root.mkdir(parents=True, exist_ok=True)
            return cls(LocalStore(str(root), mkdir=True), url)
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise ValueError(f"an S3 URL needs a bucket: s3://bucket/prefix, got {url!r}")
            config: Any = {}
            endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
            if endpoint:
                config["endpoint"] = endpoint
            if "AWS_DEFAULT_REGION" in os.environ and "AWS_REGION" not in os.environ:
                config["region"] = os.environ["AWS_DEFAULT_REGION"]
            client_options: Any = (
                {"allow_http": True} if (endpoint or "").startswith("http://") else None
            )
            prefix = parsed.path.strip("/") or None
            store = S3Store(
                parsed.netloc, prefix=prefix, config=config or None, client_options=client_options
            )
            return cls(store, url)
        raise ValueError(
            f"unsupported object store URL {url!r}: use file:///path, memory:// or s3://bucket/prefix"
        )

    async def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        started = time.perf_counter()
        try:
            await obstore.put_async(
                self._store, key, bytes(data) if isinstance(data, bytearray) else data
            )
        except Exception as exc:  # obstore raises its own hierarchy; all mean "store failed"
            metrics.OBJECT_ERRORS.labels("put").inc()
            raise ObjectStoreError(f"PUT {key} failed: {exc}") from exc
        finally:
            metrics.OBJECT_REQUESTS.labels("put").inc()
            metrics.OBJECT_LATENCY.labels("put").observe(time.perf_counter() - started)

    async def get_range(self, key: str, start: int, length: int) -> bytes:
        started = time.perf_counter()
        try:
            data = await obstore.get_range_async(self._store, key, start=start, length=length)
        except Exception as exc:
            metrics.OBJECT_ERRORS.labels("get").inc()
            raise ObjectStoreError(f"GET {key} [{start}+{length}] failed: {exc}") from exc
        finally:
            metrics.OBJECT_REQUESTS.labels("get").inc()
            metrics.OBJECT_LATENCY.labels("get").observe(time.perf_counter() - started)
        return bytes(data)

    async def get(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except Exception as exc:
            metrics.OBJECT_ERRORS.labels("get").inc()
            raise ObjectStoreError(f"GET {key} failed: {exc}") from exc
        finally:
            metrics.OBJECT_REQUESTS.labels("get").inc()

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:
            pass
        except Exception as exc:
            metrics.OBJECT_ERRORS.labels("delete").inc()
            raise ObjectStoreError(f"DELETE {key} failed: {exc}") from exc
        finally:
            metrics.OBJECT_REQUESTS.labels("delete").inc()

    async def list_keys(self, prefix: str | None = None) -> list[str]:
        keys: list[str] = []
        async for page in obstore.list(self._store, prefix=prefix):
            keys.extend(str(meta["path"]) for meta in page)
        return keys

    async def ping(self) -> None:
        try:
            async for _page in obstore.list(self._store, prefix="__ping__"):
                break
        except Exception as exc:
            raise ObjectStoreError(f"object store unreachable: {exc}") from exc
