-- Moving a Patchwork site (`patchtrack import-patchwork`).
--
-- Patchwork keeps no original mail. Each imported patch, cover and
-- comment still gets a raw_mail row, empty and marked `imported`: the
-- row is what makes a re-sent mail a duplicate (raw_mail's unique
-- project and message-id), and the mark is what `reparse` skips.
ALTER TABLE raw_mail ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;

-- Columns of Patchwork's tables that patchtrack did not have, kept so
-- that nothing of the old site is lost (the API shows neither).
ALTER TABLE app_user ADD COLUMN last_login BIGINT;
ALTER TABLE event ADD COLUMN previous_relation_id BIGINT REFERENCES patch_relation (id) ON DELETE SET NULL;
ALTER TABLE event ADD COLUMN current_relation_id BIGINT REFERENCES patch_relation (id) ON DELETE SET NULL;

-- The import itself: what was read from where, which tables are done
-- (each is copied in one transaction, so a re-run after an interruption
-- starts at the first unfinished one), and every source row that could
-- not be imported, with the reason.
CREATE TABLE patchwork_import (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    schema_version TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    projects TEXT NOT NULL DEFAULT '',
    started BIGINT NOT NULL,
    finished BIGINT
);
CREATE TABLE patchwork_import_table (
    name TEXT PRIMARY KEY,
    source_rows BIGINT NOT NULL,
    imported BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    millis BIGINT NOT NULL,
    finished BIGINT NOT NULL
);
CREATE TABLE patchwork_import_skip (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    source_key TEXT NOT NULL,
    reason TEXT NOT NULL
);
