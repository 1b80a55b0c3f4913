-- The inspectors (督查员, role `inspector`) a round names: they record its findings besides the
-- office, and see it (even an undercover one) before it is published.
ALTER TABLE rounds ADD COLUMN inspectors TEXT NOT NULL DEFAULT '[]';

-- The office's foreword to a round's 督查通报, and a version that each change of it moves: of two
-- offices editing it at once, exactly one wins.
ALTER TABLE rounds ADD COLUMN foreword TEXT;
ALTER TABLE rounds ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- A finding made from a failed item of a mock assessment (模拟测评) names it, so that each item
-- becomes a finding of a round once however often the office asks.
ALTER TABLE findings ADD COLUMN from_assessment TEXT;
CREATE UNIQUE INDEX findings_once_per_assessment_item ON findings (round_id, from_assessment)
    WHERE from_assessment IS NOT NULL;
