-- Scoped API tokens. The token a profile page or `token create USER`
-- makes stays Patchwork's one per user (`name` NULL, scope `write`: all
-- the user may do). Named tokens come beside it, each with a scope:
-- `read` (no writes at all), `checks` (post and update checks on the
-- projects listed in `api_token_project`, nothing else) or `write`, and
-- optionally an expiry, after which the token is refused.
ALTER TABLE api_token ADD COLUMN name TEXT;
ALTER TABLE api_token ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';
ALTER TABLE api_token ADD COLUMN expires BIGINT;
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE api_token_project (
    token_id BIGINT NOT NULL REFERENCES api_token (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, project_id)
);
