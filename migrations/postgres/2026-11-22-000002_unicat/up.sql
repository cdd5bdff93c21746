-- Unicat challenges are found by the MAC of the validation code their caller holds.
ALTER TABLE challenges ADD COLUMN lookup_mac BYTEA;
CREATE UNIQUE INDEX challenges_by_lookup ON challenges (lookup_mac);

-- Every key a challenge is about (its subject key, and each covered account):
-- superseding and consumption on password change go through these.
CREATE TABLE challenge_keys (
    challenge_id TEXT NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    PRIMARY KEY (challenge_id, key)
);
CREATE INDEX challenge_keys_by_key ON challenge_keys (key);
INSERT INTO challenge_keys (challenge_id, key) SELECT id, subject_key FROM challenges;

CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    icon       TEXT,
    owner_id   TEXT NOT NULL REFERENCES users (id),
    status     TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    languages  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    project_id            TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status                TEXT NOT NULL,
    roles                 TEXT NOT NULL,
    notify_email          TEXT,
    notify_events         TEXT NOT NULL,
    notify_frequency      TEXT NOT NULL,
    rate_limit_per_second INTEGER,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);
