//! The SQLite store (`Ledger`): the one door through which kiosks, boards, consoles and the CLI read and
//! change the hall's state. Public methods own their transaction; `*_in(tx)` helpers compose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rand::RngCore;

use serde::{Deserialize, Serialize};

use crate::chain::{self, Event, VerifyReport};
use crate::clock::{self, business_day, parse_stamp, stamp, Clock};
use crate::error::{LedgerError, Result};
use crate::hall::Hall;
use crate::model::{apply, Case, CaseState, Channel, EventBody, Mode, Note, NoteRef};
use crate::store::{
    CaseKey, CaseQuery, CountQuery, EventQuery, IdOf, Request, SideQuery, SideRow, SideWrite, StoreTx, TallyQuery,
};

mod calling;
mod casebook;
pub use casebook::{event_words, CaseLine, CasePage, PartLine};
mod closing;
pub use closing::{hall_has_closed_now, DayClose};
mod dashboard;
pub use dashboard::{CoordinationCase, DashAlert, DashDepartment, DashRating, DashWindow, Dashboard, MeetingLine};
mod deadlines;
pub use deadlines::{add_working_days, DeadlineKind, Overdue};
mod appointments;
pub use appointments::{Appointment, CodeRefusal, FreeSlot};
mod feed;
mod feedback;
pub use feedback::{Feedback, FeedbackKind, NewFeedback, CATEGORIES as FEEDBACK_CATEGORIES};
pub mod hot;
mod integrity;
pub use integrity::Purged;
mod issuing;
mod notify;
pub use notify::{mobile, MessageView, Outgoing};
mod queues;
mod rating;
pub use rating::{level_name, PadView, RatingRecord, PAD_RATE_FOR_MIN, RATING_LEVELS, RATING_REASONS};
mod records;
pub use records::{RecordKind, RecordRow};
mod reports;
pub use reports::{FigureLine, Figures, HourFigures};
pub mod pg;
pub use pg::{is_pg_url, PgAt, PgStore};
mod pg_host;
pub use pg_host::{migrate_file, Migrated};
pub(crate) mod sqlite;
pub use sqlite::SqliteStore;
mod sqlite_host;
pub use sqlite_host::backup_file;
mod signing;
pub use signing::{SignAsk, SignedForm};
mod staff;
pub use staff::hash_new_pin;

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

/// A case a specialist opens without a ticket: a phone consultation (来电咨询, with its
/// question and answer), remote help with an online application (网上帮办), or a key
/// project's early intervention (提前介入, with the project's name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenCase {
    pub item: String,
    pub channel: Channel,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub answer: Option<String>,
    /// 来电: the caller's number for the call-back, kept as personal data (a note, shown
    /// masked, purged with the notes); never in an event or a request's hash.
    #[serde(default)]
    pub caller_phone: Option<String>,
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
    /// Every window of the department: any of them may call the ticket, so a ticket of a
    /// department with several windows tells the visitor to watch the board.
    #[serde(default)]
    pub windows: Vec<u32>,
    /// The item's specialist and office phone (Attachment 2), printed so the visitor knows
    /// whom to ask and where to call.
    #[serde(default)]
    pub specialist_name: String,
    #[serde(default)]
    pub office_phone: String,
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

impl Ticket {
    /// Where the visitor goes: 「12」, or 「12、13、14」 when any of the department's windows may
    /// call the ticket.
    pub fn windows_text(&self) -> String {
        if self.windows.len() > 1 {
            self.windows
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("、")
        } else {
            self.window.to_string()
        }
    }
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
    /// The serving specialist's name, as the board shows it (staff are public; visitors never).
    #[serde(default)]
    pub staff_name: String,
    /// Their badge number (工号牌, from the hall file), "" when it gives none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub badge: String,
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
    /// The item's and the priority group's English names from the hall file (the Chinese
    /// where it names none), for a console in English.
    #[serde(default)]
    pub item_name_en: String,
    #[serde(default)]
    pub priority_name_en: Option<String>,
    pub state: CaseState,
    pub queued_at: String,
    pub waited_min: i64,
}

