"""One root for the broker's domain errors: each class carries its Kafka error code, its
HTTP status and REST error name, and whether a client may retry (aiokafka's `errors.py` is
the model: a class per condition, a lookup by code).

Lower layers (`storage/`, `coordinator/`) raise their own exceptions; `translate` maps
them here once, so a front door only ever maps a BrokerError to its wire format.
"""

from __future__ import annotations

from typing import ClassVar

from kio.schema.errors import ErrorCode

from coordinator.catalogue import InvalidPartitions as _InvalidPartitions
from coordinator.catalogue import TopicExists as _TopicExists
from coordinator.catalogue import UnknownTopic as _UnknownTopic
from coordinator.sql import CatalogueUnavailable as _CatalogueUnavailable
from storage import errors as _se
from storage.objectstore import ObjectStoreError as _ObjectStoreError
from storage.topic_config import InvalidConfig as _InvalidConfig


class BrokerError(Exception):
    """A refusal or failure a client is told about, with the message a person can act on."""

    kafka_code: ClassVar[ErrorCode] = ErrorCode.unknown_server_error
    http_status: ClassVar[int] = 500
    http_code: ClassVar[str] = "internal_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def retriable(self) -> bool:
        return bool(self.kafka_code.retriable)


class UnknownServerError(BrokerError):
    pass


# -- topics and partitions ------------------------------------------------------------------


class UnknownTopicOrPartition(BrokerError):
    # A foreign organization's topic answers exactly like this one (DESIGN.md §13).
    kafka_code = ErrorCode.unknown_topic_or_partition
    http_status, http_code = 404, "topic_not_found"


class UnknownPartition(UnknownTopicOrPartition):
    http_code = "partition_not_found"


class TopicAlreadyExists(BrokerError):
    kafka_code = ErrorCode.topic_already_exists
    http_status, http_code = 409, "topic_exists"


class InvalidTopic(BrokerError):
    kafka_code = ErrorCode.invalid_topic_exception
    http_status, http_code = 422, "invalid_topic_name"


class InvalidPartitions(BrokerError):
    kafka_code = ErrorCode.invalid_partitions
    http_status, http_code = 422, "invalid_partitions"


class InvalidReplicationFactor(BrokerError):
    kafka_code = ErrorCode.invalid_replication_factor
    http_status, http_code = 422, "invalid_replication_factor"


class InvalidConfig(BrokerError):
    kafka_code = ErrorCode.invalid_config
    http_status, http_code = 422, "invalid_config"


class InvalidRequest(BrokerError):
    kafka_code = ErrorCode.invalid_request
    http_status, http_code = 422, "invalid_request"


# -- produce and fetch ----------------------------------------------------------------------


class CorruptRecord(BrokerError):
    kafka_code = ErrorCode.corrupt_message
    http_status, http_code = 400, "invalid_records"


class RecordTooLarge(BrokerError):
    kafka_code = ErrorCode.message_too_large
    http_status, http_code = 413, "record_too_large"


class InvalidRecord(BrokerError):
    """A record refused by a topic policy (schema validation)."""

    kafka_code = ErrorCode.invalid_record
    http_status, http_code = 422, "schema_validation_failed"

    def __init__(self, message: str, *, batch_index: int = 0) -> None:
        super().__init__(message)
        self.batch_index = batch_index


class InvalidRequiredAcks(BrokerError):
    kafka_code = ErrorCode.invalid_required_acks
    http_status, http_code = 422, "invalid_request"


class NotLeaderOrFollower(BrokerError):
    kafka_code = ErrorCode.not_leader_or_follower
    http_status, http_code = 503, "not_leader"


class OutOfOrderSequence(BrokerError):
    kafka_code = ErrorCode.out_of_order_sequence_number
    http_status, http_code = 409, "out_of_order_sequence"


class InvalidProducerEpoch(BrokerError):
    kafka_code = ErrorCode.invalid_producer_epoch
    http_status, http_code = 409, "invalid_producer_epoch"


class OffsetOutOfRange(BrokerError):
    kafka_code = ErrorCode.offset_out_of_range
    http_status, http_code = 416, "offset_out_of_range"


class Backpressure(BrokerError):
    """The write buffer is at its limit (the object store or catalogue is behind)."""

    kafka_code = ErrorCode.kafka_storage_error
    http_status, http_code = 503, "backpressure"


class StorageUnavailable(BrokerError):
    """The object store or the catalogue failed; the request may be retried."""

    kafka_code = ErrorCode.kafka_storage_error
    http_status, http_code = 503, "storage_unavailable"


class RequestTimedOut(BrokerError):
    kafka_code = ErrorCode.request_timed_out
    http_status, http_code = 503, "timeout"


# -- groups ---------------------------------------------------------------------------------


class NotCoordinator(BrokerError):
    kafka_code = ErrorCode.not_coordinator
    http_status, http_code = 503, "coordinator_unavailable"


class CoordinatorUnavailable(BrokerError):
    kafka_code = ErrorCode.coordinator_not_available
    http_status, http_code = 503, "coordinator_unavailable"


class GroupNotEmpty(BrokerError):
    kafka_code = ErrorCode.non_empty_group
    http_status, http_code = 409, "group_not_empty"


class GroupIdNotFound(BrokerError):
    kafka_code = ErrorCode.group_id_not_found
    http_status, http_code = 404, "not_found"


