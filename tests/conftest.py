"""Shared fixtures: catalogues on SQLite and the PostgreSQL at 127.0.0.1:5432, object stores
on a local folder, in memory and on moto's S3 server, and running StreamHouse processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from coordinator.catalogue import Catalogue
from storage.objectstore import ObjectStore

PG_ADMIN = os.environ.get("STREAMHOUSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """n distinct ports the OS had free a moment ago (held together, so never the same twice).
    Another process can still take one before the server binds it: ServerProcess.start retries."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# -- PostgreSQL ------------------------------------------------------------------------


def _pg_admin(sql: str) -> None:
    """Run one statement on the admin database, from sync code (its own loop, its own thread)."""

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"sh_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Catalogue]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalogue.db'}"
        cat = Catalogue.from_url(url)
        await cat.open()
        yield cat
        await cat.close()
    else:
        pg = request.getfixturevalue("pg_url")
        cat = Catalogue.from_url(pg)
        await cat.open()
        yield cat
        await cat.close()


# -- S3 (moto server) --------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import boto3

    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    env["BUCKET"] = bucket
    return env


@pytest.fixture(params=["file", "memory", "s3"])
def object_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path / 'objects'}"
    if request.param == "memory":
        return "memory://"
    env = request.getfixturevalue("s3_env")
    return f"s3://{env['BUCKET']}/streamhouse"


@pytest.fixture
def object_store(object_store_url: str) -> ObjectStore:
    return ObjectStore.from_url(object_store_url)


# -- a StreamHouse process ---------------------------------------------------------------


class ServerProcess:
    def __init__(
        self, data_dir: Path, extra: list[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.extra = extra or []
        self.env = {**os.environ, **(env or {})}
        self.port, self.http_port, self.registry_port = free_ports(3)
        self.started_once = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        for attempt in range(3):
            mark = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                self._start()
                self.started_once = True
                return self
            except RuntimeError:
                # A port picked free was taken by another process before the server bound it:
                # on a first start whose ports nobody else was told about, pick new ones.
                with self.log_path.open("rb") as f:
                    f.seek(mark)
                    tail = f.read().decode(errors="replace").lower()
                chosen = {str(p) for p in (self.port, self.http_port, self.registry_port)}
                told = any(p in arg for arg in self.extra for p in chosen)
                if self.started_once or told or "address already in use" not in tail or attempt == 2:
                    raise
                self.port, self.http_port, self.registry_port = free_ports(3)
        raise AssertionError("unreachable")

    def _start(self) -> None:
        exe = str(Path(sys.executable).parent / "streamhouse")
        cmd = [
            exe,
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--kafka-listen",
            f"127.0.0.1:{self.port}",
            "--advertised-host",
            "127.0.0.1",
            "--http-listen",
            f"127.0.0.1:{self.http_port}",
            "--registry-listen",
            f"127.0.0.1:{self.registry_port}",
            "--log-format",
            "json",
            *self.extra,
        ]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=self.env)
        # Kafka, REST and the registry start one after the other: ready when all three listen.
        for port in (self.port, self.http_port, self.registry_port):
            wait_port(port, proc=self.proc)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    started: list[ServerProcess] = []

    class Factory(ServerProcess):
        def start(self) -> ServerProcess:
            started.append(self)
            return super().start()

    yield Factory
    for s in started:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(10)


@pytest.fixture
def server(server_factory: type[ServerProcess], tmp_path: Path) -> Iterator[ServerProcess]:
    s = server_factory(tmp_path / "server").start()
    yield s
    s.stop()
