"""Protobuf as a registry schema type ("PROTOBUF"), with Confluent's compatibility rules.

Parsing uses `proto-schema-parser` (an ANTLR grammar of the protobuf language), then
resolves every field's type: a scalar, or a message/enum declared in the schema, in
one of its imports (each import must be one of the schema's references, by name, or
a well-known file such as google/protobuf/timestamp.proto), checking field numbers.

The canonical form is the schema's token stream, without comments and re-laid out
(one declaration a line, two-space indents), so layout and comments never make a new
schema id while the text stays an equivalent, parseable .proto file.

Compatibility (`reader.incompatibilities(writer)`) follows Confluent's
`io.confluent.kafka.schemaregistry.protobuf.diff`, which compares fields by number:

* adding or removing a field, renaming a field, adding/removing/renaming a oneof,
  adding a field to a oneof, and any enum change are compatible;
* changing the package, or removing (or renaming) a message, top-level or nested,
  is incompatible;
* a field number whose type changes kind (scalar/enum vs message vs map), or between
  scalars that are not wire-compatible, is incompatible: the compatible groups are
  int32/uint32/int64/uint64/bool/enums, sint32/sint64, string/bytes,
  fixed32/sfixed32, fixed64/sfixed64, float alone and double alone; a message-typed
  field must keep its message (by name) and that message must stay compatible;
* a numeric field (incl. enums) changing label (optional/required/repeated) is
  incompatible (string, bytes and message fields may); adding or removing a proto2
  `required` field is incompatible;
* removing a field from a oneof, moving more than one existing field into a oneof,
  or moving a field into a oneof together with fields of an existing oneof is
  incompatible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from antlr4 import InputStream
from antlr4.error.ErrorListener import ErrorListener
from proto_schema_parser import ast
from proto_schema_parser.antlr.ProtobufLexer import ProtobufLexer
from proto_schema_parser.antlr.ProtobufParser import ProtobufParser
from proto_schema_parser.parser import Parser

from broker.registry.types import InvalidSchema, ParsedSchema

__all__ = ["ProtobufType", "ProtobufSchema"]

_SCALAR_GROUPS = {
    "int32": "varint", "int64": "varint", "uint32": "varint", "uint64": "varint",
    "bool": "varint", "sint32": "zigzag", "sint64": "zigzag", "string": "length-delimited",
    "bytes": "length-delimited", "fixed32": "fixed32", "sfixed32": "fixed32",
    "fixed64": "fixed64", "sfixed64": "fixed64", "float": "float", "double": "double",
}  # fmt: skip
_MAP_KEY_TYPES = frozenset(_SCALAR_GROUPS) - {"float", "double", "bytes"}
_MAX_FIELD_NUMBER = 536_870_911

# The files a schema may import without a reference: (package, messages, enums).
_WELL_KNOWN: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "google/protobuf/any.proto": ("google.protobuf", ("Any",), ()),
    "google/protobuf/api.proto": ("google.protobuf", ("Api", "Method", "Mixin"), ()),
    "google/protobuf/duration.proto": ("google.protobuf", ("Duration",), ()),
    "google/protobuf/empty.proto": ("google.protobuf", ("Empty",), ()),
    "google/protobuf/field_mask.proto": ("google.protobuf", ("FieldMask",), ()),
    "google/protobuf/source_context.proto": ("google.protobuf", ("SourceContext",), ()),
    "google/protobuf/struct.proto": (
        "google.protobuf",
        ("Struct", "Value", "ListValue"),
        ("NullValue",),
    ),
    "google/protobuf/timestamp.proto": ("google.protobuf", ("Timestamp",), ()),
    "google/protobuf/type.proto": (
        "google.protobuf",
        ("Type", "Field", "Enum", "EnumValue", "Option"),
        ("Syntax", "Field.Kind", "Field.Cardinality"),
    ),
    "google/protobuf/wrappers.proto": (
        "google.protobuf",
        (
            "DoubleValue",
            "FloatValue",
            "Int64Value",
            "UInt64Value",
            "Int32Value",
            "UInt32Value",
            "BoolValue",
            "StringValue",
            "BytesValue",
        ),
        (),
    ),  # fmt: skip
    "google/protobuf/descriptor.proto": (
        "google.protobuf",
        (
            "FileDescriptorSet",
            "FileDescriptorProto",
            "DescriptorProto",
            "ExtensionRangeOptions",
            "FieldDescriptorProto",
            "OneofDescriptorProto",
            "EnumDescriptorProto",
            "EnumValueDescriptorProto",
            "ServiceDescriptorProto",
            "MethodDescriptorProto",
            "FileOptions",
            "MessageOptions",
            "FieldOptions",
            "OneofOptions",
            "EnumOptions",
            "EnumValueOptions",
            "ServiceOptions",
            "MethodOptions",
            "UninterpretedOption",
            "SourceCodeInfo",
            "GeneratedCodeInfo",
            "FeatureSet",
            "FeatureSetDefaults",
        ),
        ("Edition",),
    ),  # fmt: skip
    "google/type/calendar_period.proto": ("google.type", (), ("CalendarPeriod",)),
    "google/type/color.proto": ("google.type", ("Color",), ()),
    "google/type/date.proto": ("google.type", ("Date",), ()),
    "google/type/datetime.proto": ("google.type", ("DateTime", "TimeZone"), ()),
    "google/type/dayofweek.proto": ("google.type", (), ("DayOfWeek",)),
    "google/type/decimal.proto": ("google.type", ("Decimal",), ()),
    "google/type/expr.proto": ("google.type", ("Expr",), ()),
    "google/type/fraction.proto": ("google.type", ("Fraction",), ()),
    "google/type/interval.proto": ("google.type", ("Interval",), ()),
    "google/type/latlng.proto": ("google.type", ("LatLng",), ()),
    "google/type/localized_text.proto": ("google.type", ("LocalizedText",), ()),
    "google/type/money.proto": ("google.type", ("Money",), ()),
    "google/type/month.proto": ("google.type", (), ("Month",)),
    "google/type/phone_number.proto": ("google.type", ("PhoneNumber",), ()),
    "google/type/postal_address.proto": ("google.type", ("PostalAddress",), ()),
    "google/type/quaternion.proto": ("google.type", ("Quaternion",), ()),
    "google/type/timeofday.proto": ("google.type", ("TimeOfDay",), ()),
    "confluent/meta.proto": ("confluent", ("Meta",), ()),
    "confluent/type/decimal.proto": ("confluent.type", ("Decimal",), ()),
}


# --------------------------------------------------------------------------- parsing


class _RaiseOnError(ErrorListener):  # type: ignore[misc]  # antlr4 ships no type hints
    def __init__(self, what: str) -> None:
        self.what = what

    def syntaxError(  # noqa: N802 (ANTLR's name)
        self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any
    ) -> None:
        raise InvalidSchema(f"{self.what}: syntax error at line {line}:{column + 1}: {msg}")


def _parse_file(text: str, what: str) -> ast.File:
    errors = _RaiseOnError(what)

    def setup_lexer(lexer: ProtobufLexer) -> None:
        lexer.removeErrorListeners()
        lexer.addErrorListener(errors)

    def setup_parser(parser: ProtobufParser) -> None:
        parser.removeErrorListeners()
        parser.addErrorListener(errors)

    try:
        return Parser(setup_lexer=setup_lexer, setup_parser=setup_parser).parse(text)
    except InvalidSchema:
        raise
    except RecursionError:
        raise InvalidSchema(f"{what}: nested too deeply") from None
    except Exception as e:  # the parser's tree walk on input it half-accepted
        raise InvalidSchema(f"{what}: cannot parse: {e}") from None


@dataclass(frozen=True, slots=True)
class _Type:
    kind: str  # "scalar", "enum", "message" or "map"
    name: str  # the scalar's name, the enum's or message's full name; "" for a map
    key: _Type | None = None
    value: _Type | None = None

    def __str__(self) -> str:
        if self.kind == "map":
            return f"map<{self.key}, {self.value}>"
        return self.name


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    number: int
    label: str | None  # "optional", "required", "repeated" or None (proto3 singular, oneof, map)
    type: _Type
    oneof: str | None


@dataclass(slots=True)
class _Message:
    full_name: str
    package: str
    fields: list[_Field] = field(default_factory=list)
    oneofs: dict[str, list[int]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # nested, full names
    defined: bool = True  # False for well-known types, known by name only


@dataclass(slots=True)
class _Decl:
    kind: str  # "message" or "enum"
    package: str
    node: ast.Message | ast.Group | ast.Enum | None  # None for well-known types
    syntax: str | None = None  # of the file that declares it


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Loader:
    """Parses a schema and its imports, then builds the resolved model of its messages."""

    def __init__(self, references: dict[str, str]) -> None:
        self.references = references
        self.decls: dict[str, _Decl] = {}
        self.loaded: set[str] = set()
        self.messages: dict[str, _Message] = {}

    def load(self, file: ast.File, what: str) -> None:
        if file.syntax not in (None, "proto2", "proto3"):
            raise InvalidSchema(f"{what}: unknown syntax {file.syntax!r}")
        package = next((e.name for e in file.file_elements if isinstance(e, ast.Package)), "")
        for element in file.file_elements:
            if isinstance(element, ast.Import):
                self.load_import(element.name, what)
        self.declare(file.file_elements, package, package, file.syntax, what)

    def load_import(self, name: str, importer: str) -> None:
        if name in self.loaded:
            return
        self.loaded.add(name)
        if name in self.references:
            what = f"reference {name!r}"
            self.load(_parse_file(self.references[name], what), what)
        elif name in _WELL_KNOWN:
            package, messages, enums = _WELL_KNOWN[name]
            for message in messages:
                self.decls[_join(package, message)] = _Decl("message", package, None)
            for enum in enums:
                self.decls[_join(package, enum)] = _Decl("enum", package, None)
        else:
            raise InvalidSchema(
                f"{importer}: import {name!r} is neither one of the schema's references "
                "nor a well-known file (google/protobuf/*.proto, google/type/*.proto)"
            )

    def declare(
        self, elements: Iterable[Any], scope: str, package: str, syntax: str | None, what: str
    ) -> None:
        for element in elements:
            if isinstance(element, ast.Message | ast.Group | ast.Enum):
                full = _join(scope, element.name)
                if full in self.decls and self.decls[full].node is not element:
                    raise InvalidSchema(f"{what}: {full} is declared twice")
                kind = "enum" if isinstance(element, ast.Enum) else "message"
                self.decls[full] = _Decl(kind, package, element, syntax)
                if not isinstance(element, ast.Enum):
                    self.declare(element.elements, full, package, syntax, what)
            elif isinstance(element, ast.OneOf):
                self.declare(element.elements, scope, package, syntax, what)  # groups in a oneof

    def resolve(self, name: str, scope: str) -> str | None:
        """The full name `name` means inside `scope` (protobuf's innermost-first lookup)."""
        if name.startswith("."):
            return name[1:] if name[1:] in self.decls else None
        parts = scope.split(".") if scope else []
        for i in range(len(parts), -1, -1):
            candidate = ".".join([*parts[:i], name])
            if candidate in self.decls:
                return candidate
        return None

    def build(self) -> None:
        for full, decl in self.decls.items():
            if decl.kind != "message":
                continue
            if decl.node is None:
                self.messages[full] = _Message(full, decl.package, defined=False)
            else:
                assert isinstance(decl.node, ast.Message | ast.Group)
                self.messages[full] = self.message(full, decl, decl.node, decl.syntax)

    def message(
        self, full: str, decl: _Decl, node: ast.Message | ast.Group, syntax: str | None
    ) -> _Message:
        message = _Message(full, decl.package)
        reserved_numbers: list[tuple[int, int]] = []
        reserved_names: set[str] = set()
        for element in node.elements:
            if isinstance(element, ast.OneOf):
                message.oneofs[element.name] = []
                for member in element.elements:
                    if isinstance(member, ast.Field | ast.Group):
                        f = self.field(full, member, element.name, syntax)
                        message.fields.append(f)
                        message.oneofs[element.name].append(f.number)
            elif isinstance(element, ast.Field | ast.Group | ast.MapField):
                message.fields.append(self.field(full, element, None, syntax))
            elif isinstance(element, ast.Message | ast.Group):
                message.messages.append(_join(full, element.name))
            elif isinstance(element, ast.Reserved):
                reserved_names.update(element.names)
                reserved_numbers.extend(_ranges(element.ranges))
            if isinstance(element, ast.Group):
                message.messages.append(_join(full, element.name))
        numbers: dict[int, str] = {}
        names: set[str] = set()
        for f in message.fields:
            where = f"message {full}, field {f.name!r}"
            if not 1 <= f.number <= _MAX_FIELD_NUMBER or 19000 <= f.number <= 19999:
                raise InvalidSchema(
                    f"{where}: field number {f.number} is outside 1..{_MAX_FIELD_NUMBER} "
                    "or in the range 19000..19999 reserved by protobuf"
                )
            if f.number in numbers:
                raise InvalidSchema(
                    f"{where}: field number {f.number} is already used by {numbers[f.number]!r}"
                )
            if f.name in names:
                raise InvalidSchema(f"{where}: a field of that name already exists")
            if f.name in reserved_names or any(lo <= f.number <= hi for lo, hi in reserved_numbers):
                raise InvalidSchema(f"{where}: uses a reserved field name or number ({f.number})")
            numbers[f.number] = f.name
            names.add(f.name)
        return message

    def field(
        self,
        scope: str,
        node: ast.Field | ast.Group | ast.MapField,
        oneof: str | None,
        syntax: str | None,
    ) -> _Field:
        where = f"message {scope}, field {node.name!r}"
        if isinstance(node, ast.MapField):
            key = self.type(node.key_type, scope, where)
            if key.kind != "scalar" or key.name not in _MAP_KEY_TYPES:
                raise InvalidSchema(f"{where}: {node.key_type} cannot be a map key type")
            value = self.type(node.value_type, scope, where)
            return _Field(node.name, node.number, None, _Type("map", "", key, value), oneof)
        label = node.cardinality.value.lower() if node.cardinality else None
        if label == "required" and syntax == "proto3":
            raise InvalidSchema(f"{where}: required fields are not allowed in proto3")
        if isinstance(node, ast.Group):
            # a proto2 group: a nested message, and a field of that type named in lower case
            return _Field(
                node.name.lower(),
                node.number,
                label,
                _Type("message", _join(scope, node.name)),
                oneof,
            )
        return _Field(node.name, node.number, label, self.type(node.type, scope, where), oneof)

    def type(self, name: str, scope: str, where: str) -> _Type:
        if name in _SCALAR_GROUPS:
            return _Type("scalar", name)
        full = self.resolve(name, scope)
        if full is None:
            raise InvalidSchema(
                f"{where}: unknown type {name!r}: not a scalar type, nor a message or enum "
                "declared in the schema or its imports"
            )
        return _Type(self.decls[full].kind, full)


def _ranges(ranges: Iterable[str]) -> Iterator[tuple[int, int]]:
    for text in ranges:
        parts = [p.strip() for p in re.split(r"\s+to\s+", text)]
        try:
            low = int(parts[0], 0)
            high = _MAX_FIELD_NUMBER if parts[-1] == "max" else int(parts[-1], 0)
        except ValueError:
            continue
        yield low, high


class ProtobufType:
    name = "PROTOBUF"

    def parse(self, text: str, references: dict[str, str]) -> ProtobufSchema:
        file = _parse_file(text, "schema")
        loader = _Loader(references)
        loader.load(file, "schema")
        loader.build()
        package = next((e.name for e in file.file_elements if isinstance(e, ast.Package)), "")
        top = [_join(package, e.name) for e in file.file_elements if isinstance(e, ast.Message)]
        return ProtobufSchema(
            canonical=_canonical(text),
            package=package,
            syntax=file.syntax or (f"edition {file.edition}" if file.edition else "proto2"),
            messages=top,
            types=loader.messages,
        )


@dataclass(frozen=True, slots=True)
class ProtobufSchema:
    canonical: str
    package: str
    syntax: str
    messages: list[str]  # the schema's top-level messages, full names, in order
    types: dict[str, _Message]  # every message declared in the schema and its imports

    def incompatibilities(self, writer: ParsedSchema) -> list[str]:
        if not isinstance(writer, ProtobufSchema):
            return [f"cannot compare a Protobuf schema with a {type(writer).__name__}"]
        errors = _Diff(writer, self).run()
        return list(dict.fromkeys(errors))  # a message reached twice is reported once


# --------------------------------------------------------------------------- canonical form

_SKIPPED_TOKENS = {ProtobufLexer.WS, ProtobufLexer.LINE_COMMENT, ProtobufLexer.BLOCK_COMMENT}
_NO_SPACE_BEFORE = {";", ",", ".", ")", "]", ">", ":", "/"}
_NO_SPACE_AFTER = {".", "(", "[", "<", "-", "/"}


def _canonical(text: str) -> str:
    lexer = ProtobufLexer(InputStream(text))
    lexer.removeErrorListeners()  # the text has already parsed
    tokens = [
        t.text
        for t in lexer.getAllTokens()
        if t.type not in _SKIPPED_TOKENS and t.type != ProtobufLexer.BYTE_ORDER_MARK
    ]
    lines: list[str] = []
    line = ""
    depth = 0  # braces
    inline = 0  # brackets and parentheses: no line breaks inside
    previous = ""

    def flush() -> None:
        nonlocal line
        lines.append("  " * depth + line)
        line = ""

    for token in tokens:
        if token.startswith("'") and '"' not in token and "\\" not in token:
            token = '"' + token[1:-1] + '"'
        if line == "}" and token != ";":
            flush()  # a block's end, not followed by the `;` of an option's value
        if inline or token not in ("{", "}", ";"):
            glued = token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER
            if line and not glued and not (token == "<" and previous == "map"):
                line += " "
            line += token
            if token in ("[", "("):
                inline += 1
            elif token in ("]", ")"):
                inline = max(inline - 1, 0)
        elif token == "{":
            line += " {" if line else "{"
            flush()
            depth += 1
        elif token == "}":
            if line:
                flush()
            depth = max(depth - 1, 0)
            line = "}"
        else:
            line += ";"
            flush()
        previous = token
    if line:
        flush()
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- comparison

_NUMERIC_GROUPS = {"varint", "zigzag", "fixed32", "fixed64", "float", "double"}


def _local(full: str, package: str) -> str:
    return full[len(package) + 1 :] if package and full.startswith(package + ".") else full


class _Diff:
    def __init__(self, writer: ProtobufSchema, reader: ProtobufSchema) -> None:
        self.w = writer
        self.r = reader
        self.active: set[tuple[str, str]] = set()

    def run(self) -> list[str]:
        errors = []
        if self.w.package != self.r.package:
            errors.append(
                f"package changed from {self.w.package or '(none)'!r} to {self.r.package or '(none)'!r}"
            )
        return errors + self.messages(
            self.w.messages, self.r.messages, self.w.package, self.r.package
        )

    def messages(
        self, w_names: list[str], r_names: list[str], w_scope: str, r_scope: str
    ) -> list[str]:
        r_by_local = {_local(n, r_scope): n for n in r_names}
        errors = []
        for w_name in w_names:
            local = _local(w_name, w_scope)
            r_name = r_by_local.get(local)
            if r_name is None:
                errors.append(
                    f"message {w_name}: removed or renamed: the reader has no message {local!r} "
                    "to read the writer's data with"
                )
            else:
                errors += self.message(w_name, r_name)
        return errors

    def message(self, w_name: str, r_name: str) -> list[str]:
        w, r = self.w.types.get(w_name), self.r.types.get(r_name)
        if w is None or r is None or not (w.defined and r.defined):
            return []  # well-known types: the same name is the same type
        key = (w_name, r_name)
        if key in self.active:
            return []  # a recursive message: assume the cycle compatible
        self.active.add(key)
        try:
            return self._message(w, r)
        finally:
            self.active.discard(key)

    def _message(self, w: _Message, r: _Message) -> list[str]:
        errors: list[str] = []
        w_all = {f.number: f for f in w.fields}
        r_all = {f.number: f for f in r.fields}
        w_top = {n: f for n, f in w_all.items() if f.oneof is None}
        r_top = {n: f for n, f in r_all.items() if f.oneof is None}
        w_in_oneof = {n for n, f in w_all.items() if f.oneof is not None}

        for oneof, numbers in r.oneofs.items():
            moved = [n for n in numbers if n in w_top]
            existing = [n for n in numbers if n in w_in_oneof]
            where = f"message {r.full_name}, oneof {oneof!r}"
            if len(moved) > 1:
                errors.append(
                    f"{where}: fields {_numbers(moved)} of the writer moved into one oneof: "
                    "writer data may set several of them at once"
                )
            elif moved and existing:
                errors.append(
                    f"{where}: field {moved[0]} moved into a oneof with field(s) "
                    f"{_numbers(existing)} of a writer's oneof: writer data may set both"
                )
            for n in moved:
                w_top.pop(n, None)

        for oneof, w_numbers in w.oneofs.items():
            if oneof not in r.oneofs:
                continue  # a oneof removed or renamed: its fields are compared below by number
            r_numbers = set(r.oneofs[oneof])
            for n in w_numbers:
                if n in r_numbers:
                    errors += self.field(w, w_all[n], r_all[n])
                elif n not in r_all:
                    errors.append(
                        f"message {w.full_name}, oneof {oneof!r}: field {w_all[n].name!r} ({n}) "
                        "removed from the oneof: the reader cannot tell which member the writer set"
                    )

        for n in sorted(w_top.keys() | r_top.keys()):
            wf, rf = w_top.get(n), r_top.get(n)
            if rf is None and wf is not None:
                if wf.label == "required" and n not in r_all:
                    errors.append(
                        f"message {w.full_name}: required field {wf.name!r} ({n}) removed"
                    )
            elif wf is None and rf is not None:
                if rf.label == "required" and n not in w_all:
                    errors.append(
                        f"message {r.full_name}: required field {rf.name!r} ({n}) added: "
                        "the writer's data does not have it"
                    )
            elif wf is not None and rf is not None:
                errors += self.field(w, wf, rf)

        # fields whose oneof membership changed (moved in or out, or the oneof renamed)
        for n in sorted(w_all.keys() & r_all.keys()):
            wf, rf = w_all[n], r_all[n]
            if (wf.oneof is None and rf.oneof is None) or (
                wf.oneof is not None and wf.oneof == rf.oneof
            ):
                continue
            errors += self.field(w, wf, rf)

        return errors + self.messages(w.messages, r.messages, w.full_name, r.full_name)

    def field(self, w: _Message, wf: _Field, rf: _Field) -> list[str]:
        where = f"message {w.full_name}, field {wf.name!r} ({wf.number})"
        if wf.name != rf.name:
            where += f" (named {rf.name!r} in the reader)"
        return self.types(where, wf.type, rf.type, wf.label, rf.label)

    def types(self, where: str, wt: _Type, rt: _Type, wl: str | None, rl: str | None) -> list[str]:
        w_kind, r_kind = _kind(wt), _kind(rt)
        if w_kind != r_kind:
            return [f"{where}: type changed from {_show(wt)} to {_show(rt)}"]
        if w_kind == "map":
            assert wt.key and wt.value and rt.key and rt.value
            return self.types(f"{where} key", wt.key, rt.key, None, None) + self.types(
                f"{where} value", wt.value, rt.value, None, None
            )
        if w_kind == "message":
            w_local = _local(wt.name, self._package(self.w, wt.name))
            r_local = _local(rt.name, self._package(self.r, rt.name))
            if w_local != r_local:
                return [f"{where}: message type changed from {wt.name} to {rt.name}"]
            return self.message(wt.name, rt.name)
        w_group, r_group = _scalar_group(wt), _scalar_group(rt)
        if w_group != r_group:
            return [
                f"{where}: type changed from {wt} to {rt}, which is not wire-compatible "
                f"({w_group} vs {r_group} encoding)"
            ]
        if w_group in _NUMERIC_GROUPS and (
            (wl is not None and rl is not None and wl != rl)
            or (wl == "repeated") != (rl == "repeated")
        ):
            why = "packed numbers are not a singular value" if "repeated" in (wl, rl) else ""
            return [
                f"{where}: label changed from {wl or 'singular'} to {rl or 'singular'}, "
                f"which a numeric field cannot do{f' ({why})' if why else ''}"
            ]
        return []

    @staticmethod
    def _package(schema: ProtobufSchema, full: str) -> str:
        message = schema.types.get(full)
        return message.package if message else ""


def _show(t: _Type) -> str:
    return str(t) if t.kind in ("scalar", "map") else f"{t.kind} {t.name}"


def _kind(t: _Type) -> str:
    return "scalar" if t.kind in ("scalar", "enum") else t.kind


def _scalar_group(t: _Type) -> str:
    return "varint" if t.kind == "enum" else _SCALAR_GROUPS[t.name]


def _numbers(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)
