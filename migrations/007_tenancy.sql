-- Tenancy: organizations' life cycle, API keys and SCRAM credentials (DESIGN.md §13).
-- Secrets are never stored: an API key keeps a salted hash of its secret and the SCRAM
-- keys derived from it; a SCRAM user keeps salt, iterations, StoredKey and ServerKey.
ALTER TABLE organizations ADD COLUMN slug TEXT;
ALTER TABLE organizations ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
ALTER TABLE organizations ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE organizations ADD COLUMN deleted_at BIGINT;
UPDATE organizations SET slug = id WHERE slug IS NULL;
CREATE UNIQUE INDEX organizations_slug ON organizations (slug);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    scope TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scram TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id);

-- SASL usernames are global (a login names one principal): a SCRAM user belongs to one
-- organization and its name is unique across them.
CREATE TABLE scram_credentials (
    username TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    salt TEXT NOT NULL,
    iterations INTEGER NOT NULL,
    stored_key TEXT NOT NULL,
    server_key TEXT NOT NULL,
    PRIMARY KEY (username, mechanism)
);
CREATE INDEX scram_credentials_org ON scram_credentials (org_id);

-- The addresses of an agent's listeners by security protocol (JSON), so Metadata answers a
-- client with the address of the listener it came through.
ALTER TABLE agents ADD COLUMN listeners TEXT NOT NULL DEFAULT '{}';
