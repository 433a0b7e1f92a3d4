-- The check lifecycle of API 1.5. A series check is posted once on a
-- series and stored on each of its patches (so every patch's checks, its
-- aggregate, the lists and old clients show it): the rows share
-- `series_id` and `series_check_id`, the id of the row on the series'
-- first patch, which is the check as the series lists it. Updating a
-- check in place changes its state, URL and description and dates it
-- anew (the newest result per user and context is the current one).
-- `event.detail` holds what an event carries beyond its references: the
-- contexts a recheck asks for, as a JSON array.
ALTER TABLE check_result ADD COLUMN series_id BIGINT;
ALTER TABLE check_result ADD COLUMN series_check_id BIGINT;
CREATE INDEX check_result_series ON check_result (series_check_id) WHERE series_check_id IS NOT NULL;
CREATE INDEX check_result_series_id ON check_result (series_id) WHERE series_id IS NOT NULL;
ALTER TABLE event ADD COLUMN detail TEXT;
