-- Users and their API tokens (stored only as SHA-256 hashes), idempotency keys for intake,
-- and the append-only audit log.
CREATE TABLE users (
    id         BIGSERIAL   PRIMARY KEY,
    name       TEXT        NOT NULL UNIQUE,
    role       TEXT        NOT NULL,
    scope      TEXT        NOT NULL DEFAULT '[]',
    unit       TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE tokens (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    hash       TEXT        NOT NULL UNIQUE,
    label      TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

ALTER TABLE problems ADD COLUMN reported_by TEXT;

CREATE TABLE idempotency_keys (
    user_id    BIGINT      NOT NULL,
    key        TEXT        NOT NULL,
    problem_id BIGINT      NOT NULL REFERENCES problems (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    id      BIGSERIAL   PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT        NOT NULL,
    remote  TEXT        NOT NULL,
    action  TEXT        NOT NULL,
    object  TEXT        NOT NULL,
    details TEXT        NOT NULL DEFAULT '{}'
);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
