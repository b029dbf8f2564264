//! The ledger API: the one door through which kiosks, boards, consoles and the CLI read and
//! change the hall's state. Public methods own their transaction; `*_in(tx)` helpers compose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::chain::{self, Event, VerifyReport};
use crate::clock::{self, business_day, parse_stamp, stamp, Clock};
use crate::db;
use crate::error::{LedgerError, Result};
use crate::hall::Hall;
use crate::model::{apply, Case, CaseState, Channel, EventBody, Mode, NoteRef};

/// How to open a ledger.
#[derive(Clone)]
pub struct LedgerOptions {
    pub busy_timeout: Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            busy_timeout: Duration::from_millis(5_000),
            clock: clock::from_env(),
        }
    }
}

/// A visitor's request for a ticket (kiosk, counter or phone).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueRequest {
    pub item: String,
    pub priority: Option<String>,
    pub mode: Option<Mode>,
    pub channel: Channel,
    /// The device or staff id the event is attributed to.
    pub actor: String,
}

/// What the visitor takes home: everything the ticket and the ticket screen show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub number: String,
    pub case_id: i64,
    pub token: String,
    pub department: String,
    pub department_name: String,
    pub item: String,
    pub item_name: String,
    pub window: u32,
    pub priority: Option<String>,
    pub priority_name: Option<String>,
    pub mode: Mode,
    pub ahead: u32,
    pub estimated_wait_min: u32,
    pub issued_at: String,
    pub business_day: String,
    pub materials: Vec<String>,
    pub hall_name: String,
    /// What the ticket's QR code says: the token, or a status URL built from the hall's base.
    pub qr_payload: String,
    /// The issue time in the hall's time zone, as printed on the ticket.
    pub issued_local: String,
}

/// A counter's request to call a visitor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRequest {
    pub window: u32,
    pub staff: String,
    /// Call this number (or ticket token) instead of the next in line.
    pub number: Option<String>,
}

/// A call, as the board and the counter see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Called {
    pub case_id: i64,
    pub number: String,
    pub window: u32,
    pub department: String,
    pub department_name: String,
    pub item_name: String,
    pub priority: Option<String>,
    pub recall: bool,
    pub recalls: u32,
    pub staff: String,
    pub at: String,
    pub seq: i64,
    pub text: String,
}

/// The words the hall says for a call: 「请A012号到3号窗口办理」, with 「重呼」 for a recall.
pub fn announcement(number: &str, window: u32, recall: bool) -> String {
    let base = format!("请{number}号到{window}号窗口办理");
    if recall {
        format!("重呼：{base}")
    } else {
        base
    }
}

/// One visitor in a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingEntry {
    pub case_id: i64,
    pub number: String,
    pub department: String,
    pub item_name: String,
    pub priority: Option<String>,
    pub priority_name: Option<String>,
    pub state: CaseState,
    pub queued_at: String,
    pub waited_min: i64,
}

/// A counter action on one case; the console and `bangban case` both send these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CaseAction {
    Recall,
    Start,
    NoShow,
    Hold,
    Resume,
    Transfer {
        department: String,
        window: Option<u32>,
        note: Option<String>,
    },
    Consult {
        question: String,
        answer: Option<String>,
        resolved: bool,
    },
    Answer {
        answer: String,
    },
    NotifyMissing {
        missing: Vec<String>,
    },
    MaterialsReturned,
    Accept {
        materials: Vec<String>,
        power_of_attorney: bool,
    },
    StartWork,
    Ready,
    DeliverInPerson {
        completion_slip_signed: bool,
    },
    Mail {
        tracking: String,
    },
    ConfirmReceipt,
    Archive {
        handover: Option<String>,
    },
    Cancel {
        reason: String,
    },
}

/// One department's line in the day's ledger (台账).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentDay {
    pub department: String,
    pub name: String,
    pub issued: u32,
    pub served: u32,
    pub no_shows: u32,
    pub avg_wait_min: Option<f64>,
    pub avg_service_min: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayReport {
    pub date: String,
    pub hall: String,
    pub departments: Vec<DepartmentDay>,
    pub total: DepartmentDay,
}

/// The result of applying a hall file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigureOutcome {
    pub changed: bool,
    pub sha256: String,
    pub departments: usize,
    pub specialists: usize,
    pub items: usize,
}

/// An open ledger.
pub struct Ledger {
    pub(crate) conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    hall: Option<(i64, Arc<Hall>)>,
}

/// A specialist's stored PIN hash, read for a sign-in.
#[derive(Debug, Clone)]
pub struct PinRecord {
    salt: String,
    hash: String,
}

/// The result of the slow PIN check, ready to be recorded.
#[derive(Debug, Clone)]
pub struct PinChecked {
    pub ok: bool,
    /// A fresh argon2id hash when the stored one is of an older kind or cost.
    pub rehashed: Option<String>,
}

impl PinRecord {
    /// The deliberately slow part of a sign-in (argon2id): no lock or connection is held.
    pub fn check(&self, pin: &str) -> Result<PinChecked> {
        let c = crate::pin::verify(&self.hash, &self.salt, pin);
        let rehashed = if c.rehash {
            Some(crate::pin::hash(pin).map_err(LedgerError::Invalid)?)
        } else {
            None
        };
        Ok(PinChecked { ok: c.ok, rehashed })
    }
}

type PinRow = (String, String, u32, Option<String>);

