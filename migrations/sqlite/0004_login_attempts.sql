-- Failed logins per username, for the per-account throttle (src/auth/throttle.rs decides,
-- src/store/login_attempts.rs claims). Keyed by the case-folded username key whether or not
-- a user has that name, so a throttled answer says nothing about which usernames exist.
--
-- Every node on one database shares these rows, and each attempt is claimed by one
-- conditional upsert before its password is checked, so parallel attempts cannot outrun
-- the count. A successful login deletes the row; a row is forgotten (and pruned) once
-- `forget_after` has passed since its last attempt.
CREATE TABLE login_attempts (
    username_key    TEXT    PRIMARY KEY,
    -- Consecutive failed attempts; a claimed attempt counts as failed until it succeeds.
    failures        INTEGER NOT NULL,
    -- When the newest attempt was claimed.
    last_attempt_at INTEGER NOT NULL,
    -- No attempt is checked before this time; earlier ones are answered "throttled".
    next_attempt_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Pruning forgotten rows.
CREATE INDEX login_attempts_last_attempt_at ON login_attempts (last_attempt_at);
