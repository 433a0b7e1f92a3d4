-- Where `import-public-inbox` stopped in each public-inbox epoch: the
-- last commit whose mail is stored. An epoch is named by its first
-- (root) commit, which stays the same wherever the inbox is cloned, so a
-- moved or re-cloned mirror picks up where it was; a purge rewrites the
-- history, the mark is then no ancestor of the branch and the epoch is
-- read again (storing is idempotent). `path` is where it was last read,
-- for the admin.
CREATE TABLE inbox_mark (
    epoch_root TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    last_commit TEXT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
