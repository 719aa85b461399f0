"""The record format as the front doors need it: a RecordBatch built from rows (REST
produce) and decoded records (REST consume, SQL later). Kafka clients' batches are never
decoded: the produce and fetch paths pass them through whole."""

from storage.recordbatch import Record, build_batch, decode_records

__all__ = ["Record", "build_batch", "decode_records"]
