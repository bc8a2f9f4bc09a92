-- authd's schema on SQLite. Times are whole seconds since the Unix epoch (INTEGER), the
-- same unit as JWT iat/exp, so a row and its token always agree.

-- Users. `username_key` and `email_key` are the lower-cased forms that uniqueness and
-- login compare, computed by authd (SQLite's lower() only folds ASCII). A user without an
-- email has NULLs there; UNIQUE lets any number of NULLs coexist.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL CONSTRAINT users_username_key UNIQUE,
    email         TEXT,
    email_key     TEXT             CONSTRAINT users_email_key UNIQUE,
    -- argon2id PHC string; never the password.
    password_hash TEXT    NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- One row per login. Refresh rotation keeps the session; logout or refresh-token reuse
-- revokes it, which ends every token in it at once.
CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    -- Expiry of the session's newest refresh token; moves forward on each rotation.
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    -- 'logout' or 'refresh_reuse'.
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Every token ever issued, by its `jti` claim: never the token itself, which is a bearer
-- credential. A refresh token is spent (spent_at set) by exactly one conditional UPDATE.
CREATE TABLE tokens (
    jti        TEXT    PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_session_id ON tokens (session_id);

-- Token signing keys (Ed25519). Slot 1 is the key every node signs with; the UNIQUE slot
-- makes "first node to start creates the key" race-free. The private key is PKCS#8 DER:
-- whoever can read this table can mint tokens, so protect the database file accordingly.
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    slot        INTEGER NOT NULL CONSTRAINT signing_keys_slot UNIQUE,
    algorithm   TEXT    NOT NULL CHECK (algorithm = 'EdDSA'),
    private_key BLOB    NOT NULL,
    public_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