class GroupSubscribedToTopic(BrokerError):
    kafka_code = ErrorCode.group_subscribed_to_topic
    http_status, http_code = 409, "group_subscribed_to_topic"


class TransactionalIdAuthorizationFailed(BrokerError):
    kafka_code = ErrorCode.transactional_id_authorization_failed
    http_status, http_code = 403, "transactional_id_authorization_failed"


# -- tenancy and authorization -------------------------------------------------------------


class AuthenticationFailed(BrokerError):
    kafka_code = ErrorCode.sasl_authentication_failed
    http_status, http_code = 401, "unauthorized"


class UnsupportedSaslMechanism(BrokerError):
    kafka_code = ErrorCode.unsupported_sasl_mechanism
    http_status, http_code = 400, "unsupported_sasl_mechanism"


class NotAuthorized(BrokerError):
    """The caller is known but may not do this (its key's scope, an ACL)."""

    kafka_code = ErrorCode.cluster_authorization_failed
    http_status, http_code = 403, "forbidden"


class TopicAuthorizationFailed(NotAuthorized):
    kafka_code = ErrorCode.topic_authorization_failed


class GroupAuthorizationFailed(NotAuthorized):
    kafka_code = ErrorCode.group_authorization_failed


class ClusterAuthorizationFailed(NotAuthorized):
    kafka_code = ErrorCode.cluster_authorization_failed


class UnknownOrganization(BrokerError):
    http_status, http_code = 404, "not_found"


class UnknownApiKey(BrokerError):
    http_status, http_code = 404, "not_found"


class PolicyViolation(BrokerError):
    """A count quota (topics, partitions, storage) would be exceeded."""

    kafka_code = ErrorCode.policy_violation
    http_status, http_code = 403, "quota_exceeded"


class QuotaExceeded(BrokerError):
    """Over a rate quota over HTTP: retry after the time given."""

    kafka_code = ErrorCode.throttling_quota_exceeded
    http_status, http_code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class ResourceNotFound(BrokerError):
    kafka_code = ErrorCode.resource_not_found
    http_status, http_code = 404, "not_found"


class DuplicateResource(BrokerError):
    kafka_code = ErrorCode.duplicate_resource
    http_status, http_code = 409, "duplicate_resource"


class UnacceptableCredential(BrokerError):
    kafka_code = ErrorCode.unacceptable_credential
    http_status, http_code = 422, "unacceptable_credential"


class SecurityDisabled(BrokerError):
    kafka_code = ErrorCode.security_disabled
    http_status, http_code = 409, "security_disabled"  # the agent runs without logins


class AlreadyExists(BrokerError):
    http_status, http_code = 409, "already_exists"


_BY_CODE: dict[ErrorCode, type[BrokerError]] = {}
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, BrokerError):
        _BY_CODE.setdefault(_cls.kafka_code, _cls)


def for_code(code: ErrorCode, message: str = "") -> BrokerError:
    """The error of a Kafka code (an answer from another agent, a coordinator's verdict)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        error = UnknownServerError(message or code.name)
        return error
    return cls(message or code.name)


# What the lower layers raise, and what it means to a client.
_LOWER: list[tuple[type[BaseException], type[BrokerError]]] = [
    (_se.CorruptRecordSet, CorruptRecord),
    (_se.RecordTooLarge, RecordTooLarge),
    (_se.NotLeader, NotLeaderOrFollower),
    (_se.UnknownPartition, UnknownPartition),
    (_se.OutOfOrderSequence, OutOfOrderSequence),
    (_se.InvalidProducerEpoch, InvalidProducerEpoch),
    (_se.OffsetOutOfRange, OffsetOutOfRange),
    (_se.BufferFull, Backpressure),
    (_se.StorageUnavailable, StorageUnavailable),
    (_ObjectStoreError, StorageUnavailable),
    (_CatalogueUnavailable, StorageUnavailable),
    (_TopicExists, TopicAlreadyExists),
    (_UnknownTopic, UnknownTopicOrPartition),
    (_InvalidPartitions, InvalidPartitions),
    (_InvalidConfig, InvalidConfig),
    (TimeoutError, RequestTimedOut),
]


def _catalogue_driver_error(exc: BaseException) -> bool:
    """A connection or server error of the catalogue's drivers (asyncpg, sqlite3) that they
    raise as their own: the catalogue is unreachable or failing, which a client may retry."""
    module = type(exc).__module__
    return isinstance(exc, OSError) or module.startswith(("asyncpg", "sqlite3", "aiosqlite"))


def translate(exc: BaseException) -> BrokerError:
    """The BrokerError a lower layer's exception stands for (UnknownServerError if none)."""
    if isinstance(exc, BrokerError):
        return exc
    for lower, cls in _LOWER:
        if isinstance(exc, lower):
            error = cls(str(exc) or type(exc).__name__)
            error.__cause__ = exc
            return error
    if _catalogue_driver_error(exc):
        unavailable = StorageUnavailable(f"the catalogue failed: {exc or type(exc).__name__}")
        unavailable.__cause__ = exc
        return unavailable
    error = UnknownServerError(f"internal error: {type(exc).__name__}")
    error.__cause__ = exc
    return error


def is_known(exc: BaseException) -> bool:
    """Whether an exception is a domain condition (as opposed to a bug to log loudly)."""
    return (isinstance(exc, BrokerError) or any(isinstance(exc, lower) for lower, _ in _LOWER)
            or _catalogue_driver_error(exc))
