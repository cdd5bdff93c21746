-- The revert links of email-change notices: only the MAC of each token is
-- stored, with the address a revert restores and the one that replaced it.
CREATE TABLE email_reverts (
    token_mac     BYTEA PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    restore_email TEXT NOT NULL,
    replaced_by   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    spent_at      BIGINT
);
CREATE INDEX email_reverts_by_user ON email_reverts (user_id);
