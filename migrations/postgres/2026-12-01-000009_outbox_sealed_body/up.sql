-- Whether an outbox row's body is sealed (encrypted under a key derived
-- from the server secret, while it holds a live code). Rows queued before
-- this migration hold their body in clear and are sent as stored.
ALTER TABLE outbox ADD COLUMN body_sealed BOOLEAN NOT NULL DEFAULT FALSE;
