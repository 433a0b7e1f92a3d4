-- Every change a site administrator makes through /admin/: who (the
-- account, and its name at the time, which outlives the account), when,
-- what was done and to what. Shown at /admin/log/, newest first.
CREATE TABLE admin_log (
    id INTEGER PRIMARY KEY,
    date BIGINT NOT NULL,
    actor_id BIGINT REFERENCES app_user (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_log_date ON admin_log (date);
