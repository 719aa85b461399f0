"""Consumer-group scenarios shared by every client's ``test_groups_<client>.py``.

The client-specific part is a small *driver* (create a consumer, subscribe with
rebalance callbacks, poll, commit explicit offsets synchronously, close). A
driver never asserts anything: it reports what happens as events (plain
dicts). Everything else lives here: the member bookkeeping, the producers, the
scenarios and every assertion.

A driver runs in one of two ways, with the same event stream:

* in a thread of the pytest process (:class:`ThreadMember`): cheap, used for
  most members;
* in a child process (:class:`ProcessMember`), which prints one JSON event a
  line on stdout and stops on ``close`` on stdin. That is how a member is
  killed with SIGKILL, and how the kafkajs members run
  (``kafkajs/group_member.js`` prints the same events). Python members run as
  ``python group_scenarios.py member --driver module:Class --spec JSON``.

Events (``ev`` key)::

    subscribing                      just before subscribe()
    assign   partitions, owned       rebalance callback (owned = assignment after it)
    revoke   partitions, owned, lost
    records  recs=[[partition, offset, value], ...]   handed to the app, in order
    commit   ok, offsets={partition: next offset}, where (poll|revoke|close), error
    error    error, fatal
    closed

The receiving side stamps each event with ``time.monotonic()``; every timing
below (rebalance durations, time to first record) is measured from those stamps.

Processing model, identical for every client: a member handles each record
the moment poll() returns it, then commits the offsets it processed
(explicitly, synchronously) before it polls again, and again in its
revoke callback for the partitions it is giving up. So a record can only be
delivered twice when the commit that should have covered it failed (or the
member was killed before committing). :func:`check_exactly_once` allows
exactly those redeliveries and nothing else.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

N_PARTITIONS = 6
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 500
# Bounds JoinGroup's rebalance timeout too (the classic protocol takes it from
# max.poll.interval.ms); the clients' 300 s default would let a broker wait
# for a member that is gone for minutes.
MAX_POLL_INTERVAL_MS = 30_000

# Budgets asserted by the scenarios.
LEAVE_REBALANCE_BUDGET_S = 2.0  # close() of one member -> others own everything
KILL_SLACK_S = 4.0  # SIGKILL -> others own everything within session timeout + this
FIRST_RECORD_BUDGET_S = 1.0  # subscribe() -> first record, lone consumer, data present
JOIN_TIMEOUT_S = 30.0  # generous: just "the group forms at all"
CONSUME_TIMEOUT_S = 30.0

Event = dict[str, Any]
Emit = Callable[[Event], None]


# ---------------------------------------------------------------------------
# member configuration


@dataclasses.dataclass
class MemberSpec:
    """Everything a driver needs; JSON-serialisable so it can go to a child process."""

    bootstrap: str
    topic: str
    group: str
    name: str
    client_id: str = ""
    auto_offset_reset: str = "earliest"
    session_timeout_ms: int = SESSION_TIMEOUT_MS
    heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS
    max_poll_interval_ms: int = MAX_POLL_INTERVAL_MS
    max_poll_records: int = 200
    # None = the client's default assignor; else a librdkafka-style name
    # ("range", "roundrobin", "cooperative-sticky").
    assignor: str | None = None
    instance_id: str | None = None  # group.instance.id (static membership)
    commit: bool = True
    # Stop by itself (commit, close) after processing this many records; 0 = never.
    stop_after: int = 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, s: str) -> MemberSpec:
        return cls(**json.loads(s))


# ---------------------------------------------------------------------------
# drivers (client-specific subclasses live in the test modules)


class BaseDriver(abc.ABC):
    """Book-keeping shared by the Python drivers.

    Subclasses implement ``subscribe``, ``poll`` (list of ``(partition,
    offset, value_bytes)``), ``commit_offsets`` (synchronous, raise on
    failure) and ``close``; their rebalance callbacks call ``on_assigned`` and
    ``on_revoked``. Async clients call ``revoke_offsets``/``commit_done``
    around their own awaited commit instead of ``on_revoked``'s sync commit.
    """

    cooperative = False  # on_assigned/on_revoked carry increments, not the whole set

    def __init__(self, spec: MemberSpec, emit: Emit) -> None:
        self.spec = spec
        self.emit = emit
        self.owned: set[int] = set()
        self.uncommitted: dict[int, int] = {}  # partition -> next offset to commit

    # -- to implement ------------------------------------------------------
    @abc.abstractmethod
    def subscribe(self) -> None:
        ...

    @abc.abstractmethod
    def poll(self) -> list[tuple[int, int, bytes]]:
        ...

    @abc.abstractmethod
    def commit_offsets(self, offsets: dict[int, int]) -> None:
        ...

    @abc.abstractmethod
    def close(self) -> None:
        ...

    # -- shared ------------------------------------------------------------
    def processed(self, batch: Sequence[tuple[int, int, bytes]]) -> None:
        for p, o, _v in batch:
            self.uncommitted[p] = o + 1

    def commit_done(self, offsets: dict[int, int], where: str, error: BaseException | None) -> None:
        if error is None:
            for p, o in offsets.items():
                if self.uncommitted.get(p) == o:
                    del self.uncommitted[p]
        self.emit(
            {
                "ev": "commit",
                "ok": error is None,
                "offsets": {str(p): o for p, o in offsets.items()},
                "where": where,
                "error": None if error is None else describe_error(error),
            }
        )

    def commit_uncommitted(self, where: str, partitions: Iterable[int] | None = None) -> None:
        parts = None if partitions is None else set(partitions)
        offsets = {p: o for p, o in self.uncommitted.items() if parts is None or p in parts}
        if not offsets or not self.spec.commit:
            return
        try:
            self.commit_offsets(offsets)
        except Exception as e:  # noqa: BLE001 - reported, judged by the scenario
            self.commit_done(offsets, where, e)
        else:
            self.commit_done(offsets, where, None)

    def on_assigned(self, partitions: Iterable[int]) -> None:
        parts = set(partitions)
        self.owned = (self.owned | parts) if self.cooperative else parts
        self.emit({"ev": "assign", "partitions": sorted(parts), "owned": sorted(self.owned)})

    def revoke_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        parts = set(partitions)
        return {p: o for p, o in self.uncommitted.items() if p in parts} if self.spec.commit else {}

    def revoked(self, partitions: Iterable[int], *, lost: bool = False) -> None:
        parts = set(partitions)
        for p in parts:
            self.uncommitted.pop(p, None)
        self.owned -= parts
        if not parts:  # kafka-python calls it with nothing before its first join
            return
        self.emit(
            {"ev": "revoke", "partitions": sorted(parts), "owned": sorted(self.owned), "lost": lost}
        )

    def on_revoked(self, partitions: Iterable[int], *, lost: bool = False) -> None:
        parts = set(partitions)
        if not lost:
            self.commit_uncommitted("revoke", parts)
        self.revoked(parts, lost=lost)


def describe_error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def run_member(driver_cls: type[BaseDriver], spec: MemberSpec, emit: Emit, stop: threading.Event):
    """The consume loop every Python member runs (in a thread or a child process)."""
    driver = None
    try:
        driver = driver_cls(spec, emit)
        driver.subscribe()
        processed = 0
        while not stop.is_set():
            batch = driver.poll()
            if spec.stop_after:
                batch = batch[: max(0, spec.stop_after - processed)]
            if batch:
                emit({"ev": "records", "recs": [[p, o, v.decode()] for p, o, v in batch]})
                processed += len(batch)
                driver.processed(batch)
                driver.commit_uncommitted("poll")
            if spec.stop_after and processed >= spec.stop_after:
                break
        driver.commit_uncommitted("close")
    except Exception as e:  # noqa: BLE001
        emit({"ev": "error", "error": describe_error(e), "fatal": True})
    finally:
        if driver is not None:
            try:
                driver.close()
            except Exception as e:  # noqa: BLE001
                emit({"ev": "error", "error": "close: " + describe_error(e), "fatal": False})
        emit({"ev": "closed"})


# ---------------------------------------------------------------------------
# members (the test's view of one consumer)


@dataclasses.dataclass(frozen=True)
class Delivery:
    member: str
    partition: int
    offset: int
    t: float


class Tracker:
    """Every record handed to any member of a test, by value (values are unique)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_value: dict[str, list[Delivery]] = collections.defaultdict(list)

    def add(self, member: str, recs: Sequence[Sequence], t: float) -> None:
        with self._lock:
            for p, o, v in recs:
                self.by_value[v].append(Delivery(member, int(p), int(o), t))

    def snapshot(self) -> dict[str, list[Delivery]]:
        with self._lock:
            return {v: list(ds) for v, ds in self.by_value.items()}

    def has_all(self, values: Iterable[str]) -> bool:
        with self._lock:
            return all(v in self.by_value for v in values)


