DROP TABLE email_reverts;
