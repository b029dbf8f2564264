-- Schema version 16: the outbox of messages to visitors' phones (`[notify]`).
--
-- A delivery queue, not the hall's state: what a visitor asked for (a reminder left at the
-- kiosk, a booking) is an event; this table only says which message is watched, due, sent or
-- given up. The phone is never here: `phone_note` names the note that holds it, so the
-- retention purge erases it with the other notes. A message is sent at most once per kind
-- and case or appointment (the unique index), so 「前面还有 3 人」 is said once.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    case_id     INTEGER,
    appointment INTEGER,
    phone_note  INTEGER NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    due_at      TEXT NOT NULL,
    -- watch (waiting for its moment), pending (due), sent, failed (given up), dropped
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TEXT
);
CREATE UNIQUE INDEX outbox_once ON outbox(kind, coalesce(case_id, 0), coalesce(appointment, 0));
CREATE INDEX outbox_open ON outbox(state, due_at) WHERE state IN ('watch', 'pending');
