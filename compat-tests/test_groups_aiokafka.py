"""aiokafka (0.14): consumer groups (scenarios in group_scenarios.py).

The shared scenarios drive members through a synchronous driver, so each
aiokafka member owns a private event loop (in its own thread or child
process) and runs every call with ``run_until_complete``; the loop runs
almost all the time because the member is nearly always inside getmany().
The rebalance listener awaits a commit of the processed offsets of the
partitions being revoked before the rejoin. aiokafka's default assignor
(roundrobin) is used; static membership uses ``group_instance_id``.
"""

from __future__ import annotations

import asyncio

import group_scenarios as gs
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

CLIENT = "aiokafka"


class Driver(gs.BaseDriver):
    def subscribe(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        s = self.spec
        self.consumer = AIOKafkaConsumer(
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
        await self.consumer.start()
        driver = self

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                parts = {tp.partition for tp in revoked}
                offsets = driver.revoke_offsets(parts)
                if offsets:
                    try:
                        await driver._commit(offsets)
                    except Exception as e:  # noqa: BLE001
                        driver.commit_done(offsets, "revoke", e)
                    else:
                        driver.commit_done(offsets, "revoke", None)
                driver.revoked(parts)

            async def on_partitions_assigned(self, assigned):
                driver.on_assigned(tp.partition for tp in assigned)

        self.emit({"ev": "subscribing"})
        self.consumer.subscribe([s.topic], listener=Listener())

    async def _commit(self, offsets) -> None:
        await self.consumer.commit(
            {TopicPartition(self.spec.topic, p): o for p, o in offsets.items()}
        )

    def poll(self):
        batches = self.loop.run_until_complete(
            self.consumer.getmany(timeout_ms=200, max_records=self.spec.max_poll_records)
        )
        return [(m.partition, m.offset, m.value) for msgs in batches.values() for m in msgs]

    def commit_offsets(self, offsets):
        self.loop.run_until_complete(self._commit(offsets))

    def close(self) -> None:
        if hasattr(self, "loop"):
            try:
                if hasattr(self, "consumer"):
                    self.loop.run_until_complete(self.consumer.stop())
            finally:
                self.loop.close()


grp = gs.make_fixture(lambda: gs.PythonClient(CLIENT, Driver))



class TestGroups(gs.CommonScenarios, gs.StaticMembershipScenario):
    pass
