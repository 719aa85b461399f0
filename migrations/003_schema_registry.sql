-- The schema registry: schemas deduplicated by canonical form, subject versions, configs, modes.
CREATE TABLE registry_schemas (
    id INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    schema_type TEXT NOT NULL,
    schema_text TEXT NOT NULL,
    references_json TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, fingerprint)
);

CREATE TABLE registry_versions (
    org_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_id INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, subject, version)
);
CREATE INDEX registry_versions_schema ON registry_versions (org_id, schema_id);

CREATE TABLE registry_settings (
    org_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (org_id, subject, kind)
);

INSERT INTO counters (name, value) VALUES ('schema_id', 0);
