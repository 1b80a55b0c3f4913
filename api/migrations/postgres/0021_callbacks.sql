-- Call-backs (回访): what the caller said after the latest closing; NULL while it is due.
ALTER TABLE problems ADD COLUMN callback TEXT, ADD COLUMN callback_at TIMESTAMPTZ;
