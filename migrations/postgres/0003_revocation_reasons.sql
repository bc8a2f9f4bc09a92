-- Applied migrations are never edited (sqlx records each file's checksum and refuses to
-- start on a changed one); the schema's own documentation of the revocation reasons:
COMMENT ON COLUMN sessions.revoked_reason IS
    'logout: logged out with the refresh token; refresh_reuse: a spent refresh token was presented again; revoke_all: every session ended at once (RevokeAll)';
