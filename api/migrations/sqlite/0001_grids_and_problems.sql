-- The embedded default: geometry as WKB blobs with bounding-box columns for bbox queries.
CREATE TABLE grids (
    code             TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    name             TEXT,
    parent_code      TEXT,
    level            TEXT,
    lead_department  TEXT,
    responsible_unit TEXT,
    officer          TEXT,
    geom             BLOB    NOT NULL,
    min_lon          REAL    NOT NULL,
    min_lat          REAL    NOT NULL,
    max_lon          REAL    NOT NULL,
    max_lat          REAL    NOT NULL,
    valid_from       TEXT    NOT NULL,
    valid_to         TEXT,
    PRIMARY KEY (code, version)
);
CREATE UNIQUE INDEX grids_current_code ON grids (code) WHERE valid_to IS NULL;
CREATE INDEX grids_bbox ON grids (min_lon, max_lon, min_lat, max_lat);

CREATE TABLE problems (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    lon              REAL    NOT NULL,
    lat              REAL    NOT NULL,
    category         TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    grid_code        TEXT,
    grid_version     INTEGER,
    responsible_unit TEXT,
    candidates       TEXT    NOT NULL DEFAULT '[]',
    status           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL
);
CREATE INDEX problems_lon_lat ON problems (lon, lat);

CREATE TABLE revisions (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('grids', 0);
