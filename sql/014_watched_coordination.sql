-- Schema version 14: cases under coordination (escalated to the management office, waiting for
-- its meeting or the meeting's outcome) are watched too, so the office's alerts list them. The
-- expression is repeated exactly in `hot::WATCHED`.
DROP INDEX cases_watched;
CREATE INDEX cases_watched ON cases(id) WHERE
    state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed')
    OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
        AND json_extract(data, '$.open_question'))
    OR json_extract(data, '$.follow_up_open')
    OR (state IN ('accepted', 'in_progress', 'on_hold') AND json_extract(data, '$.parts') IS NOT NULL)
    OR json_extract(data, '$.under_coordination');
