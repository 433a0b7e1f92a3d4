-- Every page a logged-in user opens counts the patches delegated to them
-- (the to-do badge). Few patches have a delegate, so a partial index is
-- small and costs nothing when a mail without one is stored.
CREATE INDEX patch_delegate ON patch (delegate_id) WHERE delegate_id IS NOT NULL;
