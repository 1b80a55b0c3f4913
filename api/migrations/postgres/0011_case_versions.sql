-- Every change of a case bumps its version; a change names the version it read, so of two
-- racing changes exactly one wins and the other is told the case moved (409).
ALTER TABLE problems ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
