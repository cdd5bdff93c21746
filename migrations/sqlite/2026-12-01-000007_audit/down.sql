DROP INDEX audit_events_by_event;
DROP INDEX audit_events_by_user;
DROP INDEX audit_events_by_time;
DROP TABLE audit_events;
