-- Core catalogue: organizations, agents, topics, partitions, objects, chunks, producers.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO organizations (id, name, created_at) VALUES ('default', 'default', 0);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    broker_id INTEGER NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    rack TEXT,
    agent_group TEXT NOT NULL DEFAULT 'default',
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE topics (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    partition_count INTEGER NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE partitions (
    topic_id TEXT NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    partition INTEGER NOT NULL,
    leader_agent TEXT,
    leader_epoch INTEGER NOT NULL DEFAULT 0,
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    high_watermark BIGINT NOT NULL DEFAULT 0,
    log_start_offset BIGINT NOT NULL DEFAULT 0,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    last_append_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (topic_id, partition)
);

CREATE TABLE objects (
    key TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE chunks (
    topic_id TEXT NOT NULL,
    partition INTEGER NOT NULL,
    base_offset BIGINT NOT NULL,
    last_offset BIGINT NOT NULL,
    object_key TEXT NOT NULL,
    byte_start BIGINT NOT NULL,
    byte_length BIGINT NOT NULL,
    first_timestamp BIGINT NOT NULL,
    max_timestamp BIGINT NOT NULL,
    record_count BIGINT NOT NULL,
    PRIMARY KEY (topic_id, partition, base_offset)
);
CREATE INDEX chunks_object ON chunks (object_key);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('producer_id', 1000);

CREATE TABLE producer_states (
    topic_id TEXT NOT NULL,
    partition INTEGER NOT NULL,
    producer_id BIGINT NOT NULL,
    producer_epoch INTEGER NOT NULL,
    first_sequence INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL,
    base_offset BIGINT NOT NULL,
    last_offset BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (topic_id, partition, producer_id)
);
