"""Topic and broker administration over the Kafka protocol, as admin clients use it:
IncrementalAlterConfigs, DescribeConfigs (topic and broker), CreatePartitions,
DeleteTopics, DescribeCluster; topic auto-creation on and off; Fetch long-polling."""

import time

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12.request import MetadataRequest

from storage.recordbatch import build_batch
from tests.integration.test_bad_input import produce
from tests.wire import Wire, first_message


def topic_configs(admin: AdminClient, topic: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res])[res].result(10)


def alter(admin: AdminClient, topic: str, *entries: ConfigEntry, validate_only: bool = False):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=list(entries))
    return admin.incremental_alter_configs([res], validate_only=validate_only)[res].result(10)


def op(name: str, value: str | None, kind: AlterConfigOpType) -> ConfigEntry:
    return ConfigEntry(name, value, incremental_operation=kind)


def test_incremental_alter_and_describe_configs(server):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("cfg", 1)])["cfg"].result(10)
    assert topic_configs(admin, "cfg")["retention.ms"].is_default
    alter(admin, "cfg", op("retention.ms", "60000", AlterConfigOpType.SET),
          op("max.message.bytes", "2048", AlterConfigOpType.SET))
    got = topic_configs(admin, "cfg")
    assert got["retention.ms"].value == "60000" and not got["retention.ms"].is_default
    assert got["max.message.bytes"].value == "2048"
    # validate_only changes nothing.
    alter(admin, "cfg", op("retention.ms", "1", AlterConfigOpType.SET), validate_only=True)
    assert topic_configs(admin, "cfg")["retention.ms"].value == "60000"
    # DELETE returns to the default; APPEND and SUBTRACT edit list configs.
    alter(admin, "cfg", op("retention.ms", None, AlterConfigOpType.DELETE))
    assert topic_configs(admin, "cfg")["retention.ms"].is_default
    alter(admin, "cfg", op("cleanup.policy", "compact", AlterConfigOpType.APPEND))
    assert set(topic_configs(admin, "cfg")["cleanup.policy"].value.split(",")) == {"delete", "compact"}
    alter(admin, "cfg", op("cleanup.policy", "delete", AlterConfigOpType.SUBTRACT))
    assert topic_configs(admin, "cfg")["cleanup.policy"].value == "compact"
    # A bad value is refused with INVALID_CONFIG and a message; nothing changes.
    with pytest.raises(KafkaException) as bad:
        alter(admin, "cfg", op("retention.ms", "soon", AlterConfigOpType.SET))
    assert bad.value.args[0].name() == "INVALID_CONFIG" and "retention.ms" in bad.value.args[0].str()
    assert topic_configs(admin, "cfg")["retention.ms"].is_default
    # The limit set above is enforced: a batch over 2048 bytes is MESSAGE_TOO_LARGE.
    w = Wire(server.bootstrap)
    big = produce(w, "cfg", 0, build_batch([(None, b"x" * 4000, [], 1)]))
    assert big.responses[0].partition_responses[0].error_code == ErrorCode.message_too_large
    w.close()
    # The broker resource: Kafka's broker configs that tools read.
    broker = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = admin.describe_configs([broker])[broker].result(10)
    assert "inter.broker.protocol.version" in configs and configs["inter.broker.protocol.version"].value


def test_create_partitions_delete_topics_and_describe_cluster(server):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("grow", 2)])["grow"].result(10)
    admin.create_partitions([NewPartitions("grow", 5)])["grow"].result(10)
    md = admin.list_topics("grow", timeout=10)
    assert sorted(md.topics["grow"].partitions) == [0, 1, 2, 3, 4]
    assert all(p.leader == 1 for p in md.topics["grow"].partitions.values())
    with pytest.raises(KafkaException) as shrink:
        admin.create_partitions([NewPartitions("grow", 3)])["grow"].result(10)
    assert shrink.value.args[0].name() == "INVALID_PARTITIONS"
    with pytest.raises(KafkaException) as missing:
        admin.create_partitions([NewPartitions("nope", 3)])["nope"].result(10)
    assert missing.value.args[0].name() == "UNKNOWN_TOPIC_OR_PART"
    # A produce to a new partition works at once.
    w = Wire(server.bootstrap)
    ok = produce(w, "grow", 4, build_batch([(None, b"v", [], 1)]))
    assert ok.responses[0].partition_responses[0].error_code == ErrorCode.none
    w.close()
    admin.delete_topics(["grow"])["grow"].result(10)
    assert "grow" not in admin.list_topics(timeout=10).topics
    with pytest.raises(KafkaException) as gone:
        admin.delete_topics(["grow"])["grow"].result(10)
    assert gone.value.args[0].name() == "UNKNOWN_TOPIC_OR_PART"
    cluster = admin.describe_cluster().result(10)
    assert cluster.cluster_id and [n.id for n in cluster.nodes] == [1]
    assert cluster.controller is not None and cluster.controller.id == 1


