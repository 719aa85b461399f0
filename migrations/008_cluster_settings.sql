-- Settings every agent of a cluster shares, created once: the secret agents sign their
-- requests to one another with (which organization a forwarded request acts for).
CREATE TABLE cluster_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
