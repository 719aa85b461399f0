"""kafka-python (3.0): consumer groups (scenarios in group_scenarios.py).

The driver: KafkaConsumer with enable_auto_commit=False; the rebalance
listener commits the processed offsets of the partitions being revoked
(synchronously, before the rejoin) and reports assignments. kafka-python's
default assignors (range, then roundrobin) are left in place; it cannot do
cooperative rebalancing. Static membership uses ``group_instance_id``.
"""

from __future__ import annotations

import group_scenarios as gs
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

CLIENT = "kafka-python"


class Driver(gs.BaseDriver):
    def subscribe(self) -> None:
        s = self.spec
        self.consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap,
            client_id=s.client_id,
            group_id=s.group,
            group_instance_id=s.instance_id,
            enable_auto_commit=False,
            auto_offset_reset=s.auto_offset_reset,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=s.max_poll_interval_ms,
            max_poll_records=s.max_poll_records,
            fetch_max_wait_ms=100,
        )
        driver = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                driver.on_revoked(tp.partition for tp in revoked)

            def on_partitions_assigned(self, assigned):
                driver.on_assigned(tp.partition for tp in assigned)

            def on_partitions_lost(self, lost):
                driver.on_revoked((tp.partition for tp in lost), lost=True)

        self.emit({"ev": "subscribing"})
        self.consumer.subscribe([s.topic], listener=Listener())

    def poll(self):
        batches = self.consumer.poll(timeout_ms=200, max_records=self.spec.max_poll_records)
        return [(m.partition, m.offset, m.value) for msgs in batches.values() for m in msgs]

    def commit_offsets(self, offsets):
        self.consumer.commit(
            {
                TopicPartition(self.spec.topic, p): OffsetAndMetadata(o, "", -1)
                for p, o in offsets.items()
            }
        )

    def close(self) -> None:
        if hasattr(self, "consumer"):
            self.consumer.close(autocommit=False)


grp = gs.make_fixture(lambda: gs.PythonClient(CLIENT, Driver))



class TestGroups(gs.CommonScenarios, gs.StaticMembershipScenario):
    pass
