-- Users brought across from a Django database by `authd import-django`: which source row
-- each one came from, so a second run imports nothing twice (and can tell "imported before"
-- from "a different user holds that name").
CREATE TABLE django_imports (
    source_table TEXT    NOT NULL,
    source_id    BIGINT  NOT NULL,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    imported_at  BIGINT  NOT NULL,
    PRIMARY KEY (source_table, source_id)
);
