-- The street network (路网) officers walk: weekly plans measure distances along it when it is
-- there. It is replaced whole on import; its revision tells servers to rebuild their graph.
CREATE TABLE streets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT,
    geom        BLOB NOT NULL,
    min_lon     REAL NOT NULL,
    min_lat     REAL NOT NULL,
    max_lon     REAL NOT NULL,
    max_lat     REAL NOT NULL,
    imported_at TEXT NOT NULL
);

INSERT INTO revisions (name, value) VALUES ('streets', 0);
