-- Schema version 9: the office role, and two indexes that keep hot paths bounded.
--
-- The management office's desk PCs enrol as devices of role `office` (the office's work —
-- registers, figures, the daily close, feedback, appointments — but no issuing or calling).
-- SQLite cannot widen a CHECK constraint in place, so the table is copied into one that
-- allows the new role; names, tokens and times are kept as they were.
CREATE TABLE devices_new (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('kiosk', 'board', 'counter', 'admin', 'office')),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
INSERT INTO devices_new (name, role, token_sha256, created_at, revoked_at)
    SELECT name, role, token_sha256, created_at, revoked_at FROM devices;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;

-- One visitor at a time per window: the check reads the window's own called or serving case
-- through this small partial index, not every case of the day (2.4 ms at 4,000 cases, inside
-- the write lock, before it).
CREATE INDEX cases_at_window ON cases(json_extract(data, '$.called_window'), business_day)
    WHERE state IN ('called', 'serving');

-- Reports and registers read their period by the events' time: a day of a year-old ledger
-- costs what a day of a new one does.
CREATE INDEX events_at ON events(at);
