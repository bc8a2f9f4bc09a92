-- Documentation only: applied migrations are never edited (sqlx records each file's
-- checksum and refuses to start on a changed one), so corrections to their comments land
-- here.
--
-- sessions.revoked_reason (0001) is one of:
--   'logout'         the user logged out with the session's refresh token;
--   'refresh_reuse'  a spent refresh token was presented again (likely theft);
--   'revoke_all'     the user ended every session at once (RevokeAll).
SELECT 1;
