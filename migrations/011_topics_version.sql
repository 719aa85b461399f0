-- A counter bumped by every change to topics (create, delete, partitions, configs) in the
-- change's own transaction: agents poll it and reload their topic caches in bulk when it
-- moves, so a change made through one agent is seen by every agent.
INSERT INTO counters (name, value) VALUES ('topics_version', 0);
