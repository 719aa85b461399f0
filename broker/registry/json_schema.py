"""JSON Schema as a registry schema type ("JSON"), with Confluent's compatibility rules.

Parsing checks the text against its dialect's metaschema (draft-07 when there is no
`$schema`, as Confluent assumes) and that every `$ref` resolves, either inside the
schema or to one of the referenced schemas (a reference's name is the URI used in
`$ref`, e.g. `{"$ref": "other.json"}`).

Compatibility (`reader.incompatibilities(writer)`) follows the rules of Confluent's
`io.confluent.kafka.schemaregistry.json.diff`, where the writer is the "original" and
the reader the "update": the reader must accept every document the writer accepts.
In short:

* types: the same type, or the reader widens integer to number or to a union
  (`["string", "null"]`); a reader that narrows or changes the type is incompatible;
* objects: a property the reader adds is compatible only if the writer's content
  model is closed (`additionalProperties: false`), or covered by the writer's
  `patternProperties`/`additionalProperties` schema, or the new property's schema is
  empty; a property the reader removes is compatible only if the reader's content
  model is open (or covers it); a property the reader newly requires needs a
  `default`; closing or narrowing `additionalProperties` is incompatible;
* arrays: `items` compared recursively (tuples position by position, with the same
  open/closed rules as properties), `minItems`/`maxItems` and `uniqueItems`;
* enums: the reader's enum must contain every value of the writer's;
* bounds (`minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, the exclusive
  forms, `multipleOf`, `minProperties`, `maxProperties`): the reader may relax a
  bound or drop it, not add or tighten one;
* `allOf`/`anyOf`/`oneOf`/`not` and `$ref` (also recursive schemas) are followed.

Annotations (title, description, default, examples...) never matter.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeGuard

import referencing.jsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing import Registry, Resource, Specification
from referencing.exceptions import NoSuchResource, Unresolvable

from broker.registry.types import InvalidSchema, ParsedSchema

if TYPE_CHECKING:
    from referencing._core import Resolver

__all__ = ["JsonSchemaType", "JsonSchema"]

_DEFAULT_DIALECT = "http://json-schema.org/draft-07/schema#"

# Keywords that constrain nothing: a schema made only of these accepts every document.
_ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor",
        "$vocabulary", "$comment", "$defs", "definitions", "title", "description",
        "default", "examples", "readOnly", "writeOnly", "deprecated", "format",
        "contentEncoding", "contentMediaType", "contentSchema",
    }
)  # fmt: skip
_COMBINATORS = ("allOf", "anyOf", "oneOf", "not")
_OBJECT_KEYWORDS = frozenset(
    {
        "properties", "required", "additionalProperties", "patternProperties",
        "minProperties", "maxProperties", "dependencies", "dependentRequired",
        "dependentSchemas", "propertyNames", "unevaluatedProperties",
    }
)  # fmt: skip
_ARRAY_KEYWORDS = frozenset(
    {
        "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems",
        "contains", "minContains", "maxContains", "unevaluatedItems",
    }
)  # fmt: skip
_STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
# Keywords whose values are data, not subschemas: never searched for `$ref`.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidSchema(
            f"{what} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise InvalidSchema(f"{what} is nested too deeply") from None


def _specification(schema: Any, what: str) -> Specification[Any]:
    dialect = schema.get("$schema", _DEFAULT_DIALECT) if isinstance(schema, dict) else None
    if dialect is None:
        return referencing.jsonschema.DRAFT7
    if not isinstance(dialect, str):
        raise InvalidSchema(f"{what}: $schema must be a string")
    try:
        return referencing.jsonschema.specification_with(dialect)
    except referencing.jsonschema.UnknownDialect:
        raise InvalidSchema(f"{what}: unknown $schema {dialect!r}") from None


def _check_against_metaschema(schema: Any, what: str) -> None:
    if not isinstance(schema, dict | bool):
        raise InvalidSchema(f"{what} must be a JSON object or a boolean, not {_json_type(schema)}")
    _specification(schema, what)  # unknown dialects are refused before validator_for warns
    cls = validator_for(schema, default=Draft7Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as e:
        # e.g. for {"type": "strin"}, anyOf's branch errors say which types exist
        hints = [c.message for c in e.context if c.validator == "enum"]
        detail = f" ({hints[0]})" if hints else ""
        raise InvalidSchema(
            f"{what} is not a valid JSON Schema: at {e.json_path}: {e.message}{detail}"
        ) from None


class JsonSchemaType:
    name = "JSON"

    def parse(self, text: str, references: dict[str, str]) -> JsonSchema:
        schema, _registry, resolver, spec = _build(text, references)
        return JsonSchema(schema, resolver, spec)


def validator(text: str, references: dict[str, str]) -> Any:
    """A jsonschema validator of a stored schema, its `$ref`s to references resolved (values
    checked before they are written: broker/serde.py)."""
    schema, registry, _resolver, _spec = _build(text, references)
    return validator_for(schema, default=Draft7Validator)(schema, registry=registry)


def _build(text: str, references: dict[str, str]
           ) -> tuple[Any, Registry[Any], Resolver[Any], Specification[Any]]:
    schema = _loads(text, "schema")
    _check_against_metaschema(schema, "schema")

    resources: list[tuple[str, Resource[Any]]] = []
    for ref_name, ref_text in references.items():
        what = f"reference {ref_name!r}"
        contents = _loads(ref_text, what)
        if not isinstance(contents, dict | bool):
            raise InvalidSchema(f"{what} must be a JSON object or a boolean")
        resource = Resource.from_contents(
            contents, default_specification=_specification(contents, what)
        )
        resources.append((ref_name, resource))
        if resource.id():
            resources.append((str(resource.id()), resource))
    by_name = dict(resources)

    def retrieve(uri: str) -> Resource[Any]:
        # A `$ref` to "other.json" under a root with an `$id` becomes an absolute
        # URI ending in "/other.json": match it to the reference of that name.
        for ref_name, resource in by_name.items():
            if uri.endswith("/" + ref_name.lstrip("/")):
                return resource
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    registry = registry.with_resources(resources)
    spec = _specification(schema, "schema")
    root = Resource.from_contents(schema, default_specification=spec)
    resolver = registry.resolver_with_root(root)
    _check_refs(schema, resolver, spec, "#")
    return schema, registry, resolver, spec


def _enter(node: Any, resolver: Resolver[Any], spec: Specification[Any]) -> Resolver[Any]:
    """The resolver to use inside `node`: a node with an `$id` changes the base URI."""
    if isinstance(node, dict) and isinstance(node.get("$id"), str):
        return resolver.in_subresource(spec.create_resource(node))
    return resolver


def _check_refs(node: Any, resolver: Resolver[Any], spec: Specification[Any], path: str) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_refs(item, resolver, spec, f"{path}/{i}")
        return
    if not isinstance(node, dict):
        return
    resolver = _enter(node, resolver, spec)
    ref = node.get("$ref")
    if isinstance(ref, str):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise InvalidSchema(
                f"at {path}: $ref {ref!r} cannot be resolved: it is neither inside the "
                "schema nor the name of one of its references"
            ) from None
    for key, value in node.items():
        if key not in _DATA_KEYWORDS:
            _check_refs(value, resolver, spec, f"{path}/{_escape(key)}")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class JsonSchema:
    schema: Any
    resolver: Resolver[Any]
    spec: Specification[Any]

    @property
    def canonical(self) -> str:
        return json.dumps(self.schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def incompatibilities(self, writer: ParsedSchema) -> list[str]:
        if not isinstance(writer, JsonSchema):
            return [f"cannot compare a JSON schema with a {type(writer).__name__}"]
        return _Diff(writer.spec, self.spec).compare(
            _S(writer.schema, writer.resolver), _S(self.schema, self.resolver), "#"
        )


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class _S:
    """A subschema and the resolver its `$ref`s are resolved with."""

    node: Any
    resolver: Resolver[Any]

    def sub(self, node: Any) -> _S:
        return _S(node, self.resolver)


def _is_any(node: Any) -> bool:
    """True for a schema that accepts every document (`true`, `{}`, annotations only)."""
    return node is True or (isinstance(node, dict) and all(k in _ANNOTATIONS for k in node))


def _is_false(node: Any) -> bool:
    return node is False or (
        isinstance(node, dict) and node.get("not") in ({}, True) and len(node) == 1
    )


def _constraints(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in _ANNOTATIONS}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _value_key(value: Any) -> str:
    """Equality of JSON values as JSON Schema sees it (1 == 1.0, but true != 1)."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    return json.dumps(norm(value), sort_keys=True)


