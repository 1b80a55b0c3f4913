-- Photos of assessment points (测评点位实景), each for one criterion of the point's checklist or
-- for the point as a whole (criterion ''), taken at an inspection (inspection_id) or not: the
-- evidence the annual online review asks for. Files
-- live with the cases' photos, content-addressed by SHA-256; uploaded_unix orders them in time.
CREATE TABLE point_photos (
    id            BIGSERIAL PRIMARY KEY,
    point_code    TEXT NOT NULL,
    criterion     TEXT NOT NULL DEFAULT '',
    inspection_id BIGINT,
    sha256        TEXT NOT NULL,
    media         TEXT NOT NULL,
    bytes         BIGINT NOT NULL,
    filename      TEXT,
    dhash         BIGINT,
    exif          BOOLEAN NOT NULL,
    taken_at      TIMESTAMPTZ,
    lon           DOUBLE PRECISION,
    lat           DOUBLE PRECISION,
    device        TEXT,
    flags         TEXT NOT NULL DEFAULT '[]',
    uploaded_by   TEXT NOT NULL,
    uploaded_at   TIMESTAMPTZ NOT NULL,
    uploaded_unix BIGINT NOT NULL,
    UNIQUE (point_code, criterion, sha256)
);
CREATE INDEX point_photos_sha256 ON point_photos (sha256);
CREATE INDEX point_photos_uploaded ON point_photos (uploaded_unix);

-- Case photos get the same Unix time, so the office can ask for the flagged photos of a week.
ALTER TABLE photos ADD COLUMN uploaded_unix BIGINT;
UPDATE photos SET uploaded_unix = CAST(extract(epoch FROM uploaded_at) AS BIGINT);
CREATE INDEX photos_uploaded ON photos (uploaded_unix);