class Member:
    """State of one consumer, rebuilt from its events."""

    def __init__(self, spec: MemberSpec, tracker: Tracker) -> None:
        self.spec = spec
        self.name = spec.name
        self.tracker = tracker
        self._lock = threading.Lock()
        self.owned: frozenset[int] = frozenset()
        self.n_assign = 0
        self.n_revoke = 0
        self.rebalance_log: list[tuple[float, str, list[int], list[int]]] = []
        self.records: list[Delivery] = []
        self.values: list[str] = []
        self.commits_ok: list[tuple[float, dict[int, int]]] = []
        self.commit_failures: list[Event] = []
        self.errors: list[str] = []
        self.t_started = time.monotonic()
        self.t_subscribing: float | None = None
        self.t_first_record: float | None = None
        self.closed = threading.Event()
        self.killed = False

    def handle(self, ev: Event) -> None:
        t = time.monotonic()
        kind = ev.get("ev")
        with self._lock:
            if kind == "subscribing":
                self.t_subscribing = t
            elif kind in ("assign", "revoke"):
                self.owned = frozenset(int(p) for p in ev["owned"])
                if kind == "assign":
                    self.n_assign += 1
                else:
                    self.n_revoke += 1
                label = kind + (" (lost)" if ev.get("lost") else "")
                self.rebalance_log.append((t, label, list(ev["partitions"]), sorted(self.owned)))
            elif kind == "records":
                recs = ev["recs"]
                if recs and self.t_first_record is None:
                    self.t_first_record = t
                for p, o, v in recs:
                    self.records.append(Delivery(self.name, int(p), int(o), t))
                    self.values.append(v)
                self.tracker.add(self.name, recs, t)
            elif kind == "commit":
                offsets = {int(p): int(o) for p, o in ev["offsets"].items()}
                if ev["ok"]:
                    self.commits_ok.append((t, offsets))
                else:
                    self.commit_failures.append(dict(ev, t=t))
            elif kind == "error":
                self.errors.append(("FATAL " if ev.get("fatal") else "") + str(ev["error"]))
            elif kind == "closed":
                self.closed.set()
            else:
                self.errors.append(f"unknown event {ev!r}")

    # -- queries -----------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self.closed.is_set() and not self.killed

    def last_committed(self) -> dict[int, int]:
        out: dict[int, int] = {}
        with self._lock:
            for _t, offs in self.commits_ok:
                out.update(offs)
        return out

    def first_offsets(self) -> dict[int, int]:
        out: dict[int, int] = {}
        with self._lock:
            for d in self.records:
                out.setdefault(d.partition, d.offset)
        return out

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.n_assign, self.n_revoke

    def summary(self) -> str:
        with self._lock:
            state = "killed" if self.killed else "closed" if self.closed.is_set() else "running"
            lines = [
                f"  {self.name} [{state}] owns {sorted(self.owned)}; assign x{self.n_assign}, "
                f"revoke x{self.n_revoke}; {len(self.records)} records; "
                f"{len(self.commits_ok)} commits ok, {len(self.commit_failures)} failed"
            ]
            for t, label, parts, owned in self.rebalance_log[-8:]:
                lines.append(f"    +{t - self.t_started:6.2f}s {label} {parts} -> owns {owned}")
            for f in self.commit_failures[:4]:
                lines.append(f"    commit failed ({f['where']}): {f['error']} {f['offsets']}")
            for e in self.errors[:6]:
                lines.append(f"    error: {e}")
        return "\n".join(lines + self._extra_summary())

    def _extra_summary(self) -> list[str]:
        return []



