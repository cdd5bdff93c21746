DROP INDEX challenge_keys_open;
DROP INDEX challenge_keys_latest;
CREATE INDEX challenge_keys_by_key ON challenge_keys (key);
ALTER TABLE challenge_keys DROP COLUMN is_open;
ALTER TABLE challenge_keys DROP COLUMN issued_at;
ALTER TABLE challenge_keys DROP COLUMN purpose;
