"""The registry's compatibility modes for JSON Schema and Protobuf, end to end through
`Registry.register` (Avro's are in test_registry_avro.py): BACKWARD checks that the new
schema reads the latest version's data, FORWARD the reverse, FULL both, the transitive
forms every earlier version, NONE nothing."""

import json

import pytest

from broker.registry.service import RegistryError


def obj(props: dict, required=(), closed=True) -> str:
    out = {"type": "object", "properties": props, "additionalProperties": not closed}
    if required:
        out["required"] = list(required)
    return json.dumps(out)


INT = {"type": "integer"}
NUM = {"type": "number"}
STR = {"type": "string"}

J1 = obj({"a": INT})
J_ADD_OPTIONAL = obj({"a": INT, "b": STR})  # closed: v1 data has no b; v1 refuses a b
J_ADD_REQUIRED = obj({"a": INT, "b": STR}, required=["b"])  # v1 data lacks b
J_WIDEN = obj({"a": NUM})  # reads v1's integers; v1 cannot read 1.5
J_NARROW = obj({"a": {"type": "integer", "minimum": 0}})  # v1 data may be negative

P1 = 'syntax = "proto3"; message M { int32 a = 1; }'
P_ADD = 'syntax = "proto3"; message M { int32 a = 1; string b = 2; }'
P_RETYPE = 'syntax = "proto3"; message M { string a = 1; }'
P_RENAME = 'syntax = "proto3"; message N { int32 a = 1; }'
P_ADD_MSG = 'syntax = "proto3"; message M { int32 a = 1; } message X { int32 x = 1; }'

# (type, v1, level, new, accepted)
MODES = [
    ("JSON", J1, "BACKWARD", J_ADD_OPTIONAL, True),
    ("JSON", J1, "BACKWARD", J_ADD_REQUIRED, False),
    ("JSON", J1, "BACKWARD", J_WIDEN, True),
    ("JSON", J1, "BACKWARD", J_NARROW, False),
    ("JSON", J1, "FORWARD", J_ADD_OPTIONAL, False),
    ("JSON", J1, "FORWARD", J_WIDEN, False),
    ("JSON", J1, "FORWARD", J_NARROW, True),
    ("JSON", J1, "FULL", J_WIDEN, False),
    ("JSON", J1, "FULL", J_NARROW, False),
    ("JSON", J1, "FULL", json.dumps({**json.loads(J1), "description": "v2"}), True),
    ("JSON", J1, "NONE", json.dumps(STR), True),
    ("PROTOBUF", P1, "BACKWARD", P_ADD, True),
    ("PROTOBUF", P1, "BACKWARD", P_RETYPE, False),
    ("PROTOBUF", P1, "BACKWARD", P_RENAME, False),
    ("PROTOBUF", P1, "FORWARD", P_ADD, True),
    ("PROTOBUF", P1, "FORWARD", P_RETYPE, False),
    ("PROTOBUF", P1, "FULL", P_ADD, True),
    ("PROTOBUF", P1, "BACKWARD", P_ADD_MSG, True),
    ("PROTOBUF", P1, "FULL", P_ADD_MSG, False),  # v1 has no message X to read it with
    ("PROTOBUF", P1, "FULL", P_RETYPE, False),
    ("PROTOBUF", P1, "NONE", P_RENAME, True),
]


@pytest.mark.parametrize(
    ("kind", "v1", "level", "new", "accepted"),
    MODES,
    ids=[f"{m[0]}-{m[2]}-{i}" for i, m in enumerate(MODES)],
)
async def test_modes_against_the_latest_version(registry, kind, v1, level, new, accepted):
    await registry.store.set_setting("s", "compatibility", level)
    first = await registry.register("s", {"schema": v1, "schemaType": kind})
    if accepted:
        assert await registry.register("s", {"schema": new, "schemaType": kind}) != first
    else:
        with pytest.raises(RegistryError) as info:
            await registry.register("s", {"schema": new, "schemaType": kind})
        assert info.value.status == 409 and level in info.value.message


CHAINS = {
    # v2 drops c; v3 brings c back with another type: v3 reads v2's data, not v1's.
    "JSON": (obj({"a": INT, "c": STR}), obj({"a": INT}), obj({"a": INT, "c": INT})),
    "PROTOBUF": (
        'syntax = "proto3"; message M { int32 a = 1; string c = 2; }',
        'syntax = "proto3"; message M { int32 a = 1; }',
        'syntax = "proto3"; message M { int32 a = 1; int64 c = 2; }',
    ),
}


@pytest.mark.parametrize("kind", ["JSON", "PROTOBUF"])
async def test_transitive_modes_check_every_earlier_version(registry, kind):
    v1, v2, v3 = CHAINS[kind]
    await registry.store.set_setting("t", "compatibility", "NONE")
    await registry.register("t", {"schema": v1, "schemaType": kind})
    await registry.register("t", {"schema": v2, "schemaType": kind})
    await registry.store.set_setting("t", "compatibility", "BACKWARD_TRANSITIVE")
    with pytest.raises(RegistryError) as info:
        await registry.register("t", {"schema": v3, "schemaType": kind})
    assert info.value.status == 409 and "version 1" in info.value.message
    assert "version 2" not in info.value.message
    await registry.store.set_setting("t", "compatibility", "BACKWARD")
    assert await registry.register("t", {"schema": v3, "schemaType": kind}) > 0
