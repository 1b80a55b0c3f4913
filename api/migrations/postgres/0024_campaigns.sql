-- Special campaigns (专项整治): the plan as set up (period, area, categories, units, cycle), as
-- JSON; changes bump the version, so of two racing edits one wins.
CREATE TABLE campaigns (
    id         BIGSERIAL PRIMARY KEY,
    plan       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL DEFAULT 0
);