class RunningMember(Member, abc.ABC):
    """A member that runs a real client (in a thread or a child process)."""

    @abc.abstractmethod
    def close(self, timeout: float = 30.0) -> None:
        ...

    @abc.abstractmethod
    def kill(self) -> None:
        ...


class ThreadMember(RunningMember):
    def __init__(self, driver_cls: type[BaseDriver], spec: MemberSpec, tracker: Tracker) -> None:
        super().__init__(spec, tracker)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_member,
            args=(driver_cls, spec, self.handle, self._stop),
            name=f"member-{spec.name}",
            daemon=True,
        )
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.errors.append(f"did not close within {timeout}s")

    def kill(self) -> None:
        raise AssertionError("a thread member cannot be killed; start it with process=True")


class ProcessMember(RunningMember):
    def __init__(self, cmd: list[str], spec: MemberSpec, tracker: Tracker, log_dir: Path) -> None:
        super().__init__(spec, tracker)
        self.cmd = cmd
        self.stderr_path = log_dir / f"member-{spec.name}-{uuid.uuid4().hex[:6]}.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=str(HERE),
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                self.errors.append(f"stdout: {line[:200]}")
                continue
            self.handle(ev)
        rc = self.proc.wait()
        if not self.closed.is_set() and not self.killed:
            self.errors.append(f"process exited with {rc} without a 'closed' event")
        self.closed.set()

    def close(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"close\n")
                self.proc.stdin.flush()
            except OSError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.errors.append(f"did not exit within {timeout}s of 'close'; killed")
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self._stderr.close()

    def kill(self) -> None:
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)
        self._stderr.close()

    def _extra_summary(self) -> list[str]:
        try:
            tail = self.stderr_path.read_text(errors="replace").splitlines()[-12:]
        except OSError:
            tail = []
        return [f"    stderr: {line[:300]}" for line in tail]


# ---------------------------------------------------------------------------
# clients


class PythonClient:
    """A Python client: its driver class runs in a thread or a child process."""

    def __init__(self, name: str, driver_cls: type[BaseDriver]) -> None:
        self.name = name
        self.driver_cls = driver_cls

    def start(self, spec: MemberSpec, tracker: Tracker, log_dir: Path, process: bool) -> Member:
        if not process:
            return ThreadMember(self.driver_cls, spec, tracker)
        ref = f"{self.driver_cls.__module__}:{self.driver_cls.__name__}"
        cmd = [sys.executable, str(HERE / "group_scenarios.py"), "member", "--driver", ref]
        return ProcessMember(cmd + ["--spec", spec.to_json()], spec, tracker, log_dir)


