-- Supervision letters (督办函): numbered per year and kind (提醒函 reminder, 督办函 notice,
-- 红色督办单 red), addressed to a responsible unit, naming cases; the unit signs for a letter and
-- answers it, and one left unanswered past its day escalates to a letter of the next kind.
CREATE TABLE letters (
    id             BIGSERIAL PRIMARY KEY,
    year           INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    number         BIGINT NOT NULL,
    unit           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    origin         TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    issued_at      TIMESTAMPTZ NOT NULL,
    answer_by      TIMESTAMPTZ NOT NULL,
    signed_by      TEXT,
    signed_at      TIMESTAMPTZ,
    answered_by    TEXT,
    answered_at    TIMESTAMPTZ,
    answer         TEXT,
    evidence       TEXT NOT NULL DEFAULT '[]',
    escalated_from BIGINT REFERENCES letters (id),
    escalated_to   BIGINT REFERENCES letters (id),
    UNIQUE (year, kind, number)
);

CREATE INDEX letters_by_unit ON letters (unit, id);

CREATE TABLE letter_cases (
    letter_id  BIGINT NOT NULL REFERENCES letters (id),
    problem_id BIGINT NOT NULL REFERENCES problems (id),
    PRIMARY KEY (letter_id, problem_id)
);

CREATE INDEX letter_cases_by_case ON letter_cases (problem_id);
