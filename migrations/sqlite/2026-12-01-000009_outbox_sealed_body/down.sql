ALTER TABLE outbox DROP COLUMN body_sealed;
