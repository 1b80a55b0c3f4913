-- Photos of assessment points (测评点位实景), each for one criterion of the point's checklist or
-- for the point as a whole (criterion ''): the evidence the annual online review asks for. Files
-- live with the cases' photos, content-addressed by SHA-256; uploaded_unix orders them in time.
CREATE TABLE point_photos (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    point_code    TEXT NOT NULL,
    criterion     TEXT NOT NULL DEFAULT '',
    sha256        TEXT NOT NULL,
    media         TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    filename      TEXT,
    dhash         INTEGER,
    exif          INTEGER NOT NULL,
    taken_at      TEXT,
    lon           REAL,
    lat           REAL,
    device        TEXT,
    flags         TEXT NOT NULL DEFAULT '[]',
    uploaded_by   TEXT NOT NULL,
    uploaded_at   TEXT NOT NULL,
    uploaded_unix INTEGER NOT NULL,
    UNIQUE (point_code, criterion, sha256)
);
CREATE INDEX point_photos_sha256 ON point_photos (sha256);
CREATE INDEX point_photos_uploaded ON point_photos (uploaded_unix);
