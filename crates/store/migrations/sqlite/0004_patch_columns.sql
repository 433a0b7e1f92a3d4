-- no-transaction
-- Moves the patch table's large columns (headers, content, diff) after
-- the small ones. SQLite reads a row's record up to the last column a
-- statement needs; with the state, flags and series after the diff, every
-- list had to read each patch's diff from overflow pages. The table is
-- rebuilt the way SQLite documents (foreign keys off, new table, copy,
-- drop, rename), in one transaction.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE patch_new (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    name TEXT NOT NULL,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    delegate_id BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    state_id BIGINT NOT NULL REFERENCES state (id),
    archived INTEGER NOT NULL DEFAULT 0,
    hash TEXT,
    series_id BIGINT REFERENCES series (id) ON DELETE SET NULL,
    number INTEGER,
    related_id BIGINT REFERENCES patch_relation (id) ON DELETE SET NULL,
    raw_mail_id BIGINT REFERENCES raw_mail (id) ON DELETE SET NULL,
    commit_ref TEXT,
    pull_url TEXT,
    headers TEXT NOT NULL,
    content TEXT,
    diff TEXT,
    UNIQUE (msgid, project_id),
    UNIQUE (series_id, number)
);
INSERT INTO patch_new (id, project_id, msgid, name, date, submitter_id, delegate_id, state_id,
    archived, hash, series_id, number, related_id, raw_mail_id, commit_ref, pull_url, headers,
    content, diff)
SELECT id, project_id, msgid, name, date, submitter_id, delegate_id, state_id, archived, hash,
    series_id, number, related_id, raw_mail_id, commit_ref, pull_url, headers, content, diff
FROM patch;
DROP TABLE patch;
ALTER TABLE patch_new RENAME TO patch;
CREATE INDEX patch_hash ON patch (hash);
CREATE INDEX patch_list ON patch (project_id, archived, state_id, date);
CREATE INDEX patch_series ON patch (series_id);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
