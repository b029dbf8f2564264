-- Schema version 7: appointments (预约) and the visitor's voice (找茬吐槽, suggestions).

-- Booked appointments: the projection of appointment_booked / appointment_checked_in events.
-- The check-in code is here, never in the log (the event keeps its SHA-256); the phone is a
-- note.
CREATE TABLE appointments (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,
    item       TEXT NOT NULL,
    at         TEXT NOT NULL,
    phone_note INTEGER NOT NULL,
    state      TEXT NOT NULL,
    case_id    INTEGER,
    booked_at  TEXT NOT NULL
);
-- A code names one open appointment at a time; a used code stays, so reuse is told apart.
CREATE UNIQUE INDEX appointments_open_code ON appointments(code) WHERE state = 'booked';
CREATE INDEX appointments_code ON appointments(code, id);
CREATE INDEX appointments_at ON appointments(at);

-- Complaints (找茬吐槽 / 意见箱) and suggestions, tracked to a reply: the projection of
-- feedback_received / feedback_replied events. The text is a note.
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    category    TEXT NOT NULL,
    department  TEXT,
    window      INTEGER,
    staff       TEXT,
    channel     TEXT NOT NULL,
    text_note   INTEGER,
    received_at TEXT NOT NULL,
    due         TEXT NOT NULL,
    replied_at  TEXT,
    reply_note  INTEGER,
    replied_by  TEXT
);
CREATE INDEX feedback_open ON feedback(due) WHERE replied_at IS NULL;
