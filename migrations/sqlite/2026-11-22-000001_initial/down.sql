DROP TABLE outbox;
DROP TABLE rate_events;
DROP TABLE challenges;
DROP TABLE user_emails;
DROP TABLE users;
