-- The case workflow: the category catalogue (部件/事件), routing to a department, deadlines,
-- reworks, extensions, and every transition as an append-only event.
CREATE TABLE categories (
    code        TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    name_zh     TEXT    NOT NULL,
    name_en     TEXT    NOT NULL,
    department  TEXT    NOT NULL,
    time_limit  INTEGER NOT NULL,
    limit_unit  TEXT    NOT NULL,
    severity    TEXT    NOT NULL
);

ALTER TABLE problems ADD COLUMN category_name TEXT;
ALTER TABLE problems ADD COLUMN kind TEXT;
ALTER TABLE problems ADD COLUMN department TEXT;
ALTER TABLE problems ADD COLUMN severity TEXT NOT NULL DEFAULT 'none';
ALTER TABLE problems ADD COLUMN time_limit INTEGER;
ALTER TABLE problems ADD COLUMN limit_unit TEXT;
ALTER TABLE problems ADD COLUMN dispatched_at TEXT;
ALTER TABLE problems ADD COLUMN deadline TEXT;
ALTER TABLE problems ADD COLUMN reworks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE problems ADD COLUMN extension_requested TEXT;
ALTER TABLE problems ADD COLUMN colour TEXT NOT NULL DEFAULT 'none';
ALTER TABLE problems ADD COLUMN nearby TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN likely_duplicates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN merged_into INTEGER;
ALTER TABLE problems ADD COLUMN closed_at TEXT;

CREATE INDEX problems_status ON problems (status);
CREATE INDEX problems_grid ON problems (grid_code);

CREATE TABLE problem_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    problem_id INTEGER NOT NULL REFERENCES problems (id),
    at         TEXT  NOT NULL,
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    note       TEXT,
    photo_url  TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX problem_events_problem ON problem_events (problem_id, id);

CREATE TRIGGER problem_events_no_update BEFORE UPDATE ON problem_events
BEGIN
    SELECT RAISE(ABORT, 'problem_events is append-only');
END;

CREATE TRIGGER problem_events_no_delete BEFORE DELETE ON problem_events
BEGIN
    SELECT RAISE(ABORT, 'problem_events is append-only');
END;

INSERT INTO revisions (name, value) VALUES ('categories', 0);
