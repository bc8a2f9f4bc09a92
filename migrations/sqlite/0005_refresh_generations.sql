-- Refresh generations, a grace window for retries, and an absolute session lifetime
-- (src/store/sessions.rs explains the invariant).
--
-- sessions.generation counts the session's rotations; each refresh token records the
-- generation it was issued in (tokens.generation). A refresh spends the whole current
-- generation in one conditional UPDATE of the session row and issues the next; a token of
-- the generation just spent, presented within the grace window after sessions.rotated_at,
-- gets a sibling in the current generation instead of revoking the session.
ALTER TABLE sessions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- When the previous generation was spent (the start of its grace window).
ALTER TABLE sessions ADD COLUMN rotated_at INTEGER;
-- When a refresh last used the session (login counts as the first use).
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
-- The absolute end of the session: created_at + --session-max-age; no refresh moves it.
ALTER TABLE sessions ADD COLUMN ends_at INTEGER;
ALTER TABLE tokens ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- Sessions that predate this migration get the default lifetime (30 days) from their start.
UPDATE sessions SET ends_at = created_at + 2592000, last_used_at = created_at;
