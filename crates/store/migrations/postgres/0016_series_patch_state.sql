-- Where the patches of each series stand, kept as they change, for the
-- series list's `open` and `state` filters (API 1.5); the same as
-- SQLite's 0016, where the reasons are written out.
CREATE TABLE series_patch_state (
    series_id BIGINT NOT NULL,
    state_id BIGINT NOT NULL,
    archived INTEGER NOT NULL,
    project_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (series_id, state_id, archived)
);
CREATE INDEX series_patch_state_filter ON series_patch_state (state_id, project_id, series_id);

ALTER TABLE series ADD COLUMN open_patches BIGINT NOT NULL DEFAULT 0;
CREATE INDEX series_open ON series (project_id, id) WHERE open_patches > 0;

CREATE FUNCTION series_patch_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.series_id IS NOT NULL THEN
        UPDATE series_patch_state SET n = n - 1
        WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived;
        DELETE FROM series_patch_state
        WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived
            AND n <= 0;
        IF OLD.archived = 0 AND (SELECT action_required FROM state WHERE id = OLD.state_id) <> 0 THEN
            UPDATE series SET open_patches = open_patches - 1 WHERE id = OLD.series_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.series_id IS NOT NULL THEN
        INSERT INTO series_patch_state (series_id, state_id, archived, project_id, n)
        VALUES (NEW.series_id, NEW.state_id, NEW.archived, NEW.project_id, 1)
        ON CONFLICT (series_id, state_id, archived) DO UPDATE SET n = series_patch_state.n + 1;
        IF NEW.archived = 0 AND (SELECT action_required FROM state WHERE id = NEW.state_id) <> 0 THEN
            UPDATE series SET open_patches = open_patches + 1 WHERE id = NEW.series_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER series_patch_state_insert_delete AFTER INSERT OR DELETE ON patch
FOR EACH ROW EXECUTE FUNCTION series_patch_state_change();
CREATE TRIGGER series_patch_state_update AFTER UPDATE OF series_id, state_id, archived ON patch
FOR EACH ROW WHEN (OLD.series_id IS DISTINCT FROM NEW.series_id
    OR OLD.state_id IS DISTINCT FROM NEW.state_id OR OLD.archived IS DISTINCT FROM NEW.archived)
EXECUTE FUNCTION series_patch_state_change();

INSERT INTO series_patch_state (series_id, state_id, archived, project_id, n)
SELECT series_id, state_id, archived, MIN(project_id), COUNT(*) FROM patch
WHERE series_id IS NOT NULL GROUP BY series_id, state_id, archived;

UPDATE series SET open_patches = (
    SELECT COALESCE(SUM(c.n), 0) FROM series_patch_state c JOIN state st ON st.id = c.state_id
    WHERE c.series_id = series.id AND c.archived = 0 AND st.action_required <> 0
);
