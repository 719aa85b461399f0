"""Protobuf type of the schema registry: parsing, canonical form and the compatibility table.

Each row of COMPATIBILITY is (reader, writer, compatible, why): whether data written with
`writer` can be read with `reader`, as Confluent's Protobuf rules decide it. Both are
message bodies placed after `syntax = "proto3"; package acme;` unless they start with
`syntax`.
"""

from __future__ import annotations

import pytest

from broker.registry.protobuf import ProtobufSchema, ProtobufType
from broker.registry.types import InvalidSchema

T = ProtobufType()
HEADER = 'syntax = "proto3";\npackage acme;\n'


def parse(body: str, references: dict[str, str] | None = None) -> ProtobufSchema:
    text = body if body.lstrip().startswith("syntax") else HEADER + body
    return T.parse(text, references or {})


def incompatibilities(
    reader: str, writer: str, references: dict[str, str] | None = None
) -> list[str]:
    r, w = parse(reader, references), parse(writer, references)
    return r.incompatibilities(w)


P2 = 'syntax = "proto2";\npackage acme;\n'

COMPATIBILITY: list[tuple[str, str, bool, str]] = [
    ("message M { int32 a = 1; }", "message M { int32 a = 1; }", True, "identical"),
    # adding, removing, renaming fields
    ("message M { int32 a = 1; string b = 2; }", "message M { int32 a = 1; }", True, "field added"),
    ("message M { int32 a = 1; }", "message M { int32 a = 1; string b = 2; }", True, "field removed"),
    ("message M { int32 alpha = 1; }", "message M { int32 a = 1; }", True, "field renamed, same number"),
    ("message M { int32 a = 2; }", "message M { int32 a = 1; }", True, "field number changed (removed + added)"),
    ("message M { reserved 2; int32 a = 1; }", "message M { int32 a = 1; string b = 2; }", True,
     "field removed and its number reserved"),
    # scalar types: wire-compatible groups
    ("message M { int64 a = 1; }", "message M { int32 a = 1; }", True, "int32 -> int64 (varint)"),
    ("message M { uint32 a = 1; }", "message M { int64 a = 1; }", True, "int64 -> uint32 (varint)"),
    ("message M { bool a = 1; }", "message M { uint64 a = 1; }", True, "uint64 -> bool (varint)"),
    ("message M { sint64 a = 1; }", "message M { sint32 a = 1; }", True, "sint32 -> sint64 (zigzag)"),
    ("message M { sint32 a = 1; }", "message M { int32 a = 1; }", False, "int32 -> sint32 (varint vs zigzag)"),
    ("message M { bytes a = 1; }", "message M { string a = 1; }", True, "string -> bytes"),
    ("message M { string a = 1; }", "message M { bytes a = 1; }", True, "bytes -> string"),
    ("message M { sfixed32 a = 1; }", "message M { fixed32 a = 1; }", True, "fixed32 -> sfixed32"),
    ("message M { sfixed64 a = 1; }", "message M { fixed64 a = 1; }", True, "fixed64 -> sfixed64"),
    ("message M { fixed64 a = 1; }", "message M { fixed32 a = 1; }", False, "fixed32 -> fixed64"),
    ("message M { double a = 1; }", "message M { float a = 1; }", False, "float -> double"),
    ("message M { string a = 1; }", "message M { int32 a = 1; }", False, "int32 -> string"),
    ("message M { int32 a = 1; }", "message M { double a = 1; }", False, "double -> int32"),
    ("message M { E a = 1; } enum E { X = 0; }", "message M { int32 a = 1; }", True, "int32 -> enum"),
    ("message M { int64 a = 1; }", "message M { E a = 1; } enum E { X = 0; }", True, "enum -> int64"),
    ("message M { F a = 1; } enum F { Y = 0; }", "message M { E a = 1; } enum E { X = 0; }", True, "enum -> other enum"),
    ("message M { string a = 1; }", "message M { E a = 1; } enum E { X = 0; }", False, "enum -> string"),
    # kinds: scalar, message, map
    ("message M { N a = 1; } message N { int32 x = 1; }", "message M { int32 a = 1; } message N { int32 x = 1; }",
     False, "scalar -> message"),
    ("message M { string a = 1; } message N { int32 x = 1; }", "message M { N a = 1; } message N { int32 x = 1; }",
     False, "message -> string"),
    ("message M { map<string, int32> a = 1; }", "message M { int32 a = 1; }", False, "scalar -> map"),
    ("message M { map<string, int32> a = 1; }", "message M { repeated E a = 1; message E { string key = 1; int32 value = 2; } }",
     False, "repeated message -> map"),
    ("message M { map<int64, int64> a = 1; }", "message M { map<int32, int32> a = 1; }", True, "map key and value widened"),
    ("message M { map<string, string> a = 1; }", "message M { map<string, int32> a = 1; }", False, "map value int32 -> string"),
    ("message M { map<int32, string> a = 1; }", "message M { map<string, string> a = 1; }", False, "map key string -> int32"),
    # message-typed fields
    ("message M { O a = 1; } message N { int32 x = 1; } message O { int32 x = 1; }",
     "message M { N a = 1; } message N { int32 x = 1; } message O { int32 x = 1; }", False, "field's message type changed"),
    ("message M { N a = 1; } message N { int64 x = 1; string y = 2; }", "message M { N a = 1; } message N { int32 x = 1; }",
     True, "field's message evolved compatibly"),
    ("message M { Inner a = 1; message Inner { string x = 1; } }", "message M { Inner a = 1; message Inner { int32 x = 1; } }",
     False, "nested message changed incompatibly"),
    ("message M { .acme.M.Inner a = 1; message Inner { int32 x = 1; } }",
     "message M { Inner a = 1; message Inner { int32 x = 1; } }", True, "same type, fully qualified"),
    ("message Node { int64 v = 1; repeated Node kids = 2; }", "message Node { int32 v = 1; repeated Node kids = 2; }",
     True, "recursive message"),
    ("message Node { string v = 1; repeated Node kids = 2; }", "message Node { int32 v = 1; repeated Node kids = 2; }",
     False, "recursive message changed incompatibly"),
    # labels
    ("message M { repeated int32 a = 1; }", "message M { int32 a = 1; }", False, "numeric singular -> repeated"),
    ("message M { int32 a = 1; }", "message M { repeated int32 a = 1; }", False, "numeric repeated -> singular"),
    ("message M { repeated int32 a = 1; }", "message M { optional int32 a = 1; }", False, "numeric optional -> repeated"),
    ("message M { optional int32 a = 1; }", "message M { int32 a = 1; }", True, "proto3 singular -> optional"),
    ("message M { repeated E a = 1; } enum E { X = 0; }", "message M { E a = 1; } enum E { X = 0; }", False,
     "enum singular -> repeated"),
    ("message M { repeated string a = 1; }", "message M { string a = 1; }", True, "string singular -> repeated"),
    ("message M { bytes a = 1; }", "message M { repeated bytes a = 1; }", True, "bytes repeated -> singular"),
    ("message M { repeated N a = 1; } message N {}", "message M { N a = 1; } message N {}", True, "message singular -> repeated"),
    # proto2 required
    (P2 + "message M { optional int32 a = 1; required int32 b = 2; }", P2 + "message M { optional int32 a = 1; }",
     False, "required field added"),
    (P2 + "message M { optional int32 a = 1; }", P2 + "message M { optional int32 a = 1; required int32 b = 2; }",
     False, "required field removed"),
    (P2 + "message M { required int32 a = 1; }", P2 + "message M { optional int32 a = 1; }", False,
     "numeric optional -> required"),
    (P2 + "message M { optional string a = 1; }", P2 + "message M { required string a = 1; }", True,
     "string required -> optional"),
    (P2 + "message M { optional int32 a = 1; optional string b = 2; }", P2 + "message M { optional int32 a = 1; }",
     True, "proto2 optional field added"),
    # messages, enums, package
    ("message N { int32 a = 1; }", "message M { int32 a = 1; }", False, "message renamed"),
    ("message M { int32 a = 1; }", "message M { int32 a = 1; } message N { int32 b = 1; }", False, "message removed"),
    ("message M { int32 a = 1; } message N { int32 b = 1; }", "message M { int32 a = 1; }", True, "message added"),
    ("message N { int32 b = 1; } message M { int32 a = 1; }", "message M { int32 a = 1; } message N { int32 b = 1; }",
     True, "messages reordered"),
    ("message M { int32 a = 1; }", "message M { int32 a = 1; message Inner { int32 x = 1; } }", False,
     "nested message removed"),
    ("message M { int32 a = 1; message Inner { int32 x = 1; } }", "message M { int32 a = 1; }", True,
     "nested message added"),
    ("message M { int32 a = 1; }", "message M { int32 a = 1; } enum E { X = 0; }", True, "enum removed"),
    ("message M { E a = 1; } enum E { X = 0; Y = 1; }", "message M { E a = 1; } enum E { X = 0; }", True, "enum value added"),
    ("message M { E a = 1; } enum E { X = 0; }", "message M { E a = 1; } enum E { X = 0; Y = 1; }", True, "enum value removed"),
    ("message M { E a = 1; } enum E { Z = 0; }", "message M { E a = 1; } enum E { X = 0; }", True, "enum value renamed"),
    ('syntax = "proto3"; package other; message M { int32 a = 1; }', "message M { int32 a = 1; }", False,
     "package changed"),
    ('syntax = "proto3"; message M { int32 a = 1; }', "message M { int32 a = 1; }", False, "package removed"),
    # oneofs
    ("message M { oneof o { int32 a = 1; } string b = 2; }", "message M { int32 a = 1; string b = 2; }", True,
     "one field moved into a new oneof"),
    ("message M { oneof o { int32 a = 1; string b = 2; } }", "message M { int32 a = 1; string b = 2; }", False,
     "two fields moved into one oneof"),
    ("message M { oneof o { int32 a = 1; string b = 2; } }", "message M { int32 a = 1; oneof o { string b = 2; } }",
     False, "field moved into an existing oneof"),
    ("message M { oneof o { int32 a = 1; string b = 2; } }", "message M { oneof o { int32 a = 1; } }", True,
     "field added to a oneof"),
    ("message M { oneof o { int32 a = 1; } }", "message M { oneof o { int32 a = 1; string b = 2; } }", False,
     "field removed from a oneof"),
    ("message M { int32 a = 1; string b = 2; }", "message M { oneof o { int32 a = 1; string b = 2; } }", True,
     "fields moved out of a oneof"),
    ("message M { oneof p { int32 a = 1; string b = 2; } }", "message M { oneof o { int32 a = 1; string b = 2; } }",
     True, "oneof renamed"),
    ("message M { int32 c = 3; }", "message M { int32 c = 3; oneof o { int32 a = 1; string b = 2; } }", True,
     "oneof removed"),
    ("message M { int32 c = 3; oneof o { int32 a = 1; string b = 2; } }", "message M { int32 c = 3; }", True,
     "oneof added"),
    ("message M { oneof o { string a = 1; } }", "message M { oneof o { int32 a = 1; } }", False,
     "oneof member type changed"),
    ("message M { oneof o { string a = 1; } }", "message M { int32 a = 1; }", False,
     "field moved into a oneof and its type changed"),
    ("message M { oneof p { string a = 1; } }", "message M { oneof o { int32 a = 1; } }", False,
     "oneof renamed and a member's type changed"),
    # well-known types
    ('import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; }',
     'import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; }', True,
     "well-known type unchanged"),
    ('import "google/protobuf/duration.proto"; message M { google.protobuf.Duration t = 1; }',
     'import "google/protobuf/timestamp.proto"; message M { google.protobuf.Timestamp t = 1; }', False,
     "well-known type changed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("reader", "writer", "compatible", "why"), COMPATIBILITY, ids=[row[3] for row in COMPATIBILITY]
)
def test_compatibility(reader: str, writer: str, compatible: bool, why: str) -> None:
    problems = incompatibilities(reader, writer)
    if compatible:
        assert problems == [], why
    else:
        assert problems, why


def test_messages_name_the_message_field_and_change() -> None:
    (problem,) = incompatibilities("message M { sint32 a = 1; }", "message M { int32 a = 1; }")
    assert problem == (
        "message acme.M, field 'a' (1): type changed from int32 to sint32, "
        "which is not wire-compatible (varint vs zigzag encoding)"
    )
    (problem,) = incompatibilities("message N { int32 a = 1; }", "message M { int32 a = 1; }")
    assert problem.startswith("message acme.M: removed or renamed")
    (problem,) = incompatibilities(
        "message M { oneof o { int32 a = 1; } }",
        "message M { oneof o { int32 a = 1; string b = 2; } }",
    )
    assert problem.startswith("message acme.M, oneof 'o': field 'b' (2) removed from the oneof")
    (problem,) = incompatibilities(
        "message M { Inner i = 1; message Inner { string x = 1; } }",
        "message M { Inner i = 1; message Inner { int32 x = 1; } }",
    )
    assert problem.startswith(
        "message acme.M.Inner, field 'x' (1): type changed from int32 to string"
    )


def test_backward_and_forward_are_the_two_directions() -> None:
    old = parse(P2 + "message M { optional int32 a = 1; }")
    new = parse(P2 + "message M { optional int32 a = 1; required int32 b = 2; }")
    assert new.incompatibilities(old)
    assert old.incompatibilities(new)
    old = parse("message M { int32 a = 1; }")
    new = parse("message M { int32 a = 1; } message N { string s = 1; }")
    assert new.incompatibilities(old) == []  # BACKWARD: message added
    assert old.incompatibilities(new)  # FORWARD: old lacks N


# --------------------------------------------------------------------------- references


CUSTOMER_V1 = 'syntax = "proto3";\npackage shop;\nmessage Customer { int32 id = 1; }\n'
CUSTOMER_V2 = (
    'syntax = "proto3";\npackage shop;\nmessage Customer { int64 id = 1; string name = 2; }\n'
)
CUSTOMER_V3 = 'syntax = "proto3";\npackage shop;\nmessage Customer { string id = 1; }\n'
ORDER = 'import "customer.proto";\nmessage Order { shop.Customer customer = 1; }\n'


def test_imports_resolve_to_references() -> None:
    v1 = parse(ORDER, {"customer.proto": CUSTOMER_V1})
    v2 = parse(ORDER, {"customer.proto": CUSTOMER_V2})
    v3 = parse(ORDER, {"customer.proto": CUSTOMER_V3})
    assert v2.incompatibilities(v1) == []
    assert v3.incompatibilities(v1) == [
        "message shop.Customer, field 'id' (1): type changed from int32 to string, "
        "which is not wire-compatible (varint vs length-delimited encoding)"
    ]


def test_references_of_references() -> None:
    address = 'syntax = "proto3";\npackage shop;\nmessage Address { string city = 1; }\n'
    customer = 'syntax = "proto3";\npackage shop;\nimport "address.proto";\nmessage Customer { Address a = 1; }\n'
    parsed = parse(ORDER, {"customer.proto": customer, "address.proto": address})
    assert parsed.incompatibilities(parsed) == []


def test_types_from_well_known_imports() -> None:
    text = (
        'import "google/protobuf/timestamp.proto";\nimport "google/protobuf/wrappers.proto";\n'
        "message M { google.protobuf.Timestamp at = 1; google.protobuf.StringValue note = 2; }\n"
    )
    parse(text)


# --------------------------------------------------------------------------- invalid schemas


@pytest.mark.parametrize(
    ("text", "references", "expected"),
    [
        ("message M { int32 a = ; }", {}, "syntax error at line 3:23: missing INT_LITERAL at ';'"),
        ("messag M { int32 a = 1; }", {}, "syntax error at line 3:1: extraneous input 'messag'"),
        ("message M { int32 a = 1 }", {}, "syntax error at line 3"),
        ('message M { string s = 1; } "unterminated', {}, "syntax error"),
        ("message M { strng a = 1; }", {}, "message acme.M, field 'a': unknown type 'strng'"),
        ("message M { Missing a = 1; }", {}, "unknown type 'Missing'"),
        ("message M { google.protobuf.Timestamp t = 1; }", {}, "unknown type 'google.protobuf.Timestamp'"),
        ('import "customer.proto";\nmessage M { int32 a = 1; }', {},
         "import 'customer.proto' is neither one of the schema's references nor a well-known file"),
        ('import "customer.proto";\nmessage M { int32 a = 1; }', {"customer.proto": "message {"},
         "reference 'customer.proto': syntax error at line 1"),
        ("message M { int32 a = 1; string b = 1; }", {}, "field number 1 is already used by 'a'"),
        ("message M { int32 a = 1; string a = 2; }", {}, "field 'a': a field of that name already exists"),
        ("message M { reserved 2 to 4; int32 a = 3; }", {}, "uses a reserved field name or number (3)"),
        ('message M { reserved "a"; int32 a = 3; }', {}, "uses a reserved field name or number"),
        ("message M { int32 a = 0; }", {}, "field number 0 is outside"),
        ("message M { int32 a = 19000; }", {}, "reserved by protobuf"),
        ("message M { required int32 a = 1; }", {}, "required fields are not allowed in proto3"),
        ("message M { map<double, string> a = 1; }", {}, "syntax error"),
        ("message M { map<M, string> a = 1; }", {}, "syntax error"),
        ("message M { int32 a = 1; } message M { int32 b = 1; }", {}, "acme.M is declared twice"),
        ('syntax = "proto4"; message M { int32 a = 1; }', {}, "unknown syntax 'proto4'"),
    ],
)  # fmt: skip
def test_invalid_schemas(text: str, references: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidSchema) as info:
        parse(text, references)
    assert expected in str(info.value)


# --------------------------------------------------------------------------- canonical form


def test_canonical_ignores_comments_and_layout() -> None:
    a = parse(
        'syntax = "proto3";\npackage acme;\n\n// A message.\nmessage M {\n'
        "  int32 a = 1; // the a\n  /* the b */ repeated string b = 2 [deprecated = true];\n"
        "  map<string, int64> m = 3;\n  oneof o { string x = 4; bytes y = 5; }\n}\n"
    )
    b = parse(
        "syntax='proto3';package acme;message M{int32 a=1;repeated string b=2[deprecated=true];"
        "map<string,int64>m=3;oneof o{string x=4;bytes y=5;}}"
    )
    assert a.canonical == b.canonical
    assert a.canonical == (
        'syntax = "proto3";\npackage acme;\nmessage M {\n  int32 a = 1;\n'
        "  repeated string b = 2 [deprecated = true];\n  map<string, int64> m = 3;\n"
        "  oneof o {\n    string x = 4;\n    bytes y = 5;\n  }\n}\n"
    )


def test_canonical_is_a_schema_with_the_same_canonical_form() -> None:
    text = (
        'syntax = "proto3";\npackage acme;\nimport "google/protobuf/descriptor.proto";\n'
        "extend google.protobuf.FieldOptions { string tag = 50001; }\n"
        'option java_package = "com.acme";\n'
        'message M {\n  option (my.opt) = { a: 1 b: "x" };\n'
        '  int32 a = 1 [(tag) = "t", json_name = "A"];\n  reserved 5 to 9;\n'
        "  enum E { option allow_alias = true; X = 0; Y = 0; Z = -1; }\n}\n"
        "service S { rpc Get(M) returns (stream M); }\n"
    )
    first = parse(text)
    again = parse(first.canonical)
    assert again.canonical == first.canonical
    assert 'option (my.opt) = {\n    a: 1 b: "x"\n  };' in first.canonical
    assert "Z = -1;" in first.canonical


def test_canonical_distinguishes_different_schemas() -> None:
    a = parse("message M { int32 a = 1; }")
    b = parse("message M { int64 a = 1; }")
    assert a.canonical != b.canonical


def test_proto2_groups_extensions_and_services_parse() -> None:
    legacy = (
        'syntax = "proto2";\npackage legacy;\nmessage Old {\n  required int32 id = 1;\n'
        "  optional group Result = 2 { required string url = 3; }\n  extensions 100 to 199;\n"
        "  oneof choice { string s = 10; }\n}\n"
        "extend Old { optional string extra = 100; }\nservice Svc { rpc Call(Old) returns (Old); }\n"
    )
    old = parse(legacy)
    assert old.incompatibilities(old) == []
    # a proto3 schema may import a proto2 file with required fields
    main = parse(
        'import "legacy.proto";\nmessage N { legacy.Old o = 1; }', {"legacy.proto": legacy}
    )
    assert main.incompatibilities(main) == []
    changed = legacy.replace(
        "required string url = 3;", "required bytes url = 3; optional int32 n = 4;"
    )
    assert parse(changed).incompatibilities(old) == []
    changed = legacy.replace("required string url = 3;", "required int64 url = 3;")
    (problem,) = parse(changed).incompatibilities(old)
    assert problem.startswith(
        "message legacy.Old.Result, field 'url' (3): type changed from string"
    )
