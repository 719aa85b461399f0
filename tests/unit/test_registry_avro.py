"""Avro compatibility as the specification's schema resolution rules define it, and the
registry's modes (BACKWARD, FORWARD, FULL and their transitive forms) on top."""

import json

import pytest

from broker.registry.avro_schema import AvroType
from broker.registry.service import RegistryError
from broker.registry.types import InvalidSchema

AVRO = AvroType()


def rec(*fields, name="R"):
    return json.dumps({"type": "record", "name": name, "fields": list(fields)})


def f(name, type_, **kw):
    return {"name": name, "type": type_, **kw}


# (reader, writer, compatible, rule)
CASES = [
    ('"int"', '"int"', True, "same primitive"),
    ('"long"', '"int"', True, "int promotes to long"),
    ('"float"', '"int"', True, "int promotes to float"),
    ('"double"', '"long"', True, "long promotes to double"),
    ('"double"', '"float"', True, "float promotes to double"),
    ('"string"', '"bytes"', True, "bytes promote to string"),
    ('"bytes"', '"string"', True, "string promotes to bytes"),
    ('"int"', '"long"', False, "no narrowing long to int"),
    ('"float"', '"double"', False, "no narrowing double to float"),
    ('"string"', '"int"', False, "unrelated primitives"),
    (rec(f("a", "int")), rec(f("a", "int"), f("b", "string")), True, "writer field unknown to the reader is skipped"),
    (rec(f("a", "int"), f("b", "string", default="x")), rec(f("a", "int")), True, "new reader field with a default"),
    (rec(f("a", "int"), f("b", "string")), rec(f("a", "int")), False, "new reader field without a default"),
    (rec(f("a", "long")), rec(f("a", "int")), True, "field type promoted"),
    (rec(f("a", "int")), rec(f("a", "long")), False, "field type narrowed"),
    (rec(f("a", "int"), name="S"), rec(f("a", "int"), name="R"), False, "record names must match"),
    (json.dumps({"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}),
     json.dumps({"type": "enum", "name": "E", "symbols": ["A", "B"]}), True, "reader enum has every writer symbol"),
    (json.dumps({"type": "enum", "name": "E", "symbols": ["A"]}),
     json.dumps({"type": "enum", "name": "E", "symbols": ["A", "B"]}), False, "writer symbol unknown to the reader"),
    (json.dumps({"type": "enum", "name": "E", "symbols": ["A"], "default": "A"}),
     json.dumps({"type": "enum", "name": "E", "symbols": ["A", "B"]}), True, "reader enum default covers unknown symbols"),
    ('["null", "string"]', '"string"', True, "writer type among the reader's union"),
    ('"string"', '["null", "string"]', False, "a writer union branch the reader cannot read"),
    ('["null", "string", "int"]', '["null", "string"]', True, "reader union wider"),
    (json.dumps({"type": "array", "items": "long"}), json.dumps({"type": "array", "items": "int"}), True, "array items promote"),
    (json.dumps({"type": "map", "values": "int"}), json.dumps({"type": "map", "values": "string"}), False, "map values unrelated"),
    (json.dumps({"type": "fixed", "name": "F", "size": 4}), json.dumps({"type": "fixed", "name": "F", "size": 8}), False, "fixed sizes differ"),
]


@pytest.mark.parametrize(("reader", "writer", "compatible", "rule"), CASES, ids=[c[3] for c in CASES])
def test_schema_resolution(reader, writer, compatible, rule):
    problems = AVRO.parse(reader, {}).incompatibilities(AVRO.parse(writer, {}))
    assert (not problems) is compatible, problems


def test_messages_name_the_field():
    problems = AVRO.parse(rec(f("a", "int"), f("b", "string")), {}).incompatibilities(
        AVRO.parse(rec(f("a", "int")), {}))
    assert "b" in problems[0] and "default" in problems[0]


@pytest.mark.parametrize("bad", ['{"type": "strin"}', '{"type": "record", "name": "R"}', "{nope",
                                 '{"type": "enum", "name": "E", "symbols": ["A", "A"]}',
                                 rec(f("a", "Missing"))])
def test_invalid_schemas(bad):
    with pytest.raises(InvalidSchema):
        AVRO.parse(bad, {})


def test_canonical_form_ignores_formatting():
    a = AVRO.parse(rec(f("a", "int")), {})
    b = AVRO.parse(json.dumps(json.loads(rec(f("a", "int"))), indent=4), {})
    assert a.canonical == b.canonical


V1 = rec(f("a", "int"))
V2_ADD_OPTIONAL = rec(f("a", "int"), f("b", "string", default=""))  # BACKWARD and FORWARD
V3_DROP_A = rec(f("b", "string", default=""))  # reads V2; V1 lacks b but b has a default


async def register(registry, subject, schema):
    return await registry.register(subject, {"schema": schema})


@pytest.mark.parametrize(("level", "new", "ok"), [
    ("BACKWARD", rec(f("a", "int"), f("c", "string")), False),  # new field without default
    ("BACKWARD", rec(f("a", "long")), True),  # promotion: new reads old
    ("FORWARD", rec(f("a", "long")), False),  # old (int) cannot read new (long)
    ("FORWARD", rec(f("a", "int"), f("c", "string")), True),  # old ignores the added field
    ("FULL", rec(f("a", "int"), f("c", "string", default="")), True),
    ("FULL", rec(f("a", "long")), False),
    ("NONE", '"string"', True),
])
async def test_modes_against_the_latest_version(registry, level, new, ok):
    await registry.store.set_setting("", "compatibility", level)
    await register(registry, "s", V1)
    if ok:
        assert await register(registry, "s", new) > 0
    else:
        with pytest.raises(RegistryError) as info:
            await register(registry, "s", new)
        assert info.value.status == 409 and level in info.value.message


async def test_transitive_checks_every_earlier_version(registry):
    # v1 {a}; v2 {a, b="x"}; v3 {a, b} drops b's default: v3 reads v2's data (it has b)
    # but not v1's (no b, and no default any more).
    v1 = rec(f("a", "int"))
    v2 = rec(f("a", "int"), f("b", "string", default="x"))
    v3 = rec(f("a", "int"), f("b", "string"))
    await registry.store.set_setting("t", "compatibility", "BACKWARD_TRANSITIVE")
    await register(registry, "t", v1)
    await register(registry, "t", v2)
    with pytest.raises(RegistryError) as info:
        await register(registry, "t", v3)
    assert "version 1" in info.value.message and "version 2" not in info.value.message
    await registry.store.set_setting("t", "compatibility", "BACKWARD")
    assert await register(registry, "t", v3) > 0  # the latest version alone allows it
    # FORWARD_TRANSITIVE: every earlier version must read the new schema's data.
    await registry.store.set_setting("u", "compatibility", "FORWARD_TRANSITIVE")
    await register(registry, "u", rec(f("a", "int"), f("b", "int", default=0)))
    await register(registry, "u", rec(f("a", "int")))
    with pytest.raises(RegistryError):
        await register(registry, "u", rec(f("a", "long")))  # version 1 cannot read a long a
    assert await register(registry, "u", rec(f("a", "int"), f("c", "string"))) > 0


async def test_same_schema_same_id_across_subjects(registry):
    first = await register(registry, "a", V1)
    assert await register(registry, "b", json.dumps(json.loads(V1), indent=2)) == first
    assert await register(registry, "a", V1) == first
    assert [v.version for v in await registry.store.versions("a")] == [1]


async def test_import_mode_keeps_ids_and_versions(registry):
    with pytest.raises(RegistryError) as refused:
        await registry.register("imp", {"schema": V1, "id": 100, "version": 3})
    assert refused.value.error_code == 42205  # not in IMPORT mode
    await registry.store.set_setting("imp", "mode", "IMPORT")
    assert await registry.register("imp", {"schema": V1, "id": 100, "version": 3}) == 100
    assert [(v.version, v.schema_id) for v in await registry.store.versions("imp")] == [(3, 100)]
    with pytest.raises(RegistryError) as clash:
        await registry.register("imp", {"schema": '"string"', "id": 100, "version": 4})
    assert clash.value.error_code == 42205
    await registry.store.delete_setting("imp", "mode")
    # Ids allocated later stay above the imported ones.
    assert await register(registry, "other", '"string"') > 100
