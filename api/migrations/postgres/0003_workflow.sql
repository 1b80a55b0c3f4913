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
ALTER TABLE problems ADD COLUMN dispatched_at TIMESTAMPTZ;
ALTER TABLE problems ADD COLUMN deadline TIMESTAMPTZ;
ALTER TABLE problems ADD COLUMN reworks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE problems ADD COLUMN extension_requested TEXT;
ALTER TABLE problems ADD COLUMN colour TEXT NOT NULL DEFAULT 'none';
ALTER TABLE problems ADD COLUMN nearby TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN likely_duplicates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN merged_into BIGINT;
ALTER TABLE problems ADD COLUMN closed_at TIMESTAMPTZ;

CREATE INDEX problems_status ON problems (status);
CREATE INDEX problems_grid ON problems (grid_code);

CREATE TABLE problem_events (
    id         BIGSERIAL PRIMARY KEY,
    problem_id BIGINT NOT NULL REFERENCES problems (id),
    at         TIMESTAMPTZ  NOT NULL,
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

CREATE FUNCTION refuse_rewrite() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER problem_events_append_only BEFORE UPDATE OR DELETE ON problem_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();

INSERT INTO revisions (name, value) VALUES ('categories', 0);
