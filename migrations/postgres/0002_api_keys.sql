-- API keys: the opaque 40-hex tokens of DRF's token authentication (`/api/token/`,
-- `Authorization: Token <key>`). Only the SHA-256 of a key is stored: the key is 160 random
-- bits, so a fast hash is enough to make a stolen table useless, and lookups stay one
-- indexed read. Each login issues a new key; a key ends when revoked or, if an operator set
-- a lifetime, at expires_at.
CREATE TABLE api_keys (
    key_hash   TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);
