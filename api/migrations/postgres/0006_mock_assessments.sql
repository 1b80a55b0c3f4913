-- Mock assessments (模拟测评): a seeded draw of assessment points and the scores given to each
-- criterion of their checklists. Drawn points are copied (name, type, checklist) so that a
-- finished assessment still reads the same after the points change.
CREATE TABLE assessments (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE assessment_items (
    assessment_id BIGINT NOT NULL REFERENCES assessments (id),
    position      INTEGER NOT NULL,
    point_code    TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    district      TEXT NOT NULL,
    unit          TEXT,
    grid_code     TEXT,
    lon           DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    checklist     TEXT NOT NULL,
    scores        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (assessment_id, point_code)
);
