-- One-off upkeep a server does at start, recorded once it is complete, so later starts skip
-- it. 'user_keys_v2': every user's unique keys are in the NFKC + case-folding form (written
-- only after a pass that found no collision; until then each start tries again and reports).
CREATE TABLE upkeep (
    name    TEXT    PRIMARY KEY,
    done_at INTEGER NOT NULL
);
