-- What a user sees of their sessions (ListSessions, GET /auth/sessions/).
--
-- public_id is the id a user names a session by (RevokeSession, DELETE /auth/sessions/<id>/):
-- 128 random bits as 32 hex characters, so ids neither count sessions nor can be guessed,
-- unlike the integer key. user_agent and ip are what the login that started the session
-- came with (the client address behind trusted proxies); NULL when unknown.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
UPDATE sessions SET public_id = replace(gen_random_uuid()::text, '-', '') WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
