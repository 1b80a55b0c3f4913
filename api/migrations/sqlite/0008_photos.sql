-- Photo and document evidence (佐证材料) attached to cases. Files live outside the database,
-- content-addressed by their SHA-256; a row says which case, which moment (report, handling,
-- verification), what the photo's EXIF says and which tamper checks it failed.
CREATE TABLE photos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    problem_id  INTEGER NOT NULL REFERENCES problems (id),
    stage       TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    media       TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    filename    TEXT,
    dhash       INTEGER,
    exif        INTEGER NOT NULL,
    taken_at    TEXT,
    lon         REAL,
    lat         REAL,
    device      TEXT,
    flags       TEXT NOT NULL DEFAULT '[]',
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    UNIQUE (problem_id, sha256)
);
CREATE INDEX photos_sha256 ON photos (sha256);
CREATE INDEX photos_dhash ON photos (dhash) WHERE dhash IS NOT NULL;
