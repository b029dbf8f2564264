-- Schema 4: the calls of each business day, so the board's recent calls and the priority cap's
-- look-back read today's calls only, never the whole log (a year is millions of events). One
-- row per case_called / case_recalled event, written in the same transaction as the event and
-- recomputed from the log by `verify`. The department is the one the call was made for (the
-- event's own), the day the case's business day.
CREATE TABLE calls (
    seq          INTEGER PRIMARY KEY,
    business_day TEXT NOT NULL,
    department   TEXT NOT NULL,
    case_id      INTEGER NOT NULL,
    recall       INTEGER NOT NULL
);
CREATE INDEX calls_day ON calls(business_day, seq);
CREATE INDEX calls_day_department ON calls(business_day, department, recall, seq);

INSERT INTO calls (seq, business_day, department, case_id, recall)
SELECT e.seq, c.business_day,
       coalesce(nullif(json_extract(e.payload, '$.department'), ''), c.department),
       e.case_id, e.kind = 'case_recalled'
FROM events e JOIN cases c ON c.id = e.case_id
WHERE e.kind IN ('case_called', 'case_recalled');
