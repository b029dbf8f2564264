//! The SQLite store: the storage port (`crate::store`) over one SQLite file, its SQL and
//! nothing of the rules. The hot queries' text is in `hot.rs`, so their plans can be checked.

use std::cell::RefCell;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use super::hot;
use crate::chain::{self, event_hash, CallRow, Event};
use crate::db;
use crate::error::{LedgerError, Result};
use crate::model::{Case, EventBody, Note, NoteRef};
use crate::store::*;

/// A connection (or a transaction on one) seen through the port, with the request a write
/// transaction records beside its first event.
pub struct Sql<C: AsConn> {
    pub(crate) conn: C,
    request: RefCell<Option<Request>>,
    /// The sequence range of the period last read in batches: (from, to, first, last). Found
    /// once per period through the time index (a year's range takes a scan of the index), not
    /// once per batch.
    period: RefCell<Option<(String, String, i64, i64)>>,
}

impl<C: AsConn> Sql<C> {
    pub(crate) fn new(conn: C, request: Option<Request>) -> Self {
        Sql {
            conn,
            request: RefCell::new(request),
            period: RefCell::new(None),
        }
    }
}

/// A connection, or a transaction on one.
pub trait AsConn {
    fn c(&self) -> &Connection;
}

impl AsConn for Connection {
    fn c(&self) -> &Connection {
        self
    }
}

impl AsConn for Transaction<'_> {
    fn c(&self) -> &Connection {
        self
    }
}

/// The SQLite store of one ledger file: its writer connection.
pub struct SqliteStore {
    pub(crate) sql: Sql<Connection>,
    /// Copies the write-ahead log into the file off the commit path (None: SQLite's own
    /// automatic checkpoint is left on, or a reader's connection).
    _checkpointer: Option<db::Checkpointer>,
}

impl SqliteStore {
    /// The writer's connection to a ledger file (created and migrated if new), with its
    /// checkpointer.
    pub fn open(path: &std::path::Path, busy_timeout: std::time::Duration) -> Result<Self> {
        let conn = db::open(path, busy_timeout)?;
        let checkpointer = db::Checkpointer::start(path);
        if checkpointer.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        Ok(SqliteStore {
            sql: Sql::new(conn, None),
            _checkpointer: checkpointer,
        })
    }

    /// A second connection that only reads: no checkpointer of its own (the writer's does
    /// that) and `query_only`, so a read that tried to write would fail rather than race the
    /// writer.
    pub fn open_reader(path: &std::path::Path, busy_timeout: std::time::Duration) -> Result<Self> {
        let conn = db::open(path, busy_timeout)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(SqliteStore {
            sql: Sql::new(conn, None),
            _checkpointer: None,
        })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.sql.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.sql.conn
    }

    /// A write transaction that the host's own work (rebuilding the projections) may also
    /// run SQL in.
    pub(crate) fn raw_write(&mut self, request: Option<Request>) -> Result<Sql<Transaction<'_>>> {
        let tx = db::immediate(&mut self.sql.conn)?;
        Ok(Sql::new(tx, request))
    }
}

impl Store for SqliteStore {
    fn write(&mut self, request: Option<Request>) -> Result<Box<dyn WriteTx + '_>> {
        let tx = db::immediate(&mut self.sql.conn)?;
        Ok(Box::new(Sql::new(tx, request)))
    }

    fn read(&self) -> &dyn StoreTx {
        &self.sql
    }
}

impl WriteTx for Sql<Transaction<'_>> {
    fn commit(self: Box<Self>) -> Result<()> {
        Ok(self.conn.commit()?)
    }
}

/// A case row as `verify` compares it: the id column is authoritative, so a JSON whose id
/// disagrees with it comes back with the negated column id and shows up as a difference.
pub(crate) fn parse_case_row(id: i64, data: &str) -> Result<Case> {
    let mut c = parse_case(data)?;
    if c.id != id {
        c.id = -id;
    }
    Ok(c)
}

pub(crate) fn parse_case(data: &str) -> Result<Case> {
    serde_json::from_str(data).map_err(|e| LedgerError::Corrupt(format!("unreadable case row: {e}")))
}

