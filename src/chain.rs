//! The hash-chained event log: appending inside a write transaction, and verifying the chain
//! (and the cases projection against a replay of it).

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};
use crate::model::{apply_owned, Case, EventBody};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub case_id: Option<i64>,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 over the event's fields and the previous hash; newline-separated, and no field can
/// hold a raw newline (the payload is compact JSON), so the encoding is unambiguous.
pub fn event_hash(
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    case_id: Option<i64>,
    payload: &str,
    prev: &str,
) -> String {
    hex::encode(event_digest(seq, at, actor, kind, case_id, payload, prev))
}

/// The SHA-256 of an event's fields joined by newlines
/// (`seq\nat\nactor\nkind\ncase\npayload\nprev`), fed piece by piece: verify hashes millions
/// of events and must not copy each one into a new string first.
fn event_digest(
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    case_id: Option<i64>,
    payload: &str,
    prev: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut num = itoa_buf(seq);
    h.update(num.as_bytes());
    for part in [at, actor, kind] {
        h.update(b"\n");
        h.update(part.as_bytes());
    }
    h.update(b"\n");
    if let Some(c) = case_id {
        num = itoa_buf(c);
        h.update(num.as_bytes());
    }
    for part in [payload, prev] {
        h.update(b"\n");
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// A number's decimal digits without a heap allocation.
fn itoa_buf(n: i64) -> NumBuf {
    let mut b = NumBuf {
        bytes: [0; 20],
        start: 20,
    };
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        b.start -= 1;
        b.bytes[b.start] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        b.start -= 1;
        b.bytes[b.start] = b'-';
    }
    b
}

struct NumBuf {
    bytes: [u8; 20],
    start: usize,
}

impl NumBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// An event as verify reads it: its text columns packed into one buffer, one allocation an
/// event instead of six (verify reads millions).
struct Packed {
    seq: i64,
    case_id: Option<i64>,
    buf: String,
    /// Where at, actor, kind, payload, prev_hash and hash end in `buf`.
    ends: [usize; 6],
}

impl Packed {
    /// The columns `EVENT_COLUMNS` selects, in order: seq, at, actor, kind, case_id, payload,
    /// prev_hash, hash.
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Packed> {
        const TEXT: [usize; 6] = [1, 2, 3, 5, 6, 7];
        let text = |i: usize| -> rusqlite::Result<&str> {
            row.get_ref(i)?
                .as_str()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
        };
        let mut len = 0;
        for i in TEXT {
            len += text(i)?.len();
        }
        let mut buf = String::with_capacity(len);
        let mut ends = [0; 6];
        for (k, i) in TEXT.into_iter().enumerate() {
            buf.push_str(text(i)?);
            ends[k] = buf.len();
        }
        Ok(Packed {
            seq: row.get(0)?,
            case_id: row.get(4)?,
            buf,
            ends,
        })
    }
    fn field(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.buf[start..self.ends[k]]
    }
    fn at(&self) -> &str {
        self.field(0)
    }
    fn actor(&self) -> &str {
        self.field(1)
    }
    fn kind(&self) -> &str {
        self.field(2)
    }
    fn payload(&self) -> &str {
        self.field(3)
    }
    fn prev_hash(&self) -> &str {
        self.field(4)
    }
    fn hash(&self) -> &str {
        self.field(5)
    }
}

/// Whether an event's stored hash (hex) is the hash of its fields.
fn event_hash_matches(ev: &Packed) -> bool {
    let digest = event_digest(
        ev.seq,
        ev.at(),
        ev.actor(),
        ev.kind(),
        ev.case_id,
        ev.payload(),
        ev.prev_hash(),
    );
    ev.hash().as_bytes() == hex64(&digest)
}

/// A note's hash, and an appointment code's: the SHA-256 of its salt (hex, "" for those
/// written before salts) and its text. Short texts (a phone, six digits) cannot be found again
/// by hashing candidates without the salt, which a purge erases with the text.
pub fn note_sha256(salt: &str, text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(text.as_bytes());
    h.finalize().into()
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A row of the `calls` table: one per call or recall, on the case's business day, for the
/// department the call was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub seq: i64,
    pub business_day: String,
    pub department: String,
    pub case_id: i64,
    pub recall: bool,
}

/// The `calls` row an event makes, given the case after it (None for other events). Used when
/// writing and when verifying, so both agree by construction.
pub fn call_row(seq: i64, case: &Case, body: &EventBody) -> Option<CallRow> {
    let (department, recall) = match body {
        EventBody::CaseCalled { department, .. } => (department, false),
        EventBody::CaseRecalled { department, .. } => (department, true),
        _ => return None,
    };
    Some(CallRow {
        seq,
        business_day: case.business_day.clone(),
        department: if department.is_empty() {
            case.department.clone()
        } else {
            department.clone()
        },
        case_id: case.id,
        recall,
    })
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: i64,
    pub head_seq: i64,
    pub cases: usize,
    /// The first sequence number that does not check out.
    pub first_bad_seq: Option<i64>,
    /// What is wrong, in words (the same finding as `finding`).
    pub problem: Option<String>,
    /// What is wrong, for a program to tell apart: the kind, and where (sequence number, or
    /// table and row).
    #[serde(default)]
    pub finding: Option<Finding>,
}

/// One thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The first event that does not check out, when the finding is in the log.
    pub seq: Option<i64>,
    /// The table and row, when the finding is in a projection.
    pub table: Option<String>,
    pub row: Option<i64>,
    /// The column that differs, when known.
    pub field: Option<String>,
}

