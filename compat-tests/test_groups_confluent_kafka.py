"""confluent-kafka (librdkafka 2.x): consumer groups (scenarios in group_scenarios.py).

The driver: Consumer with enable.auto.commit=false, subscribe() with
on_assign/on_revoke/on_lost; on_revoke commits the processed offsets of the
partitions being revoked synchronously. The library performs the
(incremental_)assign itself after each callback. librdkafka's default
assignors (range, roundrobin) are used except in the cooperative-sticky
test. Static membership uses ``group.instance.id``; librdkafka then sends no
LeaveGroup on close().
"""

from __future__ import annotations

import group_scenarios as gs
from confluent_kafka import Consumer, KafkaException, TopicPartition

CLIENT = "confluent-kafka"


class Driver(gs.BaseDriver):
    def subscribe(self) -> None:
        s = self.spec
        self.cooperative = s.assignor == "cooperative-sticky"
        conf = {
            "bootstrap.servers": s.bootstrap,
            "client.id": s.client_id,
            "group.id": s.group,
            "enable.auto.commit": False,
            "auto.offset.reset": s.auto_offset_reset,
            "session.timeout.ms": s.session_timeout_ms,
            "heartbeat.interval.ms": s.heartbeat_interval_ms,
            "max.poll.interval.ms": s.max_poll_interval_ms,
            "fetch.wait.max.ms": 100,
            "error_cb": self._on_error,
        }
        if s.assignor:
            conf["partition.assignment.strategy"] = s.assignor
        if s.instance_id:
            conf["group.instance.id"] = s.instance_id
        self.consumer = Consumer(conf)
        self.emit({"ev": "subscribing"})
        self.consumer.subscribe(
            [s.topic],
            on_assign=lambda c, parts: self.on_assigned(tp.partition for tp in parts),
            on_revoke=lambda c, parts: self.on_revoked(tp.partition for tp in parts),
            on_lost=lambda c, parts: self.on_revoked((tp.partition for tp in parts), lost=True),
        )

    def _on_error(self, err) -> None:
        self.emit({"ev": "error", "error": f"error_cb: {err}", "fatal": err.fatal()})

    def poll(self):
        msgs = self.consumer.consume(num_messages=self.spec.max_poll_records, timeout=0.2)
        out = []
        for m in msgs:
            if m.error() is not None:
                self.emit({"ev": "error", "error": f"consume: {m.error()}", "fatal": False})
                continue
            out.append((m.partition(), m.offset(), m.value()))
        return out

    def commit_offsets(self, offsets):
        res = self.consumer.commit(
            offsets=[TopicPartition(self.spec.topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
        errs = [f"p{tp.partition}: {tp.error}" for tp in res or () if tp.error is not None]
        if errs:
            raise KafkaException(", ".join(errs))

    def close(self) -> None:
        if hasattr(self, "consumer"):
            self.consumer.close()


grp = gs.make_fixture(lambda: gs.PythonClient(CLIENT, Driver))



class TestGroups(gs.CommonScenarios, gs.CooperativeScenario, gs.StaticMembershipScenario):
    pass
