-- The street network (路网) officers walk: weekly plans measure distances along it when it is
-- there. It is replaced whole on import; its revision tells servers to rebuild their graph.
CREATE TABLE streets (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT,
    geom        geometry(LineString, 4326) NOT NULL,
    min_lon     DOUBLE PRECISION NOT NULL,
    min_lat     DOUBLE PRECISION NOT NULL,
    max_lon     DOUBLE PRECISION NOT NULL,
    max_lat     DOUBLE PRECISION NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX streets_geom ON streets USING GIST (geom);
INSERT INTO revisions (name, value) VALUES ('streets', 0);
