-- When a project was soft-deleted (milliseconds since the epoch), for the
-- retention purge; NULL while it is active. Projects deleted before this
-- column existed count from the migration on.
ALTER TABLE projects ADD COLUMN deleted_at BIGINT;
UPDATE projects SET deleted_at = created_at WHERE status = 'deleted';
