-- Schema version 2: a queue follows issue order (the case id), never the clock. A clock that
-- stepped back (NTP, a wrong hardware clock at boot) gave a later ticket an earlier queued_at
-- and let it be called first.
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases(business_day, department, priority_rank DESC, id) WHERE state IN ('waiting', 'transferred');
