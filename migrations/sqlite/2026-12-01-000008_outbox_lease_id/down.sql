ALTER TABLE outbox DROP COLUMN lease_id;
