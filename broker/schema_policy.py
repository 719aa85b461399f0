"""Broker-side schema validation (Confluent Server's `confluent.{key,value}.schema.validation`).

A record of a validated topic must start with magic byte 0 and the id of a schema
registered under the topic's subject (`<topic>-key` / `<topic>-value`). Only the
5-byte prefix of each key or value is read; topics without validation never get here.
"""

from __future__ import annotations

import struct
import time

from coordinator.registry import RegistryStore
from storage.recordbatch import InvalidBatch, key_value_prefixes

KEY_VALIDATION = "confluent.key.schema.validation"
VALUE_VALIDATION = "confluent.value.schema.validation"
CACHE_SECONDS = 5.0


def wants_validation(config: dict[str, str]) -> tuple[bool, bool]:
    return (config.get(KEY_VALIDATION, "false").lower() == "true",
            config.get(VALUE_VALIDATION, "false").lower() == "true")


class SchemaValidator:
    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self._ids: dict[tuple[str, str], tuple[float, set[int]]] = {}  # (org, subject)

    async def _valid_ids(self, org_id: str, subject: str, *, refresh: bool = False) -> set[int]:
        cached = self._ids.get((org_id, subject))
        if cached is not None and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        ids = {v.schema_id for v in await self.store.versions(subject, org_id=org_id)}
        self._ids[(org_id, subject)] = (time.monotonic(), ids)
        return ids

    async def check(self, org_id: str, topic: str, config: dict[str, str],
                    record_set: bytes) -> str | None:
        """Why the record set is refused, or None when every record carries a valid schema id."""
        keys, values = wants_validation(config)
        if not (keys or values):
            return None
        try:
            prefixes = key_value_prefixes(record_set)
        except InvalidBatch as exc:
            return f"cannot read the records: {exc}"
        for index, key, value in prefixes:
            for on, what, data in ((keys, "key", key), (values, "value", value)):
                if not on:
                    continue
                problem = await self._check_one(org_id, f"{topic}-{what}", data)
                if problem:
                    return f"record {index}: {what} {problem}"
        return None

    async def _check_one(self, org_id: str, subject: str, data: bytes | None) -> str | None:
        if data is None or len(data) < 5:
            return f"is not in the schema registry wire format (needs magic byte 0 and a 4-byte schema id; got {0 if data is None else len(data)} bytes)"
        if data[0] != 0:
            return f"does not start with magic byte 0 (got 0x{data[0]:02x}): it was not serialized with a registered schema"
        (schema_id,) = struct.unpack_from(">i", data, 1)
        if (schema_id in await self._valid_ids(org_id, subject)
                or schema_id in await self._valid_ids(org_id, subject, refresh=True)):
            return None
        return f"names schema id {schema_id}, which is not registered under subject {subject!r}"
