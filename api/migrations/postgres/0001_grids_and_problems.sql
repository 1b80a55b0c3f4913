-- Grids keep every version: a changed boundary closes the old row (valid_to) and opens a new one,
-- so a problem keeps the grid version it was routed to.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE grids (
    code             TEXT        NOT NULL,
    version          INTEGER     NOT NULL,
    name             TEXT,
    parent_code      TEXT,
    level            TEXT,
    lead_department  TEXT,
    responsible_unit TEXT,
    officer          TEXT,
    geom             geometry(MultiPolygon, 4326) NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    PRIMARY KEY (code, version)
);
CREATE UNIQUE INDEX grids_current_code ON grids (code) WHERE valid_to IS NULL;
CREATE INDEX grids_geom_gist ON grids USING GIST (geom);

CREATE TABLE problems (
    id               BIGSERIAL   PRIMARY KEY,
    geom             geometry(Point, 4326) NOT NULL,
    category         TEXT        NOT NULL,
    description      TEXT        NOT NULL,
    source           TEXT        NOT NULL,
    grid_code        TEXT,
    grid_version     INTEGER,
    responsible_unit TEXT,
    candidates       TEXT        NOT NULL DEFAULT '[]',
    status           TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX problems_geom_gist ON problems USING GIST (geom);

-- Bumped in the same transaction as every grid change; API nodes poll it to rebuild their index.
CREATE TABLE revisions (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('grids', 0);