/// Where a waiting case stands: how many are ahead and the estimated wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub ahead: u32,
    pub estimated_wait_min: u32,
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
    /// 受理委托: the materials handed over; the 委托书 must be signed first (on the pad or
    /// on paper). The item's materials are the checklist: each is handed over or named in
    /// `missing`, accepted without it (容缺受理) to be supplied by `supply_by` (YYYY-MM-DD).
    Accept {
        materials: Vec<String>,
        #[serde(default)]
        missing: Vec<String>,
        #[serde(default)]
        supply_by: Option<String>,
    },
    StartWork,
    Ready,
    /// 结果交付 in person: the visitor signs the 办结单 first (on the pad or on paper).
    DeliverInPerson,
    /// 结果交付 by post: the tracking number, the recipient, the courier, the day it was sent
    /// (today when not given) and the address (all but the day kept in the notes).
    Mail {
        tracking: String,
        #[serde(default)]
        recipient: String,
        #[serde(default)]
        courier: String,
        #[serde(default)]
        address: Option<String>,
        #[serde(default)]
        sent_on: Option<String>,
    },
    ConfirmReceipt,
    /// 资料归档: what was handed over (materials, files) and to whom; both required.
    Archive {
        handover: Option<String>,
        #[serde(default)]
        receiver: Option<String>,
    },
    Cancel {
        reason: String,
    },
    /// 协调会议: escalate a stuck case to the management office (its owner or the
    /// department's coordinator), with the reason.
    Escalate {
        reason: String,
    },
    /// The office records the coordination meeting: when, who, minutes, decision, follow-up.
    Meeting {
        held_at: String,
        participants: Vec<String>,
        minutes: String,
        decision: String,
        follow_up: Option<String>,
        /// 首席代表 who took part (names and departments), kept as a note.
        #[serde(default)]
        chiefs: Option<String>,
        /// Outside parties (name and unit), kept as a note.
        #[serde(default)]
        outside: Option<String>,
    },
    /// The office records the coordination's outcome: the case resumes.
    Resolve {
        outcome: String,
    },
    /// 陪同至受理窗口: the visitor, materials incomplete, is walked to the department's
    /// receiving window; `result` (free text, to the notes) says how it went, now or later.
    Accompany {
        to_window: u32,
        result: Option<String>,
    },
    /// The department's coordinator answers a bad rating's follow-up (the reply to the notes).
    RatingReply {
        reply: String,
    },
    /// The result of an earlier walk to the receiving window.
    AccompanyResult {
        result: String,
    },
    /// Set or change the service mode (现场帮办 / 网上 / 全程代办) the visitor chose.
    SetMode {
        mode: Mode,
    },
    /// 首问负责制: the owner (or the department's coordinator) hands the case to another
    /// specialist of the department, with a note of where it stands.
    Handover {
        to: String,
        note: Option<String>,
    },
    /// The visitor of a past day's case came back (an expired ticket, a no-show, or materials
    /// to hand in): the case takes today's next number of its department and queues again.
    Return,
    /// 责任认领: a specialist claims their department's part of a whole-chain case.
    Claim,
    /// The acting specialist's part moves on (materials, accepted, in_progress, done); accepted
    /// with `missing` materials from the hall's lists and a `supply_by` date is 容缺受理.
    Part {
        state: crate::model::PartState,
        missing: Vec<String>,
        supply_by: Option<String>,
    },
    /// 网上帮办: what was done remotely on the visitor's online application, a step at a time
    /// (kept as a note; the case stays where it is).
    OnlineStep {
        note: String,
    },
    /// A material the part (or a case without parts) was accepted without (容缺) has been
    /// supplied.
    Supplied {
        material: String,
    },
    /// 中止: the accepted work waits for the visitor or another office (the reason, and the
    /// date it is expected to resume, YYYY-MM-DD); its deadlines pause.
    Suspend {
        reason: String,
        #[serde(default)]
        until: Option<String>,
    },
    /// The suspension's cause is gone: the work resumes.
    ResumeWork,
    /// 终止: close the case unfinished, with the reason.
    Terminate {
        reason: String,
    },
    /// The principal (委托人) of the power of attorney: name, 18-digit ID number, phone.
    Principal {
        name: String,
        id_number: String,
        #[serde(default)]
        phone: Option<String>,
    },
    /// Ask this window's signature pad for the visitor's signature on a form (`poa` …).
    RequestSignature {
        form: String,
    },
    /// 纸质签署: the visitor signed the printed form; `number` is the form's number printed on it.
    SignedOnPaper {
        form: String,
        number: String,
    },
}

