-- The invitation of an invited or declined membership row (Unicat section
-- 5): who sent it and when (milliseconds since the epoch), until when it may
-- be accepted, and the keyed MAC of its 256-bit token (never the token).
-- Housekeeping clears the MAC once the invitation expired; the row stays.
-- An active row has none of them. The inviter is not a foreign key: an
-- invitation outlives its inviter's account.
ALTER TABLE memberships ADD COLUMN invited_by TEXT;
ALTER TABLE memberships ADD COLUMN invited_at BIGINT;
ALTER TABLE memberships ADD COLUMN invite_expires_at BIGINT;
ALTER TABLE memberships ADD COLUMN invite_token_mac BYTEA;
-- The pending cap counts a project's invited rows.
CREATE INDEX memberships_by_status ON memberships (project_id, status);