class NodeClient:
    """kafkajs: every member is a node process running kafkajs/group_member.js."""

    def __init__(self, name: str, node: str, script: Path) -> None:
        self.name = name
        self.node = node
        self.script = script

    def start(self, spec: MemberSpec, tracker: Tracker, log_dir: Path, process: bool) -> Member:
        cmd = [self.node, str(self.script), "--spec", spec.to_json()]
        return ProcessMember(cmd, spec, tracker, log_dir)


class GroupTest:
    """Per-test context: creates topics and groups, starts members, cleans up."""

    def __init__(
        self, bootstrap: str, client: PythonClient | NodeClient, test_name: str, tmp: Path
    ):
        self.bootstrap = bootstrap
        self.client = client
        self.tracker = Tracker()
        self.members: list[Member] = []
        self.tmp = tmp
        self.slug = "".join(c if c.isalnum() else "-" for c in f"{client.name}-{test_name}")[:60]

    def topic(self, partitions: int = N_PARTITIONS) -> str:
        from conftest import create_topic

        return create_topic(self.bootstrap, f"grp-{self.slug}-{uuid.uuid4().hex[:8]}", partitions)

    def group(self, label: str = "") -> str:
        return f"grp-{self.slug}{'-' + label if label else ''}-{uuid.uuid4().hex[:8]}"

    def start(self, name: str, topic: str, group: str, *, process: bool = False, **kw) -> Member:
        spec = MemberSpec(
            bootstrap=self.bootstrap,
            topic=topic,
            group=group,
            name=name,
            client_id=kw.pop("client_id", f"compat-{self.client.name}-{name}"),
            **kw,
        )
        m = self.client.start(spec, self.tracker, self.tmp, process)
        self.members.append(m)
        return m

    def close_all(self) -> None:
        live = [m for m in self.members if not m.killed and not m.closed.is_set()]
        threads = [threading.Thread(target=m.close, args=(20.0,), daemon=True) for m in live]
        for t in threads:
            t.start()
        for t in threads:
            t.join(25)
        for m in self.members:
            if isinstance(m, ProcessMember) and m.proc.poll() is None:
                m.proc.kill()
                m.proc.wait()

    def state(self, members: Sequence[Member] | None = None) -> str:
        return "\n".join(m.summary() for m in (members or self.members))


# ---------------------------------------------------------------------------
# producing (confluent-kafka, the neutral side, as conftest's create_topic)


class Produced:
    """Values produced so far and where they landed: value -> (partition, offset)."""

    def __init__(self) -> None:
        self.where: dict[str, tuple[int, int]] = {}
        self.order: list[str] = []

    def merge(self, other: Produced) -> None:
        self.where.update(other.where)
        self.order.extend(other.order)


def produce(
    bootstrap: str,
    topic: str,
    n: int,
    tag: str,
    *,
    partitions: int = N_PARTITIONS,
    duration: float = 0.0,
    timestamps: Sequence[int] | None = None,
    only_partitions: Sequence[int] | None = None,
) -> Produced:
    """Produce ``n`` records round-robin over the partitions, spread over ``duration`` s."""
    from confluent_kafka import Producer

    out = Produced()
    errors: list = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            out.where[msg.value().decode()] = (msg.partition(), msg.offset())

    parts = list(only_partitions) if only_partitions is not None else list(range(partitions))
    producer = Producer(
        {"bootstrap.servers": bootstrap, "client.id": "compat-group-producer", "linger.ms": 5}
    )
    chunk = max(1, n // max(1, int(duration * 20))) if duration else n
    t0 = time.monotonic()
    for i in range(n):
        value = f"{tag} n={i:06d}"
        out.order.append(value)
        kw = {}
        if timestamps is not None:
            kw["timestamp"] = timestamps[i]
        producer.produce(
            topic,
            value=value.encode(),
            partition=parts[i % len(parts)],
            on_delivery=on_delivery,
            **kw,
        )
        if duration and i % chunk == chunk - 1:
            producer.poll(0)
            target = t0 + duration * (i + 1) / n
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    left = producer.flush(30)
    assert left == 0 and not errors, f"produce to {topic}: {left} undelivered, errors {errors[:3]}"
    assert len(out.where) == n, f"produce to {topic}: {len(out.where)} of {n} delivered"
    return out


class BackgroundProducer(threading.Thread):
    def __init__(self, bootstrap: str, topic: str, n: int, tag: str, duration: float) -> None:
        super().__init__(daemon=True, name="producer")
        self.args = (bootstrap, topic, n, tag)
        self.duration = duration
        self.result: Produced | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = produce(*self.args, duration=self.duration)
        except BaseException as e:  # noqa: BLE001
            self.error = e

    def wait(self, timeout: float = 60.0) -> Produced:
        self.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.result is not None, "producer did not finish"
        return self.result


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = N_PARTITIONS):
    """OffsetFetch through a group-less confluent-kafka consumer: {partition: offset or None}."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        res = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
    finally:
        c.close()
    out = {}
    for tp in res:
        assert tp.error is None, f"OffsetFetch {group} {topic}[{tp.partition}]: {tp.error}"
        out[tp.partition] = tp.offset if tp.offset >= 0 else None
    return out


# ---------------------------------------------------------------------------
# waiting and checking


def wait_until(pred: Callable[[], bool], timeout: float, what: str, state: Callable[[], str]):
    """Poll ``pred`` every 20 ms; return the seconds it took; fail with ``state()`` on timeout."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}\n{state()}")
        time.sleep(0.02)


