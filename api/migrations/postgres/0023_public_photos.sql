-- Report photos their reporter agreed to publish (Open311's media_url): each under a random,
-- unguessable token; what is shown is a re-encoded copy without EXIF.
CREATE TABLE public_photos (
    token      TEXT PRIMARY KEY,
    problem_id BIGINT NOT NULL REFERENCES problems (id),
    sha256     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (problem_id, sha256)
);
