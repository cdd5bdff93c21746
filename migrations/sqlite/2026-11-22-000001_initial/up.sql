-- Users: usernames are unique case-insensitively through username_key.
CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    username           TEXT,
    username_key       TEXT UNIQUE,
    status             TEXT NOT NULL,
    credential_version BIGINT NOT NULL,
    password_hash      TEXT,
    name               TEXT NOT NULL DEFAULT '',
    language           TEXT NOT NULL DEFAULT 'en',
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    created_at         BIGINT NOT NULL
);

CREATE TABLE user_emails (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    email     TEXT NOT NULL,
    email_key TEXT NOT NULL,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_by_key ON user_emails (email_key);

-- One-time-code challenges. Codes are stored only as keyed MACs.
CREATE TABLE challenges (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    subject_key  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    code_mac     BLOB NOT NULL,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    max_failures INTEGER NOT NULL,
    state        TEXT NOT NULL
);
CREATE INDEX challenges_by_subject ON challenges (purpose, subject_key, issued_at);

-- Sliding-window rate limits.
CREATE TABLE rate_events (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX rate_events_by_key ON rate_events (key, at);

-- The transactional outbox. body is erased once a message is sent or given up.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT,
    not_after       BIGINT,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
