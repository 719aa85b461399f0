-- Kafka ACLs per organization (KIP-140 bindings; the codes are Kafka's: resource type,
-- pattern type, operation, permission). Principals are `User:<name>` within the organization.
CREATE TABLE acls (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    resource_type INTEGER NOT NULL,
    resource_name TEXT NOT NULL,
    pattern_type INTEGER NOT NULL,
    principal TEXT NOT NULL,
    host TEXT NOT NULL,
    operation INTEGER NOT NULL,
    permission INTEGER NOT NULL,
    PRIMARY KEY (org_id, resource_type, resource_name, pattern_type, principal, host, operation,
                 permission)
);
