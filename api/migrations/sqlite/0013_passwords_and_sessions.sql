-- People sign in with a user name and password (Argon2id, PHC string); apps keep API tokens.
-- A sign-in opens a session: a token of kind 'session' whose expiry slides forward while it is
-- used (idle_seconds), revocable like any token.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE tokens ADD COLUMN idle_seconds INTEGER;
