-- Schema version 17: suspended cases (中止) are watched (their paused deadlines, the office's
-- list), as are accepted work and work in progress (the promised completion date, 承诺办结).
-- The expression is repeated exactly in `hot::WATCHED`.
DROP INDEX cases_watched;
CREATE INDEX cases_watched ON cases(id) WHERE
    state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed', 'accepted', 'in_progress', 'suspended')
    OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
        AND json_extract(data, '$.open_question'))
    OR json_extract(data, '$.follow_up_open')
    OR (state IN ('accepted', 'in_progress', 'on_hold') AND json_extract(data, '$.parts') IS NOT NULL)
    OR json_extract(data, '$.under_coordination');

-- The signature a counter's console asked its window's pad for, until the visitor signs (or
-- the console asks for another): one per window. `seq` is the `signature_requested` event.
CREATE TABLE sign_requests (
    window INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL,
    form TEXT NOT NULL,
    staff TEXT NOT NULL,
    at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
