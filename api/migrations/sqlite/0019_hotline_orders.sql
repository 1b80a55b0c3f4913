-- The 12345 exchange: each platform work order once, with the case it became, and the result
-- owed back to the platform (closed, or sent back with a reason) until the platform takes it.
CREATE TABLE hotline_orders (
    order_id      TEXT PRIMARY KEY,
    problem_id    INTEGER NOT NULL UNIQUE REFERENCES problems (id),
    received_at   TEXT NOT NULL,
    outcome       TEXT,
    reason        TEXT,
    outcome_at    TEXT,
    pushed_at     TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until TEXT
);
CREATE INDEX hotline_orders_owed ON hotline_orders (outcome_at) WHERE outcome IS NOT NULL AND pushed_at IS NULL;
