-- The PostgreSQL store's schema: the SQLite ledger's tables (sql/001 … 017 as they stand),
-- with every row belonging to a hall, so one database holds every hall of a city. Columns
-- keep SQLite's names and kinds (integers as bigint, text as text) so a hall moves between
-- the two stores row for row (`bangban migrate`, and `verify`, which checks a hall's copy).
-- Free text stays text: an event's payload and a case's data are hashed and compared byte
-- for byte, so they are never stored as jsonb (which would reorder them).

CREATE TABLE halls (
    code          text PRIMARY KEY,
    registered_at text NOT NULL
);

CREATE TABLE hall_config (
    hall       text NOT NULL REFERENCES halls(code),
    id         bigint NOT NULL,
    sha256     text NOT NULL,
    body       text NOT NULL,
    applied_at text NOT NULL,
    PRIMARY KEY (hall, id)
);

CREATE TABLE events (
    hall      text NOT NULL REFERENCES halls(code),
    seq       bigint NOT NULL,
    at        text NOT NULL,
    actor     text NOT NULL,
    kind      text NOT NULL,
    case_id   bigint,
    payload   text NOT NULL,
    prev_hash text NOT NULL,
    hash      text NOT NULL,
    PRIMARY KEY (hall, seq)
);
CREATE INDEX events_case ON events(hall, case_id);
CREATE INDEX events_kind ON events(hall, kind, seq);
CREATE INDEX events_at ON events(hall, at);

-- The log is append-only here as in SQLite: an update or delete is refused by the database.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % is refused', lower(TG_OP);
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- One chain per hall; its row is the hall's write lock (`SELECT … FOR UPDATE`).
CREATE TABLE chain_head (
    hall text PRIMARY KEY REFERENCES halls(code),
    seq  bigint NOT NULL,
    hash text NOT NULL
);

CREATE TABLE day_counters (
    hall         text NOT NULL,
    business_day text NOT NULL,
    prefix       text NOT NULL,
    last         bigint NOT NULL,
    PRIMARY KEY (hall, business_day, prefix)
);

CREATE TABLE cases (
    hall           text NOT NULL REFERENCES halls(code),
    id             bigint NOT NULL,
    business_day   text NOT NULL,
    number         text NOT NULL,
    token          text NOT NULL,
    department     text NOT NULL,
    state          text NOT NULL,
    priority_rank  bigint NOT NULL,
    queued_at      text NOT NULL,
    service_end_at text,
    data           text NOT NULL,
    queue_pos      bigint,
    PRIMARY KEY (hall, id),
    UNIQUE (hall, token),
    UNIQUE (hall, business_day, number)
);
CREATE INDEX cases_service ON cases(hall, department, service_end_at) WHERE service_end_at IS NOT NULL;
CREATE INDEX cases_queue ON cases(hall, business_day, department, priority_rank DESC, (coalesce(queue_pos, id * 1024)))
    WHERE state IN ('waiting', 'transferred');
CREATE INDEX cases_at_window ON cases(hall, ((data::jsonb) ->> 'called_window'), business_day)
    WHERE state IN ('called', 'serving');
CREATE INDEX cases_watched ON cases(hall, id) WHERE
    state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed', 'accepted', 'in_progress', 'suspended')
    OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
        AND (data::jsonb) @> '{"open_question": true}')
    OR (data::jsonb) @> '{"follow_up_open": true}'
    OR (state IN ('accepted', 'in_progress', 'on_hold') AND coalesce(jsonb_typeof((data::jsonb) -> 'parts'), 'null') <> 'null')
    OR (data::jsonb) @> '{"under_coordination": true}';

CREATE TABLE notes (
    hall    text NOT NULL REFERENCES halls(code),
    id      bigint NOT NULL,
    case_id bigint,
    kind    text NOT NULL,
    body    text NOT NULL,
    sha256  text NOT NULL,
    at      text NOT NULL,
    salt    text NOT NULL DEFAULT '',
    PRIMARY KEY (hall, id)
);
CREATE INDEX notes_at ON notes(hall, at);

CREATE TABLE window_state (
    hall     text NOT NULL,
    "window" bigint NOT NULL,
    paused   bigint NOT NULL,
    staff    text NOT NULL,
    since    text NOT NULL,
    PRIMARY KEY (hall, "window")
);

