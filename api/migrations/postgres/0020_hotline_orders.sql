-- The 12345 exchange: each platform work order once, with the case it became, and the result
-- owed back to the platform (closed, or sent back with a reason) until the platform takes it.
-- A node claims a result for a while before sending it, so that two nodes never both send it.
CREATE TABLE hotline_orders (
    order_id      TEXT PRIMARY KEY,
    problem_id    BIGINT NOT NULL UNIQUE REFERENCES problems (id),
    received_at   TIMESTAMPTZ NOT NULL,
    outcome       TEXT,
    reason        TEXT,
    outcome_at    TIMESTAMPTZ,
    pushed_at     TIMESTAMPTZ,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until TIMESTAMPTZ
);
CREATE INDEX hotline_orders_owed ON hotline_orders (outcome_at) WHERE outcome IS NOT NULL AND pushed_at IS NULL;
