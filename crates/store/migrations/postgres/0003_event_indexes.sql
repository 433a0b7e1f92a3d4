-- The event list is read newest first, whole or by patch, series or
-- cover; without these it sorts the whole table on every request.
CREATE INDEX event_date ON event (date, id);
CREATE INDEX event_patch ON event (patch_id);
CREATE INDEX event_series ON event (series_id);
CREATE INDEX event_cover ON event (cover_id);
