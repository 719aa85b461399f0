"""Prometheus metrics of the storage layer (`streamhouse_*`); cheap to update on hot paths."""

from prometheus_client import Counter, Gauge, Histogram

OBJECT_REQUESTS = Counter(
    "streamhouse_s3_requests_total", "Object store requests (S3 or the local folder)", ["operation"]
)
OBJECT_ERRORS = Counter(
    "streamhouse_s3_errors_total", "Object store requests that failed", ["operation"]
)
OBJECT_LATENCY = Histogram(
    "streamhouse_s3_latency_seconds",
    "Object store request latency",
    ["operation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
FLUSH_BYTES = Histogram(
    "streamhouse_flush_bytes",
    "Bytes per flush object",
    buckets=(1024, 16384, 131072, 1048576, 4194304, 8388608, 16777216, 67108864),
)
FLUSH_DURATION = Histogram(
    "streamhouse_flush_duration_seconds",
    "Time to upload and commit one flush",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FLUSH_FAILURES = Counter(
    "streamhouse_flush_failures_total", "Flushes that failed and will be retried"
)
BUFFER_BYTES = Gauge("streamhouse_write_buffer_bytes", "Bytes waiting in the write buffer")
WAL_BYTES = Gauge("streamhouse_wal_size_bytes", "Size of the write-ahead log")
WAL_SYNC = Histogram(
    "streamhouse_wal_sync_duration_seconds",
    "Time of one WAL fsync",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
)
WAL_RECOVERED = Counter(
    "streamhouse_wal_records_recovered_total", "WAL batches replayed at start", ["outcome"]
)
PRODUCE_RECORDS = Counter("streamhouse_producer_records_total", "Records appended", ["org", "topic"])
PRODUCE_BYTES = Counter("streamhouse_producer_bytes_total", "Record-set bytes appended", ["org", "topic"])
FETCH_BYTES = Counter("streamhouse_fetch_bytes_total", "Record-set bytes served", ["org", "topic"])
FETCH_RECORDS = Counter("streamhouse_fetch_records_total", "Records served by fetches", ["org", "topic"])
CACHE_HITS = Counter(
    "streamhouse_read_cache_hits_total", "Fetch reads served from memory", ["tier"]
)
CACHE_BYTES = Gauge(
    "streamhouse_read_cache_bytes", "Bytes held by the read caches (bounded by their capacity)",
    ["tier"],
)
CACHE_MISSES = Counter("streamhouse_read_cache_misses_total", "Fetch reads that went to the store")
RETENTION_DELETED = Counter(
    "streamhouse_retention_deleted_chunks_total", "Chunks removed by retention"
)
PARTITIONS_LED = Gauge("streamhouse_partitions_led", "Partitions this agent leads")
LEADER_CHANGES = Counter(
    "streamhouse_leader_changes_total", "Partition leadership gained or lost by this agent",
    ["reason"],
)
CONSUMER_LAG = Gauge(
    "streamhouse_consumer_lag_records", "Records between a group's committed offset and the high watermark",
    ["org", "group", "topic", "partition"],
)
PRODUCER_LATENCY = Histogram(
    "streamhouse_producer_latency_seconds", "Produce request latency until its acks are met",
    ["acks"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
THROTTLE_DECISIONS = Counter(
    "streamhouse_throttle_decisions_total",
    "Object store calls by throttle decision (allow, rate_limited, rejected, circuit_open)",
    ["operation", "decision"],
)
THROTTLE_RATE = Gauge(
    "streamhouse_throttle_rate_current",
    "Current object store request rate limit (requests per second)",
    ["operation"],
)
THROTTLE_BACKOFFS = Counter(
    "streamhouse_throttle_backoffs_total",
    "Rate limit decreases after a throttling answer (503, 429, SlowDown)",
    ["operation"],
)
BREAKER_STATE = Gauge(
    "streamhouse_circuit_breaker_state",
    "Object store circuit breaker state: 1 for the current state, 0 for the others",
    ["state"],
)
BREAKER_TRANSITIONS = Counter(
    "streamhouse_circuit_breaker_transitions_total",
    "Object store circuit breaker state changes",
    ["from_state", "to_state"],
)


def counter_total(counter: Counter) -> float:
    """The sum of a counter over all its label values."""
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))
