-- Every stored patch, cover and comment keeps its original bytes in
-- raw_mail, so one message-id per project there is the duplicate check
-- ingestion makes first: one unique index instead of a lookup across four
-- tables (one statement less per mail). It replaces the plain index.
--
-- patch_series goes: patches are found by series through the unique
-- (series_id, number) index, and it was one page more to write per mail.
DROP INDEX raw_mail_msgid;
CREATE UNIQUE INDEX raw_mail_msgid ON raw_mail (project_id, msgid);
DROP INDEX patch_series;
