-- The number of each outbox row's latest claim: the dispatcher's marks
-- (sent, dead, retry) are fenced by the lease owner and this id, so that a
-- dispatcher whose lease lapsed and was taken over cannot mark the row.
ALTER TABLE outbox ADD COLUMN lease_id BIGINT NOT NULL DEFAULT 0;
