-- Group coordinators are placed with leases, as partitions are (DESIGN.md §7): the agent
-- that holds a group's lease coordinates it; the lease is renewed with the agent's
-- partition leases, handed back on a graceful stop, and expires when the agent dies.
-- A row exists once a client has looked the group up (FindCoordinator), which does not
-- make the group exist (consumer_groups).
CREATE TABLE group_coordinators (
    org_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    coordinator TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    lease_expires_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, group_id)
);
CREATE INDEX group_coordinators_by_agent ON group_coordinators (coordinator);
