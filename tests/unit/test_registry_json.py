"""JSON Schema type of the schema registry: parsing, canonical form and the compatibility table.

Each row of COMPATIBILITY is (reader, writer, compatible, why): whether data written with
`writer` can be read with `reader`, as Confluent's JSON Schema rules decide it (BACKWARD
checks new-as-reader against old-as-writer; FORWARD the other way round).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.registry.json_schema import JsonSchemaType
from broker.registry.types import InvalidSchema

T = JsonSchemaType()


def parse(schema: Any, references: dict[str, Any] | None = None) -> Any:
    refs = {name: json.dumps(s) for name, s in (references or {}).items()}
    return T.parse(json.dumps(schema), refs)


def obj(props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, **extra}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
N = {"type": "number"}
CLOSED = {"additionalProperties": False}

COMPATIBILITY: list[tuple[Any, Any, bool, str]] = [
    # identical, anything, nothing
    (obj({"a": S}), obj({"a": S}), True, "identical schemas"),
    (True, S, True, "reader true accepts everything"),
    ({}, obj({"a": S}), True, "reader {} accepts everything"),
    ({"title": "x", "description": "y"}, S, True, "annotations constrain nothing"),
    (S, False, True, "writer false writes nothing"),
    (False, S, False, "reader false accepts nothing"),
    (S, {}, False, "reader restricts the type, writer accepts anything"),
    # types
    (N, I, True, "integer widened to number"),
    (I, N, False, "number narrowed to integer"),
    ({"type": ["string", "null"]}, S, True, "string widened to a nullable string"),
    (S, {"type": ["string", "null"]}, False, "nullable string narrowed to string"),
    ({"type": ["string", "integer", "null"]}, {"type": ["integer", "string"]}, True, "union widened"),
    ({"type": ["string", "integer"]}, {"type": ["integer", "string", "null"]}, False, "union narrowed"),
    (S, I, False, "type changed from integer to string"),
    ({"type": "boolean"}, {"type": "null"}, False, "type changed from null to boolean"),
    (obj({}), {"type": "array"}, False, "type changed from array to object"),
    ({"properties": {"a": S}}, obj({"a": S}), True, "object type inferred from properties"),
    ({"type": "object"}, {"properties": {"a": S}}, True, "writer's object type inferred"),
    (S, {"maxLength": 3}, True, "writer's string type inferred from maxLength"),
    # properties: the writer's content model decides whether the reader may add one
    (obj({"a": S, "b": I}), obj({"a": S}), False, "reader adds a property to an open writer"),
    (obj({"a": S, "b": I}), obj({"a": S}, **CLOSED), True, "reader adds an optional property to a closed writer"),
    (obj({"a": S, "b": {}}), obj({"a": S}), True, "reader adds a property with an empty schema to an open writer"),
    (obj({"a": S, "b": I}, required=["b"]), obj({"a": S}, **CLOSED), False,
     "reader adds a required property without default"),
    (obj({"a": S, "b": {**I, "default": 0}}, required=["b"]), obj({"a": S}, **CLOSED), True,
     "reader adds a required property with a default"),
    (obj({"a": S, "b": I}), obj({"a": S}, additionalProperties=I), True,
     "reader adds a property the writer's additionalProperties schema covers"),
    (obj({"a": S, "b": I}), obj({"a": S}, additionalProperties=S), False,
     "reader adds a property the writer's additionalProperties schema contradicts"),
    (obj({"a": S, "x1": I}), obj({"a": S}, patternProperties={"^x": I}, **CLOSED), True,
     "reader adds a property the writer's patternProperties cover"),
    # properties: the reader's content model decides whether it may drop one
    (obj({"a": S}), obj({"a": S, "b": I}), True, "reader removes a property, reader open"),
    (obj({"a": S}, **CLOSED), obj({"a": S, "b": I}), False, "reader removes a property, reader closed"),
    (obj({"a": S}, **CLOSED), obj({"a": S, "b": False}, **CLOSED), True, "removed property was false in the writer"),
    (obj({"a": S}, additionalProperties=N), obj({"a": S, "b": I}, additionalProperties=I), True,
     "removed property covered by the reader's additionalProperties schema"),
    (obj({"a": S}, additionalProperties=S), obj({"a": S, "b": I}, additionalProperties=S), False,
     "removed property not covered by the reader's additionalProperties schema"),
    (obj({"a": S}, patternProperties={"^b": I}, **CLOSED), obj({"a": S, "b": I}, **CLOSED), True,
     "removed property covered by the reader's patternProperties"),
    (obj({"a": S}, patternProperties={"^b": S}, **CLOSED), obj({"a": S, "b": I}, **CLOSED), False,
     "removed property not covered by the reader's patternProperties"),
    # required
    (obj({"a": S}, required=["a"]), obj({"a": S}), False, "reader requires a property the writer may omit"),
    (obj({"a": {**S, "default": ""}}, required=["a"]), obj({"a": S}), True, "newly required property has a default"),
    (obj({"a": S}), obj({"a": S}, required=["a"]), True, "reader no longer requires a property"),
    (obj({"a": S}, required=["a"]), obj({"a": S}, required=["a"]), True, "same required list"),
    # additionalProperties
    (obj({"a": S}, **CLOSED), obj({"a": S}), False, "reader closes the content model"),
    (obj({"a": S}), obj({"a": S}, **CLOSED), True, "reader opens the content model"),
    (obj({"a": S}, additionalProperties=S), obj({"a": S}), False, "reader narrows additionalProperties to a schema"),
    (obj({"a": S}), obj({"a": S}, additionalProperties=S), True, "reader extends additionalProperties to anything"),
    (obj({"a": S}, additionalProperties=N), obj({"a": S}, additionalProperties=I), True,
     "additionalProperties schema widened"),
    (obj({"a": S}, additionalProperties=I), obj({"a": S}, additionalProperties=N), False,
     "additionalProperties schema narrowed"),
    (obj({"a": S}, additionalProperties=S), obj({"a": S}, **CLOSED), True, "closed writer, reader with a schema"),
    (obj({}, minProperties=2), obj({}), False, "reader adds minProperties"),
    (obj({}, maxProperties=5), obj({}, maxProperties=3), True, "maxProperties increased"),
    (obj({}, dependentRequired={"a": ["b"]}), obj({}), False, "reader adds a dependency"),
    (obj({}), obj({}, dependentRequired={"a": ["b"]}), True, "reader removes a dependency"),
    # nested objects
    (obj({"addr": obj({"zip": S})}), obj({"addr": obj({"zip": I})}), False, "nested property type changed"),
    (obj({"addr": obj({"zip": N})}), obj({"addr": obj({"zip": I})}), True, "nested property widened"),
    (obj({"addr": obj({"zip": S}, **CLOSED)}), obj({"addr": obj({"zip": S, "city": S})}), False,
     "nested closed object drops a property"),
    # arrays
    ({"type": "array", "items": {"type": ["string", "null"]}}, {"type": "array", "items": S}, True, "items widened"),
    ({"type": "array", "items": I}, {"type": "array", "items": S}, False, "items type changed"),
    ({"type": "array", "items": S}, {"type": "array"}, False, "reader constrains items the writer left open"),
    ({"type": "array"}, {"type": "array", "items": S}, True, "reader drops the items constraint"),
    ({"type": "array", "items": obj({"a": S}, required=["a"])}, {"type": "array", "items": obj({"a": S})}, False,
     "items object now requires a property"),
    ({"type": "array", "items": [S, I]}, {"type": "array", "items": [S], "additionalItems": False}, True,
     "tuple item added to a closed writer tuple"),
    ({"type": "array", "items": [S, I]}, {"type": "array", "items": [S]}, False, "tuple item added to an open writer tuple"),
    ({"type": "array", "items": [S], "additionalItems": False}, {"type": "array", "items": [S, I]}, False,
     "tuple item removed from a closed reader tuple"),
    ({"type": "array", "items": [S]}, {"type": "array", "items": [S, I]}, True, "tuple item removed, reader open"),
    ({"type": "array", "items": [S, N]}, {"type": "array", "items": [S, I]}, True, "tuple item widened"),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "prefixItems": [S, N]},
     {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array", "prefixItems": [S, I],
      "items": False}, True, "2020-12 prefixItems widened"),
    ({"type": "array", "minItems": 2}, {"type": "array", "minItems": 1}, False, "minItems increased"),
    ({"type": "array", "minItems": 1}, {"type": "array", "minItems": 2}, True, "minItems decreased"),
    ({"type": "array", "maxItems": 2}, {"type": "array"}, False, "maxItems added"),
    ({"type": "array"}, {"type": "array", "maxItems": 2}, True, "maxItems removed"),
    ({"type": "array", "uniqueItems": True}, {"type": "array"}, False, "uniqueItems added"),
    ({"type": "array"}, {"type": "array", "uniqueItems": True}, True, "uniqueItems removed"),
    # enums and const
    ({"enum": ["a", "b", "c"]}, {"enum": ["a", "b"]}, True, "enum extended"),
    ({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, False, "enum narrowed"),
    ({"enum": ["a", "x"]}, {"enum": ["a", "b"]}, False, "enum changed"),
    ({"enum": ["a", "b"]}, S, False, "reader restricts a free string to an enum"),
    (S, {"type": "string", "enum": ["a", "b"]}, True, "reader drops the enum"),
    (I, {"enum": ["a"]}, False, "reader's type does not accept the writer's enum value"),
    ({"type": ["string", "integer"]}, {"enum": ["a", 1]}, True, "each enum value matches a branch of the reader"),
    ({"enum": [1, "a"]}, {"const": 1.0}, True, "1.0 is the enum value 1"),
    ({"enum": [1]}, {"const": True}, False, "true is not 1"),
    ({"const": "x"}, {"const": "y"}, False, "const changed"),
    # strings
    ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5}, True, "maxLength increased"),
    ({"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 10}, False, "maxLength decreased"),
    ({"type": "string", "maxLength": 5}, S, False, "maxLength added"),
    (S, {"type": "string", "maxLength": 5}, True, "maxLength removed"),
    ({"type": "string", "minLength": 3}, {"type": "string", "minLength": 1}, False, "minLength increased"),
    ({"type": "string", "minLength": 1}, {"type": "string", "minLength": 3}, True, "minLength decreased"),
    ({"type": "string", "pattern": "^a"}, S, False, "pattern added"),
    (S, {"type": "string", "pattern": "^a"}, True, "pattern removed"),
    ({"type": "string", "pattern": "^b"}, {"type": "string", "pattern": "^a"}, False, "pattern changed"),
    # numbers
    ({"type": "number", "maximum": 10}, {"type": "number", "maximum": 5}, True, "maximum increased"),
    ({"type": "number", "maximum": 5}, {"type": "number", "maximum": 10}, False, "maximum decreased"),
    ({"type": "integer", "minimum": 0}, I, False, "minimum added"),
    (I, {"type": "integer", "minimum": 0}, True, "minimum removed"),
    ({"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 0}, False, "minimum increased"),
    ({"type": "number", "exclusiveMaximum": 10}, {"type": "number", "maximum": 10}, False,
     "inclusive maximum made exclusive"),
    ({"type": "number", "maximum": 10}, {"type": "number", "exclusiveMaximum": 10}, True,
     "exclusive maximum made inclusive"),
    ({"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 4}, True, "multipleOf reduced"),
    ({"type": "integer", "multipleOf": 4}, {"type": "integer", "multipleOf": 2}, False, "multipleOf expanded"),
    ({"type": "number", "maximum": 10}, {"type": "integer", "maximum": 8}, True, "integer to bounded number"),
    # combinations
    ({"anyOf": [S, I]}, S, True, "writer's type is one of the reader's branches"),
    ({"anyOf": [S]}, {"anyOf": [S, I]}, False, "anyOf branch removed"),
    ({"anyOf": [S, I, N]}, {"anyOf": [S, I]}, True, "anyOf branch added"),
    ({"oneOf": [S, N]}, {"anyOf": [S, N]}, False, "anyOf changed to oneOf"),
    ({"anyOf": [S, N]}, {"oneOf": [S, N]}, True, "oneOf changed to anyOf"),
    ({"oneOf": [obj({"a": S}, required=["a"]), obj({"b": I}, required=["b"])]},
     {"oneOf": [obj({"a": S}, required=["a"]), obj({"b": I}, required=["b"])]}, True, "same oneOf"),
    ({"allOf": [obj({"a": S})]}, {"allOf": [obj({"a": S}), obj({"b": I}, required=["b"])]}, True,
     "allOf part removed (product narrowed)"),
    ({"allOf": [obj({"a": S}), obj({"b": I}, required=["b"])]}, {"allOf": [obj({"a": S})]}, False,
     "allOf part added (product extended)"),
    ({"type": "object", "required": ["a"]}, {"allOf": [{"type": "object"}, {"required": ["a"]}]}, True,
     "allOf parts together satisfy the reader"),
    ({"not": S}, {"not": {"type": ["string", "null"]}}, True, "the reader refuses less"),
    ({"not": {"type": ["string", "null"]}}, {"not": S}, False, "the reader refuses more"),
    ({"not": S}, I, False, "reader adds a not"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("reader", "writer", "compatible", "why"), COMPATIBILITY, ids=[row[3] for row in COMPATIBILITY]
)
def test_compatibility(reader: Any, writer: Any, compatible: bool, why: str) -> None:
    problems = parse(reader).incompatibilities(parse(writer))
    if compatible:
        assert problems == [], why
    else:
        assert problems, why
        assert all(p.startswith("#") for p in problems), problems  # each names a JSON path


def test_messages_name_the_path_and_the_change() -> None:
    reader = obj({"addr": obj({"zip": S}), "age": I})
    writer = obj({"addr": obj({"zip": I}), "age": N})
    problems = parse(reader).incompatibilities(parse(writer))
    assert "#/properties/addr/properties/zip/type: type changed from integer to string" in problems
    assert "#/properties/age/type: type narrowed from number to integer" in problems

    (problem,) = parse(obj({"a": S, "b": I})).incompatibilities(parse(obj({"a": S})))
    assert problem.startswith("#/properties/b: property added") and "open" in problem

    (problem,) = parse(obj({"a": S}, required=["a"])).incompatibilities(parse(obj({"a": S})))
    assert problem.startswith("#/required/a:") and "default" in problem

    (problem,) = parse({"enum": ["a"]}).incompatibilities(parse({"enum": ["a", "b"]}))
    assert problem.startswith("#/enum:") and '"b"' in problem


def test_backward_and_forward_are_the_two_directions() -> None:
    old = parse(obj({"a": S}, **CLOSED))
    new = parse(obj({"a": S, "b": I}, **CLOSED))
    # BACKWARD (new reads old): an optional property added to a closed model is fine...
    assert new.incompatibilities(old) == []
    # ...FORWARD (old reads new) is not: the old closed reader refuses "b"
    assert old.incompatibilities(new)


# --------------------------------------------------------------------------- references


def test_local_refs_are_followed() -> None:
    def schema(zip_type: Any) -> Any:
        return {"definitions": {"zip": zip_type}, **obj({"z": {"$ref": "#/definitions/zip"}})}

    assert parse(schema(N)).incompatibilities(parse(schema(I))) == []
    assert parse(schema(I)).incompatibilities(parse(schema(N))) == [
        "#/properties/z/type: type narrowed from number to integer"
    ]


def test_recursive_schemas_terminate() -> None:
    def tree(value: Any) -> Any:
        return obj({"value": value, "children": {"type": "array", "items": {"$ref": "#"}}})

    assert parse(tree(N)).incompatibilities(parse(tree(I))) == []
    assert parse(tree(I)).incompatibilities(parse(tree(S))) == [
        "#/properties/value/type: type changed from string to integer"
    ]


def test_refs_to_other_schemas_by_reference_name() -> None:
    schema = obj({"customer": {"$ref": "customer.json"}})
    old = parse(schema, {"customer.json": obj({"id": I})})
    new = parse(schema, {"customer.json": obj({"id": N})})
    assert new.incompatibilities(old) == []
    assert old.incompatibilities(new) == [
        "#/properties/customer/properties/id/type: type narrowed from number to integer"
    ]


def test_ref_relative_to_an_id_finds_the_reference() -> None:
    schema = {
        "$id": "https://example.com/schemas/order.json",
        **obj({"c": {"$ref": "customer.json"}}),
    }
    parsed = parse(schema, {"customer.json": S})
    assert parsed.incompatibilities(parsed) == []


def test_ref_with_sibling_constraints_applies_both() -> None:
    writer = parse({"definitions": {"s": S}, "$ref": "#/definitions/s", "maxLength": 3})
    assert parse({"type": "string", "maxLength": 5}).incompatibilities(writer) == []
    assert parse({"type": "string", "maxLength": 2}).incompatibilities(writer)


# --------------------------------------------------------------------------- invalid schemas


@pytest.mark.parametrize(
    ("text", "references", "expected"),
    [
        ('{"type": "string",}', {}, "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 19"),
        ('{\n  "type":\n}', {}, "line 3 column 1"),
        ("[1, 2]", {}, "must be a JSON object or a boolean, not array"),
        ('"string"', {}, "must be a JSON object or a boolean, not string"),
        ('{"type": "strin"}', {}, "at $.type: 'strin' is not valid"),
        ('{"type": "strin"}', {}, "'strin' is not one of ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']"),
        ('{"properties": {"a": {"type": 5}}}', {}, "at $.properties.a.type"),
        ('{"type": "string", "minLength": -1}', {}, "at $.minLength"),
        ('{"required": "a"}', {}, "at $.required"),
        ('{"$schema": "https://example.com/my-dialect"}', {}, "unknown $schema 'https://example.com/my-dialect'"),
        ('{"$ref": "other.json"}', {}, "$ref 'other.json' cannot be resolved"),
        ('{"properties": {"a": {"$ref": "#/definitions/nope"}}}', {}, "at #/properties/a: $ref '#/definitions/nope'"),
        ('{"$ref": "other.json"}', {"other.json": "{oops"}, "reference 'other.json' is not valid JSON"),
    ],
)  # fmt: skip
def test_invalid_schemas(text: str, references: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidSchema) as info:
        T.parse(text, references)
    assert expected in str(info.value)


def test_boolean_schemas_are_valid() -> None:
    assert T.parse("true", {}).canonical == "true"
    assert T.parse("false", {}).canonical == "false"


# --------------------------------------------------------------------------- canonical form


def test_canonical_ignores_whitespace_and_key_order() -> None:
    a = T.parse(
        '{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}', {}
    )
    b = T.parse(
        '{\n  "properties": {\n    "a": {"type":"integer"},\n    "b": {"type":"string"}\n  },\n  "type": "object"\n}',
        {},
    )
    assert a.canonical == b.canonical
    assert (
        a.canonical
        == '{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}'
    )
    assert T.parse(a.canonical, {}).canonical == a.canonical


def test_canonical_distinguishes_different_schemas() -> None:
    assert (
        T.parse('{"type": "string"}', {}).canonical != T.parse('{"type": "integer"}', {}).canonical
    )
    # array order is meaningful (enum, required, items tuples): kept as written
    assert (
        T.parse('{"enum": ["a", "b"]}', {}).canonical
        != T.parse('{"enum": ["b", "a"]}', {}).canonical
    )
