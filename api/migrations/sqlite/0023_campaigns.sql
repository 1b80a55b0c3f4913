-- Special campaigns (专项整治): the plan as set up (period, area, categories, units, cycle), as
-- JSON; changes bump the version, so of two racing edits one wins.
CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    plan       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
);