def metadata(wire: Wire, topic: str, auto: bool):
    return wire.call(MetadataRequest, {
        "topics": [{"topic_id": None, "name": topic}],
        "allow_auto_topic_creation": auto,
        "include_topic_authorized_operations": False,
    })


def test_topics_are_created_on_first_use_unless_turned_off(server_factory, tmp_path):
    on = server_factory(tmp_path / "on").start()
    w = Wire(on.bootstrap)
    asked = metadata(w, "auto-md", auto=False)  # the client did not ask for creation
    assert asked.topics[0].error_code == ErrorCode.unknown_topic_or_partition
    made = metadata(w, "auto-md", auto=True)
    assert made.topics[0].error_code == ErrorCode.none and len(made.topics[0].partitions) == 1
    w.close()
    p = Producer({"bootstrap.servers": on.bootstrap})
    errors = []
    p.produce("auto-produce", value=b"v", on_delivery=lambda e, m: errors.append(e))
    p.flush(10)
    assert errors == [None]
    on.stop()

    off = server_factory(tmp_path / "off", extra=["--auto-create-topics", "false"]).start()
    w = Wire(off.bootstrap)
    refused = metadata(w, "never", auto=True)
    assert refused.topics[0].error_code == ErrorCode.unknown_topic_or_partition
    direct = produce(w, "never", 0, build_batch([(None, b"v", [], 1)]))
    assert direct.responses[0].partition_responses[0].error_code == ErrorCode.unknown_topic_or_partition
    w.close()
    assert "never" not in AdminClient({"bootstrap.servers": off.bootstrap}).list_topics(timeout=10).topics
    off.stop()


def test_fetch_long_polls_until_data_or_max_wait(server):
    import threading

    w = Wire(server.bootstrap, timeout=15)
    admin = AdminClient({"bootstrap.servers": server.bootstrap})  # kept alive for its future
    admin.create_topics([NewTopic("poll", 1)])["poll"].result(10)
    # Nothing to read: the answer comes after max_wait, empty.
    started = time.monotonic()
    empty = w.fetch("poll", 0, max_wait=1200)
    waited = time.monotonic() - started
    assert 1.1 <= waited < 3.0, waited
    assert not empty.responses[0].partitions[0].records
    # Data arriving during the wait ends it early.
    def later():
        time.sleep(0.5)
        pw = Wire(server.bootstrap)
        produce(pw, "poll", 0, build_batch([(None, b"late", [], 1)]))
        pw.close()

    t = threading.Thread(target=later)
    started = time.monotonic()
    t.start()
    woke = w.fetch("poll", 0, max_wait=10_000)
    waited = time.monotonic() - started
    t.join()
    assert woke.responses[0].partitions[0].records and waited < 5.0, waited
    # min_bytes larger than what there is: the fetch waits the full max_wait.
    started = time.monotonic()
    partial = w.fetch("poll", 0, max_wait=1000, min_bytes=1 << 20)
    assert time.monotonic() - started >= 0.9
    assert partial.responses[0].partitions[0].records  # and then answers with what it has
    w.close()


def test_log_append_time_and_list_offsets_by_max_timestamp(server):
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
    from kio.schema.list_offsets.v7.request import ListOffsetsRequest

    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("appended", 1, config={
        "message.timestamp.type": "LogAppendTime"}), NewTopic("stamped", 1)])["appended"].result(10)
    before = int(time.time() * 1000)
    p = Producer({"bootstrap.servers": server.bootstrap})
    p.produce("appended", value=b"a", timestamp=1000)  # the broker's time replaces it
    for offset, ts in enumerate([5000, 9000, 7000]):
        p.produce("stamped", value=b"%d" % offset, timestamp=ts)
    assert p.flush(10) == 0
    m = first_message(server.bootstrap, "appended", "ts")
    kind, ts = m.timestamp()
    assert kind == TIMESTAMP_LOG_APPEND_TIME and before - 1000 <= ts <= int(time.time() * 1000) + 1000
    w = Wire(server.bootstrap)

    def list_offset(timestamp: int):
        resp = w.call(ListOffsetsRequest, {"replica_id": -1, "isolation_level": 0, "topics": [
            {"name": "stamped", "partitions": [
                {"partition_index": 0, "current_leader_epoch": -1, "timestamp": timestamp}]}]})
        part = resp.topics[0].partitions[0]
        return part.offset, part.timestamp

    assert list_offset(-3) == (1, 9000)  # the record with the largest timestamp
    assert list_offset(-2)[0] == 0 and list_offset(-1)[0] == 3
    assert list_offset(6000) == (1, 9000)  # the first offset whose timestamp is >= 6000
    assert list_offset(10_000)[0] == -1  # none that late
    w.close()