/// The kinds of damage `verify` tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The file or the log cannot be read from this point.
    Unreadable,
    /// An event is missing (deleted) or out of order.
    MissingEvent,
    /// An event does not link to the hash of the one before.
    BrokenLink,
    /// An event's contents do not match its hash.
    Altered,
    /// An event's payload is not of its recorded kind.
    KindMismatch,
    /// The chain head is missing, or says something other than the end of the log.
    HeadMismatch,
    /// Events after the end of the log were cut off.
    Truncated,
    /// The log cannot be replayed into cases.
    Unreplayable,
    /// The cases table (a projection) differs from what the log replays to.
    ProjectionDiffers,
    /// A witness file saw a different hash at this sequence number: the log was rewritten
    /// (every later hash recomputed) at or before it.
    Rewritten,
}

impl FindingKind {
    /// Damage to a projection only: the log is sound and `rebuild-cases` can repair it.
    pub fn is_projection(self) -> bool {
        self == FindingKind::ProjectionDiffers
    }
}

impl VerifyReport {
    fn bad(events: i64, head_seq: i64, cases: usize, seq: i64, kind: FindingKind, problem: String) -> Self {
        VerifyReport {
            ok: false,
            events,
            head_seq,
            cases,
            first_bad_seq: Some(seq),
            problem: Some(problem),
            finding: Some(Finding {
                kind,
                seq: Some(seq),
                table: None,
                row: None,
                field: None,
            }),
        }
    }

    /// A row of a projection table that differs from the log.
    fn bad_row(events: i64, head_seq: i64, cases: usize, seq: i64, table: &str, row: i64, problem: String) -> Self {
        let mut r = Self::bad(events, head_seq, cases, seq, FindingKind::ProjectionDiffers, problem);
        if let Some(f) = r.finding.as_mut() {
            f.table = Some(table.into());
            f.row = Some(row);
        }
        r
    }
}

/// Fold the whole log into cases, as the projection should be. Errors name the event.
pub fn replay(events: &[Event]) -> Result<BTreeMap<i64, Case>> {
    Ok(replay_with_calls(events)?.0)
}

/// Fold the whole log into both projections: the cases and the calls table's rows.
pub fn replay_with_calls(events: &[Event]) -> Result<(BTreeMap<i64, Case>, Vec<CallRow>)> {
    let mut cases: BTreeMap<i64, Case> = BTreeMap::new();
    let mut calls = Vec::new();
    for ev in events {
        let body: EventBody = serde_json::from_str(&ev.payload)
            .map_err(|e| LedgerError::Corrupt(format!("event {} has an unreadable payload: {e}", ev.seq)))?;
        if !body.moves_case() {
            continue;
        }
        let id = ev
            .case_id
            .ok_or_else(|| LedgerError::Corrupt(format!("event {} moves a case but names none", ev.seq)))?;
        let next = apply_owned(cases.remove(&id), id, ev.seq, &ev.at, &body)
            .map_err(|e| LedgerError::Corrupt(format!("event {} cannot be replayed: {e}", ev.seq)))?;
        calls.extend(call_row(ev.seq, &next, &body));
        cases.insert(id, next);
    }
    Ok((cases, calls))
}

pub(crate) fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        case_id: r.get(4)?,
        payload: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

pub const EVENT_COLUMNS: &str = "seq, at, actor, kind, case_id, payload, prev_hash, hash";

pub fn events_in(conn: &Connection, where_sql: &str, args: impl rusqlite::Params) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events {where_sql} ORDER BY seq"))?;
    let rows = stmt.query_map(args, read_event)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many events are read, hashed and parsed at a time.
pub(crate) const BATCH: usize = 8192;
/// Cases no event has touched for this many events are compared with their stored row and
/// dropped from memory (a later event on one folds it again from its own events).
pub(crate) const EVICT_AFTER: i64 = 200_000;

/// Recompute the chain from the first event, then check the head and the projections.
/// Reads inside one transaction so a concurrent writer cannot make a sound ledger look broken.
pub fn verify(conn: &mut Connection) -> Result<VerifyReport> {
    verify_with(conn, &mut |_, _| {})
}

