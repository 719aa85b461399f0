"""Storage and catalogue refusals mapped to Kafka error codes (kio's ErrorCode registry)."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from coordinator.catalogue import InvalidPartitions, TopicExists, UnknownTopic
from coordinator.sql import CatalogueUnavailable
from storage import errors as se
from storage.objectstore import ObjectStoreError
from storage.topic_config import InvalidConfig

_MAP: list[tuple[type[BaseException], ErrorCode]] = [
    (se.CorruptRecordSet, ErrorCode.corrupt_message),
    (se.RecordTooLarge, ErrorCode.message_too_large),
    (se.NotLeader, ErrorCode.not_leader_or_follower),
    (se.UnknownPartition, ErrorCode.unknown_topic_or_partition),
    (se.OutOfOrderSequence, ErrorCode.out_of_order_sequence_number),
    (se.InvalidProducerEpoch, ErrorCode.invalid_producer_epoch),
    (se.OffsetOutOfRange, ErrorCode.offset_out_of_range),
    (se.BufferFull, ErrorCode.kafka_storage_error),
    (se.StorageUnavailable, ErrorCode.kafka_storage_error),
    (ObjectStoreError, ErrorCode.kafka_storage_error),
    (CatalogueUnavailable, ErrorCode.kafka_storage_error),
    (TopicExists, ErrorCode.topic_already_exists),
    (UnknownTopic, ErrorCode.unknown_topic_or_partition),
    (InvalidPartitions, ErrorCode.invalid_partitions),
    (InvalidConfig, ErrorCode.invalid_config),
    (TimeoutError, ErrorCode.request_timed_out),
]


def error_code(exc: BaseException) -> ErrorCode:
    for cls, code in _MAP:
        if isinstance(exc, cls):
            return code
    return ErrorCode.unknown_server_error