impl CaseAction {
    /// 资料归档: `handover` handed to `receiver`.
    pub fn archive(handover: &str, receiver: &str) -> CaseAction {
        CaseAction::Archive {
            handover: Some(handover.into()),
            receiver: Some(receiver.into()),
        }
    }

    /// 邮寄 with the tracking number, recipient and courier, sent today.
    pub fn mail(tracking: &str, recipient: &str, courier: &str) -> CaseAction {
        CaseAction::Mail {
            tracking: tracking.into(),
            recipient: recipient.into(),
            courier: courier.into(),
            address: None,
            sent_on: None,
        }
    }

    /// 受理委托 with every material handed over (nothing accepted without).
    pub fn accept(materials: Vec<String>) -> CaseAction {
        CaseAction::Accept {
            materials,
            missing: Vec::new(),
            supply_by: None,
        }
    }

    /// Actions on one department's part of a whole-chain case rather than on the whole case
    /// (a material supplied is the case's own when it has no parts).
    pub fn is_part_action(&self, case: &Case) -> bool {
        match self {
            CaseAction::Claim | CaseAction::Part { .. } => true,
            CaseAction::Supplied { .. } => !case.parts.is_empty(),
            _ => false,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigureOutcome {
    pub changed: bool,
    pub sha256: String,
    pub departments: usize,
    pub specialists: usize,
    pub items: usize,
}

/// An open ledger.
pub struct Ledger {
    /// The store the rules read and write through (`crate::store`): its SQLite adapter.
    pub(crate) store: Box<dyn crate::host::HallStore>,
    /// The client request the next write transaction is for (set by `ops::once`), recorded
    /// beside its first event.
    pub(crate) request: Option<Request>,
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

/// A specialist acts only at a window of their own department.
pub(super) fn check_staff_window(hall: &Hall, staff: &str, window: u32) -> Result<()> {
    let s = hall
        .specialist(staff)
        .ok_or_else(|| LedgerError::UnknownStaff(staff.into()))?;
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

pub(crate) const PIN_TRIES: u32 = 5;
pub(crate) const PIN_LOCK_MINUTES: i64 = 5;
/// How many recent services the wait estimate averages over.
const ESTIMATE_WINDOW: usize = 20;

impl Ledger {
    /// Open the ledger at `path`: a SQLite file, or a hall in a PostgreSQL database when the
    /// "path" is a `postgres://` URL (`--store URL`, which stands wherever `--db FILE` does).
    pub fn open(path: &Path, opts: LedgerOptions) -> Result<Ledger> {
        Ledger::open_registering(path, opts, None)
    }

    /// `open`, and for a PostgreSQL store the hall `register` (from `bangban init`'s hall
    /// file) added to the database when it does not hold it yet.
    pub fn open_registering(path: &Path, opts: LedgerOptions, register: Option<&str>) -> Result<Ledger> {
        clock::check_env().map_err(LedgerError::Invalid)?;
        let store: Box<dyn crate::host::HallStore> = match pg_at(path)? {
            Some(at) => {
                let store = PgStore::open(&at, opts.busy_timeout, register)?;
                return Ok(Ledger {
                    path: PathBuf::from(store.at.url_with_hall()),
                    store: Box::new(store),
                    request: None,
                    clock: opts.clock,
                    hall: None,
                });
            }
            None => Box::new(SqliteStore::open(path, opts.busy_timeout)?),
        };
        Ok(Ledger {
            store,
            request: None,
            path: path.to_path_buf(),
            clock: opts.clock,
            hall: None,
        })
    }

    /// A second connection to an open ledger that only reads: no checkpointer of its own (the
    /// writer's does that) and `query_only`, so a read that tried to write would fail rather
    /// than race the writer. The server answers reads from a few of these beside its writer.
    pub fn open_reader(path: &Path, opts: LedgerOptions) -> Result<Ledger> {
        clock::check_env().map_err(LedgerError::Invalid)?;
        if pg_at(path)?.is_some() {
            // A PostgreSQL connection is a reader as good as any: MVCC keeps it off the writers.
            return Ledger::open(path, opts);
        }
        Ok(Ledger {
            store: Box::new(SqliteStore::open_reader(path, opts.busy_timeout)?),
            request: None,
            path: path.to_path_buf(),
            clock: opts.clock,
            hall: None,
        })
    }

    /// Stop flushing commits to disk (`synchronous = OFF`). Only for building synthetic ledgers
    /// in benchmarks, where millions of past events are written and a power cut does not
    /// matter; a hall's ledger never calls this.
    pub fn set_durable(&self, durable: bool) -> Result<()> {
        self.store.set_durable(durable)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hall's code in a database of many halls (PostgreSQL); None for a ledger file.
    pub fn store_hall(&self) -> Option<String> {
        pg_at(&self.path).ok().flatten().and_then(|a| a.hall)
    }

    /// Where the ledger is, as messages show it (a database URL without its password).
    pub fn shown_path(&self) -> String {
        pg::masked(&self.path.display().to_string())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock this ledger reads "now" from (a follower's reader shares it).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The hall in force, reloaded when another process has applied a new configuration.
    pub fn hall(&mut self) -> Result<Arc<Hall>> {
        let Some(latest) = self.config_id()? else {
            return Err(LedgerError::NotInitialised(self.path.display().to_string()));
        };
        if let Some((id, h)) = &self.hall {
            if *id == latest {
                return Ok(h.clone());
            }
        }
        let Some(SideRow::Config(row)) = self.store.read().side(SideQuery::Config { body: true })?.pop() else {
            return Err(LedgerError::NotInitialised(self.path.display().to_string()));
        };
        let hall: Hall = serde_json::from_str(&row.body)
            .map_err(|e| LedgerError::Corrupt(format!("stored hall configuration {}: {e}", row.id)))?;
        let hall = Arc::new(hall);
        self.hall = Some((row.id, hall.clone()));
        Ok(hall)
    }

    fn config_id(&self) -> Result<Option<i64>> {
        Ok(match self.store.read().side(SideQuery::Config { body: false })?.pop() {
            Some(SideRow::Config(row)) => Some(row.id),
            _ => None,
        })
    }

    /// The id of the hall configuration in force (it grows with each applied change).
    pub fn hall_id(&self) -> Result<i64> {
        Ok(self.config_id()?.unwrap_or(0))
    }

    pub fn is_initialised(&self) -> Result<bool> {
        Ok(self.config_id()?.is_some())
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
        let tx = self.store.write(self.request.take())?;
        let current = match tx.side(SideQuery::Config { body: false })?.pop() {
            Some(SideRow::Config(row)) => Some(row.sha256),
            _ => None,
        };
        let outcome = ConfigureOutcome {
            changed: current.as_deref() != Some(sha.as_str()),
            sha256: sha.clone(),
            departments: hall.departments.len(),
            specialists: hall.specialists.len(),
            items: hall.items.len(),
        };
        if outcome.changed {
            tx.put(SideWrite::Config {
                sha256: &sha,
                body: &body,
                at: &at,
            })?;
            let ev = EventBody::HallConfigured {
                sha256: sha,
                departments: outcome.departments,
                specialists: outcome.specialists,
                items: outcome.items,
                source: source.to_string(),
            };
            append_in(&*tx, &at, actor, None, &ev)?;
        }
        tx.commit()?;
        Ok(outcome)
    }
}

/// What applying a hall file to a ledger that had a hall did beyond the file's own content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HallApplied {
    pub outcome: ConfigureOutcome,
    /// People and items the file does not name but the ledger keeps: imported (Attachment 1
    /// or 2) since the last hall file, `S201 钱多` / `item F09`.
    pub kept: Vec<String>,
    /// People and items the file left out, removed (nothing referred to them, or `--drop`).
    pub dropped: Vec<String>,
}

/// Whether a configuration's source is an imported attachment (CSV or workbook) rather than a
/// hall file.
fn from_attachment(source: &str) -> bool {
    source.split(", ").any(|f| {
        let f = f.trim().to_lowercase();
        [".csv", ".xlsx", ".xls", ".xlsm", ".ods"]
            .iter()
            .any(|e| f.ends_with(e))
    })
}

impl Ledger {
    /// Apply a hall file (`bangban init --hall FILE`). Once a ledger has a hall, the ledger owns
    /// it: people and items imported since the last hall file are kept though the file does not
    /// name them; what the file leaves out of its own earlier version is removed, unless cases
    /// refer to it (refused, naming them); `drop` removes all of them.
    pub fn apply_hall_file(&mut self, file: &Hall, actor: &str, source: &str, drop: bool) -> Result<HallApplied> {
        if !self.is_initialised()? {
            let outcome = self.configure(file, actor, source)?;
            return Ok(HallApplied {
                outcome,
                kept: vec![],
                dropped: vec![],
            });
        }
        let current = self.hall()?;
        let base = self.last_hall_file()?;
        let mut merged = file.clone();
        let (mut kept, mut dropped, mut refused) = (Vec::new(), Vec::new(), Vec::new());
        let store = self.store.read();
        for s in current
            .specialists
            .iter()
            .filter(|s| file.specialist(&s.staff_id).is_none())
        {
            let name = format!("{} {}", s.staff_id, s.name);
            let imported = base.as_ref().is_some_and(|b| b.specialist(&s.staff_id).is_none());
            let used = store.count(CountQuery::OwnedBy { staff: &s.staff_id })? > 0;
            if drop {
                dropped.push(name);
            } else if imported {
                merged.specialists.push(s.clone());
                kept.push(name);
            } else if used {
                refused.push(format!("{name} (owns cases)"));
            } else {
                dropped.push(name);
            }
        }
        for i in current.items.iter().filter(|i| file.item(&i.code).is_none()) {
            let name = format!("item {} {}", i.code, i.display_name());
            let imported = base.as_ref().is_some_and(|b| b.item(&i.code).is_none());
            let used = store.count(CountQuery::OfItem { item: &i.code })? > 0;
            if drop {
                dropped.push(name);
            } else if imported {
                merged.items.push(i.clone());
                kept.push(name);
            } else if used {
                refused.push(format!("{name} (cases of it)"));
            } else {
                dropped.push(name);
            }
        }
        if !refused.is_empty() {
            return Err(LedgerError::Invalid(format!(
                "{source} leaves out {} that the ledger's cases refer to: keep them in the file, or pass --drop to remove them anyway",
                refused.join(", ")
            )));
        }
        // What is kept must still fit the file's hall (its department, its specialist).
        if let Some(issue) = merged.check(source, &|_, _, _| 0).into_iter().next() {
            return Err(LedgerError::Invalid(format!(
                "{source}: keeping what was imported since ({}) does not fit the file: field `{}`: {} (pass --drop to remove it)",
                kept.join(", "),
                issue.field,
                issue.message
            )));
        }
        let outcome = self.configure(&merged, actor, source)?;
        Ok(HallApplied { outcome, kept, dropped })
    }

    /// The hall as the last hall file (not an import) left it, if the ledger still has it.
    fn last_hall_file(&mut self) -> Result<Option<Hall>> {
        let events = self.store.read().events(EventQuery::Period {
            from: "",
            to: "9999",
            kinds: &["hall_configured"],
            after: 0,
            limit: usize::MAX,
        })?;
        for ev in events.iter().rev() {
            let Ok(EventBody::HallConfigured { sha256, source, .. }) = serde_json::from_str(&ev.payload) else {
                continue;
            };
            if from_attachment(&source) {
                continue;
            }
            return Ok(match self.store.read().side(SideQuery::ConfigBySha(&sha256))?.pop() {
                Some(SideRow::Config(row)) => serde_json::from_str(&row.body).ok(),
                _ => None,
            });
        }
        Ok(None)
    }
}

/// A case by the reference a counter or the office types: a token, today's number, or a past
/// day's as the office writes it (2026-11-26/A001).
fn find_case_in(tx: &dyn StoreTx, day: &str, case_ref: &str) -> Result<Case> {
    let r = case_ref.trim();
    let (day, r) = match r.split_once('/') {
        Some((d, n)) if NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok() => (d, n),
        _ => (day, r),
    };
    if let Some(c) = tx.case(CaseKey::Ref { day, text: r })? {
        return Ok(c);
    }
    // A number the case had before it was taken back (`return`): found under its new one.
    if let Some(id) = earlier_number_in(tx, day, r)? {
        if let Some(c) = tx.case(CaseKey::Id(id))? {
            return Ok(c);
        }
    }
    Err(LedgerError::UnknownCase(r.to_string()))
}

/// The case that was given `number` on business day `day` and has another number since: the
/// issue and return events stamped around that day (through the time index; a look-up that
/// found nothing else, so never on the hot path of a case found at once).
fn earlier_number_in(tx: &dyn StoreTx, day: &str, number: &str) -> Result<Option<i64>> {
    let Ok(d) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
        return Ok(None);
    };
    // A day in any time zone lies within the UTC day before and the day after.
    let at = |d: NaiveDate| stamp(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let (from, to) = (
        at(d.pred_opt().unwrap_or(d)),
        at(d.succ_opt().and_then(|d| d.succ_opt()).unwrap_or(d)),
    );
    let events = tx.events(EventQuery::Period {
        from: &from,
        to: &to,
        kinds: &["case_issued", "case_returned"],
        after: 0,
        limit: usize::MAX,
    })?;
    for ev in events.iter().rev() {
        let given = match serde_json::from_str::<EventBody>(&ev.payload) {
            Ok(EventBody::CaseIssued {
                business_day,
                number: n,
                ..
            })
            | Ok(EventBody::CaseReturned {
                business_day,
                number: n,
                ..
            }) => business_day == day && n.eq_ignore_ascii_case(number),
            _ => false,
        };
        if given {
            return Ok(ev.case_id);
        }
    }
    Ok(None)
}

fn window_paused_in(tx: &dyn StoreTx, window: u32) -> Result<bool> {
    Ok(matches!(tx.side(SideQuery::Window(window))?.pop(), Some(SideRow::Window(w)) if w.paused))
}

/// Append an event: every event names who did it.
pub(crate) fn append_in(
    tx: &dyn StoreTx,
    at: &str,
    actor: &str,
    case_id: Option<i64>,
    body: &EventBody,
) -> Result<Event> {
    if actor.trim().is_empty() || actor.contains('\n') {
        return Err(LedgerError::Invalid(
            "every event needs an actor (staff id or device id)".into(),
        ));
    }
    tx.append(at, actor, case_id, body)
}

/// Append an event and fold it into the case projection (and the calls), in one transaction.
pub(crate) fn record_in(
    tx: &dyn StoreTx,
    old: Option<&Case>,
    case_id: i64,
    at: &str,
    actor: &str,
    body: &EventBody,
) -> Result<Case> {
    let ev = append_in(tx, at, actor, Some(case_id), body)?;
    let next = apply(old, case_id, ev.seq, at, body)?;
    let call = chain::call_row(ev.seq, &next, body);
    tx.save_case(old, &next, call.as_ref())?;
    Ok(next)
}

/// Free text to the notes (a case's, or none for an appointment's or a complaint's).
fn note_in(tx: &dyn StoreTx, case_id: impl Into<Option<i64>>, kind: &str, text: &str, at: &str) -> Result<NoteRef> {
    tx.add_note(case_id.into(), kind, text, at)
}

/// The next number of a department's prefix on a business day (A001, A002, …).
fn next_number_in(tx: &dyn StoreTx, day: &str, prefix: &str) -> Result<String> {
    let n = tx.next_number(day, prefix)?;
    Ok(format!("{prefix}{n:03}"))
}

/// The PostgreSQL hall a ledger "path" names, when it is a `postgres://` URL.
pub fn pg_at(path: &Path) -> Result<Option<PgAt>> {
    match path.to_str() {
        Some(s) if is_pg_url(s) => Ok(Some(PgAt::parse(s)?)),
        _ => Ok(None),
    }
}

/// Whether a ledger exists at `path`: a non-empty file, or a PostgreSQL URL (whose database
/// says for itself whether it holds the hall).
pub fn ledger_exists(path: &Path) -> bool {
    if matches!(path.to_str(), Some(s) if is_pg_url(s)) {
        return true;
    }
    std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false)
}
