"""What every schema type (Avro, JSON Schema, Protobuf) provides to the registry.

A type parses schema text (with the texts of the schemas it references) into a
`ParsedSchema`, which has a canonical form (for deduplication: one id per
distinct schema) and can tell whether it, as the *reader*, can read data
written with another schema of its type, as the *writer*.
Sans-io: no catalogue, no HTTP here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class InvalidSchema(ValueError):
    """The schema text is not a valid schema of its type; the message points at the problem."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference as Confluent's API gives it: the name used in the schema, and its subject/version."""

    name: str
    subject: str
    version: int


class ParsedSchema(Protocol):
    @property
    def canonical(self) -> str:
        """A normal form: two schemas with the same canonical form are the same schema."""
        ...

    def incompatibilities(self, writer: ParsedSchema) -> list[str]:
        """Why this schema, reading, cannot read data written with `writer` ([] if it can)."""
        ...


class SchemaType(Protocol):
    name: str  # "AVRO", "JSON" or "PROTOBUF", as Confluent spells schemaType

    def parse(self, text: str, references: dict[str, str]) -> ParsedSchema:
        """Parse `text`; `references` maps each reference name to the referenced schema's text.

        Raises InvalidSchema with a message a person can act on.
        """
        ...
