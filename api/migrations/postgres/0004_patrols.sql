-- Patrols and coverage: assessment points (测评点位), planned routes, GPS tracks, inspections.
CREATE TABLE assessment_points (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    geom              geometry(Geometry, 4326) NOT NULL,
    min_lon           DOUBLE PRECISION NOT NULL,
    min_lat           DOUBLE PRECISION NOT NULL,
    max_lon           DOUBLE PRECISION NOT NULL,
    max_lat           DOUBLE PRECISION NOT NULL,
    criteria          TEXT NOT NULL DEFAULT '[]',
    required_per_week INTEGER NOT NULL DEFAULT 1 CHECK (required_per_week BETWEEN 1 AND 7),
    grid_code         TEXT,
    grids             TEXT NOT NULL DEFAULT '[]',
    responsible_unit  TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX assessment_points_geom ON assessment_points USING GIST (geom);
CREATE INDEX assessment_points_grid ON assessment_points (grid_code);

CREATE TABLE patrol_routes (
    id         BIGSERIAL PRIMARY KEY,
    officer    TEXT NOT NULL,
    weekday    INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    name       TEXT,
    geom       geometry(LineString, 4326) NOT NULL,
    min_lon    DOUBLE PRECISION NOT NULL,
    min_lat    DOUBLE PRECISION NOT NULL,
    max_lon    DOUBLE PRECISION NOT NULL,
    max_lat    DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX patrol_routes_officer ON patrol_routes (officer, weekday);

-- Fixes are stored per batch as delta varints (spatial::track::encode): ~8 bytes a fix.
CREATE TABLE track_chunks (
    id          BIGSERIAL PRIMARY KEY,
    officer     TEXT NOT NULL,
    first_fix   BIGINT NOT NULL,
    last_fix    BIGINT NOT NULL,
    fixes       INTEGER NOT NULL,
    min_lon     DOUBLE PRECISION NOT NULL,
    min_lat     DOUBLE PRECISION NOT NULL,
    max_lon     DOUBLE PRECISION NOT NULL,
    max_lat     DOUBLE PRECISION NOT NULL,
    data        BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX track_chunks_time ON track_chunks (first_fix, last_fix);
CREATE INDEX track_chunks_officer ON track_chunks (officer, first_fix);

CREATE TABLE inspections (
    id         BIGSERIAL PRIMARY KEY,
    point_code TEXT NOT NULL,
    officer    TEXT NOT NULL,
    at         BIGINT NOT NULL,
    results    TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    photos     TEXT NOT NULL DEFAULT '[]',
    problems   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX inspections_at ON inspections (at);
CREATE INDEX inspections_point ON inspections (point_code, at);

ALTER TABLE problems ADD COLUMN point_code TEXT;
ALTER TABLE problems ADD COLUMN criterion_id TEXT;
