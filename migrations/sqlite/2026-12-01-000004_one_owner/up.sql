-- Exactly one owner per project (Unicat section 5): a second membership row
-- holding the role "owner" in one project is refused by the database, not
-- only by the code. Roles are stored as a JSON list of wire names, e.g.
-- ["owner"]; a transfer demotes the old owner before it promotes the new one.
CREATE UNIQUE INDEX memberships_one_owner ON memberships (project_id)
    WHERE roles LIKE '%"owner"%';
