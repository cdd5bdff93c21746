-- Every key row carries its challenge's purpose, issue time and whether the
-- challenge is still open (kept in step by every statement that changes a
-- challenge's state, all in `db/challenges.rs`), so finding the open or the
-- latest challenge of a key reads one index entry instead of every
-- challenge the key ever had: under a flood of step-1 requests for one
-- account (limits off) that list grew by one row per request, and each
-- request scanned it.
ALTER TABLE challenge_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE challenge_keys ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE challenge_keys ADD COLUMN is_open BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE challenge_keys SET
    purpose = (SELECT c.purpose FROM challenges c WHERE c.id = challenge_keys.challenge_id),
    issued_at = (SELECT c.issued_at FROM challenges c WHERE c.id = challenge_keys.challenge_id),
    is_open = (SELECT c.state = 'open' FROM challenges c WHERE c.id = challenge_keys.challenge_id);
DROP INDEX challenge_keys_by_key;
CREATE INDEX challenge_keys_latest ON challenge_keys (key, purpose, issued_at);
CREATE INDEX challenge_keys_open ON challenge_keys (key, purpose) WHERE is_open;