/// `verify`, calling `progress(events checked, events in the log)` after each batch. Streams:
/// memory stays bounded whatever the size of the log (events in batches, cases only while
/// they are active), and events are hashed and parsed on every core.
pub fn verify_with(conn: &mut Connection, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport> {
    verify_evicting(conn, EVICT_AFTER, BATCH, progress)
}

/// `verify_with`, reading `batch` events at a time and dropping cases idle for `evict_after`
/// events (tests use small numbers, so the folding-again path runs on small ledgers too).
#[doc(hidden)]
pub fn verify_evicting(
    conn: &mut Connection,
    evict_after: i64,
    batch: usize,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<VerifyReport> {
    // A damaged file fails somewhere inside; whatever the failure, report it as the first
    // event that could not be checked rather than as an opaque error.
    let mut checked = 0i64;
    match verify_inner(conn, &mut checked, evict_after.max(1), batch.max(1), progress) {
        Ok(r) => Ok(r),
        Err(e) => Ok(VerifyReport::bad(
            checked,
            -1,
            0,
            checked + 1,
            FindingKind::Unreadable,
            format!("the ledger cannot be read past event {checked}: {e}"),
        )),
    }
}

/// The notes table read in id order beside the log (events name notes in the order they
/// were written, so one pass over both checks every note). Rows are read in place: a year of
/// notes is millions of rows, and copying each into new strings cost verify seconds.
struct Notes<'a> {
    rows: rusqlite::Rows<'a>,
    peeked: Option<NoteRow>,
    purged_up_to: i64,
}

/// What verify needs of a note row: its id, its stored hash, and whether its text still
/// hashes to it (or was erased).
struct NoteRow {
    id: i64,
    sha: [u8; 64],
    text_matches: bool,
    erased: bool,
    /// When the note says it was written (its first 40 bytes: a timestamp is shorter).
    at: [u8; 40],
    at_len: usize,
}

/// A SHA-256 digest as lowercase hex, on the stack.
fn hex64(digest: &[u8; 32]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 15) as usize];
    }
    hex
}

impl Notes<'_> {
    fn next_row(&mut self) -> Result<Option<NoteRow>> {
        let Some(row) = self.rows.next()? else { return Ok(None) };
        let id: i64 = row.get(0)?;
        let body = row.get_ref(1)?.as_str().unwrap_or("");
        let stored = row.get_ref(2)?.as_str().unwrap_or("").as_bytes();
        let mut sha = [0u8; 64];
        if stored.len() == 64 {
            sha.copy_from_slice(stored);
        }
        let salt = row.get_ref(4)?.as_str().unwrap_or("");
        let text = note_sha256(salt, body);
        let written = row.get_ref(3)?.as_str().unwrap_or("").as_bytes();
        let mut at = [0u8; 40];
        let at_len = written.len().min(40);
        at[..at_len].copy_from_slice(&written[..at_len]);
        Ok(Some(NoteRow {
            id,
            text_matches: hex64(&text) == sha,
            erased: body.is_empty(),
            sha,
            at,
            at_len: if written.len() > 40 { 41 } else { at_len },
        }))
    }

    /// None when the note named by `r` has the text it was written with (or was erased by a
    /// recorded purge, its hash kept) and the time of the event `at` that names it; else what
    /// is wrong. (A note moved back in time would fall to the next retention purge early.)
    fn check(&mut self, r: &crate::model::NoteRef, at: &str) -> Result<Option<String>> {
        loop {
            let row = match self.peeked.take() {
                Some(row) => row,
                None => match self.next_row()? {
                    Some(row) => row,
                    None => return Ok(Some("it is missing from the notes table".into())),
                },
            };
            if row.id < r.note {
                continue;
            }
            if row.id > r.note {
                self.peeked = Some(row);
                return Ok(Some("it is missing from the notes table".into()));
            }
            let named = row.sha.as_slice() == r.sha256.as_bytes();
            let purged = row.erased && row.id <= self.purged_up_to;
            if !(named && (row.text_matches || purged)) {
                return Ok(Some("its text was changed after it was written".into()));
            }
            if row.at_len > 40 || &row.at[..row.at_len] != at.as_bytes() {
                let said = String::from_utf8_lossy(&row.at[..row.at_len.min(40)]).into_owned();
                return Ok(Some(format!(
                    "its time was changed: the event was written at {at}, the note says {said}"
                )));
            }
            return Ok(None);
        }
    }
}

/// A stored case row: the JSON and the columns the queries use, which must agree with it.
struct StoredCase {
    case: Case,
    columns: [(&'static str, String); 9],
}

fn stored_case(tx: &Transaction<'_>, id: i64) -> Result<Option<StoredCase>> {
    let row = tx
        .prepare_cached(
            "SELECT data, business_day, number, token, department, state, priority_rank, queued_at,
             coalesce(service_end_at, ''), coalesce(queue_pos, '') FROM cases WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                [
                    ("business_day", r.get::<_, String>(1)?),
                    ("number", r.get::<_, String>(2)?),
                    ("token", r.get::<_, String>(3)?),
                    ("department", r.get::<_, String>(4)?),
                    ("state", r.get::<_, String>(5)?),
                    ("priority_rank", r.get::<_, i64>(6)?.to_string()),
                    ("queued_at", r.get::<_, String>(7)?),
                    ("service_end_at", r.get::<_, String>(8)?),
                    (
                        "queue_pos",
                        r.get::<_, rusqlite::types::Value>(9).map(|v| match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        })?,
                    ),
                ],
            ))
        })
        .optional()?;
    let Some((data, columns)) = row else { return Ok(None) };
    let case = crate::ledger::sqlite::parse_case_row(id, &data)?;
    Ok(Some(StoredCase { case, columns }))
}

