"""Protobuf schemas as base64 FileDescriptorProtos, the registry's `format=serialized`.

Confluent's Protobuf serializer may register a schema as a descriptor; `from_serialized`
turns one back into .proto text. Its deserializer (and its serializer resolving
references) asks for schemas with `?format=serialized`; `to_serialized` compiles the
stored .proto text, with the texts of its references, using protoc (grpcio-tools).
"""

from __future__ import annotations

import base64
import binascii
import functools
import tempfile
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError

F = descriptor_pb2.FieldDescriptorProto

_SCALARS = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64", F.TYPE_UINT64: "uint64",
    F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64", F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool",
    F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32",
    F.TYPE_SFIXED32: "sfixed32", F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32",
    F.TYPE_SINT64: "sint64",
}


def from_serialized(text: str) -> str | None:
    """The .proto text of a base64 FileDescriptorProto, or None if `text` is not one."""
    stripped = text.strip()
    if not stripped or any(c.isspace() for c in stripped) or "{" in stripped:
        return None
    try:
        raw = base64.b64decode(stripped, validate=True)
        fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None
    if not fdp.message_type and not fdp.enum_type:
        return None
    return render(fdp)


class DescriptorError(ValueError):
    """protoc refused a schema that the registry had accepted."""


MAIN = "__schema__.proto"


def to_serialized(text: str, references: dict[str, str]) -> str:
    """The base64 FileDescriptorProto of a .proto text whose imports are `references`."""
    files = _compile(text, tuple(sorted(references.items())))
    fdp = descriptor_pb2.FileDescriptorProto.FromString(
        next(f for name, f in files if name == MAIN))
    fdp.ClearField("name")
    return base64.b64encode(fdp.SerializeToString()).decode("ascii")


def descriptor_set(text: str, references: dict[str, str]) -> descriptor_pb2.FileDescriptorSet:
    """The schema's file (named MAIN) and every file it imports, for a descriptor pool."""
    out = descriptor_pb2.FileDescriptorSet()
    for _name, data in _compile(text, tuple(sorted(references.items()))):
        out.file.append(descriptor_pb2.FileDescriptorProto.FromString(data))
    return out


@functools.lru_cache(maxsize=256)
def _compile(text: str, references: tuple[tuple[str, str], ...]
             ) -> tuple[tuple[str, bytes], ...]:
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="sh-proto-") as tmp:
        root = Path(tmp)
        for name, ref_text in references:
            path = root / name
            if not path.resolve().is_relative_to(root.resolve()):
                raise DescriptorError(f"reference name {name!r} leaves the import root")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ref_text)
        main = MAIN
        (root / main).write_text(text)
        out = root / "out.pb"
        well_known = resources.files("grpc_tools") / "_proto"
        code = protoc.main([
            "protoc", f"-I{root}", f"-I{well_known}", "--include_imports",
            f"--descriptor_set_out={out}", main,
        ])
        if code != 0 or not out.exists():
            raise DescriptorError("protoc could not compile the schema")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return tuple((f.name, f.SerializeToString()) for f in files)


def _type_name(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type in _SCALARS:
        return _SCALARS[field.type]
    return str(field.type_name).lstrip(".")


def render(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    syntax = fdp.syntax or "proto2"
    lines = [f'syntax = "{syntax}";']
    if fdp.package:
        lines.append(f"package {fdp.package};")
    lines += [f'import "{dep}";' for dep in fdp.dependency]
    for enum in fdp.enum_type:
        lines += _enum(enum, "")
    for msg in fdp.message_type:
        lines += _message(msg, "", syntax)
    return "\n".join(lines) + "\n"


def _enum(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> list[str]:
    out = [f"{indent}enum {enum.name} {{"]
    out += [f"{indent}  {v.name} = {v.number};" for v in enum.value]
    out.append(f"{indent}}}")
    return out


def _message(msg: descriptor_pb2.DescriptorProto, indent: str, syntax: str) -> list[str]:
    out = [f"{indent}message {msg.name} {{"]
    inner = indent + "  "
    maps = {n.name: n for n in msg.nested_type if n.options.map_entry}
    for nested in msg.nested_type:
        if not nested.options.map_entry:
            out += _message(nested, inner, syntax)
    for enum in msg.enum_type:
        out += _enum(enum, inner)
    oneofs: dict[int, list[str]] = {}
    for field in msg.field:
        entry = maps.get(field.type_name.rsplit(".", 1)[-1]) if field.type == F.TYPE_MESSAGE else None
        if entry is not None and field.label == F.LABEL_REPEATED:
            key, value = entry.field[0], entry.field[1]
            out.append(f"{inner}map<{_type_name(key)}, {_type_name(value)}> {field.name} = {field.number};")
            continue
        decl = f"{_type_name(field)} {field.name} = {field.number};"
        if field.HasField("oneof_index") and not field.proto3_optional:
            oneofs.setdefault(field.oneof_index, []).append(decl)
            continue
        if field.label == F.LABEL_REPEATED:
            decl = "repeated " + decl
        elif field.label == F.LABEL_REQUIRED:
            decl = "required " + decl
        elif syntax == "proto2" or field.proto3_optional:
            decl = "optional " + decl
        out.append(inner + decl)
    for index, decls in oneofs.items():
        out.append(f"{inner}oneof {msg.oneof_decl[index].name} {{")
        out += [f"{inner}  {d}" for d in decls]
        out.append(f"{inner}}}")
    out.append(f"{indent}}}")
    return out
