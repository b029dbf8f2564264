-- Schema version 3: the hall's network. Devices enrolled on the server host, staff sessions
-- opened by a PIN on one device at one window, and the outcome of each client request id so
-- a retried write is answered, not repeated.

-- Enrolled devices. The token is shown once at enrolment; only its SHA-256 is kept (tokens
-- are 256 random bits, so a fast hash is enough, unlike a PIN).
CREATE TABLE devices (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('kiosk', 'board', 'counter', 'admin')),
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Staff sessions: a specialist signed in with a PIN on a counter device at a window.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    staff       TEXT NOT NULL,
    device      TEXT NOT NULL,
    window      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT
);

-- The first event a client request wrote, keyed by the client's request id: a retry of the
-- same id is answered from this event instead of writing again. Written in the same
-- transaction as the event.
CREATE TABLE requests (
    id     TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    op     TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    at     TEXT NOT NULL
);
