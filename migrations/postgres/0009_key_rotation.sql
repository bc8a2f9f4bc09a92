-- Signing keys that rotate (authd keys rotate|retire; src/auth/keys.rs explains the rules).
--
-- slot 1 is still the key every node signs with; a rotated key keeps its row with a NULL
-- slot (UNIQUE allows any number of NULLs), its rotation time, and no private key (it only
-- verifies now). retired_at marks a key withdrawn at once: tokens signed with it stop
-- working on every node, and it leaves the JWKS. The algorithm check makes room for ES256.
ALTER TABLE signing_keys ALTER COLUMN slot DROP NOT NULL;
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_algorithm_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_algorithm_check
    CHECK (algorithm IN ('EdDSA', 'ES256'));
ALTER TABLE signing_keys ADD COLUMN rotated_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;

-- The key each token was signed with, so retiring a key ends its tokens in the same
-- statement that checks a session. Every token so far was signed by the one key there was.
ALTER TABLE tokens ADD COLUMN kid TEXT;
UPDATE tokens SET kid = (SELECT kid FROM signing_keys WHERE slot = 1);