def owns_all(members: Sequence[Member], partitions: int = N_PARTITIONS, balanced=False) -> bool:
    """The members together own every partition exactly once (and, if balanced, evenly)."""
    sets = [m.owned for m in members]
    total = sum(len(s) for s in sets)
    union = frozenset().union(*sets)
    if total != partitions or union != frozenset(range(partitions)):
        return False
    if balanced:
        sizes = [len(s) for s in sets]
        return max(sizes) - min(sizes) <= 1 and min(sizes) > 0
    return True


def wait_stable(g: GroupTest, members: Sequence[Member], timeout=JOIN_TIMEOUT_S) -> float:
    return wait_until(
        lambda: owns_all(members, balanced=True),
        timeout,
        f"{len(members)} members to own the {N_PARTITIONS} partitions evenly",
        lambda: g.state(),
    )


def wait_consumed(g: GroupTest, produced: Produced, timeout=CONSUME_TIMEOUT_S) -> float:
    def state():
        snap = g.tracker.snapshot()
        missing = [v for v in produced.order if v not in snap]
        return (
            f"{len(missing)} of {len(produced.order)} not consumed, e.g. {missing[:3]}\n"
            + g.state()
        )

    return wait_until(
        lambda: g.tracker.has_all(produced.order), timeout, "every record to be consumed", state
    )


def check_exactly_once(g: GroupTest, produced: Produced, what: str) -> dict[str, int]:
    """Every produced record consumed, at its offset, and at most once, except after a failed commit.

    A record may come back a second time only if the member that first got
    it never committed past it between the two deliveries (its commit
    failed, e.g. with REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION, or it was
    killed first). Any other repeat means the broker handed out a partition
    without the offset its previous owner committed, or from the wrong
    position. Returns counts for the report.
    """
    snap = g.tracker.snapshot()
    members = {m.name: m for m in g.members}
    lost = [v for v in produced.order if v not in snap]
    foreign = [v for v in snap if v not in produced.where]
    misplaced = [
        (v, d.partition, d.offset, produced.where[v])
        for v, ds in snap.items()
        if v in produced.where
        for d in ds
        if (d.partition, d.offset) != produced.where[v]
    ]
    explained, unexplained = [], []
    for v, ds in snap.items():
        if len(ds) < 2:
            continue
        ds = sorted(ds, key=lambda d: d.t)
        bad = []
        for first, again in zip(ds, ds[1:], strict=False):
            m = members[first.member]
            covered = [
                (tc, offs[first.partition])
                for tc, offs in m.commits_ok
                if first.t <= tc <= again.t and offs.get(first.partition, -1) > first.offset
            ]
            if covered:
                bad.append(
                    f"{v!r} p{first.partition}@{first.offset}: {first.member} at "
                    f"+{first.t - m.t_started:.2f}s, committed {covered[0][1]} at "
                    f"+{covered[0][0] - m.t_started:.2f}s, yet {again.member} got it again at "
                    f"+{again.t - m.t_started:.2f}s"
                )
        (unexplained if bad else explained).append(bad[0] if bad else v)
    failures = sum(len(m.commit_failures) for m in g.members)
    # A member commits in its revoke callback before it rejoins, so with the
    # generation it still holds while the group prepares to rebalance: a
    # broker must accept that commit, or the next owner redelivers.
    revoke_failures = [
        f"{m.name}: {f['error']} {f['offsets']}"
        for m in g.members
        for f in m.commit_failures
        if f["where"] == "revoke"
    ]
    problems = []
    if revoke_failures:
        problems.append(
            f"{len(revoke_failures)} commits in the revoke callback (before rejoining) failed, "
            f"e.g. {revoke_failures[:3]}"
        )
    if lost:
        problems.append(
            f"{len(lost)} of {len(produced.order)} records never consumed, e.g. {lost[:3]}"
        )
    if misplaced:
        problems.append(
            f"{len(misplaced)} records at the wrong partition/offset, e.g. {misplaced[:3]}"
        )
    if foreign:
        problems.append(f"{len(foreign)} records nobody produced, e.g. {foreign[:3]}")
    if unexplained:
        problems.append(
            f"{len(unexplained)} duplicates although the first consumer had committed past them, "
            "e.g.\n    " + "\n    ".join(unexplained[:5])
        )
    assert not problems, (
        f"{what}: " + "; ".join(problems) + f"\n({len(explained)} redeliveries after "
        f"{failures} failed commits are allowed)\n" + g.state()
    )
    return {
        "records": len(produced.order),
        "redelivered": len(explained),
        "failed_commits": failures,
    }


def note(g: GroupTest, msg: str) -> None:
    """A measurement for the log (pytest -rP or -s shows it)."""
    print(f"[{g.client.name}] {msg}", flush=True)


