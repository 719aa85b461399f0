"""The schema registry against a running server: Confluent's REST API, its clients and
serializers, persistence, and broker-side validation."""

import base64
import json
import time

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CT = "application/vnd.schemaregistry.v1+json"
USER_V1 = {"type": "record", "name": "User", "namespace": "t",
           "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}]}
USER_V2 = {**USER_V1, "fields": [*USER_V1["fields"],
                                 {"name": "email", "type": ["null", "string"], "default": None}]}
USER_BAD = {**USER_V1, "fields": [*USER_V1["fields"], {"name": "email", "type": "string"}]}


@pytest.fixture
def reg(server):
    with httpx.Client(base_url=f"http://127.0.0.1:{server.registry_port}", timeout=30,
                      headers={"Content-Type": CT}) as client:
        yield client


@pytest.fixture
def client(server):
    return SchemaRegistryClient({"url": f"http://127.0.0.1:{server.registry_port}"})


def post(reg, path, body):
    return reg.post(path, content=json.dumps(body))


def test_rest_api(reg):
    assert reg.get("/").json() == {}
    assert reg.get("/schemas/types").json() == ["AVRO", "JSON", "PROTOBUF"]
    assert reg.get("/subjects").json() == []
    r = post(reg, "/subjects/users-value/versions", {"schema": json.dumps(USER_V1)})
    assert r.status_code == 200 and r.headers["content-type"].startswith(CT)
    first = r.json()["id"]
    # The same schema again (other formatting): same id, no new version.
    again = post(reg, "/subjects/users-value/versions", {"schema": json.dumps(USER_V1, indent=2)})
    assert again.json()["id"] == first
    # The same schema under another subject: same id.
    assert post(reg, "/subjects/other-value/versions", {"schema": json.dumps(USER_V1)}).json()["id"] == first
    second = post(reg, "/subjects/users-value/versions", {"schema": json.dumps(USER_V2)}).json()["id"]
    assert second != first
    assert reg.get("/subjects/users-value/versions").json() == [1, 2]
    latest = reg.get("/subjects/users-value/versions/latest").json()
    assert (latest["version"], latest["id"], latest["subject"]) == (2, second, "users-value")
    assert "schemaType" not in latest  # AVRO is implied, as Confluent does
    assert json.loads(reg.get("/subjects/users-value/versions/1/schema").text) == USER_V1
    assert json.loads(reg.get(f"/schemas/ids/{first}").json()["schema"]) == USER_V1
    assert reg.get(f"/schemas/ids/{first}/subjects").json() == ["other-value", "users-value"]
    assert reg.get(f"/schemas/ids/{first}/versions").json() == [
        {"subject": "other-value", "version": 1}, {"subject": "users-value", "version": 1}]
    looked = post(reg, "/subjects/users-value", {"schema": json.dumps(USER_V1)}).json()
    assert looked["version"] == 1 and looked["id"] == first
    assert post(reg, "/subjects/users-value", {"schema": '"string"'}).json()["error_code"] == 40403
    assert post(reg, "/subjects/nobody", {"schema": '"string"'}).json()["error_code"] == 40401
    assert reg.get("/subjects/users-value/versions/9").json()["error_code"] == 40402
    assert reg.get("/subjects/users-value/versions/zero").json()["error_code"] == 42202
    assert reg.get("/schemas/ids/999").json()["error_code"] == 40403
    assert reg.get("/subjects", params={"subjectPrefix": "users", "unknown": "x"}).json() == ["users-value"]
    # Incompatible evolution: 409 with a message that says why.
    bad = post(reg, "/subjects/users-value/versions", {"schema": json.dumps(USER_BAD)})
    assert bad.status_code == 409 and "email" in bad.json()["message"]
    compat = post(reg, "/compatibility/subjects/users-value/versions/latest?verbose=True",
                  {"schema": json.dumps(USER_BAD)}).json()
    assert compat["is_compatible"] is False and compat["messages"]
    assert post(reg, "/compatibility/subjects/users-value/versions",
                {"schema": json.dumps(USER_V2)}).json() == {"is_compatible": True}
    # Invalid schemas: 422 / 42201, nothing stored.
    for broken in ['{"type": "strin"}', '{"type": "record", "name": "R"}', "{not json"]:
        r = post(reg, "/subjects/broken-value/versions", {"schema": broken})
        assert r.status_code == 422 and r.json()["error_code"] == 42201, r.text
        assert r.json()["message"]
    assert "broken-value" not in reg.get("/subjects").json()
    # Config and mode.
    assert reg.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert reg.get("/config/users-value").json()["error_code"] == 40408
    assert reg.get("/config/users-value", params={"defaultToGlobal": "true"}).json() == {"compatibilityLevel": "BACKWARD"}
    assert reg.put("/config/users-value", content=json.dumps({"compatibility": "NONE"})).json() == {"compatibility": "NONE"}
    assert post(reg, "/subjects/users-value/versions", {"schema": json.dumps(USER_BAD)}).status_code == 200
    assert reg.put("/config/users-value", content=json.dumps({"compatibility": "SOMETIMES"})).json()["error_code"] == 42203
    assert reg.delete("/config/users-value").json() == {"compatibilityLevel": "NONE"}
    assert reg.put("/mode/users-value", content=json.dumps({"mode": "READONLY"})).json() == {"mode": "READONLY"}
    ro = post(reg, "/subjects/users-value/versions", {"schema": '"int"'})
    assert ro.status_code == 422 and ro.json()["error_code"] == 42205
    assert reg.delete("/mode/users-value").json() == {"mode": "READONLY"}
    # IMPORT over existing schemas only with force, as Confluent's registry.
    imp = reg.put("/mode/users-value", content=json.dumps({"mode": "IMPORT"}))
    assert imp.status_code == 422 and imp.json()["error_code"] == 42205
    assert reg.put("/mode/users-value?force=true", content=json.dumps({"mode": "IMPORT"})).json() == {"mode": "IMPORT"}
    assert reg.delete("/mode/users-value").json() == {"mode": "IMPORT"}
    assert reg.get("/mode").json() == {"mode": "READWRITE"}
    # Deletes: soft, then permanent.
    assert reg.delete("/subjects/other-value", params={"permanent": "true"}).json()["error_code"] == 40405
    assert reg.delete("/subjects/other-value").json() == [1]
    assert "other-value" not in reg.get("/subjects").json()
    assert "other-value" in reg.get("/subjects", params={"deleted": "true"}).json()
    assert reg.delete("/subjects/other-value", params={"permanent": "True"}).json() == [1]
    assert reg.delete("/subjects/users-value/versions/3").json() == 3
    again = reg.delete("/subjects/users-value/versions/3")
    assert again.status_code == 404 and again.json()["error_code"] == 40406
    assert reg.get("/subjects/users-value/versions").json() == [1, 2]
    assert reg.get("/contexts").json() == ["."]
    assert reg.get("/associations/resources/default/t").status_code == 404


def test_avro_references(reg):
    address = {"type": "record", "name": "Address", "namespace": "t",
               "fields": [{"name": "city", "type": "string"}]}
    post(reg, "/subjects/address/versions", {"schema": json.dumps(address)})
    person = {"type": "record", "name": "Person", "namespace": "t",
              "fields": [{"name": "home", "type": "t.Address"}]}
    r = post(reg, "/subjects/person-value/versions", {"schema": json.dumps(person), "references": [
        {"name": "t.Address", "subject": "address", "version": 1}]})
    assert r.status_code == 200, r.text
    assert reg.get("/subjects/address/versions/1/referencedby").json() == [r.json()["id"]]
    assert reg.get("/subjects/person-value/versions/1").json()["references"][0]["subject"] == "address"
    unresolved = post(reg, "/subjects/p2-value/versions", {"schema": json.dumps(person)})
    assert unresolved.status_code == 422 and "Address" in unresolved.json()["message"]


def roundtrip(server, topic, serializer, deserializer, objects):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(10)
    p = Producer({"bootstrap.servers": server.bootstrap})
    for obj in objects:
        p.produce(topic, value=serializer(obj, SerializationContext(topic, MessageField.VALUE)))
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": f"{topic}-g", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.monotonic() + 15
    while len(out) < len(objects) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            out.append(deserializer(m.value(), SerializationContext(topic, MessageField.VALUE)))
    c.close()
    return out


def test_avro_serializers(server, client):
    ser = AvroSerializer(client, json.dumps(USER_V1))
    de = AvroDeserializer(client)
    users = [{"name": "ann", "age": 30}, {"name": "bob", "age": 41}]
    assert roundtrip(server, "avro-users", ser, de, users) == users
    # Auto-registered under <topic>-value.
    assert client.get_latest_version("avro-users-value").schema_id >= 1
    # A compatible evolution becomes version 2; an incompatible one is refused with 409.
    v2 = client.register_schema("avro-users-value", Schema(json.dumps(USER_V2), "AVRO"))
    assert client.get_versions("avro-users-value") == [1, 2] and v2 >= 1
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema("avro-users-value", Schema(json.dumps(USER_BAD), "AVRO"))
    assert info.value.http_status_code == 409


def test_json_serializers(server, client):
    schema = json.dumps({"type": "object", "properties": {"id": {"type": "integer"},
                                                          "tag": {"type": "string"}},
                         "required": ["id"]})
    ser = JSONSerializer(schema, client)
    de = JSONDeserializer(schema)
    docs = [{"id": 1, "tag": "a"}, {"id": 2}]
    assert roundtrip(server, "json-docs", ser, de, docs) == docs
    latest = client.get_latest_version("json-docs-value")
    assert latest.schema.schema_type == "JSON"


def item_class():
    fdp = descriptor_pb2.FileDescriptorProto(name="item.proto", package="shop", syntax="proto3")
    msg = fdp.message_type.add(name="Item")
    msg.field.add(name="name", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    msg.field.add(name="qty", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Item"))


def test_protobuf_serializers(server, client):
    item = item_class()
    ser = ProtobufSerializer(item, client, {"use.deprecated.format": False})
    de = ProtobufDeserializer(item, {"use.deprecated.format": False})
    items = [item(name="pen", qty=3), item(name="ink", qty=1)]
    assert roundtrip(server, "proto-items", ser, de, items) == items
    assert client.get_latest_version("proto-items-value").schema.schema_type == "PROTOBUF"


def order_class():
    """shop.Order in order.proto, which imports money.proto (a reference) and a well-known type."""
    F = descriptor_pb2.FieldDescriptorProto
    money = descriptor_pb2.FileDescriptorProto(name="money.proto", package="fin", syntax="proto3")
    m = money.message_type.add(name="Money")
    m.field.add(name="cents", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    m.field.add(name="currency", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    order = descriptor_pb2.FileDescriptorProto(
        name="order.proto", package="shop", syntax="proto3",
        dependency=["money.proto", "google/protobuf/timestamp.proto"])
    o = order.message_type.add(name="Order")
    o.field.add(name="id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    o.field.add(name="total", number=2, type=F.TYPE_MESSAGE, type_name=".fin.Money",
                label=F.LABEL_OPTIONAL)
    o.field.add(name="placed", number=3, type=F.TYPE_MESSAGE,
                type_name=".google.protobuf.Timestamp", label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    from google.protobuf import timestamp_pb2

    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(money)
    pool.Add(order)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))


def test_protobuf_with_references_and_a_registry_backed_deserializer(server, client, reg):
    """The deserializer fetches the writer's schema and its references with
    ?format=serialized and builds descriptors from them: the registry must answer with
    real FileDescriptorProtos, not .proto text."""
    order = order_class()
    ser = ProtobufSerializer(order, client, {"use.deprecated.format": False})
    de = ProtobufDeserializer(order, {"use.deprecated.format": False}, client)
    total = order().total.__class__
    orders = [order(id="o1", total=total(cents=1250, currency="EUR")),
              order(id="o2", total=total(cents=99, currency="USD"))]
    orders[1].placed.seconds = 1_700_000_000
    assert roundtrip(server, "proto-orders", ser, de, orders) == orders
    # money.proto was registered as its own subject and referenced by name.
    latest = reg.get("/subjects/proto-orders-value/versions/latest").json()
    assert latest["references"] == [{"name": "money.proto", "subject": "money.proto", "version": 1}]
    assert "import \"money.proto\";" in latest["schema"]
    raw = reg.get(f"/schemas/ids/{latest['id']}", params={"format": "serialized"}).json()["schema"]
    fdp = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(raw))
    assert fdp.package == "shop" and [m.name for m in fdp.message_type] == ["Order"]
    assert list(fdp.dependency) == ["money.proto", "google/protobuf/timestamp.proto"]
    assert fdp.message_type[0].field[1].type_name == ".fin.Money"
    # Avro and JSON Schema ignore the format, as Confluent's registry does.
    avro_id = post(reg, "/subjects/fmt-value/versions", {"schema": json.dumps(USER_V1)}).json()["id"]
    plain = reg.get(f"/schemas/ids/{avro_id}").json()["schema"]
    assert json.loads(plain)["name"] == "User"
    assert reg.get(f"/schemas/ids/{avro_id}", params={"format": "serialized"}).json()["schema"] == plain


def test_broker_side_validation(server, client):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("validated", 1, config={
        "confluent.value.schema.validation": "true"})])["validated"].result(10)
    ser = AvroSerializer(client, json.dumps(USER_V1))
    good = ser({"name": "ann", "age": 1}, SerializationContext("validated", MessageField.VALUE))
    errors = []
    p = Producer({"bootstrap.servers": server.bootstrap, "retries": 0})
    # One at a time: a batch with one bad record is refused whole, as Kafka does.
    p.produce("validated", value=good, on_delivery=lambda e, m: errors.append(e))
    p.flush(10)
    p.produce("validated", value=b'{"name": "raw json"}', on_delivery=lambda e, m: errors.append(e))
    p.flush(10)
    assert errors[0] is None
    assert errors[1] is not None and errors[1].name() == "INVALID_RECORD"
    from kafka import KafkaProducer
    from kafka.errors import InvalidRecordError

    kp = KafkaProducer(bootstrap_servers=server.bootstrap, retries=0)
    assert kp.send("validated", value=good).get(10).offset >= 0
    with pytest.raises(InvalidRecordError):
        kp.send("validated", value=b'{"raw": 1}').get(10)
    kp.close()
    # Another schema id than the subject's: refused too.
    wrong = b"\x00\x00\x00\x7f\xff" + good[5:]
    p2 = Producer({"bootstrap.servers": server.bootstrap, "retries": 0})
    wrong_errors = []
    p2.produce("validated", value=wrong, on_delivery=lambda e, m: wrong_errors.append(e))
    assert p2.flush(10) == 0
    assert wrong_errors[0] is not None and wrong_errors[0].name() == "INVALID_RECORD"


def test_ids_survive_a_restart_and_agree_across_agents(server_factory, tmp_path, pg_url):
    a = server_factory(tmp_path / "a", extra=["--catalogue", pg_url, "--objects", f"file://{tmp_path / 'objs'}",
                                              "--agent-id", "a"]).start()
    ca = SchemaRegistryClient({"url": f"http://127.0.0.1:{a.registry_port}"})
    first = ca.register_schema("s-value", Schema(json.dumps(USER_V1), "AVRO"))
    second = ca.register_schema("s-value", Schema(json.dumps(USER_V2), "AVRO"))
    b = server_factory(tmp_path / "b", extra=["--catalogue", pg_url, "--objects", f"file://{tmp_path / 'objs'}",
                                              "--agent-id", "b"]).start()
    cb = SchemaRegistryClient({"url": f"http://127.0.0.1:{b.registry_port}"})
    assert cb.get_latest_version("s-value").schema_id == second
    third = cb.register_schema("t-value", Schema('"string"', "AVRO"))
    assert len({first, second, third}) == 3
    assert ca.get_schema(third).schema_str == '"string"'
    # Both agents at once: the same new schema gets one id; distinct schemas of one
    # subject get distinct, gap-free versions (no 500 from a lost race).
    import concurrent.futures

    urls = [f"http://127.0.0.1:{a.registry_port}", f"http://127.0.0.1:{b.registry_port}"] * 6

    def register(i, url, schema):
        body = {"schema": json.dumps(schema)}
        r = httpx.post(f"{url}/subjects/race-{i}-value/versions", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["id"]

    same = {**USER_V1, "name": "Same"}
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        ids = list(pool.map(lambda iu: register(iu[0], iu[1], same), enumerate(urls)))
        assert len(set(ids)) == 1
        httpx.put(f"{urls[0]}/config/race-one-value", json={"compatibility": "NONE"}).raise_for_status()
        distinct = [{**USER_V1, "name": f"R{i}"} for i in range(12)]
        list(pool.map(lambda iu: register("one", iu[1], distinct[iu[0]]), enumerate(urls)))
    with httpx.Client() as h:
        versions = h.get(f"{urls[0]}/subjects/race-one-value/versions").json()
    assert versions == list(range(1, 13))
    a.stop()
    a.start()
    ca2 = SchemaRegistryClient({"url": f"http://127.0.0.1:{a.registry_port}"})
    assert [v for v in ca2.get_versions("s-value")] == [1, 2]
    assert ca2.get_version("s-value", 1).schema_id == first
    b.stop()
    a.stop()


def test_rest_produce_is_validated_too(server, client, reg):
    import httpx as _httpx

    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    admin.create_topics([NewTopic("rv", 1, config={"confluent.value.schema.validation": "true"})])["rv"].result(10)
    with _httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as api:
        refused = api.post("/api/v1/produce", json={"topic": "rv", "records": [{"value": "plain"}]})
        assert refused.status_code == 422 and refused.json()["error"] == "schema_validation_failed"
        assert "magic byte" in refused.json()["message"]
        schema_id = client.register_schema("rv-value", Schema('"string"', "AVRO"))
        import base64
        import struct

        framed = b"\x00" + struct.pack(">i", schema_id) + b"\x0aplain"
        ok = api.post("/api/v1/produce", json={"topic": "rv", "records": [
            {"value": base64.b64encode(framed).decode(), "encoding": "base64"}]})
        assert ok.status_code == 200, ok.text


def test_http_reads_and_writes_registry_framed_values(server, client):
    """The console's side of the registry: values written by Confluent's serializers read
    as JSON over HTTP (decode=true), and JSON written over HTTP with a registered schema
    read back by Confluent's deserializers."""
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30,
                        headers={"X-Ack-Mode": "durable"})
    item = item_class()
    users = [{"name": "ann", "age": 30}, {"name": "bob", "age": 41}]
    roundtrip(server, "avro-u", AvroSerializer(client, json.dumps(USER_V1)), AvroDeserializer(client),
              users)
    roundtrip(server, "proto-i", ProtobufSerializer(item, client, {"use.deprecated.format": False}),
              ProtobufDeserializer(item, {"use.deprecated.format": False}), [item(name="pen", qty=3)])
    orders = order_class()
    total = orders().total.__class__
    roundtrip(server, "proto-o", ProtobufSerializer(orders, client, {"use.deprecated.format": False}),
              ProtobufDeserializer(orders, {"use.deprecated.format": False}, client),
              [orders(id="o1", total=total(cents=1250, currency="EUR"))])
    for topic, want, kind in (("avro-u", users, "AVRO"),
                              ("proto-i", [{"name": "pen", "qty": 3}], "PROTOBUF"),
                              ("proto-o", [{"id": "o1", "total": {"cents": "1250",
                                                                  "currency": "EUR"}}],
                               "PROTOBUF")):
        page = http.get(f"/api/v1/topics/{topic}/messages",
                        params={"position": "earliest", "decode": "true"}).json()
        decoded = [r["value_decoded"] for r in page["records"]]
        assert [d["value"] for d in decoded] == want, topic
        assert {d["schema_type"] for d in decoded} == {kind} and decoded[0]["error"] is None
        assert page["records"][0]["key_decoded"] is None  # no key
        plain = http.get(f"/api/v1/topics/{topic}/messages").json()
        assert plain["records"][0]["value_decoded"] is None  # only when asked

    # JSON in, Avro out: by subject (its latest) or by id; a value off the schema refused.
    made = http.post("/api/v1/produce", json={"topic": "avro-u", "records": [
        {"value": {"name": "cy", "age": 5}, "value_subject": "avro-u-value"}]})
    assert made.status_code == 200, made.text
    schema_id = client.get_latest_version("avro-u-value").schema_id
    assert http.post("/api/v1/produce", json={"topic": "avro-u", "records": [
        {"value": {"name": "di", "age": 6}, "value_schema_id": schema_id}]}).status_code == 200
    bad = http.post("/api/v1/produce", json={"topic": "avro-u", "records": [
        {"value": {"name": "ed"}, "value_subject": "avro-u-value"}]})
    assert bad.status_code == 422 and "record 0" in bad.json()["message"] and "Avro" in bad.json()["message"]
    unknown = http.post("/api/v1/produce", json={"topic": "avro-u", "records": [
        {"value": {}, "value_subject": "no-such-value"}]})
    assert unknown.status_code == 422 and "no-such-value" in unknown.json()["message"]
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "dec", "enable.auto.commit": False})
    c.assign([TopicPartition("avro-u", 0, 2)])
    got, deadline = [], time.monotonic() + 15
    de = AvroDeserializer(client)
    while len(got) < 2 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(de(m.value(), SerializationContext("avro-u", MessageField.VALUE)))
    c.close()
    assert got == [{"name": "cy", "age": 5}, {"name": "di", "age": 6}]
    # Protobuf and JSON Schema from JSON too.
    assert http.post("/api/v1/produce", json={"topic": "proto-i", "records": [
        {"value": {"name": "ink", "qty": 1}, "value_subject": "proto-i-value"}]}).status_code == 200
    page = http.get("/api/v1/topics/proto-i/messages", params={"decode": "true", "limit": 1,
                                                               "position": "latest"}).json()
    assert page["records"][0]["value_decoded"]["value"] == {"name": "ink", "qty": 1}
    # A JSON Schema whose $ref names one of its references; values off a schema are 422s.
    reg = httpx.Client(base_url=f"http://127.0.0.1:{server.registry_port}", timeout=30)
    assert reg.post("/subjects/money/versions", json={"schemaType": "JSON", "schema": json.dumps(
        {"type": "object", "properties": {"cents": {"type": "integer"}}, "required": ["cents"]})}
    ).status_code == 200
    assert reg.post("/subjects/pay-value/versions", json={
        "schemaType": "JSON", "references": [{"name": "money.json", "subject": "money", "version": 1}],
        "schema": json.dumps({"type": "object", "properties": {"amount": {"$ref": "money.json"}}})}
    ).status_code == 200
    for value, status in (({"amount": {"cents": 5}}, 200), ({"amount": {"cents": "5"}}, 422),
                          ({"amount": {}}, 422)):
        r = http.post("/api/v1/produce", json={"topic": "pay", "records": [
            {"value": value, "value_subject": "pay-value"}]})
        assert r.status_code == status, (value, r.text)
    not_object = http.post("/api/v1/produce", json={"topic": "proto-i", "records": [
        {"value": 5, "value_subject": "proto-i-value"}]})
    assert not_object.status_code == 422 and "JSON object" in not_object.json()["message"]
    # Bytes that name an unknown id, or do not match their schema: shown with the reason.
    http.post("/api/v1/produce", json={"topic": "avro-u", "records": [
        {"value": base64.b64encode(b"\x00\x00\x00\x27\x10xx").decode(), "encoding": "base64"},
        {"value": base64.b64encode(b"\x00" + schema_id.to_bytes(4, "big") + b"\xff").decode(),
         "encoding": "base64"}]})
    page = http.get("/api/v1/topics/avro-u/messages", params={"decode": "true", "limit": 2,
                                                              "position": "latest"}).json()
    errors = [r["value_decoded"]["error"] for r in page["records"]]
    assert "10000 is not registered" in errors[0] and "not readable" in errors[1]
