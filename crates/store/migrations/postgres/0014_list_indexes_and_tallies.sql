-- Lists and their counts at the size of real sites (a million patches);
-- the same as SQLite's 0014, where the reasons are written out. Indexes
-- in the lists' default order, and one for the submitter filter:
CREATE INDEX patch_project ON patch (project_id, id);
CREATE INDEX patch_submitter ON patch (project_id, submitter_id, id);
CREATE INDEX series_project ON series (project_id, id);

-- Tallies kept by triggers as +1/-1 rows (no shared counter row for
-- concurrent writers to wait on), folded by `Store::compact_tallies`.
CREATE TABLE patch_tally (
    project_id BIGINT NOT NULL,
    state_id BIGINT NOT NULL,
    archived INTEGER NOT NULL,
    delegate_id BIGINT,
    n BIGINT NOT NULL
);
CREATE INDEX patch_tally_key ON patch_tally (project_id, state_id, archived, delegate_id);
CREATE INDEX patch_tally_delegate ON patch_tally (delegate_id) WHERE delegate_id IS NOT NULL;

CREATE FUNCTION patch_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO patch_tally VALUES (OLD.project_id, OLD.state_id, OLD.archived, OLD.delegate_id, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO patch_tally VALUES (NEW.project_id, NEW.state_id, NEW.archived, NEW.delegate_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER patch_tally_insert_delete AFTER INSERT OR DELETE ON patch
FOR EACH ROW EXECUTE FUNCTION patch_tally_change();
CREATE TRIGGER patch_tally_update AFTER UPDATE OF project_id, state_id, archived, delegate_id ON patch
FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id
    OR OLD.state_id IS DISTINCT FROM NEW.state_id OR OLD.archived IS DISTINCT FROM NEW.archived
    OR OLD.delegate_id IS DISTINCT FROM NEW.delegate_id)
EXECUTE FUNCTION patch_tally_change();

CREATE TABLE series_tally (project_id BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE INDEX series_tally_key ON series_tally (project_id);
CREATE FUNCTION series_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO series_tally VALUES (OLD.project_id, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO series_tally VALUES (NEW.project_id, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER series_tally_insert_delete AFTER INSERT OR DELETE ON series
FOR EACH ROW EXECUTE FUNCTION series_tally_change();
CREATE TRIGGER series_tally_update AFTER UPDATE OF project_id ON series
FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id)
EXECUTE FUNCTION series_tally_change();

CREATE TABLE event_tally (project_id BIGINT NOT NULL, category TEXT NOT NULL, n BIGINT NOT NULL);
CREATE INDEX event_tally_key ON event_tally (project_id, category);
CREATE FUNCTION event_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_tally VALUES (NEW.project_id, NEW.category, 1);
    ELSE
        INSERT INTO event_tally VALUES (OLD.project_id, OLD.category, -1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER event_tally_insert_delete AFTER INSERT OR DELETE ON event
FOR EACH ROW EXECUTE FUNCTION event_tally_change();

INSERT INTO patch_tally
SELECT project_id, state_id, archived, delegate_id, COUNT(*) FROM patch
GROUP BY project_id, state_id, archived, delegate_id;
INSERT INTO series_tally SELECT project_id, COUNT(*) FROM series GROUP BY project_id;
INSERT INTO event_tally SELECT project_id, category, COUNT(*) FROM event GROUP BY project_id, category;
