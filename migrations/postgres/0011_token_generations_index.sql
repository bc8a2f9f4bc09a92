-- Spending a refresh generation finds the session's tokens of that generation
-- (`WHERE session_id = ? AND generation = ?`). With an index on session_id alone that was a
-- walk over every token the session ever had, so a session refreshed thousands of times
-- made each refresh slower than the last. The pair index serves that lookup directly, and
-- still serves everything that finds tokens by session alone (its first column).
CREATE INDEX tokens_session_generation ON tokens (session_id, generation);
DROP INDEX tokens_session_id;
