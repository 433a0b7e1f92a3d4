-- Webhooks: per-project receivers of events, pushed instead of polled.
--
-- A trigger on `event` queues one `webhook_delivery` per matching
-- receiver in the transaction that writes the event, whichever code path
-- wrote it (ingestion, API, pages, admin), so an event cannot be
-- committed without its deliveries. The same trigger queues a `webhook`
-- job (the shared job queue) for the receiver unless one is already
-- waiting unclaimed; the job sends the receiver's pending deliveries in
-- event order. `categories` is a comma-separated list, empty for all.
-- `failing_since` is the first failure of the current run of failures:
-- a receiver failing for longer than the configured time is disabled
-- (`active` = 0, `disabled_reason` says why) and its deliveries wait,
-- new ones too, until a maintainer turns it back on; a receiver a
-- maintainer turned off (no `disabled_reason`) gets none meanwhile.
CREATE TABLE webhook (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    categories TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES app_user (id) ON DELETE SET NULL,
    created BIGINT NOT NULL,
    failing_since BIGINT,
    disabled_reason TEXT,
    locked_by TEXT,
    locked_until BIGINT
);
CREATE INDEX webhook_project ON webhook (project_id);

-- The delivery log: one row per event and receiver, kept after delivery
-- for the maintainers to read and replay (a replay is a new row that
-- names the delivery it repeats).
CREATE TABLE webhook_delivery (
    id INTEGER PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    last_error TEXT,
    created BIGINT NOT NULL,
    finished BIGINT,
    duration_ms BIGINT,
    replay_of BIGINT
);
CREATE INDEX webhook_delivery_pending ON webhook_delivery (webhook_id, id) WHERE status = 'pending';
CREATE INDEX webhook_delivery_log ON webhook_delivery (webhook_id, id);
CREATE INDEX webhook_delivery_event ON webhook_delivery (event_id);

CREATE TRIGGER event_webhook_delivery AFTER INSERT ON event
WHEN EXISTS (SELECT 1 FROM webhook WHERE project_id = NEW.project_id
    AND (active <> 0 OR disabled_reason IS NOT NULL))
BEGIN
    INSERT INTO webhook_delivery (webhook_id, event_id, status, attempts, created)
    SELECT w.id, NEW.id, 'pending', 0, NEW.date FROM webhook w
    WHERE w.project_id = NEW.project_id AND (w.active <> 0 OR w.disabled_reason IS NOT NULL)
        AND (w.categories = '' OR instr(',' || w.categories || ',', ',' || NEW.category || ',') > 0);
    INSERT INTO job (kind, payload, status, attempts, max_attempts, run_at, created)
    SELECT 'webhook', CAST(w.id AS TEXT), 'pending', 0, 1000000000, NEW.date, NEW.date
    FROM webhook w
    WHERE w.project_id = NEW.project_id AND w.active <> 0
        AND (w.categories = '' OR instr(',' || w.categories || ',', ',' || NEW.category || ',') > 0)
        AND NOT EXISTS (SELECT 1 FROM job j WHERE j.status = 'pending' AND j.kind = 'webhook'
            AND j.payload = CAST(w.id AS TEXT) AND j.locked_by IS NULL);
END;