def errors_of(members: Iterable[Member]) -> list[str]:
    return [f"{m.name}: {e}" for m in members for e in m.errors]


def assert_no_fatal_errors(g: GroupTest) -> None:
    fatal = [e for e in errors_of(g.members) if "FATAL" in e or "did not" in e or "exited" in e]
    assert not fatal, "member errors:\n  " + "\n  ".join(fatal) + "\n" + g.state()


# ---------------------------------------------------------------------------
# scenarios


def scenario_exactly_once(g: GroupTest, n_members: int = 3, n_records: int = 3000) -> dict:
    """1. n members share a 6-partition topic while a producer runs; each record once.

    Members start 0.5 s apart, so the group rebalances twice while records
    are flowing.
    """
    topic, group = g.topic(), g.group()
    producer = BackgroundProducer(g.bootstrap, topic, n_records, tag=group, duration=3.0)
    members = []
    for i in range(n_members):
        members.append(g.start(f"m{i}", topic, group))
        time.sleep(0.5)
    produced = producer.wait()
    wait_stable(g, members)
    wait_consumed(g, produced)
    stats = check_exactly_once(g, produced, f"{n_members} members, {n_records} records")
    per_member = {m.name: (len(m.records), m.n_assign, m.n_revoke) for m in members}
    note(g, f"exactly once: {stats}; per member (records, assigns, revokes): {per_member}")
    assert_no_fatal_errors(g)
    return stats


def _prefilled_group(g: GroupTest, n_members: int, process_first: bool = False, **kw):
    topic, group = g.topic(), g.group()
    produced = produce(g.bootstrap, topic, 600, tag=f"{group} before")
    members = [
        g.start(f"m{i}", topic, group, process=(process_first and i == 0), **kw)
        for i in range(n_members)
    ]
    wait_stable(g, members)
    wait_consumed(g, produced)
    return topic, group, produced, members


def scenario_clean_leave(g: GroupTest) -> float:
    """2. A member close()s; the other two own all 6 partitions within LEAVE_REBALANCE_BUDGET_S."""
    topic, group, produced, members = _prefilled_group(g, 3)
    time.sleep(0.5)  # let the post-join commits settle
    leaving, rest = members[0], members[1:]
    t0 = time.monotonic()
    leaving.close()
    close_s = time.monotonic() - t0
    wait_until(
        lambda: owns_all(rest),
        15.0,
        "the remaining members to own every partition after a clean leave",
        g.state,
    )
    took = time.monotonic() - t0
    note(
        g, f"clean leave: others own everything {took:.2f}s after close() ({close_s:.2f}s in close)"
    )
    produced.merge(produce(g.bootstrap, topic, 600, tag=f"{group} after"))
    wait_consumed(g, produced)
    check_exactly_once(g, produced, "after a clean leave")
    assert_no_fatal_errors(g)
    assert took <= LEAVE_REBALANCE_BUDGET_S, (
        f"rebalance after close() took {took:.2f}s (close() itself {close_s:.2f}s), "
        f"budget {LEAVE_REBALANCE_BUDGET_S}s\n" + g.state()
    )
    return took


def scenario_kill(g: GroupTest) -> float:
    """3. A member (child process) gets SIGKILL; its partitions move after the session timeout."""
    session_s = SESSION_TIMEOUT_MS / 1000
    topic, group, produced, members = _prefilled_group(g, 3, process_first=True)
    victim, rest = members[0], members[1:]
    victim_parts = sorted(victim.owned)
    time.sleep(0.5)
    t0 = time.monotonic()
    victim.kill()
    wait_until(
        lambda: owns_all(rest),
        session_s + 20.0,
        f"the survivors to take over {victim_parts} after SIGKILL",
        g.state,
    )
    took = time.monotonic() - t0
    note(g, f"SIGKILL: partitions {victim_parts} moved after {took:.2f}s")
    produced.merge(produce(g.bootstrap, topic, 600, tag=f"{group} after"))
    wait_consumed(g, produced)
    check_exactly_once(g, produced, "after SIGKILL of a member")
    assert_no_fatal_errors(g)
    assert took <= session_s + KILL_SLACK_S, (
        f"partitions {victim_parts} moved {took:.2f}s after SIGKILL; session timeout "
        f"{session_s:.0f}s + {KILL_SLACK_S:.0f}s allowed\n" + g.state()
    )
    return took


