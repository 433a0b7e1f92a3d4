-- Browser sessions: the cookie carries a random id, stored here hashed,
-- with the CSRF token that forms and unsafe API requests must echo.
CREATE TABLE web_session (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX web_session_user ON web_session (user_id);
