-- An event names a patch, a series or a cover, rarely all three; the
-- indexes that find a patch's, series' or cover's events need no entry
-- for the events that do not name one. Every stored mail adds one or two
-- events, so these entries were pages written for nothing. Lookups by
-- `patch_id = $1` (and so on) imply the column is not null, so both
-- planners still use them.
DROP INDEX event_patch;
DROP INDEX event_series;
DROP INDEX event_cover;
CREATE INDEX event_patch ON event (patch_id) WHERE patch_id IS NOT NULL;
CREATE INDEX event_series ON event (series_id) WHERE series_id IS NOT NULL;
CREATE INDEX event_cover ON event (cover_id) WHERE cover_id IS NOT NULL;
