"""Topic configuration: the keys StreamHouse honours, their defaults, and validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULTS: dict[str, str] = {
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "max.message.bytes": "1048588",
    "message.timestamp.type": "CreateTime",
    "cleanup.policy": "delete",
    "segment.bytes": "1073741824",
    "min.insync.replicas": "1",
    "compression.type": "producer",
    "confluent.key.schema.validation": "false",
    "confluent.value.schema.validation": "false",
}

_INT_KEYS = {
    "retention.ms",
    "retention.bytes",
    "max.message.bytes",
    "segment.bytes",
    "min.insync.replicas",
}
_CHOICES = {
    "message.timestamp.type": {"CreateTime", "LogAppendTime"},
    "cleanup.policy": {"delete", "compact", "compact,delete", "delete,compact"},
    "compression.type": {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"},
    "confluent.key.schema.validation": {"true", "false"},
    "confluent.value.schema.validation": {"true", "false"},
}


class InvalidConfig(ValueError):
    pass


def validate(config: Mapping[str, str | None]) -> dict[str, str]:
    """Checked topic config overrides; unknown keys are refused like Kafka does."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if key not in DEFAULTS:
            raise InvalidConfig(f"unknown topic config {key!r}")
        if value is None:
            raise InvalidConfig(f"topic config {key!r} needs a value")
        if key in _INT_KEYS:
            try:
                number = int(value)
            except ValueError:
                raise InvalidConfig(
                    f"topic config {key!r} must be an integer, got {value!r}"
                ) from None
            if key in ("max.message.bytes", "segment.bytes", "min.insync.replicas") and number < 1:
                raise InvalidConfig(f"topic config {key!r} must be positive, got {value!r}")
            if key in ("retention.ms", "retention.bytes") and number < -1:
                raise InvalidConfig(f"topic config {key!r} must be -1 or more, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise InvalidConfig(
                f"topic config {key!r} must be one of {sorted(_CHOICES[key])}, got {value!r}"
            )
        out[key] = str(value)
    return out


@dataclass(frozen=True, slots=True)
class TopicSettings:
    retention_ms: int
    retention_bytes: int
    max_message_bytes: int
    log_append_time: bool
    # cleanup.policy includes "delete": retention may drop old data. A "compact"-only
    # topic keeps everything (compaction itself is not done yet), as Kafka never
    # deletes by time or size from a compacted topic.
    delete_retention: bool = True

    @classmethod
    def of(cls, config: dict[str, str]) -> TopicSettings:
        merged = {**DEFAULTS, **config}
        return cls(
            retention_ms=int(merged["retention.ms"]),
            retention_bytes=int(merged["retention.bytes"]),
            max_message_bytes=int(merged["max.message.bytes"]),
            log_append_time=merged["message.timestamp.type"] == "LogAppendTime",
            delete_retention="delete" in merged["cleanup.policy"].split(","),
        )
