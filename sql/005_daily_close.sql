-- Schema version 5: the daily close (日结). A case that comes back on a later day takes that
-- day's number and stands in line where that number is: `queue_pos` (NULL for every case that
-- was issued that day) places it after the tickets issued before it. A queue orders by
-- `coalesce(queue_pos, id * 1024)`, so a returned case sorts between two issue orders.
ALTER TABLE cases ADD COLUMN queue_pos INTEGER;
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases(business_day, department, priority_rank DESC, coalesce(queue_pos, id * 1024))
    WHERE state IN ('waiting', 'transferred');
