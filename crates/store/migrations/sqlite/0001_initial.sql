-- The data model of a Patchwork site (reference §0), in the portable subset:
-- no BOOLEAN (0/1 integers), timestamps as BIGINT microseconds UTC.

CREATE TABLE project (
    id INTEGER PRIMARY KEY,
    linkname TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    listid TEXT NOT NULL,
    listemail TEXT NOT NULL DEFAULT '',
    subject_match TEXT NOT NULL DEFAULT '',
    web_url TEXT NOT NULL DEFAULT '',
    scm_url TEXT NOT NULL DEFAULT '',
    webscm_url TEXT NOT NULL DEFAULT '',
    list_archive_url TEXT NOT NULL DEFAULT '',
    list_archive_url_format TEXT NOT NULL DEFAULT '',
    commit_url_format TEXT NOT NULL DEFAULT '',
    send_notifications INTEGER NOT NULL DEFAULT 0,
    use_tags INTEGER NOT NULL DEFAULT 1,
    show_dependencies INTEGER NOT NULL DEFAULT 0,
    UNIQUE (listid, subject_match)
);

CREATE TABLE app_user (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    is_superuser INTEGER NOT NULL DEFAULT 0,
    is_active INTEGER NOT NULL DEFAULT 1,
    date_joined BIGINT NOT NULL,
    items_per_page INTEGER NOT NULL DEFAULT 100,
    show_ids INTEGER NOT NULL DEFAULT 0,
    send_email INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE project_maintainer (
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);

CREATE TABLE api_token (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);

CREATE TABLE person (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT,
    user_id BIGINT REFERENCES app_user (id) ON DELETE SET NULL
);

CREATE TABLE state (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    ordering INTEGER NOT NULL UNIQUE,
    action_required INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE tag (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    abbrev TEXT NOT NULL UNIQUE,
    show_column INTEGER NOT NULL DEFAULT 1
);

-- The original bytes of every accepted mail, so a parser fix can re-parse.
CREATE TABLE raw_mail (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    received BIGINT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX raw_mail_msgid ON raw_mail (project_id, msgid);

CREATE TABLE cover (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    name TEXT NOT NULL,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    headers TEXT NOT NULL,
    content TEXT,
    raw_mail_id BIGINT REFERENCES raw_mail (id) ON DELETE SET NULL,
    UNIQUE (msgid, project_id)
);
CREATE INDEX cover_name ON cover (name);

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    cover_letter_id BIGINT UNIQUE REFERENCES cover (id) ON DELETE SET NULL,
    name TEXT,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    version INTEGER NOT NULL DEFAULT 1,
    total INTEGER NOT NULL
);
CREATE INDEX series_markers ON series (project_id, submitter_id, version, total, date);

CREATE TABLE series_reference (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    UNIQUE (project_id, msgid)
);

CREATE TABLE series_dependency (
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    depends_on_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    PRIMARY KEY (series_id, depends_on_id)
);

CREATE TABLE patch_relation (
    id INTEGER PRIMARY KEY
);

CREATE TABLE patch (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    name TEXT NOT NULL,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    headers TEXT NOT NULL,
    content TEXT,
    diff TEXT,
    commit_ref TEXT,
    pull_url TEXT,
    delegate_id BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    state_id BIGINT NOT NULL REFERENCES state (id),
    archived INTEGER NOT NULL DEFAULT 0,
    hash TEXT,
    series_id BIGINT REFERENCES series (id) ON DELETE SET NULL,
    number INTEGER,
    related_id BIGINT REFERENCES patch_relation (id) ON DELETE SET NULL,
    raw_mail_id BIGINT REFERENCES raw_mail (id) ON DELETE SET NULL,
    UNIQUE (msgid, project_id),
    UNIQUE (series_id, number)
);
CREATE INDEX patch_hash ON patch (hash);
CREATE INDEX patch_list ON patch (project_id, archived, state_id, date);
CREATE INDEX patch_series ON patch (series_id);

CREATE TABLE patch_tag (
    patch_id BIGINT NOT NULL REFERENCES patch (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tag (id) ON DELETE CASCADE,
    count INTEGER NOT NULL,
    PRIMARY KEY (patch_id, tag_id)
);

CREATE TABLE patch_comment (
    id INTEGER PRIMARY KEY,
    patch_id BIGINT NOT NULL REFERENCES patch (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    subject TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL,
    content TEXT,
    addressed INTEGER,
    raw_mail_id BIGINT REFERENCES raw_mail (id) ON DELETE SET NULL,
    UNIQUE (msgid, patch_id)
);
CREATE INDEX patch_comment_msgid ON patch_comment (msgid);

CREATE TABLE cover_comment (
    id INTEGER PRIMARY KEY,
    cover_id BIGINT NOT NULL REFERENCES cover (id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    date BIGINT NOT NULL,
    submitter_id BIGINT NOT NULL REFERENCES person (id),
    subject TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL,
    content TEXT,
    addressed INTEGER,
    raw_mail_id BIGINT REFERENCES raw_mail (id) ON DELETE SET NULL,
    UNIQUE (msgid, cover_id)
);
CREATE INDEX cover_comment_msgid ON cover_comment (msgid);

CREATE TABLE check_result (
    id INTEGER PRIMARY KEY,
    patch_id BIGINT NOT NULL REFERENCES patch (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    date BIGINT NOT NULL,
    state INTEGER NOT NULL,
    target_url TEXT,
    description TEXT,
    context TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX check_result_patch ON check_result (patch_id);

CREATE TABLE bundle (
    id INTEGER PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner_id, name)
);

CREATE TABLE bundle_patch (
    bundle_id BIGINT NOT NULL REFERENCES bundle (id) ON DELETE CASCADE,
    patch_id BIGINT NOT NULL REFERENCES patch (id) ON DELETE CASCADE,
    ordering INTEGER NOT NULL,
    PRIMARY KEY (bundle_id, patch_id)
);

CREATE TABLE delegation_rule (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    UNIQUE (path, project_id)
);

CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    category TEXT NOT NULL,
    project_id BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    date BIGINT NOT NULL,
    actor_id BIGINT REFERENCES app_user (id) ON DELETE SET NULL,
    patch_id BIGINT REFERENCES patch (id) ON DELETE CASCADE,
    series_id BIGINT REFERENCES series (id) ON DELETE CASCADE,
    cover_id BIGINT REFERENCES cover (id) ON DELETE CASCADE,
    previous_state_id BIGINT REFERENCES state (id) ON DELETE CASCADE,
    current_state_id BIGINT REFERENCES state (id) ON DELETE CASCADE,
    previous_delegate_id BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    current_delegate_id BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    created_check_id BIGINT REFERENCES check_result (id) ON DELETE CASCADE,
    patch_comment_id BIGINT REFERENCES patch_comment (id) ON DELETE CASCADE,
    cover_comment_id BIGINT REFERENCES cover_comment (id) ON DELETE CASCADE
);
CREATE INDEX event_project_date ON event (project_id, date);

-- Patchwork's default states (kernel.org numbering) and tags.
INSERT INTO state (id, name, slug, ordering, action_required) VALUES
    (1, 'New', 'new', 0, 1),
    (2, 'Under Review', 'under-review', 1, 1),
    (3, 'Accepted', 'accepted', 2, 0),
    (4, 'Rejected', 'rejected', 3, 0),
    (5, 'RFC', 'rfc', 4, 0),
    (6, 'Not Applicable', 'not-applicable', 5, 0),
    (7, 'Changes Requested', 'changes-requested', 6, 0),
    (8, 'Awaiting Upstream', 'awaiting-upstream', 7, 0),
    (9, 'Superseded', 'superseded', 8, 0),
    (10, 'Deferred', 'deferred', 9, 0);

INSERT INTO tag (id, name, pattern, abbrev, show_column) VALUES
    (1, 'Acked-by', '^Acked-by:', 'A', 1),
    (2, 'Reviewed-by', '^Reviewed-by:', 'R', 1),
    (3, 'Tested-by', '^Tested-by:', 'T', 1);