fn one_case(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Option<Case>> {
    let data: Option<String> = conn.prepare_cached(sql)?.query_row(args, |r| r.get(0)).optional()?;
    data.map(|d| parse_case(&d)).transpose()
}

fn many_cases(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Case>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for data in rows {
        out.push(parse_case(&data?)?);
    }
    Ok(out)
}

fn many_events(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, chain::read_event)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| LedgerError::Corrupt(format!("cannot serialise: {e}")))
}

/// One row of the `calls` projection (written with its event, and by a rebuild).
pub(crate) fn insert_call(c: &Connection, row: &CallRow) -> Result<usize> {
    db::exec(
        c,
        "INSERT INTO calls (seq, business_day, department, case_id, recall) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![row.seq, row.business_day, row.department, row.case_id, row.recall],
    )
}

/// The `feedback` table's columns, read by `feedback_row` (the port's side rows and verify's
/// comparison alike).
pub(crate) const FEEDBACK: &str =
    "SELECT id, kind, category, department, window, staff, channel, text_note, received_at, due,
     replied_at, reply_note, replied_by FROM feedback";

pub(crate) fn feedback_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedbackRow> {
    Ok(FeedbackRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        category: r.get(2)?,
        department: r.get(3)?,
        window: r.get(4)?,
        staff: r.get(5)?,
        channel: r.get(6)?,
        text_note: r.get(7)?,
        received_at: r.get(8)?,
        due: r.get(9)?,
        replied_at: r.get(10)?,
        reply_note: r.get(11)?,
        replied_by: r.get(12)?,
    })
}

const EVENTS: &str = "SELECT seq, at, actor, kind, case_id, payload, prev_hash, hash FROM events";

impl<C: AsConn> StoreTx for Sql<C> {
    fn append(&self, at: &str, actor: &str, case_id: Option<i64>, body: &EventBody) -> Result<Event> {
        let tx: &Connection = self.conn.c();
        let (head_seq, head_hash) = self.head()?;
        let seq = head_seq + 1;
        if head_seq > 0 {
            let last_at: Option<String> = tx
                .prepare_cached("SELECT at FROM events WHERE seq = ?1")?
                .query_row([head_seq], |r| r.get(0))
                .optional()?;
            if let (Some(last), Some(now)) = (
                last_at.as_deref().and_then(crate::clock::parse_stamp),
                crate::clock::parse_stamp(at),
            ) {
                crate::clock::note_step_back(now, last);
            }
        }
        let kind = body.kind();
        let payload = to_json(body)?;
        let hash = event_hash(seq, at, actor, &kind, case_id, &payload, &head_hash);
        db::exec(
            tx,
            "INSERT INTO events (seq, at, actor, kind, case_id, payload, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![seq, at, actor, kind, case_id, payload, head_hash, hash],
        )?;
        if let Some(r) = self.request.borrow_mut().take() {
            db::exec(
                tx,
                "INSERT INTO requests (id, device, op, seq, at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![r.id, r.device, r.op, seq, at, r.body],
            )?;
        }
        let moved = db::exec(
            tx,
            "UPDATE chain_head SET seq = ?1, hash = ?2 WHERE id = 1 AND seq = ?3",
            params![seq, hash, head_seq],
        )?;
        if moved != 1 {
            return Err(LedgerError::Corrupt(
                "the chain head moved inside a write transaction".into(),
            ));
        }
        Ok(Event {
            seq,
            at: at.into(),
            actor: actor.into(),
            kind: kind.to_string(),
            case_id,
            payload,
            prev_hash: head_hash,
            hash,
        })
    }

