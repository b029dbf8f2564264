//! The hash-chained event log: appending inside a write transaction, and verifying the chain
//! (and the cases projection against a replay of it).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::parse_stamp;
use crate::error::{LedgerError, Result};
use crate::model::{apply, Case, EventBody};

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
    let case = case_id.map(|c| c.to_string()).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(format!("{seq}\n{at}\n{actor}\n{kind}\n{case}\n{payload}\n{prev}").as_bytes());
    hex::encode(h.finalize())
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

thread_local! {
    /// The client request whose first event is being written on this thread (server writer).
    static REQUEST: std::cell::RefCell<Option<(String, String, String)>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` as the handling of client request `id` (from `device`, operation `op`): the first
/// event `f` appends is remembered under `id` in the same transaction, so a retry of the same
/// id can be answered from that event instead of writing again.
pub fn with_request<T>(id: &str, device: &str, op: &str, f: impl FnOnce() -> T) -> T {
    begin_request(id, device, op);
    let out = f();
    end_request();
    out
}

/// Start handling client request `id` on this thread (see `with_request`).
pub fn begin_request(id: &str, device: &str, op: &str) {
    REQUEST.with(|r| *r.borrow_mut() = Some((id.to_string(), device.to_string(), op.to_string())));
}

/// Stop remembering events under the current request id.
pub fn end_request() {
    REQUEST.with(|r| *r.borrow_mut() = None);
}

/// Append one event and move the chain head, inside the caller's immediate transaction.
pub fn append_in(tx: &Transaction<'_>, at: &str, actor: &str, case_id: Option<i64>, body: &EventBody) -> Result<Event> {
    if actor.trim().is_empty() || actor.contains('\n') {
        return Err(LedgerError::Invalid(
            "every event needs an actor (staff id or device id)".into(),
        ));
    }
    let (head_seq, head_hash): (i64, String) =
        crate::db::one(&tx, "SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let seq = head_seq + 1;
    if head_seq > 0 {
        let last_at: Option<String> = tx
            .prepare_cached("SELECT at FROM events WHERE seq = ?1")?
            .query_row([head_seq], |r| r.get(0))
            .optional()?;
        if let (Some(last), Some(now)) = (last_at.as_deref().and_then(parse_stamp), parse_stamp(at)) {
            crate::clock::note_step_back(now, last);
        }
    }
    let kind = body.kind();
    let payload = serde_json::to_string(body).map_err(|e| LedgerError::Invalid(e.to_string()))?;
    let hash = event_hash(seq, at, actor, &kind, case_id, &payload, &head_hash);
    crate::db::exec(&tx,
        "INSERT INTO events (seq, at, actor, kind, case_id, payload, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![seq, at, actor, kind, case_id, payload, head_hash, hash],
    )?;
    if let Some((id, device, op)) = REQUEST.with(|r| r.borrow_mut().take()) {
        crate::db::exec(
            &tx,
            "INSERT INTO requests (id, device, op, seq, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, device, op, seq, at],
        )?;
    }
    let moved = crate::db::exec(
        &tx,
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
        kind,
        case_id,
        payload,
        prev_hash: head_hash,
        hash,
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
    let mut cases: BTreeMap<i64, Case> = BTreeMap::new();
    for ev in events {
        let body: EventBody = serde_json::from_str(&ev.payload)
            .map_err(|e| LedgerError::Corrupt(format!("event {} has an unreadable payload: {e}", ev.seq)))?;
        if !body.moves_case() {
            continue;
        }
        let id = ev
            .case_id
            .ok_or_else(|| LedgerError::Corrupt(format!("event {} moves a case but names none", ev.seq)))?;
        let next = apply(cases.get(&id), id, ev.seq, &ev.at, &body)
            .map_err(|e| LedgerError::Corrupt(format!("event {} cannot be replayed: {e}", ev.seq)))?;
        cases.insert(id, next);
    }
    Ok(cases)
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

/// Recompute the chain from the first event, then check the head and the cases projection.
/// Reads inside one transaction so a concurrent writer cannot make a sound ledger look broken.
pub fn verify(conn: &mut Connection) -> Result<VerifyReport> {
    // A damaged file fails somewhere inside; whatever the failure, report it as the first
    // event that could not be checked rather than as an opaque error.
    let mut checked = 0i64;
    match verify_inner(conn, &mut checked) {
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

fn verify_inner(conn: &mut Connection, checked: &mut i64) -> Result<VerifyReport> {
    let tx = conn.transaction()?;
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .unwrap_or(None);
    let head_seq = head.as_ref().map(|h| h.0).unwrap_or(-1);
    let mut events = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected = 1i64;
    {
        let mut stmt = tx.prepare(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        loop {
            let row = match rows.next() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    return Ok(VerifyReport::bad(
                        expected - 1,
                        head_seq,
                        0,
                        expected,
                        FindingKind::Unreadable,
                        format!("the event log cannot be read past sequence {}: {e}", expected - 1),
                    ));
                }
            };
            let ev = match read_event(row) {
                Ok(ev) => ev,
                Err(e) => {
                    return Ok(VerifyReport::bad(
                        expected - 1,
                        head_seq,
                        0,
                        expected,
                        FindingKind::Unreadable,
                        format!("event {expected} is unreadable: {e}"),
                    ))
                }
            };
            if ev.seq != expected {
                let what = if ev.seq > expected {
                    "is missing (deleted or reordered)"
                } else {
                    "is out of order"
                };
                return Ok(VerifyReport::bad(
                    expected - 1,
                    head_seq,
                    0,
                    expected,
                    FindingKind::MissingEvent,
                    format!("event {expected} {what}; found {} next", ev.seq),
                ));
            }
            if ev.prev_hash != prev {
                return Ok(VerifyReport::bad(
                    expected - 1,
                    head_seq,
                    0,
                    ev.seq,
                    FindingKind::BrokenLink,
                    format!("event {} does not link to the hash of event {}", ev.seq, ev.seq - 1),
                ));
            }
            let h = event_hash(
                ev.seq,
                &ev.at,
                &ev.actor,
                &ev.kind,
                ev.case_id,
                &ev.payload,
                &ev.prev_hash,
            );
            if h != ev.hash {
                return Ok(VerifyReport::bad(
                    expected - 1,
                    head_seq,
                    0,
                    ev.seq,
                    FindingKind::Altered,
                    format!("event {} was altered: its hash does not match its contents", ev.seq),
                ));
            }
            let kind_ok = serde_json::from_str::<EventBody>(&ev.payload)
                .map(|b| b.kind() == ev.kind)
                .unwrap_or(false);
            if !kind_ok {
                return Ok(VerifyReport::bad(
                    expected - 1,
                    head_seq,
                    0,
                    ev.seq,
                    FindingKind::KindMismatch,
                    format!("event {} has a payload that does not match its kind", ev.seq),
                ));
            }
            prev = ev.hash.clone();
            *checked = ev.seq;
            expected += 1;
            events.push(ev);
        }
    }
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
    let rebuilt = match replay(&events) {
        Ok(c) => c,
        Err(e) => {
            return Ok(VerifyReport::bad(
                count,
                head_seq,
                0,
                count,
                FindingKind::Unreplayable,
                e.to_string(),
            ))
        }
    };
    let stored = crate::ledger::load_all_cases(&tx)?;
    for (id, want) in &rebuilt {
        match stored.get(id) {
            Some(have) if have == want => {}
            Some(have) => {
                let field = differing_field(have, want);
                let mut r = VerifyReport::bad_row(
                    count,
                    head_seq,
                    rebuilt.len(),
                    want.last_seq,
                    "cases",
                    *id,
                    format!(
                        "case {} in the cases table differs from the event log (row {id}, field {})",
                        want.number,
                        field.as_deref().unwrap_or("?")
                    ),
                );
                if let Some(f) = r.finding.as_mut() {
                    f.field = field;
                }
                return Ok(r);
            }
            None => {
                return Ok(VerifyReport::bad_row(
                    count,
                    head_seq,
                    rebuilt.len(),
                    want.last_seq,
                    "cases",
                    *id,
                    format!(
                        "case {} is in the event log but missing from the cases table",
                        want.number
                    ),
                ))
            }
        }
    }
    if let Some((id, extra)) = stored.iter().find(|(id, _)| !rebuilt.contains_key(id)) {
        return Ok(VerifyReport::bad_row(
            count,
            head_seq,
            rebuilt.len(),
            count + 1,
            "cases",
            *id,
            format!(
                "case {} (#{id}) is in the cases table but no event created it",
                extra.number
            ),
        ));
    }
    Ok(VerifyReport {
        ok: true,
        events: count,
        head_seq,
        cases: rebuilt.len(),
        first_bad_seq: None,
        problem: None,
        finding: None,
    })
}

/// The first field (by name) in which a stored case differs from the replayed one.
fn differing_field(have: &Case, want: &Case) -> Option<String> {
    let (a, b) = (serde_json::to_value(have).ok()?, serde_json::to_value(want).ok()?);
    let (a, b) = (a.as_object()?, b.as_object()?);
    b.iter().find(|(k, v)| a.get(*k) != Some(*v)).map(|(k, _)| k.clone())
}
