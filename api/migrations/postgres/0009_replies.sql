-- The first answer to each Idempotency-Key of the writes a phone queues offline (tracks,
-- inspections, photos): a retry with the same key gets this answer again, and nothing is written
-- twice. Kept for a week.
CREATE TABLE replies (
    user_id    BIGINT NOT NULL,
    key        TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL,
    created_unix BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX replies_created_unix ON replies (created_unix);
