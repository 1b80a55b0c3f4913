-- The address book (地址库) dispatchers find a hotline caller's place in. Upserted by code on
-- import; its revision tells servers to rebuild their text index.
CREATE TABLE addresses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    aliases    TEXT NOT NULL DEFAULT '[]',
    lon        REAL NOT NULL,
    lat        REAL NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('addresses', 0);

-- Where a case is, in words (Open311's address_string), and the address it was found by.
ALTER TABLE problems ADD COLUMN address TEXT;
ALTER TABLE problems ADD COLUMN address_id INTEGER;

-- A hotline caller's contact (来电人): private. Kept apart from the case so that nothing
-- reading cases (Open311, exports, the archive) can carry it by accident.
CREATE TABLE problem_callers (
    problem_id INTEGER PRIMARY KEY REFERENCES problems (id) ON DELETE CASCADE,
    name       TEXT,
    phone      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
