-- Supervision (督查): the office's rounds of checks, numbered per year, and what they found.
-- A finding of an undercover round (暗访) is no case until the round is published; then, like
-- the findings of open rounds at once, it is handed over as a routed case (problem_id).
CREATE TABLE rounds (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    year         INTEGER NOT NULL,
    number       INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    rectify_by   TEXT NOT NULL,
    area         TEXT NOT NULL DEFAULT '[]',
    points       TEXT NOT NULL DEFAULT '[]',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (year, number)
);

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id    INTEGER NOT NULL REFERENCES rounds (id),
    point_code  TEXT,
    lon         REAL NOT NULL,
    lat         REAL NOT NULL,
    category    TEXT NOT NULL,
    description TEXT NOT NULL,
    found_by    TEXT NOT NULL,
    found_at    TEXT NOT NULL,
    problem_id  INTEGER REFERENCES problems (id)
);

CREATE INDEX findings_by_round ON findings (round_id, id);