/// The columns a replayed case must have in its row.
fn expected_columns(c: &Case) -> [(&'static str, String); 9] {
    [
        ("business_day", c.business_day.clone()),
        ("number", c.number.clone()),
        ("token", c.token.clone()),
        ("department", c.department.clone()),
        ("state", c.state.as_str().to_string()),
        ("priority_rank", c.priority_rank.to_string()),
        ("queued_at", c.queued_at.clone()),
        ("service_end_at", c.service_end_at.clone().unwrap_or_default()),
        ("queue_pos", c.queue_pos.map(|p| p.to_string()).unwrap_or_default()),
    ]
}

/// How a replayed case compares with its stored row.
enum Compared {
    Same,
    /// The row says later events changed it: fold those when they come.
    Later,
    Differs(Option<String>),
    Missing,
}

fn compare(tx: &Transaction<'_>, want: &Case) -> Result<Compared> {
    let Some(have) = stored_case(tx, want.id)? else {
        return Ok(Compared::Missing);
    };
    if have.case.last_seq > want.last_seq && have.case.id == want.id {
        return Ok(Compared::Later);
    }
    if have.case != *want {
        return Ok(Compared::Differs(differing_field(&have.case, want)));
    }
    let expected = expected_columns(want);
    if let Some(((name, _), _)) = have.columns.iter().zip(expected.iter()).find(|(a, b)| a.1 != b.1) {
        return Ok(Compared::Differs(Some(name.to_string())));
    }
    Ok(Compared::Same)
}

/// Fold a case from its own events before `seq` (a case dropped from memory that moves again).
fn refold(tx: &Transaction<'_>, id: i64, seq: i64) -> Result<Option<Case>> {
    let events = events_in(tx, "WHERE case_id = ?1 AND seq < ?2", params![id, seq])?;
    let mut case: Option<Case> = None;
    for ev in events {
        let body: EventBody = serde_json::from_str(&ev.payload)
            .map_err(|e| LedgerError::Corrupt(format!("event {} has an unreadable payload: {e}", ev.seq)))?;
        if body.moves_case() {
            case = Some(apply_owned(case, id, ev.seq, &ev.at, &body)?);
        }
    }
    Ok(case)
}

/// Hash and parse a batch of events on `threads` threads into `out` (reused from batch to
/// batch: a year of events must not cost a million large allocations): (hash matches, the
/// payload).
fn hash_and_parse(batch: &[Packed], out: &mut Vec<(bool, Option<EventBody>)>, threads: usize) {
    let one = |ev: &Packed| {
        (
            event_hash_matches(ev),
            serde_json::from_str::<EventBody>(ev.payload()).ok(),
        )
    };
    out.clear();
    out.resize_with(batch.len(), || (false, None));
    if threads < 2 || batch.len() < 256 {
        for (o, ev) in out.iter_mut().zip(batch) {
            *o = one(ev);
        }
        return;
    }
    let chunk = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (outs, evs) in out.chunks_mut(chunk).zip(batch.chunks(chunk)) {
            s.spawn(move || {
                for (o, ev) in outs.iter_mut().zip(evs) {
                    *o = one(ev);
                }
            });
        }
    });
}