def _values(node: dict[str, Any]) -> list[Any] | None:
    """The values an `enum`/`const` restricts the schema to, or None."""
    if "const" in node:
        return [node["const"]]
    enum = node.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _show(values: list[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _type_of(node: dict[str, Any]) -> str | None:
    """The single JSON type `node` is about: its `type`, or inferred from its keywords."""
    declared = node.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list) and len(declared) == 1:
        return str(declared[0])
    kinds = [
        kind
        for kind, words in (
            ("object", _OBJECT_KEYWORDS),
            ("array", _ARRAY_KEYWORDS),
            ("string", _STRING_KEYWORDS),
            ("number", _NUMBER_KEYWORDS),
        )
        if words & node.keys()
    ]
    return kinds[0] if len(kinds) == 1 else None


@dataclass(slots=True)
class _Split:
    """A schema seen as a combination: "all" (every part), "any" (some part), "not", or "leaf"."""

    kind: str
    parts: list[Any]
    criterion: str = ""


def _split(node: dict[str, Any]) -> _Split:
    present = [k for k in _COMBINATORS if k in node]
    rest = {k: v for k, v in _constraints(node).items() if k not in _COMBINATORS}
    if len(present) > 1 or (present and rest):
        parts: list[Any] = [rest] if rest else []
        for k in present:
            if k == "allOf":
                parts.extend(node["allOf"])
            else:
                parts.append({k: node[k]})
        return _Split("all", parts)
    if present:
        k = present[0]
        if k == "allOf":
            return _Split("all", list(node[k]))
        if k == "not":
            return _Split("not", [node[k]])
        return _Split("any", list(node[k]), k)
    types = node.get("type")
    if isinstance(types, list) and len(types) > 1:
        return _Split("any", [{**rest, "type": t} for t in types], "type")
    return _Split("leaf", [node])


def _merge(parts: list[Any]) -> dict[str, Any] | None:
    """Parts of an allOf as one schema, when they do not constrain the same keywords."""
    merged: dict[str, Any] = {}
    for part in parts:
        if part is True:
            continue
        if not isinstance(part, dict) or "$ref" in part or any(k in part for k in _COMBINATORS):
            return None  # also a _Bound: a $ref target keeps its own resolver
        for k, v in _constraints(part).items():
            if k in merged and merged[k] != v:
                return None
            merged[k] = v
    return merged


def _upper(node: dict[str, Any]) -> tuple[float, bool] | None:
    """The tightest upper bound as (value, exclusive)."""
    bounds: list[tuple[float, bool]] = []
    maximum, exclusive = node.get("maximum"), node.get("exclusiveMaximum")
    if _is_number(maximum):
        bounds.append((maximum, exclusive is True))
    if _is_number(exclusive):
        bounds.append((exclusive, True))
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def _lower(node: dict[str, Any]) -> tuple[float, bool] | None:
    bounds: list[tuple[float, bool]] = []
    minimum, exclusive = node.get("minimum"), node.get("exclusiveMinimum")
    if _is_number(minimum):
        bounds.append((minimum, exclusive is True))
    if _is_number(exclusive):
        bounds.append((exclusive, True))
    return max(bounds, key=lambda b: (b[0], b[1])) if bounds else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bound(value: tuple[float, bool]) -> str:
    return f"{'exclusive ' if value[1] else ''}{value[0]}"


class _Diff:
    def __init__(self, writer_spec: Specification[Any], reader_spec: Specification[Any]) -> None:
        self.writer_spec = writer_spec
        self.reader_spec = reader_spec
        self.active: set[tuple[int, int]] = set()

    # -- entry point: any two schemas

    def compare(self, w: _S, r: _S, path: str) -> list[str]:
        try:
            w = self._deref(w, self.writer_spec)
            r = self._deref(r, self.reader_spec)
        except Unresolvable as e:
            return [f"{path}: cannot resolve $ref {e}"]
        key = (id(w.node), id(r.node))
        if key in self.active:
            return []  # a recursive schema: assume the cycle compatible (coinductively)
        self.active.add(key)
        try:
            return self._compare(w, r, path)
        finally:
            self.active.discard(key)

    def _deref(self, s: _S, spec: Specification[Any]) -> _S:
        for _ in range(100):
            node = s.node
            resolver = _enter(node, s.resolver, spec)
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return _S(node, resolver)
            siblings = {k: v for k, v in _constraints(node).items() if k != "$ref"}
            resolved = resolver.lookup(node["$ref"])
            if siblings:
                # `$ref` next to other constraints: both apply
                target = _S(resolved.contents, resolved.resolver)
                return _S({"allOf": [_Bound(target), siblings]}, resolver)
            s = _S(resolved.contents, resolved.resolver)
        raise Unresolvable(ref="a chain of more than 100 $refs")

    def _compare(self, w: _S, r: _S, path: str) -> list[str]:
        if _is_any(r.node) or _is_false(w.node):
            return []
        if _is_false(r.node):
            return [f"{path}: the reader's schema is false and accepts nothing"]
        if _is_any(w.node):
            return [
                f"{path}: the reader restricts the value ({_describe(r.node)}) "
                "but the writer accepts any value"
            ]
        ws, rs = _split(w.node), _split(r.node)
        values = _values(w.node) if ws.kind == "leaf" else None
        if rs.kind == "any" and values is not None and len(values) > 1:
            # each value the writer allows may be read by a different branch
            rest = {k: v for k, v in w.node.items() if k not in ("enum", "const")}
            ws = _Split("any", [{**rest, "enum": [v]} for v in values], "enum")

        if rs.kind == "all":
            return [e for part in rs.parts for e in self.compare(w, self._part(r, part), path)]
        if ws.kind == "any":
            errors = []
            if rs.kind == "any" and rs.criterion == "oneOf" and len(rs.parts) > 1:
                if ws.criterion == "anyOf":
                    errors.append(
                        f"{path}: anyOf changed to oneOf: a value the writer accepts may "
                        "match several branches, which oneOf refuses"
                    )
            for i, part in enumerate(ws.parts):
                sub = self.compare(self._part(w, part), r, _branch(path, ws, i))
                errors.extend(sub)
            return errors
        if rs.kind == "any":
            failures: list[str] = []
            for part in rs.parts:
                sub = self.compare(w, self._part(r, part), path)
                if not sub:
                    return []
                failures.extend(sub)
            branches = {"type": "types", "anyOf": "anyOf branches", "oneOf": "oneOf branches"}
            return [
                f"{path}: none of the reader's {branches.get(rs.criterion, 'branches')} "
                f"accepts what the writer accepts ({_describe(w.node)})"
            ]
        if ws.kind == "all":
            merged = _merge(ws.parts)
            if merged is not None:
                return self.compare(w.sub(merged), r, path)
            best: list[str] | None = None
            for part in ws.parts:
                sub = self.compare(self._part(w, part), r, path)
                if not sub:
                    return []
                if best is None or len(sub) < len(best):
                    best = sub
            return best or []
        if rs.kind == "not":
            if ws.kind != "not":
                return [f"{path}: the reader adds a 'not' constraint the writer does not have"]
            # the reader refuses what matches X, the writer what matches Y: fine if X ⊆ Y
            if self.compare(self._part(r, rs.parts[0]), self._part(w, ws.parts[0]), path):
                return [f"{path}/not: the reader's 'not' refuses values the writer's allows"]
            return []
        if ws.kind == "not":
            return [f"{path}: the writer's schema is a 'not' the reader cannot be checked against"]
        return self._leaf(w, r, path)

    def _part(self, s: _S, part: Any) -> _S:
        return part.target if isinstance(part, _Bound) else s.sub(part)

    # -- two leaves (no combinators)

    def _leaf(self, w: _S, r: _S, path: str) -> list[str]:
        wn: dict[str, Any] = w.node if isinstance(w.node, dict) else {}
        rn: dict[str, Any] = r.node if isinstance(r.node, dict) else {}
        w_values, r_values = _values(wn), _values(rn)
        r_type = _type_of(rn)
        if w_values is not None:
            errors = []
            if r_values is not None:
                allowed = {_value_key(v) for v in r_values}
                missing = [v for v in w_values if _value_key(v) not in allowed]
                if missing:
                    errors.append(
                        f"{path}/enum: the reader's enum lacks value(s) the writer allows: {_show(missing)}"
                    )
            if r_type is not None:
                wrong = [v for v in w_values if not _type_accepts(r_type, _json_type(v))]
                if wrong:
                    errors.append(
                        f"{path}/type: the reader's type {r_type} does not accept the writer's "
                        f"value(s) {_show(wrong)}"
                    )
            return errors
        if r_values is not None:
            return [
                f"{path}/enum: the reader restricts the value to [{_show(r_values)}] "
                "but the writer allows any value of its type"
            ]
        if r_type is None:
            return []
        w_type = _type_of(wn)
        if w_type is None:
            return [
                f"{path}/type: the reader requires type {r_type} but the writer does not restrict the type"
            ]
        if w_type != r_type:
            if w_type == "integer" and r_type == "number":
                pass  # widening: every integer is a number
            elif w_type == "number" and r_type == "integer":
                return [f"{path}/type: type narrowed from number to integer"]
            else:
                return [f"{path}/type: type changed from {w_type} to {r_type}"]
        if r_type == "object":
            return self._object(w, r, wn, rn, path)
        if r_type == "array":
            return self._array(w, r, wn, rn, path)
        if r_type == "string":
            return _string(wn, rn, path)
        if r_type in ("number", "integer"):
            return _number(wn, rn, path)
        return []

    def _object(self, w: _S, r: _S, wn: dict[str, Any], rn: dict[str, Any], path: str) -> list[str]:
        errors: list[str] = []
        w_props = _dict(wn.get("properties"))
        r_props = _dict(rn.get("properties"))
        for name in sorted(w_props.keys() | r_props.keys()):
            p = f"{path}/properties/{_escape(name)}"
            if name in w_props and name in r_props:
                errors += self.compare(w.sub(w_props[name]), r.sub(r_props[name]), p)
            elif name in w_props:  # the reader removed it
                if _open(rn) or _is_false(w_props[name]):
                    continue
                partial = _partial(rn, name)
                if partial is None:
                    errors.append(
                        f"{p}: property removed from the reader's closed content model "
                        "(additionalProperties false), but the writer may include it"
                    )
                    continue
                sub = self.compare(w.sub(w_props[name]), r.sub(partial), p)
                if sub:
                    errors += sub
                    errors.append(
                        f"{p}: property removed from the reader and its "
                        "patternProperties/additionalProperties schema does not accept the writer's values"
                    )
            else:  # the reader added it
                if _open(wn):
                    if not _is_any(r_props[name]):
                        errors.append(
                            f"{p}: property added to the reader, but the writer's content model "
                            f"is open: writer data may already hold '{name}' with any value "
                            "(close the writer with additionalProperties false)"
                        )
                    continue
                partial = _partial(wn, name)
                if partial is not None:
                    errors += self.compare(w.sub(partial), r.sub(r_props[name]), p)

        w_required = set(_list(wn.get("required")))
        for name in sorted(set(_list(rn.get("required"))) - w_required):
            prop = r_props.get(name)
            if isinstance(prop, dict) and "default" in prop:
                continue
            errors.append(
                f"{path}/required/{_escape(name)}: the reader requires '{name}' but the writer "
                "does not (give it a default to make this compatible)"
            )

        w_ap, r_ap = wn.get("additionalProperties", True), rn.get("additionalProperties", True)
        ap_path = f"{path}/additionalProperties"
        if _is_false(r_ap) and not _is_false(w_ap):
            errors.append(f"{ap_path}: the reader forbids additional properties the writer allows")
        elif not _is_any(r_ap) and not _is_false(w_ap) and not _is_false(r_ap):
            if _is_any(w_ap):
                errors.append(
                    f"{ap_path}: the reader restricts additional properties to a schema "
                    "but the writer allows any"
                )
            else:
                errors += self.compare(w.sub(w_ap), r.sub(r_ap), ap_path)

        w_pp, r_pp = _dict(wn.get("patternProperties")), _dict(rn.get("patternProperties"))
        for pattern in sorted(w_pp.keys() & r_pp.keys()):
            errors += self.compare(
                w.sub(w_pp[pattern]),
                r.sub(r_pp[pattern]),
                f"{path}/patternProperties/{_escape(pattern)}",
            )

        for key in ("dependentRequired", "dependencies"):
            w_deps, r_deps = _dict(wn.get(key)), _dict(rn.get(key))
            for name in sorted(r_deps):
                r_dep, w_dep = r_deps[name], w_deps.get(name)
                p = f"{path}/{key}/{_escape(name)}"
                if isinstance(r_dep, list):
                    extra = set(r_dep) - set(w_dep if isinstance(w_dep, list) else [])
                    if extra:
                        errors.append(
                            f"{p}: the reader requires {sorted(extra)} alongside '{name}' but the writer does not"
                        )
                elif w_dep is None or isinstance(w_dep, list):
                    errors.append(
                        f"{p}: the reader adds a schema dependency the writer does not have"
                    )
                else:
                    errors += self.compare(w.sub(w_dep), r.sub(r_dep), p)
        for name in sorted(_dict(rn.get("dependentSchemas"))):
            w_dep = _dict(wn.get("dependentSchemas")).get(name)
            p = f"{path}/dependentSchemas/{_escape(name)}"
            if w_dep is None:
                errors.append(f"{p}: the reader adds a schema dependency the writer does not have")
            else:
                errors += self.compare(w.sub(w_dep), r.sub(rn["dependentSchemas"][name]), p)

        errors += _min_max(wn, rn, "minProperties", "maxProperties", path)
        return errors

    def _array(self, w: _S, r: _S, wn: dict[str, Any], rn: dict[str, Any], path: str) -> list[str]:
        errors: list[str] = []
        w_tuple, w_rest, w_rest_key = _array_shape(wn)
        r_tuple, r_rest, r_rest_key = _array_shape(rn)
        for i in range(max(len(w_tuple), len(r_tuple))):
            p = f"{path}/{'prefixItems' if 'prefixItems' in rn else 'items'}/{i}"
            if i < len(w_tuple) and i < len(r_tuple):
                errors += self.compare(w.sub(w_tuple[i]), r.sub(r_tuple[i]), p)
            elif i < len(w_tuple):  # the reader reads this position with its rest schema
                if _is_false(r_rest) and not _is_false(w_tuple[i]):
                    errors.append(
                        f"{p}: item removed from the reader's closed tuple, but the writer may include it"
                    )
                else:
                    errors += self.compare(w.sub(w_tuple[i]), r.sub(r_rest), p)
            else:  # the writer wrote this position with its rest schema
                if _is_any(w_rest) and not _is_any(r_tuple[i]):
                    errors.append(
                        f"{p}: item added to the reader, but the writer's tuple is open: "
                        "writer data may hold any value there"
                    )
                else:
                    errors += self.compare(w.sub(w_rest), r.sub(r_tuple[i]), p)
        rest_path = f"{path}/{r_rest_key or w_rest_key or 'items'}"
        if _is_false(r_rest) and not _is_false(w_rest):
            errors.append(f"{rest_path}: the reader forbids additional items the writer allows")
        else:
            errors += self.compare(w.sub(w_rest), r.sub(r_rest), rest_path)
        errors += _min_max(wn, rn, "minItems", "maxItems", path)
        if rn.get("uniqueItems") is True and wn.get("uniqueItems") is not True:
            errors.append(
                f"{path}/uniqueItems: the reader requires unique items but the writer does not"
            )
        return errors


@dataclass(frozen=True, slots=True)
class _Bound:
    """A part of a synthetic allOf that must keep its own resolver (a `$ref` target)."""

    target: _S

    @property
    def node(self) -> Any:
        return self.target.node


def _branch(path: str, split: _Split, i: int) -> str:
    if split.criterion in ("anyOf", "oneOf"):
        return f"{path}/{split.criterion}/{i}"
    return path


def _describe(node: Any) -> str:
    if node is False:
        return "false"
    if isinstance(node, dict):
        constraints = _constraints(node)
        if "type" in constraints:
            return f"type {json.dumps(constraints['type'])}"
        if constraints:
            return "with " + ", ".join(sorted(constraints))
    return "any value"


def _type_accepts(reader_type: str, value_type: str) -> bool:
    return reader_type == value_type or (reader_type == "number" and value_type == "integer")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _open(node: dict[str, Any]) -> bool:
    """An open content model: any extra property, with any value, is allowed."""
    return not _dict(node.get("patternProperties")) and _is_any(
        node.get("additionalProperties", True)
    )


def _partial(node: dict[str, Any], name: str) -> Any | None:
    """The schema a partially open content model gives an undeclared property, or None if closed."""
    for pattern, schema in _dict(node.get("patternProperties")).items():
        try:
            if re.search(pattern, name):
                return schema
        except re.error:
            continue
    additional = node.get("additionalProperties", True)
    return None if _is_false(additional) else additional


def _array_shape(node: dict[str, Any]) -> tuple[list[Any], Any, str]:
    """(tuple item schemas, schema of the remaining items, the keyword that holds it)."""
    if isinstance(node.get("prefixItems"), list):
        return node["prefixItems"], node.get("items", True), "items"
    if isinstance(node.get("items"), list):
        return node["items"], node.get("additionalItems", True), "additionalItems"
    return [], node.get("items", True), "items" if "items" in node else ""


def _min_max(wn: dict[str, Any], rn: dict[str, Any], low: str, high: str, path: str) -> list[str]:
    errors = []
    r_low, w_low = rn.get(low), wn.get(low)
    if _is_number(r_low) and r_low > 0 and not (_is_number(w_low) and w_low >= r_low):
        errors.append(
            f"{path}/{low}: the reader requires {low} {r_low} but the writer allows {w_low if _is_number(w_low) else 0}"
        )
    r_high, w_high = rn.get(high), wn.get(high)
    if _is_number(r_high) and not (_is_number(w_high) and w_high <= r_high):
        errors.append(
            f"{path}/{high}: the reader requires {high} {r_high} but the writer allows "
            f"{w_high if _is_number(w_high) else 'any'}"
        )
    return errors


def _string(wn: dict[str, Any], rn: dict[str, Any], path: str) -> list[str]:
    errors = _min_max(wn, rn, "minLength", "maxLength", path)
    r_pattern = rn.get("pattern")
    if isinstance(r_pattern, str) and wn.get("pattern") != r_pattern:
        if "pattern" in wn:
            errors.append(
                f"{path}/pattern: pattern changed from {wn['pattern']!r} to {r_pattern!r}"
            )
        else:
            errors.append(f"{path}/pattern: the reader adds pattern {r_pattern!r}")
    return errors


def _number(wn: dict[str, Any], rn: dict[str, Any], path: str) -> list[str]:
    errors = []
    r_up, w_up = _upper(rn), _upper(wn)
    if r_up is not None:
        if w_up is None:
            errors.append(f"{path}/maximum: the reader adds a maximum of {_bound(r_up)}")
        elif w_up[0] > r_up[0] or (w_up[0] == r_up[0] and r_up[1] and not w_up[1]):
            errors.append(f"{path}/maximum: maximum lowered from {_bound(w_up)} to {_bound(r_up)}")
    r_low, w_low = _lower(rn), _lower(wn)
    if r_low is not None:
        if w_low is None:
            errors.append(f"{path}/minimum: the reader adds a minimum of {_bound(r_low)}")
        elif w_low[0] < r_low[0] or (w_low[0] == r_low[0] and r_low[1] and not w_low[1]):
            errors.append(f"{path}/minimum: minimum raised from {_bound(w_low)} to {_bound(r_low)}")
    r_mult, w_mult = rn.get("multipleOf"), wn.get("multipleOf")
    if _is_number(r_mult):
        if not _is_number(w_mult):
            errors.append(f"{path}/multipleOf: the reader adds multipleOf {r_mult}")
        elif (Fraction(str(w_mult)) / Fraction(str(r_mult))).denominator != 1:
            errors.append(
                f"{path}/multipleOf: the writer's multipleOf {w_mult} is not a multiple of the reader's {r_mult}"
            )
    return errors