fn read_pin_row(conn: &Connection, staff: &str) -> Result<Option<PinRow>> {
    Ok(conn
        .query_row(
            "SELECT salt, pin_hash, failed, locked_until FROM staff_auth WHERE staff_id = ?1",
            [staff],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

fn check_locked(hall: &Hall, staff: &str, now: DateTime<Utc>, locked_until: Option<&str>) -> Result<()> {
    match locked_until.and_then(parse_stamp) {
        Some(until) if until > now => {
            let local = until.with_timezone(&hall.tz()).format("%H:%M").to_string();
            Err(LedgerError::LoginLocked(staff.into(), local))
        }
        _ => Ok(()),
    }
}

/// A specialist acts only at a window of their own department.
fn check_staff_window(hall: &Hall, staff: &str, window: u32) -> Result<()> {
    let s = hall.specialist(staff).ok_or_else(|| LedgerError::UnknownStaff(staff.into()))?;
    let depts = hall.departments_at_window(window);
    if depts.is_empty() {
        return Err(LedgerError::UnknownWindow(window));
    }
    if !depts.iter().any(|d| d.code == s.department) {
        return Err(LedgerError::Forbidden(format!(
            "specialist {staff} belongs to {}; window {window} serves {}",
            s.department,
            depts.iter().map(|d| d.code.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

const PIN_TRIES: u32 = 5;
const PIN_LOCK_MINUTES: i64 = 5;
/// How many recent services the wait estimate averages over.
const ESTIMATE_WINDOW: usize = 20;

impl Ledger {
    pub fn open(path: &Path, opts: LedgerOptions) -> Result<Ledger> {
        clock::check_env().map_err(LedgerError::Invalid)?;
        let conn = db::open(path, opts.busy_timeout)?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            clock: opts.clock,
            hall: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The hall in force, reloaded when another process has applied a new configuration.
    pub fn hall(&mut self) -> Result<Arc<Hall>> {
        let latest: Option<i64> = self
            .conn
            .prepare_cached("SELECT max(id) FROM hall_config")?
            .query_row([], |r| r.get(0))?;
        let Some(latest) = latest else {
            return Err(LedgerError::NotInitialised(self.path.display().to_string()));
        };
        if let Some((id, h)) = &self.hall {
            if *id == latest {
                return Ok(h.clone());
            }
        }
        let body: String = self
            .conn
            .query_row("SELECT body FROM hall_config WHERE id = ?1", [latest], |r| r.get(0))?;
        let hall: Hall = serde_json::from_str(&body)
            .map_err(|e| LedgerError::Corrupt(format!("stored hall configuration {latest}: {e}")))?;
        let hall = Arc::new(hall);
        self.hall = Some((latest, hall.clone()));
        Ok(hall)
    }

    /// What a visitor's phone may see of a ticket, by its token (never by number: numbers are
    /// easy to guess, tokens are not).
    pub fn ticket_status(&mut self, token: &str) -> Result<crate::api::TicketStatus> {
        let hall = self.hall()?;
        let data: Option<String> = self
            .conn
            .prepare_cached("SELECT data FROM cases WHERE token = ?1")?
            .query_row([token], |r| r.get(0))
            .optional()?;
        let case = parse_case(&data.ok_or_else(|| LedgerError::UnknownCase("no such ticket".into()))?)?;
        let (ahead, est) = estimate_in(&self.conn, &hall, &case)?;
        use CaseState as S;
        let stage = match case.state {
            S::Waiting | S::Transferred | S::Called | S::NoShow | S::Cancelled => 0,
            S::Serving | S::OnHold | S::Consulted | S::AwaitingMaterials => 1,
            S::Accepted | S::InProgress => 2,
            S::Ready | S::Delivered | S::Mailed | S::ReceiptConfirmed => 3,
            S::Archived => 4,
        };
        Ok(crate::api::TicketStatus {
            number: case.number.clone(),
            hall_name: hall.name.clone(),
            department_name: hall.department(&case.department).map(|d| d.name.clone()).unwrap_or_default(),
            item_name: hall.item(&case.item).map(|i| i.display_name()).unwrap_or_else(|| case.item.clone()),
            state: case.state.as_str().into(),
            stage,
            ahead,
            estimated_wait_min: est,
            window: if matches!(case.state, S::Called | S::Serving | S::OnHold) {
                case.called_window
            } else {
                None
            },
            business_day: case.business_day.clone(),
            seq: self.head_seq()?,
        })
    }

    /// Fold the write-ahead log into the database file (before a clean shutdown).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The id of the hall configuration in force (it grows with each applied change).
    pub fn hall_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(id), 0) FROM hall_config")?
            .query_row([], |r| r.get(0))?)
    }

    pub fn is_initialised(&self) -> Result<bool> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM hall_config", [], |r| r.get(0))?;
        Ok(n > 0)
    }

    /// Today's business day in the hall's time zone.
    pub fn business_day(&mut self) -> Result<NaiveDate> {
        let tz = self.hall()?.tz();
        Ok(business_day(self.now(), tz))
    }

    /// Apply a hall configuration; a no-op (no event) when it is unchanged.
    pub fn configure(&mut self, hall: &Hall, actor: &str, source: &str) -> Result<ConfigureOutcome> {
        let body = hall.canonical_json();
        let sha = chain::sha256_hex(&body);
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        let current: Option<String> = tx
            .query_row("SELECT sha256 FROM hall_config ORDER BY id DESC LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let outcome = ConfigureOutcome {
            changed: current.as_deref() != Some(sha.as_str()),
            sha256: sha.clone(),
            departments: hall.departments.len(),
            specialists: hall.specialists.len(),
            items: hall.items.len(),
        };
        if outcome.changed {
            crate::db::exec(
                &tx,
                "INSERT INTO hall_config (sha256, body, applied_at) VALUES (?1, ?2, ?3)",
                params![sha, body, at],
            )?;
            let ev = EventBody::HallConfigured {
                sha256: sha,
                departments: outcome.departments,
                specialists: outcome.specialists,
                items: outcome.items,
                source: source.to_string(),
            };
            chain::append_in(&tx, &at, actor, None, &ev)?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Issue a ticket: number, case and event in one immediate transaction.
    pub fn issue(&mut self, req: &IssueRequest) -> Result<Ticket> {
        let hall = self.hall()?;
        let item = hall
            .item(&req.item)
            .ok_or_else(|| LedgerError::UnknownItem(req.item.clone()))?
            .clone();
        let dept = hall
            .department(&item.department)
            .ok_or_else(|| LedgerError::UnknownDepartment(item.department.clone()))?
            .clone();
        let prio = match req.priority.as_deref().filter(|p| !p.is_empty() && *p != "none") {
            Some(p) => Some(
                hall.priority(p)
                    .ok_or_else(|| LedgerError::UnknownPriority {
                        code: p.to_string(),
                        known: hall
                            .priority_classes
                            .iter()
                            .map(|c| format!("{} ({})", c.code, c.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
                    .clone(),
            ),
            None => None,
        };
        // Whole-chain matters get full-process service unless the visitor chose otherwise (rule 5).
        let mode = req.mode.unwrap_or(if item.is_whole_chain() {
            Mode::Fullprocess
        } else {
            Mode::Onsite
        });
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = db::immediate(&mut self.conn)?;
        let n: i64 = crate::db::one(
            &tx,
            "INSERT INTO day_counters (business_day, prefix, last) VALUES (?1, ?2, 1)
             ON CONFLICT (business_day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
            params![day, dept.prefix],
            |r| r.get(0),
        )?;
        let number = format!("{}{:03}", dept.prefix, n);
        let case_id: i64 = crate::db::one(&tx, "SELECT coalesce(max(id), 0) + 1 FROM cases", [], |r| r.get(0))?;
        let body = EventBody::CaseIssued {
            business_day: day.clone(),
            number: number.clone(),
            token: new_token(),
            item: item.code.clone(),
            department: dept.code.clone(),
            window: item.window,
            priority: prio.as_ref().map(|p| p.code.clone()),
            priority_rank: prio.as_ref().map(|p| p.rank).unwrap_or(0),
            mode,
            channel: req.channel,
        };
        let case = record_in(&tx, None, case_id, &at, &req.actor, &body)?;
        let (ahead, est) = estimate_in(&tx, &hall, &case)?;
        tx.commit()?;
        Ok(ticket_view(&hall, &case, ahead, est))
    }

    /// The ticket of an existing case (today's number or its token), with the queue as it is
    /// now: for reprints (补打) and the ticket screen.
    pub fn ticket_for(&mut self, case_ref: &str) -> Result<Ticket> {
        let hall = self.hall()?;
        let case = self.find_case(case_ref)?;
        let (ahead, est) = estimate_in(&self.conn, &hall, &case)?;
        Ok(ticket_view(&hall, &case, ahead, est))
    }

    /// Call the next visitor for a window (or a given number): one conditional update in an
    /// immediate transaction, so two counters never get the same case.
    pub fn call(&mut self, req: &CallRequest) -> Result<Called> {
        let hall = self.hall()?;
        let depts: Vec<String> = hall
            .departments_at_window(req.window)
            .iter()
            .map(|d| d.code.clone())
            .collect();
        if depts.is_empty() {
            return Err(LedgerError::UnknownWindow(req.window));
        }
        if hall.specialist(&req.staff).is_none() {
            return Err(LedgerError::UnknownStaff(req.staff.clone()));
        }
        check_staff_window(&hall, &req.staff, req.window)?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = db::immediate(&mut self.conn)?;
        if window_paused_in(&tx, req.window)? {
            return Err(LedgerError::WindowPaused(req.window));
        }
        let case = match &req.number {
            Some(n) => find_case_in(&tx, &day, n)?,
            None => next_in_line_in(&tx, &hall, &day, &depts)?.ok_or(LedgerError::NobodyWaiting(req.window))?,
        };
        let body = EventBody::CaseCalled {
            window: req.window,
            staff: req.staff.clone(),
        };
        let called = record_in(&tx, Some(&case), case.id, &at, &req.staff, &body)?;
        let out = called_view(&hall, &called, req.window, false, &req.staff, &at);
        tx.commit()?;
        Ok(out)
    }

    /// Apply a counter action to a case (by number or token), attributed to `staff` at `window`.
    pub fn act(&mut self, case_ref: &str, window: u32, staff: &str, action: &CaseAction) -> Result<Case> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        // The window is announced and recorded: one the hall does not have would send a
        // visitor to a counter that does not exist.
        if !hall.all_windows().contains(&window) {
            return Err(LedgerError::UnknownWindow(window));
        }
        check_staff_window(&hall, staff, window)?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = db::immediate(&mut self.conn)?;
        let case = find_case_in(&tx, &day, case_ref)?;
        let staff_s = staff.to_string();
        let note = |kind: &str, text: &str| note_in(&tx, case.id, kind, text, &at);
        let body = match action {
            CaseAction::Recall => EventBody::CaseRecalled { window, staff: staff_s },
            CaseAction::Start => EventBody::CaseStarted { window, staff: staff_s },
            CaseAction::NoShow => EventBody::CaseNoShow { staff: staff_s },
            CaseAction::Hold => EventBody::CaseHeld { staff: staff_s },
            CaseAction::Resume => EventBody::CaseResumed { window, staff: staff_s },
            CaseAction::Transfer {
                department,
                window: to_window,
                note: text,
            } => {
                let d = hall
                    .department(department)
                    .ok_or_else(|| LedgerError::UnknownDepartment(department.clone()))?;
                let to_window = match to_window {
                    Some(w) if d.windows.contains(w) => *w,
                    Some(w) => return Err(LedgerError::UnknownWindow(*w)),
                    None => d.windows[0],
                };
                let note = match text.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("transfer_note", t)?),
                    None => None,
                };
                EventBody::CaseTransferred {
                    staff: staff_s,
                    from_department: case.department.clone(),
                    to_department: d.code.clone(),
                    to_window,
                    note,
                }
            }
            CaseAction::Consult {
                question,
                answer,
                resolved,
            } => {
                if question.trim().is_empty() {
                    return Err(LedgerError::Invalid("a consultation record needs the question".into()));
                }
                if *resolved && answer.as_deref().map(str::trim).unwrap_or("").is_empty() {
                    return Err(LedgerError::Invalid(
                        "a resolved consultation needs the answer given".into(),
                    ));
                }
                let q = note("question", question)?;
                let a = match answer.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("answer", t)?),
                    None => None,
                };
                EventBody::ConsultationRecorded {
                    staff: staff_s,
                    question: q,
                    answer: a,
                    resolved: *resolved,
                }
            }
            CaseAction::Answer { answer } => {
                if answer.trim().is_empty() {
                    return Err(LedgerError::Invalid("the answer is empty".into()));
                }
                EventBody::QuestionAnswered {
                    staff: staff_s,
                    answer: note("answer", answer)?,
                }
            }
            CaseAction::NotifyMissing { missing } => {
                check_materials(&hall, &case, missing)?;
                EventBody::MaterialsMissing {
                    staff: staff_s,
                    missing: missing.clone(),
                }
            }
            CaseAction::MaterialsReturned => EventBody::MaterialsReturned { window, staff: staff_s },
            CaseAction::Accept {
                materials,
                power_of_attorney,
            } => {
                check_materials(&hall, &case, materials)?;
                EventBody::CaseAccepted {
                    staff: staff_s,
                    materials: materials.clone(),
                    power_of_attorney: *power_of_attorney,
                }
            }
            CaseAction::StartWork => EventBody::WorkStarted { staff: staff_s },
            CaseAction::Ready => EventBody::ResultReady { staff: staff_s },
            CaseAction::DeliverInPerson { completion_slip_signed } => EventBody::DeliveredInPerson {
                staff: staff_s,
                completion_slip_signed: *completion_slip_signed,
            },
            CaseAction::Mail { tracking } => {
                if tracking.trim().is_empty() {
                    return Err(LedgerError::Invalid(
                        "delivery by post needs the tracking number".into(),
                    ));
                }
                EventBody::Mailed {
                    staff: staff_s,
                    tracking: note("tracking", tracking.trim())?,
                }
            }
            CaseAction::ConfirmReceipt => EventBody::ReceiptConfirmed { staff: staff_s },
            CaseAction::Archive { handover } => {
                let handover = match handover.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("handover", t)?),
                    None => None,
                };
                EventBody::Archived {
                    staff: staff_s,
                    handover,
                }
            }
            CaseAction::Cancel { reason } => EventBody::CaseCancelled {
                actor: staff_s,
                reason: reason.clone(),
            },
        };
        let next = record_in(&tx, Some(&case), case.id, &at, staff, &body)?;
        tx.commit()?;
        Ok(next)
    }

    /// The announcement for the case a window has called, after a recall.
    pub fn recall(&mut self, case_ref: &str, window: u32, staff: &str) -> Result<Called> {
        let case = self.act(case_ref, window, staff, &CaseAction::Recall)?;
        let hall = self.hall()?;
        let seq = case.last_seq;
        let mut c = called_view(&hall, &case, window, true, staff, &case.updated_at);
        c.seq = seq;
        Ok(c)
    }

    /// A case by number (today) or token.
    pub fn find_case(&mut self, case_ref: &str) -> Result<Case> {
        let day = self.business_day()?.to_string();
        find_case_in(&self.conn, &day, case_ref)
    }

    pub fn case_by_id(&self, id: i64) -> Result<Case> {
        let data: Option<String> = self
            .conn
            .query_row("SELECT data FROM cases WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let data = data.ok_or_else(|| LedgerError::UnknownCase(format!("#{id}")))?;
        parse_case(&data)
    }

    /// Today's queue, in calling order, for some departments (all when empty).
    pub fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        let hall = self.hall()?;
        let now = self.now();
        let day = business_day(now, hall.tz()).to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT data FROM cases WHERE business_day = ?1 AND state IN ('waiting', 'transferred')
             ORDER BY priority_rank DESC, id",
        )?;
        let rows = stmt.query_map([&day], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for data in rows {
            let c = parse_case(&data?)?;
            if !departments.is_empty() && !departments.contains(&c.department) {
                continue;
            }
            let waited = parse_stamp(&c.queued_at).map(|t| (now - t).num_minutes()).unwrap_or(0);
            out.push(WaitingEntry {
                case_id: c.id,
                number: c.number.clone(),
                department: c.department.clone(),
                item_name: hall
                    .item(&c.item)
                    .map(|i| i.display_name())
                    .unwrap_or_else(|| c.item.clone()),
                priority_name: c
                    .priority
                    .as_deref()
                    .and_then(|p| hall.priority(p))
                    .map(|p| p.name.clone()),
                priority: c.priority.clone(),
                state: c.state,
                queued_at: c.queued_at.clone(),
                waited_min: waited.max(0),
            });
        }
        Ok(out)
    }

    /// Cases of today that a window is working on (called, serving or on hold there).
    pub fn at_window(&mut self, window: u32) -> Result<Vec<Case>> {
        let day = self.business_day()?.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT data FROM cases WHERE business_day = ?1 AND state IN ('called', 'serving', 'on_hold') ORDER BY id",
        )?;
        let rows = stmt.query_map([&day], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for data in rows {
            let c = parse_case(&data?)?;
            if c.called_window == Some(window) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// How many stand ahead of a case, and the estimated wait in minutes.
    pub fn position(&mut self, case_id: i64) -> Result<(u32, u32)> {
        let hall = self.hall()?;
        let case = self.case_by_id(case_id)?;
        estimate_in(&self.conn, &hall, &case)
    }

    /// The day's ledger (台账) per department.
    pub fn report(&mut self, date: NaiveDate) -> Result<DayReport> {
        let hall = self.hall()?;
        let mut stmt = self
            .conn
            .prepare("SELECT data FROM cases WHERE business_day = ?1 ORDER BY id")?;
        let rows = stmt.query_map([date.to_string()], |r| r.get::<_, String>(0))?;
        let mut by_dept: BTreeMap<String, Vec<Case>> = BTreeMap::new();
        for data in rows {
            let c = parse_case(&data?)?;
            by_dept.entry(c.department.clone()).or_default().push(c);
        }
        let line = |code: &str, name: &str, cases: &[&Case]| {
            let minutes = |a: &Option<String>, b: &Option<String>| match (
                a.as_deref().and_then(parse_stamp),
                b.as_deref().and_then(parse_stamp),
            ) {
                // A clock that stepped back must not make a wait or a service negative.
                (Some(a), Some(b)) => Some(((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0)),
                _ => None,
            };
            let waits: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&Some(c.issued_at.clone()), &c.called_at))
                .collect();
            let services: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&c.started_at, &c.service_end_at))
                .collect();
            DepartmentDay {
                department: code.into(),
                name: name.into(),
                issued: cases.len() as u32,
                served: cases.iter().filter(|c| c.started_at.is_some()).count() as u32,
                no_shows: cases.iter().filter(|c| c.state == CaseState::NoShow).count() as u32,
                avg_wait_min: mean(&waits),
                avg_service_min: mean(&services),
            }
        };
        let mut departments = Vec::new();
        for d in &hall.departments {
            let cases: Vec<&Case> = by_dept.get(&d.code).map(|v| v.iter().collect()).unwrap_or_default();
            departments.push(line(&d.code, &d.name, &cases));
        }
        let all: Vec<&Case> = by_dept.values().flatten().collect();
        let total = line("ALL", "合计", &all);
        Ok(DayReport {
            date: date.to_string(),
            hall: hall.name.clone(),
            departments,
            total,
        })
    }

    pub fn verify(&mut self) -> Result<VerifyReport> {
        chain::verify(&mut self.conn)
    }

    /// Calls and recalls committed after event `seq`, oldest first, with the last sequence
    /// number read (pass it back next time). How the wall board follows the ledger.
    pub fn calls_after(&mut self, seq: i64) -> Result<(Vec<Called>, i64)> {
        let hall = self.hall()?;
        let events = chain::events_in(&self.conn, "WHERE seq > ?1", [seq])?;
        let last = events.last().map(|e| e.seq).unwrap_or(seq);
        let mut out = Vec::new();
        for ev in events {
            if let Some(c) = self.call_from_event(&hall, &ev)? {
                out.push(c);
            }
        }
        Ok((out, last))
    }

    /// Today's latest `limit` calls, newest first (what the board shows when it starts).
    pub fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>> {
        let hall = self.hall()?;
        let day = self.business_day()?.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.seq, e.at, e.actor, e.kind, e.case_id, e.payload, e.prev_hash, e.hash
             FROM events e JOIN cases c ON c.id = e.case_id
             WHERE e.kind IN ('case_called', 'case_recalled') AND c.business_day = ?1
             ORDER BY e.seq DESC LIMIT ?2",
        )?;
        let events = stmt
            .query_map(params![day, limit as i64], chain::read_event)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        let mut out = Vec::new();
        for ev in events {
            out.extend(self.call_from_event(&hall, &ev)?);
        }
        Ok(out)
    }

    fn call_from_event(&self, hall: &Hall, ev: &Event) -> Result<Option<Called>> {
        let (Some(case_id), "case_called" | "case_recalled") = (ev.case_id, ev.kind.as_str()) else {
            return Ok(None);
        };
        let body: EventBody =
            serde_json::from_str(&ev.payload).map_err(|e| LedgerError::Corrupt(format!("event {}: {e}", ev.seq)))?;
        let (window, staff, recall) = match body {
            EventBody::CaseCalled { window, staff } => (window, staff, false),
            EventBody::CaseRecalled { window, staff } => (window, staff, true),
            _ => return Ok(None),
        };
        let case = self.case_by_id(case_id)?;
        let mut c = called_view(hall, &case, window, recall, &staff, &ev.at);
        c.seq = ev.seq;
        Ok(Some(c))
    }

    /// Waiting visitors per department today: (department, waiting, of whom priority).
    /// Every department's queue right now (named form of `queue_summary`).
    pub fn queues(&mut self) -> Result<Vec<crate::api::QueueLine>> {
        Ok(self
            .queue_summary()?
            .into_iter()
            .map(|(department, waiting, priority)| crate::api::QueueLine {
                department,
                waiting,
                priority,
            })
            .collect())
    }

    pub fn queue_summary(&mut self) -> Result<Vec<(String, u32, u32)>> {
        let hall = self.hall()?;
        let day = self.business_day()?.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT department, count(*), sum(priority_rank > 0) FROM cases
             WHERE business_day = ?1 AND state IN ('waiting', 'transferred') GROUP BY department",
        )?;
        let rows = stmt.query_map([&day], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?))
        })?;
        let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for row in rows {
            let (d, n, p) = row?;
            counts.insert(d, (n, p));
        }
        Ok(hall
            .departments
            .iter()
            .map(|d| {
                let (n, p) = counts.get(&d.code).copied().unwrap_or((0, 0));
                (d.code.clone(), n, p)
            })
            .collect())
    }

    /// A consistent copy of the ledger while the hall keeps running (SQLite's online backup,
    /// a few pages at a time so writers are never blocked for long), then verified.
    pub fn backup_to(&self, dest: &Path) -> Result<VerifyReport> {
        if dest.exists() {
            return Err(LedgerError::Invalid(format!(
                "{} already exists; choose a new file for the backup",
                dest.display()
            )));
        }
        let tmp = dest.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        {
            let mut out = Connection::open(&tmp).map_err(|e| LedgerError::Open {
                path: tmp.display().to_string(),
                reason: e.to_string(),
            })?;
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut out)?;
            backup.run_to_completion(64, Duration::from_millis(5), None)?;
        }
        // Only a copy that verifies takes the final name.
        let report = {
            let mut copy = Connection::open(&tmp)?;
            chain::verify(&mut copy)?
        };
        if !report.ok {
            return Err(LedgerError::Corrupt(format!(
                "the backup copy does not verify (first bad event {:?}): {}",
                report.first_bad_seq,
                report.problem.clone().unwrap_or_default()
            )));
        }
        std::fs::rename(&tmp, dest).map_err(|e| LedgerError::Open {
            path: dest.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(report)
    }

    /// Events after `seq`, oldest first: how boards follow the ledger without reloading it.
    pub fn events_after(&self, seq: i64) -> Result<Vec<Event>> {
        chain::events_in(&self.conn, "WHERE seq > ?1", [seq])
    }

    pub fn head_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq FROM chain_head WHERE id = 1")?
            .query_row([], |r| r.get(0))?)
    }

    /// SQLite's data_version: changes when another connection commits. Costs microseconds.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Every case, replayed from the log (for checks and tests).
    pub fn replay(&self) -> Result<BTreeMap<i64, Case>> {
        chain::replay(&chain::events_in(&self.conn, "", [])?)
    }

    /// The cases table as stored.
    pub fn cases(&self) -> Result<BTreeMap<i64, Case>> {
        load_all_cases(&self.conn)
    }

    /// Rebuild the cases table from the event log (after restoring from a damaged projection).
    pub fn rebuild_cases(&mut self) -> Result<usize> {
        let events = chain::events_in(&self.conn, "", [])?;
        let cases = chain::replay(&events)?;
        let tx = db::immediate(&mut self.conn)?;
        crate::db::exec(&tx, "DELETE FROM cases", [])?;
        for c in cases.values() {
            write_case_in(&tx, None, c)?;
        }
        tx.commit()?;
        Ok(cases.len())
    }

    /// Record a print outcome for a case's ticket (a side fact; the case does not move).
    pub fn record_print(&mut self, case_id: i64, device: &str, error: Option<&str>, reprint: bool) -> Result<Event> {
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        let body = match error {
            None => EventBody::TicketPrinted {
                device: device.into(),
                reprint,
            },
            Some(e) => EventBody::PrintFailed {
                device: device.into(),
                error: e.into(),
                reprint,
            },
        };
        let ev = chain::append_in(&tx, &at, device, Some(case_id), &body)?;
        tx.commit()?;
        Ok(ev)
    }

    /// Set a staff member's PIN (4 to 8 digits), stored salted and hashed.
    pub fn set_pin(&mut self, staff: &str, pin: &str, actor: &str) -> Result<()> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        crate::pin::check_strength(staff, pin).map_err(LedgerError::Invalid)?;
        // Hashed before the write transaction: argon2 takes a tenth of a second on purpose,
        // and the write lock must not wait for it.
        let hash = crate::pin::hash(pin).map_err(LedgerError::Invalid)?;
        let salt = String::new();
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        crate::db::exec(&tx,
            "INSERT INTO staff_auth (staff_id, salt, pin_hash, failed, locked_until) VALUES (?1, ?2, ?3, 0, NULL)
             ON CONFLICT (staff_id) DO UPDATE SET salt = excluded.salt, pin_hash = excluded.pin_hash, failed = 0, locked_until = NULL",
            params![staff, salt, hash],
        )?;
        chain::append_in(&tx, &at, actor, None, &EventBody::StaffPinSet { staff: staff.into() })?;
        tx.commit()?;
        Ok(())
    }

    /// Check a PIN at a window; five wrong tries lock the login for some minutes.
    pub fn login(&mut self, staff: &str, window: u32, pin: &str) -> Result<()> {
        let stored = self.pin_record(staff, window)?;
        let checked = stored.check(pin)?;
        self.record_login(staff, window, &stored, &checked)
    }

    /// The first step of a sign-in: the stored PIN hash of a specialist allowed at this
    /// window and not locked out. Fast; the slow hash check happens outside (`PinRecord::check`)
    /// so a server can run it beside other work.
    pub fn pin_record(&mut self, staff: &str, window: u32) -> Result<PinRecord> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        check_staff_window(&hall, staff, window)?;
        let Some((salt, hash, _, locked_until)) = read_pin_row(&self.conn, staff)? else {
            return Err(LedgerError::Invalid(format!(
                "staff {staff:?} has no PIN yet: run `bangban staff set-pin {staff}`"
            )));
        };
        check_locked(&hall, staff, self.now(), locked_until.as_deref())?;
        Ok(PinRecord { salt, hash })
    }

    /// The last step of a sign-in: count the try (five wrong ones lock the login), store a
    /// rehashed PIN, record the attempt as an event, and say whether it succeeded.
    pub fn record_login(&mut self, staff: &str, window: u32, stored: &PinRecord, checked: &PinChecked) -> Result<()> {
        let hall = self.hall()?;
        let now = self.now();
        let at = stamp(now);
        let ok = checked.ok;
        let tx = db::immediate(&mut self.conn)?;
        let Some((_, hash_now, failed, locked_until)) = read_pin_row(&tx, staff)? else {
            return Err(LedgerError::Invalid(format!("staff {staff:?} has no PIN any more")));
        };
        check_locked(&hall, staff, now, locked_until.as_deref())?;
        if hash_now != stored.hash {
            return Err(LedgerError::Invalid(format!(
                "the PIN of staff {staff:?} was changed just now: sign in again"
            )));
        }
        if let Some(new_hash) = &checked.rehashed {
            crate::db::exec(
                &tx,
                "UPDATE staff_auth SET salt = '', pin_hash = ?2 WHERE staff_id = ?1",
                params![staff, new_hash],
            )?;
        }
        let failed = if ok { 0 } else { failed + 1 };
        let lock = (failed >= PIN_TRIES).then(|| stamp(now + chrono::Duration::minutes(PIN_LOCK_MINUTES)));
        let failed_stored = if lock.is_some() { 0 } else { failed };
        crate::db::exec(
            &tx,
            "UPDATE staff_auth SET failed = ?2, locked_until = ?3 WHERE staff_id = ?1",
            params![staff, failed_stored, lock],
        )?;
        chain::append_in(
            &tx,
            &at,
            staff,
            None,
            &EventBody::StaffLogin {
                staff: staff.into(),
                window,
                ok,
            },
        )?;
        tx.commit()?;
        if ok {
            Ok(())
        } else if let Some(until) = lock.as_deref().and_then(parse_stamp) {
            Err(LedgerError::LoginLocked(
                staff.into(),
                until.with_timezone(&hall.tz()).format("%H:%M").to_string(),
            ))
        } else {
            Err(LedgerError::WrongPin(staff.into(), PIN_TRIES - failed))
        }
    }

    /// Pause or resume a window; a paused window calls nobody and does not count in estimates.
    pub fn set_window_paused(&mut self, window: u32, staff: &str, paused: bool) -> Result<()> {
        let hall = self.hall()?;
        check_staff_window(&hall, staff, window)?;
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        if window_paused_in(&tx, window)? == paused {
            return Err(LedgerError::Invalid(format!(
                "window {window} is already {}",
                if paused { "paused" } else { "open" }
            )));
        }
        crate::db::exec(&tx,
            "INSERT INTO window_state (window, paused, staff, since) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (window) DO UPDATE SET paused = excluded.paused, staff = excluded.staff, since = excluded.since",
            params![window, paused as i64, staff, at],
        )?;
        let body = if paused {
            EventBody::WindowPaused {
                window,
                staff: staff.into(),
            }
        } else {
            EventBody::WindowResumed {
                window,
                staff: staff.into(),
            }
        };
        chain::append_in(&tx, &at, staff, None, &body)?;
        tx.commit()?;
        Ok(())
    }

    pub fn window_paused(&self, window: u32) -> Result<bool> {
        window_paused_in(&self.conn, window)
    }

    /// A free-text note by id (for the counter's case panel).
    pub fn note(&self, id: i64) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT body FROM notes WHERE id = ?1", [id], |r| r.get(0))?)
    }

    /// Events about one case, oldest first.
    pub fn case_events(&self, case_id: i64) -> Result<Vec<Event>> {
        chain::events_in(&self.conn, "WHERE case_id = ?1", [case_id])
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some(v.iter().sum::<f64>() / v.len() as f64)
    }
}

