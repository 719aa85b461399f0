"""Fixtures for the client compatibility suite.

* ``bootstrap`` (session): ``host:port`` of the broker under test. Unless the
  environment names one in ``STREAMHOUSE_BOOTSTRAP``, a ``streamhouse serve``
  subprocess is started on free loopback ports with a temporary data dir and
  stopped with SIGTERM at the end of the session.
* ``topic`` (function): a fresh, uniquely named topic with 3 partitions,
  created with confluent-kafka's AdminClient (CreateTopics).
* ``need_tool``: skip (or, with ``COMPAT_STRICT=1``, fail) when an external
  client such as kcat or node is missing.

Environment:
  STREAMHOUSE_BOOTSTRAP  use this running broker instead of starting one
  STREAMHOUSE_BIN        the ``streamhouse`` executable (default: the console
                         script next to the running Python)
  COMPAT_STRICT=1        a missing client or codec library fails instead of
                         skipping (set this in CI)
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compat_roundtrip import N_PARTITIONS  # noqa: E402

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 200


ADMIN_SECRET = "compat-platform-admin-secret"


class Broker:
    def __init__(
        self, bootstrap: str, proc: subprocess.Popen | None = None, log_path: Path | None = None,
        *, sasl_bootstrap: str | None = None, http: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.proc = proc
        self.log_path = log_path
        # A SASL_PLAINTEXT listener beside the open PLAINTEXT one, and the REST API (to
        # create organizations and keys with the platform admin's secret).
        self.sasl_bootstrap = sasl_bootstrap
        self.http = http

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size if self.log_path else 0
        except OSError:
            return 0

    def log_tail(self, since: int = 0, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(since)
            data = f.read().decode("utf-8", "replace").splitlines()
        skipped = len(data) - lines
        text = "\n".join(data[-lines:])
        return (f"[... {skipped} earlier lines ...]\n" if skipped > 0 else "") + text


_BROKER: Broker | None = None
_STRICT = os.environ.get("COMPAT_STRICT", "") not in ("", "0", "false", "no")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _streamhouse_bin() -> str:
    explicit = os.environ.get("STREAMHOUSE_BIN")
    if explicit:
        return explicit
    candidate = Path(sys.executable).parent / "streamhouse"
    if candidate.exists():
        return str(candidate)
    pytest.fail(
        f"no `streamhouse` console script next to {sys.executable}: install the project "
        "(pip install -e .) or point STREAMHOUSE_BOOTSTRAP at a running broker",
        pytrace=False,
    )


def _metadata_ok(bootstrap: str) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "client.id": "compat-ready-check", "log_level": 0}
    )
    try:
        md = admin.list_topics(timeout=3)
        return bool(md.brokers)
    except Exception:
        return False


def _wait_ready(bootstrap: str, proc: subprocess.Popen | None, broker: Broker) -> None:
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + START_TIMEOUT_S
    last_err: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"streamhouse exited with {proc.returncode} before it was ready; log:\n"
                + broker.log_tail(),
                pytrace=False,
            )
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                pass
        except OSError as e:
            last_err = e
            time.sleep(0.2)
            continue
        if _metadata_ok(bootstrap):
            return
        last_err = "Metadata request did not succeed"
        time.sleep(0.3)
    pytest.fail(
        f"broker at {bootstrap} not ready within {START_TIMEOUT_S:.0f}s ({last_err}); log:\n"
        + broker.log_tail(),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def broker(request, tmp_path_factory) -> Broker:
    global _BROKER
    given = os.environ.get("STREAMHOUSE_BOOTSTRAP")
    if given:
        b = Broker(given, sasl_bootstrap=os.environ.get("STREAMHOUSE_SASL_BOOTSTRAP"),
                   http=os.environ.get("STREAMHOUSE_HTTP"))
        _wait_ready(given, None, b)
        _BROKER = b
        yield b
        _BROKER = None
        return

    exe = _streamhouse_bin()
    work = tmp_path_factory.mktemp("streamhouse")
    data_dir = work / "data"
    data_dir.mkdir()
    log_path = work / "streamhouse.log"
    kafka_port, http_port, registry_port, sasl_port = (
        _free_port(), _free_port(), _free_port(), _free_port())
    while len({kafka_port, http_port, registry_port, sasl_port}) < 4:
        http_port, registry_port, sasl_port = _free_port(), _free_port(), _free_port()
    admin_key = work / "admin.key"
    admin_key.write_text(ADMIN_SECRET)
    cmd = [
        exe,
        "serve",
        "--data-dir",
        str(data_dir),
        "--kafka-listen",
        f"127.0.0.1:{kafka_port}",
        "--advertised-host",
        "127.0.0.1",
        "--http-listen",
        f"127.0.0.1:{http_port}",
        "--registry-listen",
        f"127.0.0.1:{registry_port}",
        "--listeners",
        f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "--admin-key-file",
        str(admin_key),
    ]
    log_f = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log_f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    b = Broker(f"127.0.0.1:{kafka_port}", proc, log_path,
               sasl_bootstrap=f"127.0.0.1:{sasl_port}", http=f"http://127.0.0.1:{http_port}")
    _BROKER = b
    try:
        _wait_ready(b.bootstrap, proc, b)
        yield b
    finally:
        _BROKER = None
        crashed = proc.poll() is not None
        if not crashed:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            stuck = False
        except subprocess.TimeoutExpired:
            stuck = True
            proc.kill()
            proc.wait()
        log_f.close()
        failed = request.session.testsfailed > 0
        if failed or crashed or stuck:
            why = (
                "it exited during the session"
                if crashed
                else f"it ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s"
                if stuck
                else "tests failed"
            )
            text = (
                f"\n===== streamhouse log ({why}; exit code {proc.returncode}; "
                f"{log_path}) =====\n{b.log_tail()}\n"
            )
            capman = request.config.pluginmanager.get_plugin("capturemanager")
            if capman is not None:
                with capman.global_and_fixture_disabled():
                    print(text, file=sys.stderr)
            else:
                print(text, file=sys.stderr)


@pytest.fixture(scope="session")
def bootstrap(broker: Broker) -> str:
    return broker.bootstrap


def _topic_name(nodeid: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", nodeid.split("::")[-1]).strip("-")[:80]
    return f"compat-{base}-{uuid.uuid4().hex[:8]}"


def create_topic(
    bootstrap: str, name: str, partitions: int = N_PARTITIONS, timeout: float = 30.0
) -> str:
    """Create ``name`` with confluent-kafka's AdminClient and wait for partition leaders."""
    from confluent_kafka.admin import AdminClient, NewTopic

    # A client per call rather than per session: a session-wide one outlives the
    # broker (pytest keeps fixture values referenced) and keeps reconnecting.
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "compat-admin"})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    futures[name].result(timeout=timeout)
    # Wait until every partition has a leader in the metadata.
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if (
            t is not None
            and t.error is None
            and len(t.partitions) == partitions
            and all(p.leader >= 0 and p.error is None for p in t.partitions.values())
        ):
            return name
        state = t and (t.error, {i: (p.leader, p.error) for i, p in t.partitions.items()})
        time.sleep(0.2)
    raise AssertionError(f"topic {name} has no leaders after {timeout}s: {state}")


@pytest.fixture
def topic(request, bootstrap) -> str:
    """A new topic with N_PARTITIONS partitions, unique to this test."""
    return create_topic(bootstrap, _topic_name(request.node.nodeid))


@pytest.fixture
def need_tool():
    """need_tool(ok, reason): skip the test (fail under COMPAT_STRICT=1) unless ok."""

    def need(ok: bool, reason: str) -> None:
        if ok:
            return
        if _STRICT:
            pytest.fail(f"COMPAT_STRICT: {reason}", pytrace=False)
        pytest.skip(reason)

    return need


# -- attach the broker's log lines written during a failed test to its report --

_LOG_START = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_LOG_START] = _BROKER.log_size() if _BROKER else 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _BROKER is not None and _BROKER.log_path is not None:
        since = item.stash.get(_LOG_START, 0)
        tail = _BROKER.log_tail(since)
        if tail:
            rep.sections.append(("streamhouse log during this test", tail))
