-- Confirmations sent by mail (registration, linking an address, opt-out,
-- opt-in, password reset). The key in the link is stored as its SHA-256,
-- so a leaked database confirms nothing.
CREATE TABLE email_confirmation (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    user_id BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX email_confirmation_user ON email_confirmation (user_id);

-- Addresses that asked for no automated mail, lower-cased.
CREATE TABLE email_optout (
    email TEXT PRIMARY KEY
);
