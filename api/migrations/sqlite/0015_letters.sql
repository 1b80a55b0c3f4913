-- Supervision letters (督办函): numbered per year and kind (提醒函 reminder, 督办函 notice,
-- 红色督办单 red), addressed to a responsible unit, naming cases; the unit signs for a letter and
-- answers it, and one left unanswered past its day escalates to a letter of the next kind.
CREATE TABLE letters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    year           INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    number         INTEGER NOT NULL,
    unit           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    origin         TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    issued_at      TEXT NOT NULL,
    answer_by      TEXT NOT NULL,
    signed_by      TEXT,
    signed_at      TEXT,
    answered_by    TEXT,
    answered_at    TEXT,
    answer         TEXT,
    evidence       TEXT NOT NULL DEFAULT '[]',
    escalated_from INTEGER REFERENCES letters (id),
    escalated_to   INTEGER REFERENCES letters (id),
    UNIQUE (year, kind, number)
);

CREATE INDEX letters_by_unit ON letters (unit, id);

CREATE TABLE letter_cases (
    letter_id  INTEGER NOT NULL REFERENCES letters (id),
    problem_id INTEGER NOT NULL REFERENCES problems (id),
    PRIMARY KEY (letter_id, problem_id)
);

CREATE INDEX letter_cases_by_case ON letter_cases (problem_id);
