-- Lists and their counts at the size of real sites (a million patches).
--
-- Indexes whose order after the project is the lists' default order (id),
-- so a page is read from the index and the LIMIT stops early instead of
-- sorting every row of the project; and one for the submitter filter,
-- which scanned the whole patch table.
CREATE INDEX patch_project ON patch (project_id, id);
CREATE INDEX patch_submitter ON patch (project_id, submitter_id, id);
CREATE INDEX series_project ON series (project_id, id);

-- Tallies: how many patches, series and events there are per key, for the
-- counts every list page needs (the Link header's `last`, b4's backlog
-- count with per_page=1) and the to-do count in every maintainer's nav
-- bar. Triggers add a row of +1 or -1 per change inside the writing
-- transaction, so concurrent writers never wait on a shared counter row
-- and a count is exact in any snapshot; `Store::compact_tallies` (run by
-- the scheduler) folds the rows of a key into one. A count is then the sum
-- of a few rows, whatever the size of the project.
--
-- A migration that rebuilds one of these tables must recreate its
-- triggers.
CREATE TABLE patch_tally (
    project_id BIGINT NOT NULL,
    state_id BIGINT NOT NULL,
    archived INTEGER NOT NULL,
    delegate_id BIGINT,
    n BIGINT NOT NULL
);
CREATE INDEX patch_tally_key ON patch_tally (project_id, state_id, archived, delegate_id);
CREATE INDEX patch_tally_delegate ON patch_tally (delegate_id) WHERE delegate_id IS NOT NULL;

CREATE TRIGGER patch_tally_insert AFTER INSERT ON patch BEGIN
    INSERT INTO patch_tally VALUES (NEW.project_id, NEW.state_id, NEW.archived, NEW.delegate_id, 1);
END;
CREATE TRIGGER patch_tally_delete AFTER DELETE ON patch BEGIN
    INSERT INTO patch_tally VALUES (OLD.project_id, OLD.state_id, OLD.archived, OLD.delegate_id, -1);
END;
CREATE TRIGGER patch_tally_update AFTER UPDATE OF project_id, state_id, archived, delegate_id ON patch
WHEN OLD.project_id IS NOT NEW.project_id OR OLD.state_id IS NOT NEW.state_id
    OR OLD.archived IS NOT NEW.archived OR OLD.delegate_id IS NOT NEW.delegate_id
BEGIN
    INSERT INTO patch_tally VALUES (OLD.project_id, OLD.state_id, OLD.archived, OLD.delegate_id, -1);
    INSERT INTO patch_tally VALUES (NEW.project_id, NEW.state_id, NEW.archived, NEW.delegate_id, 1);
END;

CREATE TABLE series_tally (project_id BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE INDEX series_tally_key ON series_tally (project_id);
CREATE TRIGGER series_tally_insert AFTER INSERT ON series BEGIN
    INSERT INTO series_tally VALUES (NEW.project_id, 1);
END;
CREATE TRIGGER series_tally_delete AFTER DELETE ON series BEGIN
    INSERT INTO series_tally VALUES (OLD.project_id, -1);
END;
CREATE TRIGGER series_tally_update AFTER UPDATE OF project_id ON series
WHEN OLD.project_id IS NOT NEW.project_id
BEGIN
    INSERT INTO series_tally VALUES (OLD.project_id, -1);
    INSERT INTO series_tally VALUES (NEW.project_id, 1);
END;

CREATE TABLE event_tally (project_id BIGINT NOT NULL, category TEXT NOT NULL, n BIGINT NOT NULL);
CREATE INDEX event_tally_key ON event_tally (project_id, category);
CREATE TRIGGER event_tally_insert AFTER INSERT ON event BEGIN
    INSERT INTO event_tally VALUES (NEW.project_id, NEW.category, 1);
END;
CREATE TRIGGER event_tally_delete AFTER DELETE ON event BEGIN
    INSERT INTO event_tally VALUES (OLD.project_id, OLD.category, -1);
END;

INSERT INTO patch_tally
SELECT project_id, state_id, archived, delegate_id, COUNT(*) FROM patch
GROUP BY project_id, state_id, archived, delegate_id;
INSERT INTO series_tally SELECT project_id, COUNT(*) FROM series GROUP BY project_id;
INSERT INTO event_tally SELECT project_id, category, COUNT(*) FROM event GROUP BY project_id, category;
