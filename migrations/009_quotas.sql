-- Quotas per organization (client_id '') and per client id within it: byte rates, request
-- rate, and counts (topics, partitions, storage bytes, connections).
CREATE TABLE quotas (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org_id, client_id, name)
);
