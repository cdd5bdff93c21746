DROP INDEX users_by_username_fold;
ALTER TABLE users DROP COLUMN keys_folded;
ALTER TABLE users DROP COLUMN username_fold;
