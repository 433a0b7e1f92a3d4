-- State changes waiting to be mailed to the patch's submitter (Patchwork's
-- PatchChangeNotification): one row per patch, holding the state it had
-- before the first unsent change, so that a burst of changes becomes one
-- line "was: X, now: Y" and a change back to X needs no mail at all.
CREATE TABLE patch_change_notification (
    patch_id BIGINT PRIMARY KEY REFERENCES patch (id) ON DELETE CASCADE,
    orig_state_id BIGINT NOT NULL REFERENCES state (id) ON DELETE CASCADE,
    last_modified BIGINT NOT NULL
);