def scenario_resume_from_commit(g: GroupTest) -> dict[int, int]:
    """4. Commit, close, start again with the same group: first offset == committed offset."""
    topic, group = g.topic(), g.group()
    produced = produce(g.bootstrap, topic, 60, tag=f"{group} first")  # 10 per partition
    first = g.start("first", topic, group, stop_after=23, max_poll_records=5)
    wait_until(
        first.closed.is_set, JOIN_TIMEOUT_S, "the first consumer to stop after 23 records", g.state
    )
    assert_no_fatal_errors(g)
    assert len(first.records) == 23, g.state()
    assert not first.commit_failures, g.state()
    committed = first.last_committed()
    # What it processed, per partition, is exactly what it committed.
    processed: dict[int, int] = {}
    for d in first.records:
        processed[d.partition] = d.offset + 1
    assert committed == processed, f"committed {committed} but processed up to {processed}"
    fetched = committed_offsets(g.bootstrap, group, topic)
    want = {p: committed.get(p) for p in range(N_PARTITIONS)}
    assert fetched == want, f"OffsetFetch after close: {fetched}, committed {want}"
    produced.merge(produce(g.bootstrap, topic, 6, tag=f"{group} second"))  # one more each
    second = g.start("second", topic, group)
    wait_until(
        lambda: len(second.first_offsets()) == N_PARTITIONS,
        JOIN_TIMEOUT_S,
        "the restarted consumer to get a record from every partition",
        g.state,
    )
    firsts = second.first_offsets()
    expect = {p: committed.get(p, 0) for p in range(N_PARTITIONS)}
    assert firsts == expect, (
        f"restarted consumer's first offsets {firsts}, committed {committed} (0 where none)\n"
        + g.state()
    )
    wait_consumed(g, produced)
    check_exactly_once(g, produced, "commit, close, restart")
    return committed


def scenario_offset_reset(g: GroupTest) -> None:
    """5. New groups on a topic with data: earliest sees the old records, latest only new ones."""
    topic = g.topic()
    old = produce(g.bootstrap, topic, 30, tag="old")
    early = g.start("earliest", topic, g.group("earliest"), auto_offset_reset="earliest")
    wait_consumed(g, old)
    early.close()
    firsts = early.first_offsets()
    assert firsts == {p: 0 for p in range(N_PARTITIONS)}, f"earliest: first offsets {firsts}"
    assert sorted(early.values) == sorted(old.order), "earliest: not exactly the old records"

    late = g.start("latest", topic, g.group("latest"), auto_offset_reset="latest")
    wait_until(
        lambda: owns_all([late]), JOIN_TIMEOUT_S, "the latest consumer's assignment", g.state
    )
    # Its position is only resolved (ListOffsets latest) some time after the
    # assignment; records produced before that are legitimately skipped. So
    # produce rounds until it has seen new records on every partition, then
    # one final round that it must see in full.
    new = Produced()
    deadline = time.monotonic() + 20
    rnd = 0
    while len(late.first_offsets()) < N_PARTITIONS and time.monotonic() < deadline:
        new.merge(produce(g.bootstrap, topic, 6, tag=f"new-{rnd}"))
        rnd += 1
        time.sleep(0.3)
    final = produce(g.bootstrap, topic, 6, tag="final")
    wait_consumed(g, final)
    got_old = [v for v in late.values if v.startswith("old ")]
    assert not got_old, f"latest: consumed {len(got_old)} old records, e.g. {got_old[:3]}"
    # From the first record it got on a partition, it got every later one, in order.
    per_part: dict[int, list[int]] = collections.defaultdict(list)
    for d in late.records:
        per_part[d.partition].append(d.offset)
    for p, offs in per_part.items():
        assert offs == list(range(offs[0], offs[0] + len(offs))), f"latest: p{p} offsets {offs}"
        assert offs[0] >= 5, f"latest: p{p} started at {offs[0]}, inside the old records"
    assert_no_fatal_errors(g)


def scenario_cooperative(g: GroupTest) -> dict:
    """6. cooperative-sticky: 2 then 3 members; the third only takes what the others give up."""
    topic, group = g.topic(), g.group()
    producer = BackgroundProducer(g.bootstrap, topic, 3000, tag=group, duration=4.0)
    kw = {"assignor": "cooperative-sticky"}
    a, b = g.start("m0", topic, group, **kw), g.start("m1", topic, group, **kw)
    wait_stable(g, [a, b])
    before = {m.name: (m.owned, len(m.rebalance_log)) for m in (a, b)}
    c = g.start("m2", topic, group, **kw)
    wait_stable(g, [a, b, c])
    time.sleep(1.0)  # a cooperative rebalance has a second round; let it finish
    assert owns_all([a, b, c], balanced=True), g.state()
    for m in (a, b):
        owned_before, n_log = before[m.name]
        events = m.rebalance_log[n_log:]
        revoked = {p for _t, kind, parts, _o in events if kind.startswith("revoke") for p in parts}
        assert revoked <= c.owned, f"{m.name} gave up {revoked}, the new member owns {c.owned}"
        assert m.owned <= owned_before, f"{m.name} went from {owned_before} to {m.owned}"
        assert not any(
            kind.startswith("revoke") and set(parts) == set(owned_before)
            for _t, kind, parts, _o in events
        ), f"{m.name} had everything revoked (eager, not cooperative): {events}"
    produced = producer.wait()
    wait_consumed(g, produced)
    stats = check_exactly_once(g, produced, "cooperative-sticky")
    note(g, f"cooperative-sticky: {stats}")
    assert_no_fatal_errors(g)
    return stats


