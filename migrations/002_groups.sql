-- Consumer groups and their committed offsets. Membership lives in the coordinator's
-- memory (members rejoin after a coordinator move); offsets are durable here.
CREATE TABLE consumer_groups (
    org_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    protocol_type TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, group_id)
);

CREATE TABLE consumer_offsets (
    org_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset BIGINT NOT NULL,
    leader_epoch INTEGER NOT NULL DEFAULT -1,
    metadata TEXT,
    commit_time BIGINT NOT NULL,
    PRIMARY KEY (org_id, group_id, topic, partition)
);
