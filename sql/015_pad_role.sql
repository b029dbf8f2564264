-- Schema version 15: the counter's rating pad (评价器) enrols as a device of role `pad`,
-- bound to its window like a counter (`device add pad-3 --role pad --window 3`).
-- SQLite cannot widen a CHECK constraint in place, so the table is copied into one that
-- allows the new role; names, tokens, times and windows are kept as they were.
CREATE TABLE devices_new (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('kiosk', 'board', 'counter', 'admin', 'office', 'pad')),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    window      INTEGER
);
INSERT INTO devices_new (name, role, token_sha256, created_at, revoked_at, window)
    SELECT name, role, token_sha256, created_at, revoked_at, window FROM devices;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;
