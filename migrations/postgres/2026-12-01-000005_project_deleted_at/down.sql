ALTER TABLE projects DROP COLUMN deleted_at;
