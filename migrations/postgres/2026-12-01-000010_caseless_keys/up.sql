-- Caseless keys (spec, security: "Comparing names and addresses"): names and
-- addresses compare under full Unicode case folding of their NFKC form,
-- which SQL cannot compute. `accountd migrate` (and `serve` at start)
-- recomputes the keys of every row whose `keys_folded` is still false, in
-- Rust, right after the migrations:
--   username_fold  the caseless key of the username (indexed, not unique:
--                  accounts that collide under the new rule are kept);
--   username_key   stays the UNIQUE slot: the caseless key for every account
--                  but the younger ones of a collision, which hold
--                  'legacy:<gid>' (no username's key contains ':'), so new
--                  names colliding with any of them are refused;
--   user_emails.email_key  the caseless key of the address.
ALTER TABLE users ADD COLUMN username_fold TEXT;
ALTER TABLE users ADD COLUMN keys_folded BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX users_by_username_fold ON users (username_fold);
