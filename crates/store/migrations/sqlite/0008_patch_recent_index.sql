-- The lists' index, reshaped for how they are read: newest first within a
-- project, whatever the state filter, with the name inside so that a
-- search in names reads the index and not the patch rows (which carry the
-- whole mail). It replaces patch_list (project, archived, state, date),
-- which made "any state" lists sort every patch of the project and name
-- searches read the table: on git-list, 3.5 -> 0.4 ms and 7 -> 2.6 ms.
DROP INDEX patch_list;
CREATE INDEX patch_recent ON patch (project_id, archived, date, state_id, name);
