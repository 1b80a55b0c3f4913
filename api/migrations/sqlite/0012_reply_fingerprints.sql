-- What each kept answer was an answer to (SHA-256 of endpoint and body): the same
-- Idempotency-Key with another request is refused instead of replaying the first answer. Replies
-- kept before this ('' ) replay as before.
ALTER TABLE replies ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
