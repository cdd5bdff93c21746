DROP TABLE memberships;
DROP TABLE projects;
DROP TABLE challenge_keys;
DROP INDEX challenges_by_lookup;
ALTER TABLE challenges DROP COLUMN lookup_mac;