fn new_token() -> String {
    // 128 random bits: unguessable, so the QR code cannot be forged from a number.
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn check_materials(hall: &Hall, case: &Case, list: &[String]) -> Result<()> {
    if let Some(item) = hall.item(&case.item) {
        if !item.materials.is_empty() {
            if let Some(bad) = list.iter().find(|m| !item.materials.contains(m)) {
                return Err(LedgerError::Invalid(format!(
                    "{bad:?} is not on the materials list of item {}",
                    item.code
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn parse_case(data: &str) -> Result<Case> {
    serde_json::from_str(data).map_err(|e| LedgerError::Corrupt(format!("unreadable case row: {e}")))
}

pub(crate) fn load_all_cases(conn: &Connection) -> Result<BTreeMap<i64, Case>> {
    let mut stmt = conn.prepare("SELECT id, data FROM cases ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, data) = row?;
        let mut c = parse_case(&data)?;
        // The id column is authoritative; a mismatch with the JSON shows up as a difference.
        if c.id != id {
            c.id = -id;
        }
        out.insert(id, c);
    }
    Ok(out)
}

fn find_case_in(conn: &Connection, day: &str, case_ref: &str) -> Result<Case> {
    let r = case_ref.trim();
    let data: Option<String> = conn
        .query_row(
            "SELECT data FROM cases WHERE token = ?1 OR (business_day = ?2 AND number = upper(?1)) ORDER BY id DESC LIMIT 1",
            params![r, day],
            |row| row.get(0),
        )
        .optional()?;
    parse_case(&data.ok_or_else(|| LedgerError::UnknownCase(r.to_string()))?)
}

fn window_paused_in(conn: &Connection, window: u32) -> Result<bool> {
    let p: Option<i64> = conn
        .prepare_cached("SELECT paused FROM window_state WHERE window = ?1")?
        .query_row([window], |r| r.get(0))
        .optional()?;
    Ok(p.unwrap_or(0) != 0)
}

/// Placeholders and parameters for queries on one business day and a list of departments:
/// `business_day = ? AND department IN (?, ?, …)`.
fn day_and_departments<'a>(day: &'a &'a str, depts: &'a [String]) -> (String, Vec<&'a dyn rusqlite::ToSql>) {
    let marks = vec!["?"; depts.len()].join(",");
    let args = std::iter::once(day as &dyn rusqlite::ToSql)
        .chain(depts.iter().map(|d| d as &dyn rusqlite::ToSql))
        .collect();
    (marks, args)
}

/// The next case for some departments: priority first, FIFO within a rank, but after
/// `priority_cap` priority calls in a row a regular visitor goes next so nobody starves.
fn next_in_line_in(tx: &Transaction<'_>, hall: &Hall, day: &str, depts: &[String]) -> Result<Option<Case>> {
    let (marks, args) = day_and_departments(&day, depts);
    let queue_sql = format!(
        "SELECT data FROM cases WHERE business_day = ? AND state IN ('waiting', 'transferred') AND department IN ({marks}) AND priority_rank {{}} 0
         ORDER BY priority_rank DESC, id LIMIT 1"
    );
    let first = |op: &str| -> Result<Option<Case>> {
        let data: Option<String> = tx
            .prepare_cached(&queue_sql.replace("{}", op))?
            .query_row(args.as_slice(), |r| r.get(0))
            .optional()?;
        data.map(|d| parse_case(&d)).transpose()
    };
    let prio = first(">")?;
    let regular = first("=")?;
    match (prio, regular) {
        (Some(p), Some(r)) => {
            let cap = hall.priority_cap as usize;
            if cap > 0 && priority_streak_in(tx, day, depts, cap)? >= cap {
                Ok(Some(r))
            } else {
                Ok(Some(p))
            }
        }
        (p, r) => Ok(p.or(r)),
    }
}

/// How many of the latest calls in these departments today went to priority visitors in a row
/// (looking back at most `cap` calls, in event order).
fn priority_streak_in(tx: &Transaction<'_>, day: &str, depts: &[String], cap: usize) -> Result<usize> {
    let (marks, args) = day_and_departments(&day, depts);
    let sql = format!(
        "SELECT c.priority_rank FROM events e CROSS JOIN cases c ON c.id = e.case_id
         WHERE e.kind = 'case_called' AND c.business_day = ? AND c.department IN ({marks})
         ORDER BY e.seq DESC LIMIT {cap}"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let ranks = stmt
        .query_map(args.as_slice(), |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ranks.iter().take_while(|r| **r > 0).count())
}

/// Append an event and fold it into the case projection, in one transaction.
pub(crate) fn record_in(
    tx: &Transaction<'_>,
    old: Option<&Case>,
    case_id: i64,
    at: &str,
    actor: &str,
    body: &EventBody,
) -> Result<Case> {
    let ev = chain::append_in(tx, at, actor, Some(case_id), body)?;
    let next = apply(old, case_id, ev.seq, at, body)?;
    write_case_in(tx, old, &next)?;
    Ok(next)
}

/// Insert a new case, or update one only if it is still in the state we read (the conditional
/// update that keeps two writers from both moving it).
fn write_case_in(tx: &Transaction<'_>, old: Option<&Case>, c: &Case) -> Result<()> {
    let data = serde_json::to_string(c).map_err(|e| LedgerError::Invalid(e.to_string()))?;
    match old {
        None => {
            crate::db::exec(
                &tx,
                "INSERT INTO cases (id, business_day, number, token, department, state, priority_rank, queued_at,
                 service_end_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                    data
                ],
            )?;
        }
        Some(o) => {
            let n = crate::db::exec(&tx,
                "UPDATE cases SET department = ?2, state = ?3, priority_rank = ?4, queued_at = ?5, service_end_at = ?6, data = ?7
                 WHERE id = ?1 AND state = ?8",
                params![c.id, c.department, c.state.as_str(), c.priority_rank, c.queued_at, c.service_end_at, data, o.state.as_str()],
            )?;
            if n != 1 {
                return Err(LedgerError::IllegalTransition {
                    number: c.number.clone(),
                    state: "changed by another counter".into(),
                    action: "update".into(),
                });
            }
        }
    }
    Ok(())
}

fn note_in(tx: &Transaction<'_>, case_id: i64, kind: &str, text: &str, at: &str) -> Result<NoteRef> {
    let sha = chain::sha256_hex(text);
    crate::db::exec(
        &tx,
        "INSERT INTO notes (case_id, kind, body, sha256, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![case_id, kind, text, sha, at],
    )?;
    Ok(NoteRef {
        note: tx.last_insert_rowid(),
        sha256: sha,
    })
}

/// (ahead, estimated minutes) for a queued case: recent average service time × ahead ÷ open windows.
fn estimate_in(conn: &Connection, hall: &Hall, case: &Case) -> Result<(u32, u32)> {
    if !case.state.is_queued() {
        return Ok((0, 0));
    }
    let ahead: u32 = crate::db::one(
        conn,
        "SELECT count(*) FROM cases WHERE business_day = ?1 AND department = ?2 AND state IN ('waiting', 'transferred')
         AND (priority_rank > ?3 OR (priority_rank = ?3 AND id < ?4))",
        params![case.business_day, case.department, case.priority_rank, case.id],
        |r| r.get(0),
    )?;
    if ahead == 0 {
        return Ok((0, 0));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM cases WHERE department = ?1 AND service_end_at IS NOT NULL ORDER BY service_end_at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![case.department, ESTIMATE_WINDOW as i64], |r| {
        r.get::<_, String>(0)
    })?;
    let mut minutes = Vec::new();
    for data in rows {
        let c = parse_case(&data?)?;
        if let (Some(a), Some(b)) = (
            c.started_at.as_deref().and_then(parse_stamp),
            c.service_end_at.as_deref().and_then(parse_stamp),
        ) {
            minutes.push(((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0));
        }
    }
    let avg = mean(&minutes).unwrap_or(hall.default_service_min as f64).max(0.5);
    let windows = hall
        .department(&case.department)
        .map(|d| d.windows.clone())
        .unwrap_or_default();
    let mut open = 0;
    for w in &windows {
        if !window_paused_in(conn, *w)? {
            open += 1;
        }
    }
    let est = (avg * ahead as f64 / open.max(1) as f64).ceil() as u32;
    Ok((ahead, est))
}

fn ticket_view(hall: &Hall, case: &Case, ahead: u32, est: u32) -> Ticket {
    let item = hall.item(&case.item);
    let prio = case.priority.as_deref().and_then(|p| hall.priority(p));
    let issued_local = parse_stamp(&case.issued_at)
        .map(|t| t.with_timezone(&hall.tz()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    let qr_payload = if hall.ticket_url_base.is_empty() {
        case.token.clone()
    } else {
        format!("{}{}", hall.ticket_url_base, case.token)
    };
    Ticket {
        number: case.number.clone(),
        case_id: case.id,
        token: case.token.clone(),
        department: case.department.clone(),
        department_name: hall
            .department(&case.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        item: case.item.clone(),
        item_name: item.map(|i| i.display_name()).unwrap_or_else(|| case.item.clone()),
        window: case.window,
        priority: case.priority.clone(),
        priority_name: prio.map(|p| p.name.clone()),
        mode: case.mode,
        ahead,
        estimated_wait_min: est,
        issued_at: case.issued_at.clone(),
        business_day: case.business_day.clone(),
        materials: item.map(|i| i.materials.clone()).unwrap_or_default(),
        hall_name: hall.name.clone(),
        qr_payload,
        issued_local,
    }
}

fn called_view(hall: &Hall, case: &Case, window: u32, recall: bool, staff: &str, at: &str) -> Called {
    Called {
        case_id: case.id,
        number: case.number.clone(),
        window,
        department: case.department.clone(),
        department_name: hall
            .department(&case.department)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        item_name: hall.item(&case.item).map(|i| i.display_name()).unwrap_or_default(),
        priority: case.priority.clone(),
        recall,
        recalls: case.recalls,
        staff: staff.into(),
        at: at.into(),
        seq: case.last_seq,
        text: announcement(&case.number, window, recall),
    }
}