def scenario_static_membership(g: GroupTest) -> float:
    """7. A static member restarts within its session timeout: same partitions, no rebalance."""
    session_s = SESSION_TIMEOUT_MS / 1000
    topic, group = g.topic(), g.group()
    produced = produce(g.bootstrap, topic, 60, tag=f"{group} before")
    # b joins first and so leads the group; a (the one restarted) is a follower.
    b = g.start("b", topic, group, instance_id=f"{group}-b")
    wait_until(lambda: owns_all([b]), JOIN_TIMEOUT_S, "the first static member to own all", g.state)
    a = g.start("a", topic, group, instance_id=f"{group}-a")
    wait_stable(g, [a, b])
    wait_consumed(g, produced)
    time.sleep(1.0)
    a_parts, b_parts, b_counts = a.owned, b.owned, b.counts()
    t0 = time.monotonic()
    a.close()  # a static member sends no LeaveGroup
    a2 = g.start("a-again", topic, group, instance_id=f"{group}-a")
    wait_until(
        lambda: bool(a2.owned), session_s, "the restarted static member's assignment", g.state
    )
    took = time.monotonic() - t0
    note(g, f"static restart: assignment back after {took:.2f}s")
    assert a2.owned == a_parts, (
        f"restarted static member got {sorted(a2.owned)}, had {sorted(a_parts)}"
    )
    # Watch the other member for longer than the session timeout: the old
    # incarnation must not expire and trigger a rebalance either.
    produced.merge(produce(g.bootstrap, topic, 60, tag=f"{group} after"))
    time.sleep(session_s + 2.0)
    assert b.counts() == b_counts and b.owned == b_parts, (
        f"the other member saw a rebalance: (assign, revoke) counts {b_counts} -> {b.counts()}, "
        f"owns {sorted(b_parts)} -> {sorted(b.owned)}\n" + g.state()
    )
    assert a2.owned == a_parts and a2.counts() == (1, 0), g.state()
    wait_consumed(g, produced)
    check_exactly_once(g, produced, "static member restart")
    assert_no_fatal_errors(g)
    return took


def scenario_first_record_latency(g: GroupTest) -> float:
    """8. A lone consumer gets its first record within FIRST_RECORD_BUDGET_S of subscribe()."""
    topic, group = g.topic(), g.group()
    produce(g.bootstrap, topic, 60, tag=group)
    m = g.start("solo", topic, group)
    wait_until(lambda: m.t_first_record is not None, 15.0, "the first record", g.state)
    assert m.t_subscribing is not None, g.state()
    took = m.t_first_record - m.t_subscribing
    note(g, f"first record {took:.3f}s after subscribe()")
    assert took <= FIRST_RECORD_BUDGET_S, (
        f"first record {took:.2f}s after subscribe(), budget {FIRST_RECORD_BUDGET_S}s\n" + g.state()
    )
    return took


# ---------------------------------------------------------------------------
# pytest glue


def make_fixture(client_factory: Callable[[], PythonClient | NodeClient]):
    """A ``grp`` fixture for a client's test module."""
    import pytest

    @pytest.fixture
    def grp(bootstrap, request, tmp_path):
        g = GroupTest(bootstrap, client_factory(), request.node.name, tmp_path)
        try:
            yield g
        finally:
            g.close_all()

    return grp


# ---------------------------------------------------------------------------
# child-process entry point


def _member_main(argv: list[str]) -> int:
    import argparse
    import importlib

    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["member"])
    ap.add_argument("--driver", required=True, help="module:Class")
    ap.add_argument("--spec", required=True)
    args = ap.parse_args(argv)
    mod_name, cls_name = args.driver.split(":")
    driver_cls = getattr(importlib.import_module(mod_name), cls_name)
    spec = MemberSpec.from_json(args.spec)
    out_lock = threading.Lock()
    out = sys.stdout

    def emit(ev: Event) -> None:
        with out_lock:
            out.write(json.dumps(ev, separators=(",", ":")) + "\n")
            out.flush()

    stop = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                break
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    run_member(driver_cls, spec, emit, stop)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    import group_scenarios

    sys.exit(group_scenarios._member_main(sys.argv[1:]))


# -- the scenario lists each client runs -------------------------------------------------
# A client's test module defines a ``grp`` fixture and a ``TestGroups`` class that
# inherits the lists its client supports (classes not named Test* are not collected here).


class CommonScenarios:
    def test_three_members_consume_each_record_once(self, grp):
        scenario_exactly_once(grp)

    def test_clean_leave_rebalances_quickly(self, grp):
        scenario_clean_leave(grp)

    def test_killed_member_partitions_move_after_session_timeout(self, grp):
        scenario_kill(grp)

    def test_restart_resumes_from_committed_offset(self, grp):
        scenario_resume_from_commit(grp)

    def test_auto_offset_reset_earliest_and_latest(self, grp):
        scenario_offset_reset(grp)

    def test_first_record_within_a_second(self, grp):
        scenario_first_record_latency(grp)


class StaticMembershipScenario:
    def test_static_member_restart_keeps_assignment(self, grp):
        scenario_static_membership(grp)


class CooperativeScenario:
    def test_cooperative_sticky_two_then_three_members(self, grp):
        scenario_cooperative(grp)
