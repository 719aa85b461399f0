-- What each agent has written since it started, reported with its heartbeat, so that any
-- agent can show every agent's figures (GET /api/v1/agents).
ALTER TABLE agents ADD COLUMN bytes_written BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN records_written BIGINT NOT NULL DEFAULT 0;
