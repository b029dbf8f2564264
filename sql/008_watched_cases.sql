-- Schema version 8: the cases a deadline watches (what `overdue` and the counter consoles'
-- alerts read every few seconds): results to deliver, posted, delivered and not archived,
-- deferred questions, bad ratings waiting for a reply, whole-chain cases with parts. A partial
-- index holds only those, so the alerts never scan a year of archived cases. The expression
-- is repeated exactly in `hot::WATCHED` (SQLite uses a partial index only for a query whose
-- WHERE clause implies the index's).
CREATE INDEX cases_watched ON cases(id) WHERE
    state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed')
    OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
        AND json_extract(data, '$.open_question'))
    OR json_extract(data, '$.follow_up_open')
    OR (state IN ('accepted', 'in_progress', 'on_hold') AND json_extract(data, '$.parts') IS NOT NULL);
