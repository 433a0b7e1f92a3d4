-- Comments are read per parent (tag recounts, threads); the unique
-- (msgid, parent) index does not serve that.
CREATE INDEX patch_comment_patch ON patch_comment (patch_id, date);
CREATE INDEX cover_comment_cover ON cover_comment (cover_id, date);
