-- Signing keys that rotate (authd keys rotate|retire; src/auth/keys.rs explains the rules).
--
-- slot 1 is still the key every node signs with; a rotated key keeps its row with a NULL
-- slot (UNIQUE allows any number of NULLs), its rotation time, and no private key (it only
-- verifies now). retired_at marks a key withdrawn at once: tokens signed with it stop
-- working on every node, and it leaves the JWKS. SQLite cannot alter a NOT NULL or CHECK
-- constraint in place, so the table is rebuilt; the algorithm check makes room for ES256.
CREATE TABLE signing_keys_rotating (
    kid         TEXT    PRIMARY KEY,
    slot        INTEGER CONSTRAINT signing_keys_slot UNIQUE,
    algorithm   TEXT    NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256')),
    private_key BLOB    NOT NULL,
    public_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER,
    retired_at  INTEGER
);
INSERT INTO signing_keys_rotating (kid, slot, algorithm, private_key, public_key, created_at)
    SELECT kid, slot, algorithm, private_key, public_key, created_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_rotating RENAME TO signing_keys;

-- The key each token was signed with, so retiring a key ends its tokens in the same
-- statement that checks a session. Every token so far was signed by the one key there was.
ALTER TABLE tokens ADD COLUMN kid TEXT;
UPDATE tokens SET kid = (SELECT kid FROM signing_keys WHERE slot = 1);
