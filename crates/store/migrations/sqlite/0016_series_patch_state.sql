-- Where the patches of each series stand, kept as they change, so that
-- the series list (API 1.5) can filter by `open` and `state` without
-- grouping the patches of every series it walks past.
--
-- `series_patch_state` holds one row per series, state and archived flag
-- that has patches, with their number; a row whose number drops to zero
-- is removed, so a row's presence says "some patch of this series is in
-- this state". `series.open_patches` is how many of a series' patches are
-- in an action-required state and not archived: the series is open while
-- it is above zero, and the partial index lists a project's open series
-- (the backlog, not the archive) by id. `Store::set_state_action_required`
-- recounts the column for the series a changed state touches.
--
-- Written by the triggers below inside the patch's own transaction; the
-- rows are per series, so only writers of one series ever meet on them.
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

CREATE TRIGGER series_patch_state_insert AFTER INSERT ON patch
WHEN NEW.series_id IS NOT NULL
BEGIN
    INSERT INTO series_patch_state (series_id, state_id, archived, project_id, n)
    VALUES (NEW.series_id, NEW.state_id, NEW.archived, NEW.project_id, 1)
    ON CONFLICT (series_id, state_id, archived) DO UPDATE SET n = n + 1;
    UPDATE series SET open_patches = open_patches + 1
    WHERE id = NEW.series_id AND NEW.archived = 0
        AND (SELECT action_required FROM state WHERE id = NEW.state_id) <> 0;
END;

CREATE TRIGGER series_patch_state_delete AFTER DELETE ON patch
WHEN OLD.series_id IS NOT NULL
BEGIN
    UPDATE series_patch_state SET n = n - 1
    WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived;
    DELETE FROM series_patch_state
    WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived
        AND n <= 0;
    UPDATE series SET open_patches = open_patches - 1
    WHERE id = OLD.series_id AND OLD.archived = 0
        AND (SELECT action_required FROM state WHERE id = OLD.state_id) <> 0;
END;

CREATE TRIGGER series_patch_state_update AFTER UPDATE OF series_id, state_id, archived ON patch
WHEN OLD.series_id IS NOT NEW.series_id OR OLD.state_id IS NOT NEW.state_id
    OR OLD.archived IS NOT NEW.archived
BEGIN
    UPDATE series_patch_state SET n = n - 1
    WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived;
    DELETE FROM series_patch_state
    WHERE series_id = OLD.series_id AND state_id = OLD.state_id AND archived = OLD.archived
        AND n <= 0;
    UPDATE series SET open_patches = open_patches - 1
    WHERE id = OLD.series_id AND OLD.archived = 0
        AND (SELECT action_required FROM state WHERE id = OLD.state_id) <> 0;
    INSERT INTO series_patch_state (series_id, state_id, archived, project_id, n)
    SELECT NEW.series_id, NEW.state_id, NEW.archived, NEW.project_id, 1
    WHERE NEW.series_id IS NOT NULL
    ON CONFLICT (series_id, state_id, archived) DO UPDATE SET n = n + 1;
    UPDATE series SET open_patches = open_patches + 1
    WHERE id = NEW.series_id AND NEW.archived = 0
        AND (SELECT action_required FROM state WHERE id = NEW.state_id) <> 0;
END;

INSERT INTO series_patch_state (series_id, state_id, archived, project_id, n)
SELECT series_id, state_id, archived, MIN(project_id), COUNT(*) FROM patch
WHERE series_id IS NOT NULL GROUP BY series_id, state_id, archived;

UPDATE series SET open_patches = (
    SELECT COALESCE(SUM(c.n), 0) FROM series_patch_state c JOIN state st ON st.id = c.state_id
    WHERE c.series_id = series.id AND c.archived = 0 AND st.action_required <> 0
);
