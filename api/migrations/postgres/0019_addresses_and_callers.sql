-- The address book (地址库) dispatchers find a hotline caller's place in. Upserted by code on
-- import; its revision tells servers to rebuild their text index. The position is kept as
-- lon/lat (what the index and the API read) and, for PostGIS users, as a point beside them.
CREATE TABLE addresses (
    id         BIGSERIAL PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    aliases    TEXT NOT NULL DEFAULT '[]',
    lon        DOUBLE PRECISION NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    geom       geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX addresses_geom ON addresses USING GIST (geom);
INSERT INTO revisions (name, value) VALUES ('addresses', 0);

-- Where a case is, in words (Open311's address_string), and the address it was found by.
ALTER TABLE problems ADD COLUMN address TEXT, ADD COLUMN address_id BIGINT;

-- A hotline caller's contact (来电人): private. Kept apart from the case so that nothing
-- reading cases (Open311, exports, the archive) can carry it by accident.
CREATE TABLE problem_callers (
    problem_id BIGINT PRIMARY KEY REFERENCES problems (id) ON DELETE CASCADE,
    name       TEXT,
    phone      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
