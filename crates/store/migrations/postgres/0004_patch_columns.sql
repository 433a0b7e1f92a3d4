-- SQLite's 0004 moves the patch table's large columns last so that list
-- queries do not read them. PostgreSQL keeps large values out of line
-- (TOAST) already: nothing to do, but the version numbers stay in step.
SELECT 1;
