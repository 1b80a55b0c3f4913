-- Users and their API tokens (stored only as SHA-256 hashes), idempotency keys for intake,
-- and the append-only audit log.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    scope      TEXT    NOT NULL DEFAULT '[]',
    unit       TEXT,
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    hash       TEXT    NOT NULL UNIQUE,
    label      TEXT,
    created_at TEXT    NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

ALTER TABLE problems ADD COLUMN reported_by TEXT;

CREATE TABLE idempotency_keys (
    user_id    INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    problem_id INTEGER NOT NULL REFERENCES problems (id),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT    NOT NULL,
    actor   TEXT    NOT NULL,
    remote  TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    object  TEXT    NOT NULL,
    details TEXT    NOT NULL DEFAULT '{}'
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
