-- The audit log (operations spec, "Audit log"): one row per security event,
-- written in the transaction of the change it records. time is milliseconds
-- since the epoch; user_gid is not a foreign key (an event outlives its
-- account); details is a small JSON object of ids and words chosen by the
-- code, never a secret, code, token, hash or password. Housekeeping deletes
-- rows older than ACCOUNTD_AUDIT_RETENTION_DAYS.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        BIGINT NOT NULL,
    event       TEXT NOT NULL,
    user_gid    TEXT,
    client_addr TEXT,
    outcome     TEXT NOT NULL,
    details     TEXT NOT NULL
);
-- Retention and "--since" scan by time; "--user" and "--event" by theirs.
CREATE INDEX audit_events_by_time ON audit_events (time);
CREATE INDEX audit_events_by_user ON audit_events (user_gid, time);
CREATE INDEX audit_events_by_event ON audit_events (event, time);
