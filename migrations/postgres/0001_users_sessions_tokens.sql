-- authd's schema on PostgreSQL: the same tables, columns and rules as the SQLite schema,
-- so both backends behave alike. Times are whole seconds since the Unix epoch (BIGINT), the
-- same unit as JWT iat/exp.

-- Users. `username_key` and `email_key` are the case-folded forms that uniqueness and login
-- compare, computed by authd so both backends fold case identically. A user without an
-- email has NULLs there; UNIQUE lets any number of NULLs coexist.
CREATE TABLE users (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL CONSTRAINT users_username_key UNIQUE,
    email         TEXT,
    email_key     TEXT             CONSTRAINT users_email_key UNIQUE,
    -- argon2id PHC string; never the password.
    password_hash TEXT    NOT NULL,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT  NOT NULL
);

-- One row per login. Refresh rotation keeps the session; logout, refresh-token reuse or
-- revoke-all ends it, which ends every token in it at once.
CREATE TABLE sessions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    -- Expiry of the session's newest refresh token; moves forward on each rotation.
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    -- 'logout', 'refresh_reuse' or 'revoke_all'.
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Every token ever issued, by its `jti` claim: never the token itself, which is a bearer
-- credential. A refresh token is spent (spent_at set) by exactly one conditional UPDATE:
-- concurrent UPDATEs of one row serialise on its row lock, and the losers re-check
-- `spent_at IS NULL` and match nothing.
CREATE TABLE tokens (
    jti        TEXT   PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX tokens_session_id ON tokens (session_id);

-- Token signing keys (Ed25519). Slot 1 is the key every node signs with; the UNIQUE slot
-- makes "first node to start creates the key" race-free across nodes. The private key is
-- PKCS#8 DER: whoever can read this table can mint tokens, so restrict access to it.
CREATE TABLE signing_keys (
    kid         TEXT   PRIMARY KEY,
    slot        BIGINT NOT NULL CONSTRAINT signing_keys_slot UNIQUE,
    algorithm   TEXT   NOT NULL CHECK (algorithm = 'EdDSA'),
    private_key BYTEA  NOT NULL,
    public_key  BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL
);
