-- Photos of assessment points (测评点位实景), each for one criterion of the point's checklist or
-- for the point as a whole (criterion ''), taken at an inspection (inspection_id) or not: the
-- evidence the annual online review asks for. Files
-- live with the cases' photos, content-addressed by SHA-256; uploaded_unix orders them in time.
CREATE TABLE point_photos (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    point_code    TEXT NOT NULL,
    criterion     TEXT NOT NULL DEFAULT '',
    inspection_id INTEGER,
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

-- Case photos get the same Unix time, so the office can ask for the flagged photos of a week.
ALTER TABLE photos ADD COLUMN uploaded_unix INTEGER;
UPDATE photos SET uploaded_unix = CAST(strftime('%s', uploaded_at) AS INTEGER);
CREATE INDEX photos_uploaded ON photos (uploaded_unix);