fn verify_inner(
    conn: &mut Connection,
    checked: &mut i64,
    evict_after: i64,
    batch_size: usize,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<VerifyReport> {
    let tx = conn.transaction()?;
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .unwrap_or(None);
    let head_seq = head.as_ref().map(|h| h.0).unwrap_or(-1);
    let total: i64 = tx
        .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
        .unwrap_or(0);
    let mut prev = GENESIS.to_string();
    let mut expected = 1i64;
    // Cases being folded, by id; ids folded and dropped whose row says more is to come.
    let mut open: HashMap<i64, Case> = HashMap::new();
    let mut deferred: HashSet<i64> = HashSet::new();
    let mut created: Vec<u64> = Vec::new();
    let mut created_count = 0i64;
    // The first projection finding; chain findings (which make everything after them suspect)
    // take precedence, so the whole chain is checked first.
    let mut projection: Option<VerifyReport> = None;
    // The small projections, folded from the log and compared at the end: the day counters
    // (the last number per day and prefix), the windows' paused state, the hall files applied.
    let mut counters: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut windows: BTreeMap<u32, bool> = BTreeMap::new();
    let mut configs: Vec<String> = Vec::new();
    let mut signins = crate::access::SignInFold::default();
    let mut visitors = crate::visitors::VisitorFold::default();
    let mut next_evict = evict_after;
    let mut calls_stmt = tx.prepare("SELECT seq, business_day, department, case_id, recall FROM calls ORDER BY seq")?;
    let mut calls = calls_stmt.query_map([], |r| {
        Ok(CallRow {
            seq: r.get(0)?,
            business_day: r.get(1)?,
            department: r.get(2)?,
            case_id: r.get(3)?,
            recall: r.get(4)?,
        })
    })?;
    // Notes erased by a recorded retention purge may have lost their text; every other note
    // must still have the text the event that names it was written with.
    let mut purged_up_to = 0i64;
    for payload in events_in(&tx, "WHERE kind = 'notes_purged'", [])?
        .iter()
        .map(|e| &e.payload)
    {
        if let Ok(EventBody::NotesPurged { up_to_note, .. }) = serde_json::from_str(payload) {
            purged_up_to = purged_up_to.max(up_to_note);
        }
    }
    let mut notes_stmt = tx.prepare("SELECT id, body, sha256, at, salt FROM notes ORDER BY id")?;
    let mut notes = Notes {
        rows: notes_stmt.query([])?,
        peeked: None,
        purged_up_to,
    };
    let mut stmt = tx.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    // Read batch N+1 while a worker hashes and parses batch N; fold batch N here. Reading
    // and folding need the connection, so they stay on this thread; the rest overlaps.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(2, 8)
        - 1;
    let mut read_next = 1i64;
    let outcome = std::thread::scope(|s| -> Result<Option<VerifyReport>> {
        type Parsed = (Vec<Packed>, Vec<(bool, Option<EventBody>)>);
        let mut pending: Option<std::thread::ScopedJoinHandle<'_, Parsed>> = None;
        let mut spare: Option<Parsed> = None;
        let mut finished = false;
        loop {
            let (mut next, next_checks) = spare.take().unwrap_or_default();
            next.clear();
            let mut unreadable = None;
            while !finished && next.len() < batch_size {
                let at = read_next;
                let why = match rows.next() {
                    Ok(Some(row)) => match Packed::read(row) {
                        Ok(ev) => {
                            next.push(ev);
                            read_next += 1;
                            continue;
                        }
                        Err(e) => format!("event {at} is unreadable: {e}"),
                    },
                    Ok(None) => {
                        finished = true;
                        break;
                    }
                    Err(e) => format!("the event log cannot be read past sequence {}: {e}", at - 1),
                };
                unreadable = Some(VerifyReport::bad(at - 1, head_seq, 0, at, FindingKind::Unreadable, why));
                finished = true;
            }
            if let Some(handle) = pending.take() {
                let (mut batch, mut checks) = handle.join().expect("a hashing thread panicked");
                for (ev, (hash_ok, body)) in batch.drain(..).zip(checks.drain(..)) {
                    if ev.seq != expected {
                        let what = if ev.seq > expected {
                            "is missing (deleted or reordered)"
                        } else {
                            "is out of order"
                        };
                        return Ok(Some(VerifyReport::bad(
                            expected - 1,
                            head_seq,
                            0,
                            expected,
                            FindingKind::MissingEvent,
                            format!("event {expected} {what}; found {} next", ev.seq),
                        )));
                    }
                    if ev.prev_hash() != prev {
                        return Ok(Some(VerifyReport::bad(
                            expected - 1,
                            head_seq,
                            0,
                            ev.seq,
                            FindingKind::BrokenLink,
                            format!("event {} does not link to the hash of event {}", ev.seq, ev.seq - 1),
                        )));
                    }
                    if !hash_ok {
                        return Ok(Some(VerifyReport::bad(
                            expected - 1,
                            head_seq,
                            0,
                            ev.seq,
                            FindingKind::Altered,
                            format!("event {} was altered: its hash does not match its contents", ev.seq),
                        )));
                    }
                    let Some(body) = body.filter(|b| b.kind() == ev.kind()) else {
                        return Ok(Some(VerifyReport::bad(
                            expected - 1,
                            head_seq,
                            0,
                            ev.seq,
                            FindingKind::KindMismatch,
                            format!("event {} has a payload that does not match its kind", ev.seq),
                        )));
                    };
                    // A day's close records the chain head it closed on, the event just before
                    // it: a log rewritten before it (every hash recomputed) no longer has that
                    // head, and the close printed for the office says so too.
                    if let EventBody::DayClosed {
                        head_seq: closed_seq,
                        head_hash: closed_hash,
                        business_day,
                        ..
                    } = &body
                    {
                        if *closed_seq != ev.seq - 1 || closed_hash != &prev {
                            return Ok(Some(VerifyReport::bad(
                                expected - 1,
                                head_seq,
                                0,
                                (*closed_seq).clamp(1, ev.seq),
                                FindingKind::Rewritten,
                                format!(
                                    "the close of {business_day} (event {}) recorded the chain head {closed_seq} {}, the log has {} there: the log was rewritten",
                                    ev.seq,
                                    closed_hash.chars().take(12).collect::<String>(),
                                    if *closed_seq == ev.seq - 1 { prev.chars().take(12).collect::<String>() } else { "another event".into() }
                                ),
                            )));
                        }
                    }
                    prev.clear();
                    prev.push_str(ev.hash());
                    *checked = ev.seq;
                    expected += 1;
                    if projection.is_none() {
                        let mut refs = body.note_refs();
                        refs.sort_by_key(|r| r.note);
                        for r in refs {
                            if let Some(why) = notes.check(r, ev.at())? {
                                projection = Some(VerifyReport::bad_row(
                                    ev.seq,
                                    head_seq,
                                    0,
                                    ev.seq,
                                    "notes",
                                    r.note,
                                    format!("note {} named by event {}: {why}", r.note, ev.seq),
                                ));
                                if let Some(f) = projection.as_mut().and_then(|p| p.finding.as_mut()) {
                                    f.field = Some(if why.contains("time") { "at" } else { "body" }.into());
                                }
                                break;
                            }
                        }
                    }
                    match &body {
                        EventBody::CaseIssued {
                            business_day, number, ..
                        }
                        | EventBody::CaseReturned {
                            business_day, number, ..
                        } => {
                            let digits = number.trim_start_matches(|c: char| !c.is_ascii_digit());
                            let prefix = &number[..number.len() - digits.len()];
                            let n = digits.parse::<i64>().unwrap_or(0);
                            let last = counters.entry((business_day.clone(), prefix.to_string())).or_insert(0);
                            *last = (*last).max(n);
                        }
                        EventBody::WindowPaused { window, .. } => {
                            windows.insert(*window, true);
                        }
                        EventBody::WindowResumed { window, .. } => {
                            windows.insert(*window, false);
                        }
                        EventBody::HallConfigured { sha256, .. } => configs.push(sha256.clone()),
                        EventBody::AppointmentBooked { .. }
                        | EventBody::AppointmentCheckedIn { .. }
                        | EventBody::AppointmentCancelled { .. }
                        | EventBody::FeedbackReceived { .. }
                        | EventBody::FeedbackReplied { .. }
                        | EventBody::NotesPurged { .. } => visitors.apply(ev.at(), ev.case_id, &body),
                        other => signins.apply(ev.at(), other),
                    }
                    if projection.is_some() || !body.moves_case() {
                        continue;
                    }
                    // The projections: fold the case, check its calls row.
                    let unreplayable = |why: String| {
                        Some(VerifyReport::bad(
                            ev.seq,
                            head_seq,
                            0,
                            ev.seq,
                            FindingKind::Unreplayable,
                            format!("event {} cannot be replayed: {why}", ev.seq),
                        ))
                    };
                    let Some(id) = ev.case_id else {
                        projection = unreplayable("it moves a case but names none".into());
                        continue;
                    };
                    let before = match open.remove(&id) {
                        Some(c) => Some(c),
                        None if matches!(body, EventBody::CaseIssued { .. }) => None,
                        None => {
                            deferred.remove(&id);
                            refold(&tx, id, ev.seq)?
                        }
                    };
                    let is_new = before.is_none();
                    let next = match apply_owned(before, id, ev.seq, ev.at(), &body) {
                        Ok(c) => c,
                        Err(e) => {
                            projection = unreplayable(e.to_string());
                            continue;
                        }
                    };
                    if is_new {
                        let i = id.max(0) as usize;
                        if created.len() <= i / 64 {
                            created.resize(i / 64 + 1, 0);
                        }
                        created[i / 64] |= 1 << (i % 64);
                        created_count += 1;
                    }
                    if let Some(want) = call_row(ev.seq, &next, &body) {
                        let have = calls.next().transpose()?;
                        let legacy = matches!(&body, EventBody::CaseCalled { department, .. } | EventBody::CaseRecalled { department, .. } if department.is_empty());
                        let same = have.as_ref().is_some_and(|h| {
                            h.seq == want.seq
                                && h.business_day == want.business_day
                                && h.case_id == want.case_id
                                && h.recall == want.recall
                                && (legacy || h.department == want.department)
                        });
                        if !same {
                            projection = Some(VerifyReport::bad_row(
                                ev.seq,
                                head_seq,
                                0,
                                ev.seq,
                                "calls",
                                ev.seq,
                                format!("the calls table does not match the call at event {}", ev.seq),
                            ));
                        }
                    }
                    open.insert(id, next);
                }
                // Cases idle for a while: compare them now and let them go.
                if expected > next_evict && projection.is_none() {
                    let cutoff = expected - evict_after;
                    let idle: Vec<i64> = open
                        .iter()
                        .filter(|(_, c)| c.last_seq < cutoff)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in idle {
                        let case = open.remove(&id).expect("listed above");
                        match compare(&tx, &case)? {
                            Compared::Same => {}
                            Compared::Later => {
                                deferred.insert(id);
                            }
                            other => {
                                projection = Some(case_finding(expected - 1, head_seq, &case, other));
                                break;
                            }
                        }
                    }
                    next_evict = expected + (evict_after / 4).max(1);
                }
                progress(expected - 1, total);
                spare = Some((batch, checks));
            }
            if let Some(r) = unreadable {
                return Ok(Some(r));
            }
            if next.is_empty() {
                return Ok(None);
            }
            pending = Some(s.spawn(move || {
                let mut checks = next_checks;
                hash_and_parse(&next, &mut checks, workers);
                (next, checks)
            }));
        }
    })?;
    if let Some(r) = outcome {
        return Ok(r);
    }
    drop(rows);
    drop(stmt);
    let count = expected - 1;
    match head {
        None => {
            return Ok(VerifyReport::bad(
                count,
                -1,
                0,
                count + 1,
                FindingKind::HeadMismatch,
                "the chain head is missing".into(),
            ))
        }
        Some((hs, hh)) => {
            if hs > count {
                return Ok(VerifyReport::bad(
                    count,
                    hs,
                    0,
                    count + 1,
                    FindingKind::Truncated,
                    format!("the log ends at event {count} but the chain head says {hs}: events were cut off"),
                ));
            }
            if hs < count || hh != prev {
                return Ok(VerifyReport::bad(
                    count,
                    hs,
                    0,
                    hs + 1,
                    FindingKind::HeadMismatch,
                    format!("the chain head (event {hs}) does not match the end of the log (event {count})"),
                ));
            }
        }
    }
    if let Some(p) = projection {
        return Ok(p);
    }
    let cases = created_count as usize;
    let mut rest: Vec<Case> = open.into_values().collect();
    rest.sort_by_key(|c| c.id);
    for case in &rest {
        match compare(&tx, case)? {
            Compared::Same => {}
            // Nothing later came: the row claims events the log does not have.
            other => return Ok(case_finding(count, head_seq, case, other)),
        }
    }
    if let Some(&id) = deferred.iter().min() {
        if let Some(case) = refold(&tx, id, i64::MAX)? {
            return Ok(case_finding(count, head_seq, &case, Compared::Later));
        }
    }
    if let Some(extra) = calls.next().transpose()? {
        return Ok(VerifyReport::bad_row(
            count,
            head_seq,
            cases,
            count + 1,
            "calls",
            extra.seq,
            format!("the calls table has a row for event {} that is no call", extra.seq),
        ));
    }
    drop(calls);
    drop(calls_stmt);
    let stored: i64 = tx.query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?;
    if stored != created_count {
        let mut ids = tx.prepare("SELECT id, number FROM cases ORDER BY id")?;
        let mut rows = ids.query([])?;
        while let Some(r) = rows.next()? {
            let (id, number): (i64, String) = (r.get(0)?, r.get(1)?);
            let i = id.max(0) as usize;
            if created.get(i / 64).is_none_or(|w| w & (1 << (i % 64)) == 0) {
                return Ok(VerifyReport::bad_row(
                    count,
                    head_seq,
                    cases,
                    count + 1,
                    "cases",
                    id,
                    format!("case {number} (#{id}) is in the cases table but no event created it"),
                ));
            }
        }
    }
    if let Some(r) = small_projections(&tx, count, head_seq, cases, &counters, &windows, &configs)? {
        return Ok(r);
    }
    let differs = match signins.compare(&tx)? {
        Some(d) => Some(d),
        None => match visitors.compare(&tx)? {
            Some(d) => Some(d),
            None => check_requests(&tx)?,
        },
    };
    if let Some((table, row, field, problem)) = differs {
        let mut r = VerifyReport::bad_row(count, head_seq, cases, count + 1, table, row, problem);
        if let Some(f) = r.finding.as_mut() {
            f.field = Some(field.into());
        }
        return Ok(r);
    }
    Ok(VerifyReport {
        ok: true,
        events: count,
        head_seq,
        cases,
        first_bad_seq: None,
        problem: None,
        finding: None,
    })
}

/// The requests table against the events it names: a retried request is answered from the
/// event its row names, so a row pointed at another event would hand a retrying kiosk another
/// visitor's ticket. Each row names an event the log has, no event answers two requests, and
/// a ticket's request names a ticket its own device issued. (table, row, field, problem).
fn check_requests(tx: &Transaction<'_>) -> Result<Option<(&'static str, i64, &'static str, String)>> {
    let missing = tx
        .query_row(
            "SELECT r.rowid, r.seq FROM requests r LEFT JOIN events e ON e.seq = r.seq
             WHERE e.seq IS NULL ORDER BY r.rowid LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?;
    if let Some((rowid, seq)) = missing {
        return Ok(Some((
            "requests",
            rowid,
            "seq",
            format!("request row {rowid} names event {seq}, which the log does not have"),
        )));
    }
    let twice = tx
        .query_row(
            "SELECT seq, min(rowid), count(*) FROM requests GROUP BY seq HAVING count(*) > 1 LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        )
        .optional()?;
    if let Some((seq, rowid, n)) = twice {
        return Ok(Some((
            "requests",
            rowid,
            "seq",
            format!("{n} requests name event {seq}: each event answers one request"),
        )));
    }
    let foreign = tx
        .query_row(
            "SELECT r.rowid, r.seq, r.device, e.kind, e.actor FROM requests r JOIN events e ON e.seq = r.seq
             WHERE r.op IN ('issue', 'check_in') AND (e.kind != 'case_issued' OR e.actor != r.device)
             ORDER BY r.rowid LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    if let Some((rowid, seq, device, kind, actor)) = foreign {
        return Ok(Some((
            "requests",
            rowid,
            "seq",
            format!("a ticket request of {device} names event {seq}, a {kind} by {actor}: not a ticket it issued"),
        )));
    }
    Ok(None)
}

/// Compare the day counters, the windows' state and the stored hall files with what the log
/// says they must be.
fn small_projections(
    tx: &Transaction<'_>,
    count: i64,
    head_seq: i64,
    cases: usize,
    counters: &BTreeMap<(String, String), i64>,
    windows: &BTreeMap<u32, bool>,
    configs: &[String],
) -> Result<Option<VerifyReport>> {
    let bad = |table: &str, row: i64, field: &str, problem: String| {
        let mut r = VerifyReport::bad_row(count, head_seq, cases, count + 1, table, row, problem);
        if let Some(f) = r.finding.as_mut() {
            f.field = Some(field.into());
        }
        Some(r)
    };
    // Day counters: exactly one row per day and prefix the log issued numbers in, at the last
    // number issued (set back, the next ticket would fail or repeat a number).
    let mut stmt =
        tx.prepare("SELECT rowid, business_day, prefix, last FROM day_counters ORDER BY business_day, prefix")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (rowid, day, prefix, last) in &rows {
        match counters.get(&(day.clone(), prefix.clone())) {
            Some(want) if want == last => {}
            Some(want) => {
                return Ok(bad(
                    "day_counters",
                    *rowid,
                    "last",
                    format!("the day counter of {day} {prefix} says {last}, the log issued up to {want}"),
                ))
            }
            None => {
                return Ok(bad(
                    "day_counters",
                    *rowid,
                    "last",
                    format!("the day counter of {day} {prefix} has no tickets in the log"),
                ))
            }
        }
    }
    if rows.len() != counters.len() {
        let (day, prefix) = counters
            .keys()
            .find(|k| !rows.iter().any(|r| r.1 == k.0 && r.2 == k.1))
            .cloned()
            .unwrap_or_default();
        return Ok(bad(
            "day_counters",
            0,
            "last",
            format!("the day counter of {day} {prefix} is missing"),
        ));
    }
    // Windows: paused exactly where the log's last pause or resume says so.
    let mut stmt = tx.prepare("SELECT window, paused FROM window_state ORDER BY window")?;
    let stored = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, bool>(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
    for (w, paused) in &stored {
        if windows.get(w).copied().unwrap_or(false) != *paused {
            return Ok(bad(
                "window_state",
                *w as i64,
                "paused",
                format!("window {w}'s paused state differs from the log"),
            ));
        }
    }
    if let Some((w, _)) = windows.iter().find(|(w, p)| **p && !stored.contains_key(w)) {
        return Ok(bad(
            "window_state",
            *w as i64,
            "paused",
            format!("window {w} is paused in the log but not in the table"),
        ));
    }
    // Hall files: each stored configuration is one the log recorded applying, byte for byte.
    let mut stmt = tx.prepare("SELECT id, sha256, body FROM hall_config ORDER BY id")?;
    let stored = stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (i, (id, sha, body)) in stored.iter().enumerate() {
        if sha256_hex(body) != *sha || configs.get(i) != Some(sha) {
            return Ok(bad(
                "hall_config",
                *id,
                "body",
                format!("the hall configuration #{id} is not the one the log recorded applying"),
            ));
        }
    }
    if stored.len() != configs.len() {
        return Ok(bad(
            "hall_config",
            0,
            "body",
            format!(
                "the log applied {} hall configurations, the table holds {}",
                configs.len(),
                stored.len()
            ),
        ));
    }
    Ok(None)
}

/// The finding for a replayed case that does not match its row.
fn case_finding(events: i64, head_seq: i64, want: &Case, how: Compared) -> VerifyReport {
    let (problem, field) = match how {
        Compared::Missing => (
            format!(
                "case {} is in the event log but missing from the cases table",
                want.number
            ),
            None,
        ),
        Compared::Differs(field) => (
            format!(
                "case {} in the cases table differs from the event log (row {}, field {})",
                want.number,
                want.id,
                field.as_deref().unwrap_or("?")
            ),
            field,
        ),
        Compared::Later => (
            format!(
                "case {} in the cases table claims changes after event {} that the log does not have",
                want.number, want.last_seq
            ),
            Some("last_seq".into()),
        ),
        Compared::Same => unreachable!("only differences are findings"),
    };
    let mut r = VerifyReport::bad_row(events, head_seq, 0, want.last_seq, "cases", want.id, problem);
    if let Some(f) = r.finding.as_mut() {
        f.field = field;
    }
    r
}

/// The first field (by name) in which a stored case differs from the replayed one.
fn differing_field(have: &Case, want: &Case) -> Option<String> {
    let (a, b) = (serde_json::to_value(have).ok()?, serde_json::to_value(want).ok()?);
    let (a, b) = (a.as_object()?, b.as_object()?);
    b.iter().find(|(k, v)| a.get(*k) != Some(*v)).map(|(k, _)| k.clone())
}

/// Check chain heads a client witnessed against the log: each (seq, hash) must still be there.
/// A head past the end of the log means the log was cut (with its chain head); a different hash
/// means the log was rewritten at or before that event.
pub fn check_witness(
    conn: &Connection,
    file: &str,
    witnessed: &[crate::witness::Witnessed],
    head_seq: i64,
    events: i64,
    cases: usize,
) -> Result<Option<VerifyReport>> {
    let mut stmt = conn.prepare_cached("SELECT hash FROM events WHERE seq = ?1")?;
    check_witness_with(
        &mut |seq| Ok(stmt.query_row([seq], |r| r.get(0)).optional()?),
        file,
        witnessed,
        head_seq,
        events,
        cases,
    )
}

/// `check_witness` over any store: `hash_of(seq)` is the log's hash of an event, if it has one.
pub fn check_witness_with(
    hash_of: &mut dyn FnMut(i64) -> Result<Option<String>>,
    file: &str,
    witnessed: &[crate::witness::Witnessed],
    head_seq: i64,
    events: i64,
    cases: usize,
) -> Result<Option<VerifyReport>> {
    for w in witnessed {
        let have: Option<String> = hash_of(w.seq)?;
        let (kind, problem) = match have {
            Some(h) if h == w.hash => continue,
            Some(h) => (
                FindingKind::Rewritten,
                format!(
                    "{file}:{}: event {} was witnessed{} with hash {}, the ledger has {h}: the log was rewritten at or before event {}",
                    w.line,
                    w.seq,
                    if w.at.is_empty() { String::new() } else { format!(" at {}", w.at) },
                    w.hash,
                    w.seq
                ),
            ),
            None => (
                FindingKind::Truncated,
                format!(
                    "{file}:{}: event {} was witnessed{}, but the log ends at {head_seq}: events were cut off",
                    w.line,
                    w.seq,
                    if w.at.is_empty() { String::new() } else { format!(" at {}", w.at) },
                ),
            ),
        };
        let first = if kind == FindingKind::Truncated {
            head_seq + 1
        } else {
            w.seq
        };
        return Ok(Some(VerifyReport::bad(events, head_seq, cases, first, kind, problem)));
    }
    Ok(None)
}
