-- Schema version 1 of the bangban ledger.

-- Every version of the hall configuration ever applied; the newest row is in force.
CREATE TABLE hall_config (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT NOT NULL,
    body       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

-- The append-only, hash-chained event log: the ledger's source of truth.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    case_id   INTEGER,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX events_case ON events(case_id);
-- Recent calls, newest first, for the cap on consecutive priority calls.
CREATE INDEX events_kind ON events(kind, seq);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: updates are refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: deletes are refused'); END;

-- The head of the chain, written in the same transaction as each event, so a log cut short
-- at its tail is detected.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Ticket counters per business day and queue prefix, bumped in the issuing transaction.
CREATE TABLE day_counters (
    business_day TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    last         INTEGER NOT NULL,
    PRIMARY KEY (business_day, prefix)
);

-- The cases projection: a few columns to query by, and the whole case as JSON.
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    business_day  TEXT NOT NULL,
    number        TEXT NOT NULL,
    token         TEXT NOT NULL UNIQUE,
    department    TEXT NOT NULL,
    state         TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    queued_at     TEXT NOT NULL,
    -- When the first visit at the counter ended; the wait estimate averages recent services.
    service_end_at TEXT,
    data          TEXT NOT NULL,
    UNIQUE (business_day, number)
);
-- The queues: only cases standing in line, in calling order per department.
CREATE INDEX cases_queue ON cases(business_day, department, priority_rank DESC, queued_at, id) WHERE state IN ('waiting', 'transferred');
CREATE INDEX cases_service ON cases(department, service_end_at) WHERE service_end_at IS NOT NULL;

-- Free text that may hold personal data (questions, answers, tracking numbers, notes). Events
-- carry only the note id and its SHA-256, so the log itself holds no plaintext personal data.
CREATE TABLE notes (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER,
    kind    TEXT NOT NULL,
    body    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    at      TEXT NOT NULL
);

-- Windows that are paused (the projection of window_paused / window_resumed events).
CREATE TABLE window_state (
    window INTEGER PRIMARY KEY,
    paused INTEGER NOT NULL,
    staff  TEXT NOT NULL,
    since  TEXT NOT NULL
);

-- Staff PINs (salted SHA-256) and the failed-try counter behind the login lock.
CREATE TABLE staff_auth (
    staff_id     TEXT PRIMARY KEY,
    salt         TEXT NOT NULL,
    pin_hash     TEXT NOT NULL,
    failed       INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
);
