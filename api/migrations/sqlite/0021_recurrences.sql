-- Recurrences (反弹): the closed case a new one follows (same category, close by, soon after),
-- the first case of its chain, how far apart, and the unit it counts against (copied at intake,
-- like the category's class, so later changes do not rewrite history).
ALTER TABLE problems ADD COLUMN recurrence_of INTEGER;
ALTER TABLE problems ADD COLUMN recurrence_root INTEGER;
ALTER TABLE problems ADD COLUMN recurrence_m REAL;
ALTER TABLE problems ADD COLUMN recurrence_unit TEXT;
CREATE INDEX problems_recurrence_of ON problems (recurrence_of) WHERE recurrence_of IS NOT NULL;
