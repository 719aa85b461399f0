"""Why an append or a read was refused; the protocol layer maps each to a Kafka error code."""


class StorageError(Exception):
    """Base: a refusal the client can act on."""


class CorruptRecordSet(StorageError):
    pass


class RecordTooLarge(StorageError):
    pass


class NotLeader(StorageError):
    pass


class UnknownPartition(StorageError):
    pass


class OutOfOrderSequence(StorageError):
    pass


class InvalidProducerEpoch(StorageError):
    pass


class OffsetOutOfRange(StorageError):
    pass


class BufferFull(StorageError):
    """The write buffer is at its limit (object store or catalogue behind); retry later."""


class StorageUnavailable(StorageError):
    pass
