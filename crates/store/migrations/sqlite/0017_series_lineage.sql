-- Version lineage: which posting of a series each one revises, found at
-- ingestion (grouping.rs / lineage.rs) from the best evidence the mail
-- gives. `previous_id` is the posting revised and `lineage` the kind of
-- evidence that linked them (`change-id`, `link`, `in-reply-to`,
-- `supersedes`, `name`), so a weaker link can give way to a stronger one
-- when a later mail of the series brings it. `change_id` is b4's footer.
--
-- `series_name_key` holds the names a series is known by once prefixes
-- and case are folded (its own name and its first patch's), so that the
-- name rule finds a submitter's earlier postings with one index probe.
--
-- A patch's `supersedes_id` is the patch it revises (the same patch in
-- the previous version, or the patch a `v5.1` replacement replaced);
-- `replaced_by_id` marks a patch a replacement took the place of in its
-- series. `project.auto_supersede` marks the open patches of an older
-- version `superseded` once a newer version is complete.
ALTER TABLE series ADD COLUMN previous_id BIGINT;
ALTER TABLE series ADD COLUMN lineage TEXT;
ALTER TABLE series ADD COLUMN change_id TEXT;
CREATE INDEX series_previous ON series (previous_id) WHERE previous_id IS NOT NULL;
CREATE INDEX series_change_id ON series (project_id, change_id) WHERE change_id IS NOT NULL;

CREATE TABLE series_name_key (
    project_id BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL,
    name_key TEXT NOT NULL,
    series_id BIGINT NOT NULL,
    PRIMARY KEY (project_id, submitter_id, name_key, series_id)
);

ALTER TABLE patch ADD COLUMN supersedes_id BIGINT;
ALTER TABLE patch ADD COLUMN replaced_by_id BIGINT;
CREATE INDEX patch_supersedes ON patch (supersedes_id) WHERE supersedes_id IS NOT NULL;
CREATE INDEX patch_replaced_by ON patch (replaced_by_id) WHERE replaced_by_id IS NOT NULL;

ALTER TABLE project ADD COLUMN auto_supersede INTEGER NOT NULL DEFAULT 0;
