"""Pydantic bodies of the REST API, so /openapi.json describes every request and response."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs it, not typing's, before 3.12


class Error(BaseModel):
    error: str
    message: str


class TopicCreate(BaseModel):
    name: str = Field(min_length=1, max_length=249, examples=["orders"])
    partitions: int = Field(default=1, ge=1, le=10_000)
    config: dict[str, str] = Field(default_factory=dict)


class TopicUpdate(BaseModel):
    partitions: int | None = Field(default=None, ge=1, le=10_000, description="new, larger count")
    config: dict[str, str | None] | None = Field(
        default=None, description="keys to set; a null value removes the override"
    )


class Topic(BaseModel):
    name: str
    id: str
    partitions: int
    config: dict[str, str]
    created_at: int
    records: int = 0
    size_bytes: int = 0
    written: int = Field(
        default=0, description="records ever written (the sum of the high watermarks): its"
        " change between two reads is the topic's throughput, on every agent alike")
    last_append_at: int = Field(default=0, description="ms; the latest flush of any partition")


class TopicConfig(BaseModel):
    name: str
    value: str
    source: Literal["topic", "default"]


class Partition(BaseModel):
    partition: int
    leader_agent: str | None
    leader_epoch: int
    low_watermark: int
    high_watermark: int
    size_bytes: int
    records: int
    last_append_at: int


class Header(BaseModel):
    key: str
    value: str | None = None
    encoding: Literal["text", "base64"] = Field(
        default="text", description="how `value` is written: UTF-8 text, or base64 for bytes"
    )


# The produce body is validated as TypedDicts, not models: a 500-record request built 500
# model instances, which cost more than the write itself. The route reads the raw body
# (records.py) and /openapi.json gets these schemas from openapi_components().
class ProduceHeader(TypedDict):
    key: str
    value: NotRequired[str | None]
    encoding: NotRequired[
        Annotated[
            Literal["text", "base64"],
            Field(description="how `value` is written: UTF-8 text (default), or base64 for bytes"),
        ]
    ]


class ProduceRecord(TypedDict):
    key: NotRequired[str | None]
    key_encoding: NotRequired[Literal["text", "base64"]]
    value: NotRequired[str | dict | list | int | float | bool | None]  # type: ignore[type-arg]
    encoding: NotRequired[
        Annotated[
            Literal["text", "json", "base64"],
            Field(description="text (default), json (any JSON value, stored as JSON), base64"),
        ]
    ]
    headers: NotRequired[list[ProduceHeader]]
    value_schema_id: NotRequired[
        Annotated[int, Field(ge=0, le=2**31 - 1, description="write `value` (JSON) with this registered"
                             " schema, in the registry's wire format")] | None]
    value_subject: NotRequired[
        Annotated[str, Field(description="... or with this subject's latest schema")] | None]
    partition: NotRequired[Annotated[int, Field(ge=0)] | None]
    timestamp: NotRequired[
        Annotated[int, Field(ge=0, le=2**63 - 1, description="ms since the epoch")] | None
    ]


class ProduceRequest(TypedDict):
    topic: Annotated[str, Field(min_length=1)]
    records: Annotated[list[ProduceRecord], Field(min_length=1, max_length=10_000)]


PRODUCE_REQUEST = TypeAdapter(ProduceRequest)


def openapi_components() -> dict[str, dict[str, object]]:
    """JSON schemas of the bodies that routes validate themselves, for /openapi.json."""
    schema = PRODUCE_REQUEST.json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "ProduceRequest": schema}


class ProducedRecord(BaseModel):
    partition: int
    offset: int


class ProduceResponse(BaseModel):
    topic: str
    ack_mode: Literal["none", "buffered", "durable"]
    records: list[ProducedRecord]


class Decoded(BaseModel):
    schema_id: int
    schema_type: str = Field(description="AVRO, JSON or PROTOBUF; empty if the id is unknown")
    value: object = Field(default=None, description="the value read with its schema, as JSON")
    error: str | None = Field(default=None, description="why it could not be read")


class ConsumedRecord(BaseModel):
    partition: int
    offset: int
    timestamp: int
    key: str | None
    key_encoding: Literal["text", "base64"]
    value: str | None
    value_encoding: Literal["text", "base64"]
    headers: list[Header]
    key_decoded: Decoded | None = Field(
        default=None, description="with decode=true, a key in the registry's wire format")
    value_decoded: Decoded | None = Field(
        default=None, description="with decode=true, a value in the registry's wire format")


class ConsumeResponse(BaseModel):
    topic: str
    partition: int
    next_offset: int
    high_watermark: int
    records: list[ConsumedRecord]


class MessagePage(BaseModel):
    topic: str
    records: list[ConsumedRecord] = Field(description="by timestamp, then partition, offset")
    before: str = Field(description="cursor of the older page (direction=backward)")
    after: str = Field(description="cursor of the newer page (direction=forward)")
    has_older: bool
    has_newer: bool = Field(description="records past `after` now; a live tail polls anyway")
    scanned: int = Field(description="records read to find these")
    low_watermarks: dict[str, int]
    high_watermarks: dict[str, int]


class Agent(BaseModel):
    id: str
    broker_id: int
    host: str
    port: int
    rack: str | None
    group: str
    started_at: int
    heartbeat_at: int
    uptime_seconds: float
    healthy: bool
    partitions_led: int
    bytes_written: float = Field(description="since it started (others': as of their last heartbeat)")
    records_written: float


class Lease(BaseModel):
    topic: str
    partition: int
    epoch: int
    expires_at: int = Field(description="ms since the epoch; renewed every TTL/3")


class AgentDetail(Agent):
    leases: list[Lease] = Field(description="partitions this agent leads, with their epochs")


class GroupSummary(BaseModel):
    group_id: str
    state: str
    protocol_type: str
    members: int
    total_lag: int


class TopicAssignment(BaseModel):
    topic: str
    partitions: list[int]


class GroupMember(BaseModel):
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    assignment: list[TopicAssignment] = Field(
        default_factory=list, description="what the group's leader assigned this member"
    )


class PartitionLagModel(BaseModel):
    topic: str
    partition: int
    committed_offset: int
    high_watermark: int
    lag: int


class GroupDetail(BaseModel):
    group_id: str
    state: str
    protocol_type: str
    protocol: str
    members: list[GroupMember]
    offsets: list[PartitionLagModel]
    total_lag: int


class OffsetReset(BaseModel):
    strategy: Literal["earliest", "latest", "specific", "timestamp"]
    topic: str | None = None
    partition: int | None = Field(default=None, ge=0)
    offset: int | None = Field(default=None, ge=0, description="for strategy=specific")
    timestamp: int | None = Field(default=None, ge=0, description="ms, for strategy=timestamp")
    dry_run: bool = Field(default=False, description="answer the new offsets, commit nothing")


class Seek(BaseModel):
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class LagPoint(BaseModel):
    t: int = Field(description="ms since the epoch")
    lag: int = Field(description="the group's total lag then")


class OffsetsChanged(BaseModel):
    group_id: str
    dry_run: bool = False
    offsets: list[PartitionLagModel]


class Point(BaseModel):
    t: int
    produce_records_per_s: float
    produce_bytes_per_s: float
    fetch_bytes_per_s: float
    fetch_records_per_s: float = 0.0


class MetricsSummary(BaseModel):
    topics: int
    partitions: int
    produce_records_total: float
    produce_bytes_total: float
    fetch_bytes_total: float
    storage_bytes: int
    series: list[Point]


class Cluster(BaseModel):
    cluster_id: str
    agents_healthy: int
    agents_stale: int
    agents: list[Agent]
    partitions: int
    partitions_per_agent: dict[str, int]
    storage_bytes: int


class Health(BaseModel):
    status: str


class RateLimit(BaseModel):
    current: float = Field(description="requests a second allowed now")
    max: float = Field(description="the configured ceiling")


class ObjectStoreHealth(BaseModel):
    breaker: str = Field(description="closed, open or half_open")
    consecutive_failures: int
    retry_after_s: float = Field(description="until a call may go through (0: now)")
    rates: dict[str, RateLimit] = Field(description="per operation: put, get, delete")


class Whoami(BaseModel):
    auth: bool = Field(description="whether this agent requires credentials")
    principal: str
    kind: str = Field(description="anonymous, api_key, scram_user or platform_admin")
    scope: str | None = Field(description="admin, read-write or read-only; null: no limit")
    org_id: str
    org_slug: str
    org_name: str
    platform_admin: bool
    can_write: bool = Field(description="whether writes (create, produce, delete) are allowed")


class Ready(BaseModel):
    status: str
    catalogue: str
    objects: str


class OrganizationCreate(BaseModel):
    slug: str = Field(min_length=1, max_length=63, examples=["acme"])
    name: str | None = None
    plan: str = "free"


class OrganizationUpdate(BaseModel):
    name: str | None = None
    plan: str | None = None
    status: Literal["active", "suspended"] | None = None


class Acl(BaseModel):
    resource_type: str = Field(examples=["TOPIC"], description="TOPIC, GROUP, CLUSTER,"
                               " TRANSACTIONAL_ID, DELEGATION_TOKEN or USER")
    resource_name: str = Field(examples=["orders"])
    pattern_type: str = Field(default="LITERAL", description="LITERAL or PREFIXED")
    principal: str = Field(examples=["User:reader"], description="User:<name> or User:*")
    host: str = "*"
    operation: str = Field(examples=["READ"], description="ALL, READ, WRITE, CREATE, DELETE,"
                           " ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, ...")
    permission: str = Field(default="ALLOW", description="ALLOW or DENY")


class Organization(BaseModel):
    id: str
    slug: str
    name: str
    plan: str
    status: str
    created_at: int


class ApiKeyCreate(BaseModel):
    scope: Literal["admin", "read-write", "read-only"] = "read-write"
    description: str = ""
    expires_at: int | None = Field(default=None, description="ms since the epoch")


class ApiKey(BaseModel):
    id: str = Field(description="the public key id: the SASL username and the Basic user")
    org_id: str
    scope: str
    description: str
    created_at: int
    expires_at: int | None
    revoked: bool


class ApiKeyCreated(ApiKey):
    secret: str = Field(description="shown once: it is kept only as a salted hash")


class Quotas(BaseModel):
    """Quotas by client id ("" for the organization's own): name -> value. Rates:
    producer_byte_rate and consumer_byte_rate (bytes/s), request_rate (requests/s);
    counts: topics, partitions, storage_bytes."""

    org_id: str
    quotas: dict[str, dict[str, float]]


class QuotaSet(BaseModel):
    client_id: str = Field(default="", description='"" sets the organization\'s own quota')
    name: Literal["producer_byte_rate", "consumer_byte_rate", "request_rate", "topics",
                  "partitions", "storage_bytes", "connections"]
    value: float | None = Field(default=None, description="null removes the quota")


class Usage(BaseModel):
    org_id: str
    topics: int
    partitions: int
    records: int
    storage_bytes: int
    bytes_in: int = Field(description="record bytes produced through this agent since it started")
    bytes_out: int = Field(description="record bytes fetched through this agent since it started")
