DROP INDEX memberships_by_status;
ALTER TABLE memberships DROP COLUMN invite_token_mac;
ALTER TABLE memberships DROP COLUMN invite_expires_at;
ALTER TABLE memberships DROP COLUMN invited_at;
ALTER TABLE memberships DROP COLUMN invited_by;