    fn head(&self) -> Result<(i64, String)> {
        db::one(
            self.conn.c(),
            "SELECT seq, hash FROM chain_head WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn events(&self, q: EventQuery<'_>) -> Result<Vec<Event>> {
        let c: &Connection = self.conn.c();
        match q {
            EventQuery::After { seq, limit } => many_events(
                c,
                &format!("{EVENTS} WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
                params![seq, limit.min(i64::MAX as usize) as i64],
            ),
            EventQuery::Seq(seq) => many_events(c, &format!("{EVENTS} WHERE seq = ?1"), [seq]),
            EventQuery::OfCase { case_id, before } => many_events(
                c,
                &format!("{EVENTS} WHERE case_id = ?1 AND seq < ?2 ORDER BY seq"),
                params![case_id, before],
            ),
            EventQuery::RecentCalls { day, limit } => many_events(c, hot::RECENT_CALLS, params![day, limit as i64]),
            EventQuery::Period {
                from,
                to,
                kinds,
                after,
                limit,
            } => {
                // The period's sequence range through the time index, then a range of the
                // primary key: an `at` range scan alone would visit every event of the period
                // for each batch. The range is found on the first batch (`after` 0) and kept
                // for the next ones, so the batches read one snapshot of the period's extent.
                let cached = self
                    .period
                    .borrow()
                    .clone()
                    .filter(|(f, t, _, _)| after > 0 && f == from && t == to);
                let (first, last) = match cached {
                    Some((_, _, first, last)) => (first, last),
                    None => {
                        let (first, last): (Option<i64>, Option<i64>) = db::one(
                            c,
                            "SELECT min(seq), max(seq) FROM events WHERE at >= ?1 AND at < ?2",
                            params![from, to],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?;
                        let (Some(first), Some(last)) = (first, last) else {
                            return Ok(vec![]);
                        };
                        *self.period.borrow_mut() = Some((from.to_string(), to.to_string(), first, last));
                        (first, last)
                    }
                };
                let kinds_sql = if kinds.is_empty() {
                    String::new()
                } else {
                    let marks = (0..kinds.len()).map(|i| format!("?{}", i + 6)).collect::<Vec<_>>();
                    format!(" AND kind IN ({})", marks.join(", "))
                };
                let mut args: Vec<rusqlite::types::Value> = vec![
                    (after.max(first - 1)).into(),
                    last.into(),
                    from.to_string().into(),
                    to.to_string().into(),
                    (limit.min(i64::MAX as usize) as i64).into(),
                ];
                args.extend(kinds.iter().map(|k| rusqlite::types::Value::from(k.to_string())));
                many_events(
                    c,
                    &format!(
                        "{EVENTS} WHERE seq > ?1 AND seq <= ?2 AND at >= ?3 AND at < ?4{kinds_sql} ORDER BY seq LIMIT ?5"
                    ),
                    params_from_iter(args),
                )
            }
            EventQuery::DayClosed { day } => many_events(
                c,
                &format!("{EVENTS} WHERE kind = 'day_closed' AND json_extract(payload, '$.business_day') = ?1"),
                [day],
            ),
            // A day's calls only, through the calls index.
            EventQuery::LastCallAt { day, window } => many_events(
                c,
                "SELECT e.seq, e.at, e.actor, e.kind, e.case_id, e.payload, e.prev_hash, e.hash
                 FROM calls k JOIN events e ON e.seq = k.seq
                 WHERE k.business_day = ?1 AND json_extract(e.payload, '$.window') = ?2
                 ORDER BY k.seq DESC LIMIT 1",
                params![day, window],
            ),
        }
    }

    fn case(&self, key: CaseKey<'_>) -> Result<Option<Case>> {
        let c: &Connection = self.conn.c();
        match key {
            CaseKey::Id(id) => one_case(c, "SELECT data FROM cases WHERE id = ?1", [id]),
            CaseKey::Token(t) => one_case(c, "SELECT data FROM cases WHERE token = ?1", [t]),
            CaseKey::Ref { day, text } => one_case(
                c,
                "SELECT data FROM cases WHERE token = ?1 OR (business_day = ?2 AND number = upper(?1)) ORDER BY id DESC LIMIT 1",
                params![text, day],
            ),
            CaseKey::UnsettledAt { day, window } => one_case(c, hot::UNSETTLED_AT_WINDOW, params![day, window]),
            CaseKey::LatestBefore { day } => one_case(c, hot::LATEST_BEFORE, [day]),
            CaseKey::FirstWaiting {
                day,
                departments,
                priority,
            } => {
                let marks = vec!["?"; departments.len()].join(",");
                let sql = format!(
                    "SELECT data FROM cases WHERE business_day = ? AND state IN ('waiting', 'transferred') AND department IN ({marks}) AND priority_rank {} 0
                     ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024) LIMIT 1",
                    if priority { ">" } else { "=" }
                );
                let args = std::iter::once(&day as &dyn rusqlite::ToSql)
                    .chain(departments.iter().map(|d| d as &dyn rusqlite::ToSql))
                    .collect::<Vec<_>>();
                one_case(c, &sql, args.as_slice())
            }
        }
    }

    fn cases(&self, q: CaseQuery<'_>) -> Result<Vec<Case>> {
        let c: &Connection = self.conn.c();
        match q {
            CaseQuery::Waiting { day } => many_cases(c, hot::WAITING, [day]),
            CaseQuery::WaitingIn { day, department } => many_cases(c, hot::WAITING_IN, params![day, department]),
            CaseQuery::PriorityWaiting { day } => many_cases(c, hot::PRIORITY_WAITING, [day]),
            CaseQuery::AtCounters { day } => many_cases(c, hot::AT_COUNTERS, [day]),
            CaseQuery::OpenAtClose { day } => many_cases(
                c,
                "SELECT data FROM cases WHERE business_day = ?1
                 AND state IN ('waiting', 'transferred', 'called', 'on_hold') ORDER BY id",
                [day],
            ),
            CaseQuery::Day { day } => many_cases(c, hot::DAY_CASES, [day]),
            CaseQuery::Watched => many_cases(c, hot::WATCHED, []),
            CaseQuery::RecentServices { department, limit } => {
                many_cases(c, hot::RECENT_SERVICES, params![department, limit as i64])
            }
        }
    }

    fn save_case(&self, old: Option<&Case>, c: &Case, call: Option<&CallRow>) -> Result<()> {
        let tx: &Connection = self.conn.c();
        let data = to_json(c)?;
        match old {
            None => {
                db::exec(
                    tx,
                    "INSERT INTO cases (id, business_day, number, token, department, state, priority_rank, queued_at,
                     service_end_at, queue_pos, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        c.id,
                        c.business_day,
                        c.number,
                        c.token,
                        c.department,
                        c.state.as_str(),
                        c.priority_rank,
                        c.queued_at,
                        c.service_end_at,
                        c.queue_pos,
                        data
                    ],
                )?;
            }
            Some(o) => {
                let n = db::exec(
                    tx,
                    "UPDATE cases SET department = ?2, state = ?3, priority_rank = ?4, queued_at = ?5, service_end_at = ?6, data = ?7,
                     business_day = ?9, number = ?10, queue_pos = ?11 WHERE id = ?1 AND state = ?8",
                    params![
                        c.id,
                        c.department,
                        c.state.as_str(),
                        c.priority_rank,
                        c.queued_at,
                        c.service_end_at,
                        data,
                        o.state.as_str(),
                        c.business_day,
                        c.number,
                        c.queue_pos
                    ],
                )?;
                if n != 1 {
                    return Err(LedgerError::Conflict(c.number.clone()));
                }
            }
        }
        if let Some(row) = call {
            insert_call(tx, row)?;
        }
        Ok(())
    }

    fn count(&self, q: CountQuery<'_>) -> Result<i64> {
        let c: &Connection = self.conn.c();
        match q {
            CountQuery::AnyoneWaiting { day, department } => {
                Ok(c.prepare_cached(hot::ANYONE_WAITING)?
                    .exists(params![day, department])? as i64)
            }
            CountQuery::Ahead {
                day,
                department,
                rank,
                position,
            } => db::one(c, hot::AHEAD, params![day, department, rank, position], |r| r.get(0)),
            CountQuery::ItemTickets { day, item } => db::one(c, hot::ITEM_TICKETS, params![day, item], |r| r.get(0)),
            CountQuery::OwnedBy { staff } => db::one(
                c,
                "SELECT count(*) FROM cases WHERE json_extract(data, '$.owner') = ?1",
                [staff],
                |r| r.get(0),
            ),
            CountQuery::OfItem { item } => db::one(
                c,
                "SELECT count(*) FROM cases WHERE json_extract(data, '$.item') = ?1",
                [item],
                |r| r.get(0),
            ),
        }
    }

    fn tally(&self, q: TallyQuery<'_>) -> Result<Vec<Tally>> {
        let c: &Connection = self.conn.c();
        let (sql, args): (&str, Vec<rusqlite::types::Value>) = match q {
            TallyQuery::QueueSizes { day } => (hot::QUEUE_SIZES, vec![day.to_string().into()]),
            TallyQuery::IssuedToday { day } => (hot::ISSUED_TODAY, vec![day.to_string().into()]),
            TallyQuery::LatestCallRanks { day, department, limit } => (
                hot::LATEST_CALL_RANKS,
                vec![
                    day.to_string().into(),
                    department.to_string().into(),
                    (limit as i64).into(),
                ],
            ),
        };
        let mut stmt = c.prepare_cached(sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| {
            Ok(Tally {
                key: r.get(0)?,
                sub: r.get(1)?,
                n: r.get(2)?,
                m: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn next_number(&self, day: &str, prefix: &str) -> Result<i64> {
        db::one(
            self.conn.c(),
            "INSERT INTO day_counters (business_day, prefix, last) VALUES (?1, ?2, 1)
             ON CONFLICT (business_day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
            params![day, prefix],
            |r| r.get(0),
        )
    }

    fn next_id(&self, of: IdOf<'_>) -> Result<i64> {
        let c: &Connection = self.conn.c();
        match of {
            IdOf::Case => db::one(c, "SELECT coalesce(max(id), 0) + 1 FROM cases", [], |r| r.get(0)),
            IdOf::Appointment => db::one(c, "SELECT coalesce(max(id), 0) + 1 FROM appointments", [], |r| r.get(0)),
            IdOf::Feedback => db::one(c, "SELECT coalesce(max(id), 0) + 1 FROM feedback", [], |r| r.get(0)),
            IdOf::QueuePosition { day } => db::one(
                c,
                "SELECT max(coalesce((SELECT max(id) FROM cases), 0) * 1024,
                            coalesce((SELECT max(queue_pos) FROM cases WHERE business_day = ?1), 0)) + 1",
                [day],
                |r| r.get(0),
            ),
        }
    }

    fn add_note(&self, case_id: Option<i64>, kind: &str, text: &str, at: &str) -> Result<NoteRef> {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let salt = hex::encode(salt);
        let sha = hex::encode(chain::note_sha256(&salt, text));
        db::exec(
            self.conn.c(),
            "INSERT INTO notes (case_id, kind, body, sha256, at, salt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![case_id, kind, text, sha, at, salt],
        )?;
        Ok(NoteRef {
            note: self.conn.c().last_insert_rowid(),
            sha256: sha,
        })
    }

    fn note(&self, id: i64) -> Result<Option<Note>> {
        Ok(self
            .conn
            .c()
            .prepare_cached("SELECT case_id, kind, body FROM notes WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Note {
                    case_id: r.get(0)?,
                    kind: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn side(&self, q: SideQuery<'_>) -> Result<Vec<SideRow>> {
        let c: &Connection = self.conn.c();
        fn rows<T>(
            c: &Connection,
            sql: &str,
            args: impl rusqlite::Params,
            f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
            wrap: impl Fn(T) -> SideRow,
        ) -> Result<Vec<SideRow>> {
            let mut stmt = c.prepare_cached(sql)?;
            let out = stmt.query_map(args, f)?.collect::<rusqlite::Result<Vec<T>>>()?;
            Ok(out.into_iter().map(wrap).collect())
        }
        const DEVICE: &str = "SELECT name, role, token_sha256, created_at, revoked_at, window FROM devices";
        let device = |r: &rusqlite::Row<'_>| {
            Ok(DeviceRow {
                name: r.get(0)?,
                role: r.get(1)?,
                token_sha256: r.get(2)?,
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
                window: r.get(5)?,
            })
        };
        const APPOINTMENT: &str =
            "SELECT id, code, item, at, phone_note, state, booked_at, case_id, code_salt FROM appointments";
        let appointment = |r: &rusqlite::Row<'_>| {
            Ok(AppointmentRow {
                id: r.get(0)?,
                code: r.get(1)?,
                code_salt: r.get(8)?,
                item: r.get(2)?,
                at: r.get(3)?,
                phone_note: r.get(4)?,
                state: r.get(5)?,
                booked_at: r.get(6)?,
                case_id: r.get(7)?,
            })
        };
        let feedback = feedback_row;
        const MESSAGE: &str = "SELECT id, kind, case_id, appointment, phone_note, text, due_at, state, attempts, last_error, sent_at FROM outbox";
        let message = |r: &rusqlite::Row<'_>| {
            Ok(MessageRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                case_id: r.get(2)?,
                appointment: r.get(3)?,
                phone_note: r.get(4)?,
                text: r.get(5)?,
                due_at: r.get(6)?,
                state: r.get(7)?,
                attempts: r.get(8)?,
                last_error: r.get(9)?,
                sent_at: r.get(10)?,
            })
        };
        match q {
            SideQuery::Messages { state, due_by, limit } => rows(
                c,
                &format!("{MESSAGE} WHERE state = ?1 AND (?2 IS NULL OR due_at <= ?2) ORDER BY due_at, id LIMIT ?3"),
                params![state, due_by, limit.min(i64::MAX as usize) as i64],
                message,
                SideRow::Message,
            ),
            SideQuery::Message(id) => rows(c, &format!("{MESSAGE} WHERE id = ?1"), [id], message, SideRow::Message),
            SideQuery::MessagesOf { case_id, appointment } => rows(
                c,
                &format!("{MESSAGE} WHERE (?1 IS NOT NULL AND case_id = ?1) OR (?2 IS NOT NULL AND appointment = ?2) ORDER BY id"),
                params![case_id, appointment],
                message,
                SideRow::Message,
            ),
            SideQuery::SignRequest(window) => rows(
                c,
                "SELECT window, case_id, form, staff, at, seq FROM sign_requests WHERE window = ?1",
                [window],
                |r| {
                    Ok(SignRequestRow {
                        window: r.get(0)?,
                        case_id: r.get(1)?,
                        form: r.get(2)?,
                        staff: r.get(3)?,
                        at: r.get(4)?,
                        seq: r.get(5)?,
                    })
                },
                SideRow::SignRequest,
            ),
            SideQuery::Window(window) => rows(
                c,
                "SELECT window, paused, coalesce(staff, ''), coalesce(since, '') FROM window_state WHERE window = ?1",
                [window],
                |r| {
                    Ok(WindowRow {
                        window: r.get(0)?,
                        paused: r.get::<_, i64>(1)? != 0,
                        staff: r.get(2)?,
                        since: r.get(3)?,
                    })
                },
                SideRow::Window,
            ),
            SideQuery::Pin(staff) => rows(
                c,
                "SELECT staff_id, salt, pin_hash, failed, locked_until FROM staff_auth WHERE staff_id = ?1",
                [staff],
                |r| {
                    Ok(StoredPin {
                        staff: r.get(0)?,
                        salt: r.get(1)?,
                        pin_hash: r.get(2)?,
                        failed: r.get(3)?,
                        locked_until: r.get(4)?,
                    })
                },
                SideRow::Pin,
            ),
            SideQuery::Config { body } => rows(
                c,
                if body {
                    "SELECT id, sha256, body FROM hall_config ORDER BY id DESC LIMIT 1"
                } else {
                    "SELECT id, sha256, '' FROM hall_config ORDER BY id DESC LIMIT 1"
                },
                [],
                config_row,
                SideRow::Config,
            ),
            SideQuery::ConfigBySha(sha) => rows(
                c,
                "SELECT id, sha256, body FROM hall_config WHERE sha256 = ?1 ORDER BY id DESC LIMIT 1",
                [sha],
                config_row,
                SideRow::Config,
            ),
            SideQuery::Device(name) => rows(c, &format!("{DEVICE} WHERE name = ?1"), [name], device, SideRow::Device),
            SideQuery::DeviceByToken { token_sha256 } => rows(
                c,
                &format!("{DEVICE} WHERE token_sha256 = ?1 AND revoked_at IS NULL"),
                [token_sha256],
                device,
                SideRow::Device,
            ),
            // One file, one hall.
            SideQuery::DeviceElsewhere { .. } => Ok(vec![]),
            SideQuery::Devices => rows(c, &format!("{DEVICE} ORDER BY name"), [], device, SideRow::Device),
            SideQuery::Session { token_sha256 } => rows(
                c,
                "SELECT token_sha256, staff, device, window, created_at, expires_at, ended_at FROM sessions WHERE token_sha256 = ?1",
                [token_sha256],
                |r| {
                    Ok(SessionRow {
                        token_sha256: r.get(0)?,
                        staff: r.get(1)?,
                        device: r.get(2)?,
                        window: r.get(3)?,
                        created_at: r.get(4)?,
                        expires_at: r.get(5)?,
                        ended_at: r.get(6)?,
                    })
                },
                SideRow::Session,
            ),
            SideQuery::Appointment(id) => rows(
                c,
                &format!("{APPOINTMENT} WHERE id = ?1"),
                [id],
                appointment,
                SideRow::Appointment,
            ),
            SideQuery::AppointmentByCode(code) => rows(
                c,
                &format!("{APPOINTMENT} WHERE code = ?1 ORDER BY state = 'booked' DESC, id DESC LIMIT 1"),
                [code],
                appointment,
                SideRow::Appointment,
            ),
            SideQuery::Appointments { from, to } => rows(
                c,
                &format!("{APPOINTMENT} WHERE at >= ?1 AND at < ?2 ORDER BY at, id"),
                params![from, to],
                appointment,
                SideRow::Appointment,
            ),
            SideQuery::Feedback(id) => rows(c, &format!("{FEEDBACK} WHERE id = ?1"), [id], feedback, SideRow::Feedback),
            SideQuery::FeedbackAll { open } => rows(
                c,
                &format!(
                    "{FEEDBACK} {} ORDER BY id",
                    if open { "WHERE replied_at IS NULL" } else { "" }
                ),
                [],
                feedback,
                SideRow::Feedback,
            ),
            SideQuery::LastNoteBefore { at } => rows(
                c,
                // Up to the first note written on or after the day: a note whose time was
                // moved back does not carry the notes written after it into the purge.
                "SELECT coalesce((SELECT min(id) FROM notes WHERE at >= ?1) - 1, (SELECT max(id) FROM notes))",
                [at],
                |r| r.get::<_, Option<i64>>(0),
                |id| SideRow::Note(id.unwrap_or(0)),
            ),
        }
    }

    fn put(&self, w: SideWrite<'_>) -> Result<usize> {
        let c: &Connection = self.conn.c();
        match w {
            SideWrite::Window(row) => db::exec(
                c,
                "INSERT INTO window_state (window, paused, staff, since) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (window) DO UPDATE SET paused = excluded.paused, staff = excluded.staff, since = excluded.since",
                params![row.window, row.paused as i64, row.staff, row.since],
            ),
            SideWrite::SignRequest(row) => db::exec(
                c,
                "INSERT INTO sign_requests (window, case_id, form, staff, at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (window) DO UPDATE SET case_id = excluded.case_id, form = excluded.form,
                     staff = excluded.staff, at = excluded.at, seq = excluded.seq",
                params![row.window, row.case_id, row.form, row.staff, row.at, row.seq],
            ),
            SideWrite::SignRequestDone { window, seq } => db::exec(
                c,
                "DELETE FROM sign_requests WHERE window = ?1 AND seq = ?2",
                params![window, seq],
            ),
            SideWrite::PinSet { staff, salt, pin_hash } => db::exec(
                c,
                "INSERT INTO staff_auth (staff_id, salt, pin_hash, failed, locked_until) VALUES (?1, ?2, ?3, 0, NULL)
                 ON CONFLICT (staff_id) DO UPDATE SET salt = excluded.salt, pin_hash = excluded.pin_hash, failed = 0, locked_until = NULL",
                params![staff, salt, pin_hash],
            ),
            SideWrite::PinRehash { staff, pin_hash } => db::exec(
                c,
                "UPDATE staff_auth SET salt = '', pin_hash = ?2 WHERE staff_id = ?1",
                params![staff, pin_hash],
            ),
            SideWrite::PinTries {
                staff,
                failed,
                locked_until,
            } => db::exec(
                c,
                "UPDATE staff_auth SET failed = ?2, locked_until = ?3 WHERE staff_id = ?1",
                params![staff, failed, locked_until],
            ),
            SideWrite::Config { sha256, body, at } => db::exec(
                c,
                "INSERT INTO hall_config (sha256, body, applied_at) VALUES (?1, ?2, ?3)",
                params![sha256, body, at],
            ),
            SideWrite::Device(d) => db::exec(
                c,
                "INSERT INTO devices (name, role, token_sha256, created_at, revoked_at, window) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, token_sha256 = excluded.token_sha256,
                 created_at = excluded.created_at, revoked_at = excluded.revoked_at, window = excluded.window",
                params![d.name, d.role, d.token_sha256, d.created_at, d.revoked_at, d.window],
            ),
            SideWrite::DeviceRevoked { name, at } => db::exec(
                c,
                "UPDATE devices SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, at],
            ),
            SideWrite::SessionStarted(s) => db::exec(
                c,
                "INSERT INTO sessions (token_sha256, staff, device, window, created_at, expires_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![s.token_sha256, s.staff, s.device, s.window, s.created_at, s.expires_at, s.ended_at],
            ),
            SideWrite::SessionsEnded { of, at } => match of {
                SessionsOf::Token { token_sha256 } => db::exec(
                    c,
                    "UPDATE sessions SET ended_at = ?2 WHERE token_sha256 = ?1 AND ended_at IS NULL",
                    params![token_sha256, at],
                ),
                SessionsOf::Device(device) => db::exec(
                    c,
                    "UPDATE sessions SET ended_at = ?2 WHERE device = ?1 AND ended_at IS NULL",
                    params![device, at],
                ),
                SessionsOf::Staff(staff) => db::exec(
                    c,
                    "UPDATE sessions SET ended_at = ?2 WHERE staff = ?1 AND ended_at IS NULL",
                    params![staff, at],
                ),
                SessionsOf::DeviceAt { device, window } => db::exec(
                    c,
                    "UPDATE sessions SET ended_at = ?3 WHERE device = ?1 AND window = ?2 AND ended_at IS NULL",
                    params![device, window, at],
                ),
            },
            SideWrite::Appointment(a) => db::exec(
                c,
                "INSERT INTO appointments (id, code, item, at, phone_note, state, booked_at, case_id, code_salt)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![a.id, a.code, a.item, a.at, a.phone_note, a.state, a.booked_at, a.case_id, a.code_salt],
            ),
            SideWrite::Message(m) => db::exec(
                c,
                "INSERT INTO outbox (kind, case_id, appointment, phone_note, text, due_at, state, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0) ON CONFLICT DO NOTHING",
                params![m.kind, m.case_id, m.appointment, m.phone_note, m.text, m.due_at, m.state],
            ),
            SideWrite::MessageMoved(m) => db::exec(
                c,
                "UPDATE outbox SET state = ?2, text = ?3, due_at = ?4, attempts = ?5, last_error = ?6, sent_at = ?7 WHERE id = ?1",
                params![m.id, m.state, m.text, m.due_at, m.attempts, m.last_error, m.sent_at],
            ),
            SideWrite::AppointmentMoved { id, state, case_id } => db::exec(
                c,
                "UPDATE appointments SET state = ?2, case_id = coalesce(?3, case_id) WHERE id = ?1 AND state = 'booked'",
                params![id, state, case_id],
            ),
            SideWrite::Feedback(f) => db::exec(
                c,
                "INSERT INTO feedback (id, kind, category, department, window, staff, channel, text_note, received_at, due,
                 replied_at, reply_note, replied_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    f.id,
                    f.kind,
                    f.category,
                    f.department,
                    f.window,
                    f.staff,
                    f.channel,
                    f.text_note,
                    f.received_at,
                    f.due,
                    f.replied_at,
                    f.reply_note,
                    f.replied_by
                ],
            ),
            SideWrite::FeedbackReplied { id, at, note, by } => db::exec(
                c,
                "UPDATE feedback SET replied_at = ?2, reply_note = ?3, replied_by = ?4 WHERE id = ?1 AND replied_at IS NULL",
                params![id, at, note, by],
            ),
            SideWrite::AppointmentCodesErased { before } => db::exec(
                c,
                "UPDATE appointments SET code = '', code_salt = ''
                 WHERE at < ?1 AND state != 'booked' AND (code != '' OR code_salt != '')",
                [before],
            ),
            SideWrite::NotesErased { up_to } => db::exec(
                c,
                "UPDATE notes SET body = '', salt = '' WHERE id <= ?1 AND (body != '' OR salt != '')",
                [up_to],
            ),
        }
    }

    fn request(&self, id: &str) -> Result<Option<RequestRow>> {
        Ok(self
            .conn
            .c()
            .prepare_cached("SELECT op, seq, device, body FROM requests WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(RequestRow {
                    op: r.get(0)?,
                    seq: r.get(1)?,
                    device: r.get(2)?,
                    body: r.get(3)?,
                })
            })
            .optional()?)
    }
}

/// A row of `hall_config`: (id, sha256, body).
fn config_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConfigRow> {
    Ok(ConfigRow {
        id: r.get(0)?,
        sha256: r.get(1)?,
        body: r.get(2)?,
    })
}
