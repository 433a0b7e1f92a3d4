-- The one persistent queue of background work (mail now; webhooks and
-- notifications later): a restart or an SMTP outage leaves the work here
-- to be done later instead of losing it. A claimed job carries a lease
-- (locked_until): when its worker dies, the job becomes due again once
-- the lease has passed. Done jobs stay a while for the admins to see.
CREATE TABLE job (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created BIGINT NOT NULL,
    finished BIGINT
);
-- Claiming reads only the due, pending jobs, oldest first.
CREATE INDEX job_due ON job (run_at, id) WHERE status = 'pending';
CREATE INDEX job_status ON job (status, finished);
