"""Prometheus metrics of the Kafka listener."""

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("streamhouse_connections_active", "Open Kafka connections")
REQUESTS = Counter("streamhouse_requests_total", "Kafka requests handled", ["api"])
REQUEST_ERRORS = Counter(
    "streamhouse_request_errors_total", "Kafka error codes returned", ["api", "error"]
)
REQUEST_LATENCY = Histogram(
    "streamhouse_request_latency_seconds",
    "Kafka request latency",
    ["api"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