CREATE TABLE staff_auth (
    hall         text NOT NULL,
    staff_id     text NOT NULL,
    salt         text NOT NULL,
    pin_hash     text NOT NULL,
    failed       bigint NOT NULL DEFAULT 0,
    locked_until text,
    PRIMARY KEY (hall, staff_id)
);

CREATE TABLE sessions (
    hall         text NOT NULL,
    token_sha256 text NOT NULL,
    staff        text NOT NULL,
    device       text NOT NULL,
    "window"     bigint NOT NULL,
    created_at   text NOT NULL,
    expires_at   text NOT NULL,
    ended_at     text,
    PRIMARY KEY (hall, token_sha256)
);

-- A client's request id is answered once across every server of the hall.
CREATE TABLE requests (
    hall   text NOT NULL,
    id     text NOT NULL,
    device text NOT NULL,
    op     text NOT NULL,
    seq    bigint NOT NULL,
    at     text NOT NULL,
    body   text NOT NULL DEFAULT '',
    PRIMARY KEY (hall, id)
);

CREATE TABLE calls (
    hall         text NOT NULL,
    seq          bigint NOT NULL,
    business_day text NOT NULL,
    department   text NOT NULL,
    case_id      bigint NOT NULL,
    recall       bigint NOT NULL,
    PRIMARY KEY (hall, seq)
);
CREATE INDEX calls_day ON calls(hall, business_day, seq);
CREATE INDEX calls_day_department ON calls(hall, business_day, department, recall, seq);

CREATE TABLE appointments (
    hall       text NOT NULL,
    id         bigint NOT NULL,
    code       text NOT NULL,
    item       text NOT NULL,
    at         text NOT NULL,
    phone_note bigint NOT NULL,
    state      text NOT NULL,
    case_id    bigint,
    booked_at  text NOT NULL,
    code_salt  text NOT NULL DEFAULT '',
    PRIMARY KEY (hall, id)
);
CREATE UNIQUE INDEX appointments_open_code ON appointments(hall, code) WHERE state = 'booked';
CREATE INDEX appointments_code ON appointments(hall, code, id);
CREATE INDEX appointments_at ON appointments(hall, at);

CREATE TABLE feedback (
    hall        text NOT NULL,
    id          bigint NOT NULL,
    kind        text NOT NULL,
    category    text NOT NULL,
    department  text,
    "window"    bigint,
    staff       text,
    channel     text NOT NULL,
    text_note   bigint,
    received_at text NOT NULL,
    due         text NOT NULL,
    replied_at  text,
    reply_note  bigint,
    replied_by  text,
    PRIMARY KEY (hall, id)
);
CREATE INDEX feedback_open ON feedback(hall, due) WHERE replied_at IS NULL;

CREATE TABLE devices (
    hall         text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('kiosk', 'board', 'counter', 'admin', 'office', 'pad')),
    token_sha256 text NOT NULL,
    created_at   text NOT NULL,
    revoked_at   text,
    "window"     bigint,
    PRIMARY KEY (hall, name),
    UNIQUE (hall, token_sha256)
);
-- A server serving several halls finds a token's hall (and refuses it in any other).
CREATE INDEX devices_token ON devices(token_sha256);

CREATE TABLE outbox (
    hall        text NOT NULL,
    id          bigint NOT NULL,
    kind        text NOT NULL,
    case_id     bigint,
    appointment bigint,
    phone_note  bigint NOT NULL,
    text        text NOT NULL DEFAULT '',
    due_at      text NOT NULL,
    state       text NOT NULL,
    attempts    bigint NOT NULL DEFAULT 0,
    last_error  text,
    sent_at     text,
    PRIMARY KEY (hall, id)
);
CREATE UNIQUE INDEX outbox_once ON outbox(hall, kind, (coalesce(case_id, 0)), (coalesce(appointment, 0)));
CREATE INDEX outbox_open ON outbox(hall, state, due_at) WHERE state IN ('watch', 'pending');

CREATE TABLE sign_requests (
    hall     text NOT NULL,
    "window" bigint NOT NULL,
    case_id  bigint NOT NULL,
    form     text NOT NULL,
    staff    text NOT NULL,
    at       text NOT NULL,
    seq      bigint NOT NULL,
    PRIMARY KEY (hall, "window")
);
