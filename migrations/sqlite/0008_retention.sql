-- Retention (src/auth/retention.rs decides, src/store/retention.rs deletes): records of
-- sessions, tokens and API keys that ended more than `--retention` ago are deleted in small
-- batches, by `authd serve` on its own and by `authd tokens purge`.
--
-- Every refresh records two tokens, so `tokens` is the table that grows; its batches pick
-- the oldest-expired rows first, and this index keeps each pick a range read instead of a
-- scan of the whole table.
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- Documentation only (see 0003): sessions.revoked_reason may also be
--   'disabled'      an operator disabled the user (`authd users disable`);
--   'password_set'  an operator set the user's password (`authd users set-password`).
