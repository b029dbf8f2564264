//! The hall's protocol: one plain serde request type per operation and a named result for
//! each, the error as it travels, and the `HallClient` trait every program talks through.
//! Two clients implement it: `LocalClient` over the SQLite ledger in this process (the
//! embedded default, `--db FILE`) and `RemoteClient` over HTTP to `bangban serve`
//! (`--server URL`). Apps and the CLI see only the trait.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chain::{Event, VerifyReport};
use crate::error::{ErrorKind, LedgerError, Result};
use crate::hall::Hall;
use crate::ledger::{CaseAction, DayReport, Ticket, WaitingEntry};
use crate::model::{Case, Channel, Mode};
use crate::Called;

/// The version prefix of every API path.
pub const API: &str = "/api/v1";

/// A visitor's request for a ticket. The server attributes it to the kiosk that sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub item: String,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub mode: Option<Mode>,
    pub channel: Channel,
}

/// 预约签到: the six-digit code of an appointment, typed on the kiosk's keypad — or, instead,
/// the mobile number the appointment was booked with (`phone`, `code` then empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// 好差评: the visitor rates a visit, by the ticket's token (its QR code) or today's number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub ticket: String,
    /// 1 非常不满意 … 5 非常满意
    pub level: u8,
}

/// What the visitor is told after rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rated {
    pub number: String,
    pub level: u8,
    /// A bad rating opened a follow-up: the department will reply.
    pub follow_up: bool,
}

/// What the visitor is told after handing in a complaint or suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackReceipt {
    pub id: i64,
    /// When the reply is due, stamped UTC.
    pub due: String,
}

/// Whether a ticket came out of the printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintOutcome {
    pub case_id: i64,
    /// The printer, as `PrinterTarget::device_name` says it (`printer:tcp://10.0.0.5:9100`).
    pub printer: String,
    /// Why it did not print, in the printer's words; `None` when it did. Kept as a note, never
    /// in the event.
    #[serde(default)]
    pub error: Option<String>,
    /// What kind of failure it was (the event's code); a kiosk that sends none records `other`.
    #[serde(default)]
    pub failure: Option<PrintFailure>,
    #[serde(default)]
    pub reprint: bool,
}

/// What kind of failure kept a ticket from printing: the code the 台账 keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintFailure {
    /// Cannot connect to the printer.
    Unreachable,
    /// Connected, but no answer to the status request.
    Silent,
    /// Paper out, cover open, or another offline state the printer reports.
    Offline,
    /// The ticket could not be written.
    WriteFailed,
    /// Sent, but the printer did not confirm it afterwards.
    NotConfirmed,
    /// The ticket could not be built.
    Build,
    #[serde(other)]
    Other,
}

impl PrintFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintFailure::Unreachable => "unreachable",
            PrintFailure::Silent => "silent",
            PrintFailure::Offline => "offline",
            PrintFailure::WriteFailed => "write_failed",
            PrintFailure::NotConfirmed => "not_confirmed",
            PrintFailure::Build => "build",
            PrintFailure::Other => "other",
        }
    }
}

/// A specialist signs in at a window with their PIN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    pub staff: String,
    pub pin: String,
    pub window: u32,
}

/// Who is signed in on this client, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub staff: String,
    pub window: u32,
    pub expires_at: String,
}

/// Call the next visitor for the signed-in window, or a given number or ticket token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    #[serde(default)]
    pub number: Option<String>,
}

/// A counter action on one case (by today's number or the ticket token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Act {
    pub case: String,
    pub action: CaseAction,
}

/// Pause or reopen the signed-in window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseWindow {
    pub paused: bool,
}

/// One department's queue right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueLine {
    pub department: String,
    pub waiting: u32,
    pub priority: u32,
    /// Today's tickets per item of the department (item code, count), in no order, when the
    /// hall names no featured matters: the kiosk's welcome screen then offers the most issued
    /// (empty for a hall that names them).
    #[serde(default)]
    pub issued: Vec<(String, u32)>,
    /// Today's priority visitors of the department who have waited past the hall's
    /// `priority_wait_min` (numbers only: the board flags them for a specialist to go to).
    #[serde(default)]
    pub overdue_priority: Vec<String>,
}

impl QueueLine {
    /// The (waiting, priority) counts of some departments, in their order (0, 0 for one not
    /// listed): what a console compares to tell whether its line moved.
    pub fn counts_of(lines: &[QueueLine], departments: &[String]) -> Vec<(u32, u32)> {
        departments
            .iter()
            .map(|d| {
                lines
                    .iter()
                    .find(|l| &l.department == d)
                    .map(|l| (l.waiting, l.priority))
                    .unwrap_or((0, 0))
            })
            .collect()
    }
}

/// A case with its events, for the console's panel and `bangban case N show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    pub case: Case,
    pub events: Vec<Event>,
    /// The case's forms: their numbers and which the visitor signed.
    #[serde(default)]
    pub forms: Vec<crate::forms::FormLine>,
    /// The principal of the 委托书, masked (3704**********1234, 138****5678).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<crate::principal::Principal>,
}

/// Calls committed after a sequence number, and the last sequence number read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallsAfter {
    pub calls: Vec<Called>,
    pub last_seq: i64,
}

/// What a visitor's phone may see of a ticket: no personal data, nothing staff typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketStatus {
    pub number: String,
    pub hall_name: String,
    pub department_name: String,
    pub item_name: String,
    /// The same names in English, from the hall file (the Chinese when it names none): the
    /// page's English shows them.
    #[serde(default)]
    pub department_name_en: String,
    #[serde(default)]
    pub item_name_en: String,
    /// The state's code (`waiting`, `called`, `serving`, …).
    pub state: String,
    /// Which of the rules' four stages the case is in: 1 咨询辅导, 2 受理委托, 3 结果交付,
    /// 4 资料归档; 0 before the visitor reaches a counter.
    pub stage: u8,
    pub ahead: u32,
    pub estimated_wait_min: u32,
    /// The window calling the visitor, once called.
    pub window: Option<u32>,
    pub business_day: String,
    /// The ledger's sequence number this status reflects (pages poll or stream from here).
    pub seq: i64,
    /// 好差评: the visit has been served and not yet rated, so the page offers the rating.
    #[serde(default)]
    pub can_rate: bool,
    /// The rating given (1 to 5), once given.
    #[serde(default)]
    pub rating: Option<u8>,
    /// Today's business day in the hall (a phone's own date may be another time zone's).
    #[serde(default)]
    pub today: String,
    /// 一次性告知: the materials still missing, each with where to get it (awaiting materials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingOnPage>,
    /// The window to come back to: with the missing materials, or to collect the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_window: Option<u32>,
    /// Waiting for the management office's coordination (协调中).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coordinating: bool,
    /// 中止 / 终止: the reason the visitor was given in writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 中止: the day the work is expected to resume, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_by: Option<String>,
    /// 全链条: each department's part and whether it is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartOnPage>,
    /// Delivered (or received by post) or archived: nothing more to do (已办结).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finished: bool,
    /// 办事指南 of the item: the promised time limit, legal basis, process and fees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide: Option<GuideOnPage>,
}

/// An item's 办事指南 as the visitor's phone shows it (empty texts: not published).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuideOnPage {
    pub time_limit_days: u32,
    pub legal_basis: String,
    pub process: String,
    pub fees: String,
}

/// A missing material as the visitor's phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingOnPage {
    pub material: String,
    /// Where to get it, from the hall file's `[material_sources]` ("" when it names none).
    #[serde(default)]
    pub from: String,
}

/// One department's part of a whole-chain case as the visitor's phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOnPage {
    pub department_name: String,
    #[serde(default)]
    pub department_name_en: String,
    pub done: bool,
}

/// An error as it travels between server and client: a kind callers can tell apart and the
/// plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub kind: ErrorKind,
    pub error: String,
}

impl LedgerError {
    /// The kind callers tell errors apart by, here and across the wire.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LedgerError::Busy => ErrorKind::Busy,
            LedgerError::DiskFull => ErrorKind::DiskFull,
            LedgerError::Open { .. } | LedgerError::NoLedger(_) | LedgerError::NetworkFileSystem(_) => ErrorKind::Open,
            LedgerError::TooNew { .. } => ErrorKind::TooNew,
            LedgerError::NotInitialised(_) => ErrorKind::NotInitialised,
            LedgerError::Hall(_) => ErrorKind::Hall,
            LedgerError::UnknownItem(_) => ErrorKind::UnknownItem,
            LedgerError::UnknownPriority { .. } => ErrorKind::UnknownPriority,
            LedgerError::UnknownWindow(_) => ErrorKind::UnknownWindow,
            LedgerError::UnknownStaff(_) => ErrorKind::UnknownStaff,
            LedgerError::UnknownCase(_) => ErrorKind::UnknownCase,
            LedgerError::UnknownNote(_) => ErrorKind::UnknownNote,
            LedgerError::UnknownDepartment(_) => ErrorKind::UnknownDepartment,
            LedgerError::IllegalTransition { .. } => ErrorKind::IllegalTransition,
            LedgerError::Conflict(_) => ErrorKind::Conflict,
            LedgerError::NobodyWaiting(_) => ErrorKind::NobodyWaiting,
            LedgerError::WindowPaused(_) => ErrorKind::WindowPaused,
            LedgerError::PastDay { .. } => ErrorKind::PastDay,
            LedgerError::DayClosed(_) => ErrorKind::DayClosed,
            LedgerError::OutsideHours { .. } => ErrorKind::OutsideHours,
            LedgerError::QuotaReached { .. } => ErrorKind::QuotaReached,
            LedgerError::NotOwner { .. } => ErrorKind::NotOwner,
            LedgerError::WindowBusy { .. } => ErrorKind::WindowBusy,
            LedgerError::UnderCoordination(_) => ErrorKind::UnderCoordination,
            LedgerError::PartsPending { .. } => ErrorKind::PartsPending,
            LedgerError::CodeRefused { refusal, .. } => refusal.kind(),
            LedgerError::AlreadyRated(_) => ErrorKind::AlreadyRated,
            LedgerError::NotServed(_) => ErrorKind::NotServed,
            LedgerError::WrongPin(..) => ErrorKind::WrongPin,
            LedgerError::LoginLocked(..) => ErrorKind::LoginLocked,
            LedgerError::Invalid(_) => ErrorKind::Invalid,
            LedgerError::Corrupt(_) => ErrorKind::Corrupt,
            LedgerError::Sql(_) | LedgerError::Pg(_) => ErrorKind::Internal,
            LedgerError::StoreDown(_) => ErrorKind::Unreachable,
            LedgerError::Unauthorized(_) => ErrorKind::Unauthorized,
            LedgerError::Forbidden(_) => ErrorKind::Forbidden,
            LedgerError::Unreachable(_) => ErrorKind::Unreachable,
            LedgerError::RateLimited => ErrorKind::RateLimited,
            LedgerError::HostOnly(_) => ErrorKind::HostOnly,
            LedgerError::Remote { kind, .. } => *kind,
        }
    }

    /// The HTTP status the server answers this error with.
    pub fn http_status(&self) -> u16 {
        self.kind().http_status()
    }

    pub fn to_wire(&self) -> WireError {
        WireError {
            kind: self.kind(),
            error: self.to_string(),
        }
    }

    /// An error that came back from the server.
    pub fn from_wire(w: WireError) -> LedgerError {
        // The message already says what it is ("not allowed: …"); the kind travels beside it.
        LedgerError::Remote {
            kind: w.kind,
            message: w.error,
        }
    }

    /// True for "the ledger was busy" wherever it happened, here or on the server.
    pub fn is_busy(&self) -> bool {
        self.kind() == ErrorKind::Busy
    }
}

/// Everything a kiosk, board, console or the CLI asks of the hall. Staff actions (`call`,
/// `act`, `pause_window`) act for the specialist signed in with `sign_in`.
pub trait HallClient: Send {
    /// The hall configuration in force.
    fn hall(&mut self) -> Result<Arc<Hall>>;
    fn issue(&mut self, req: &Issue) -> Result<Ticket>;
    /// 预约签到: the appointment's ticket, ahead of the walk-ins of its slot.
    fn check_in(&mut self, req: &CheckIn) -> Result<Ticket>;
    /// 好差评: one rating per visit.
    fn rate(&mut self, req: &Rate) -> Result<Rated>;
    /// 找茬吐槽 / 意见箱 from the kiosk (categories only, no typed text).
    fn feedback(&mut self, req: &crate::ledger::NewFeedback) -> Result<FeedbackReceipt>;
    fn record_print(&mut self, outcome: &PrintOutcome) -> Result<()>;
    fn queues(&mut self) -> Result<Vec<QueueLine>>;
    /// Today's queue in calling order, for some departments (all when empty).
    fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>>;
    fn sign_in(&mut self, req: &SignIn) -> Result<SignedIn>;
    fn sign_out(&mut self) -> Result<()>;
    fn call(&mut self, req: &Call) -> Result<Called>;
    fn act(&mut self, req: &Act) -> Result<Case>;
    /// Open a case without a ticket (来电咨询, 网上帮办, 提前介入) as the signed-in specialist.
    fn open_case(&mut self, req: &crate::ledger::OpenCase) -> Result<Case>;
    fn pause_window(&mut self, req: &PauseWindow) -> Result<()>;
    /// Whether a window is paused.
    fn window_paused(&mut self, window: u32) -> Result<bool>;
    /// A case (today's number or a token) with its events.
    fn case(&mut self, case_ref: &str) -> Result<CaseView>;
    /// The ticket of a case as it would print now (for 补打).
    fn ticket(&mut self, case_ref: &str) -> Result<Ticket>;
    /// Cases a window is working on (called, serving, on hold there).
    fn at_window(&mut self, window: u32) -> Result<Vec<Case>>;
    /// What is overdue or due soon (the console's alerts), for one department or all.
    fn overdue(&mut self, department: Option<&str>) -> Result<Vec<crate::ledger::Overdue>>;
    fn report(&mut self, date: chrono::NaiveDate) -> Result<DayReport>;
    /// The office's figures for the business days `from..=to`, per department and specialist.
    fn figures(&mut self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<crate::Figures>;
    fn verify(&mut self) -> Result<VerifyReport>;
    /// Calls and recalls after `seq` (how boards follow the hall).
    fn calls_after(&mut self, seq: i64) -> Result<CallsAfter>;
    /// The newest calls of today, newest first.
    fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>>;
    /// The newest event's sequence number.
    fn head_seq(&mut self) -> Result<i64>;
    /// The chain head (sequence number and hash), for the client's witness file.
    fn chain_head(&mut self) -> Result<crate::witness::ChainHead>;
    /// A free-text note (question, answer, tracking number) by id, for the case panel.
    fn note(&mut self, id: i64) -> Result<String>;
    /// Send one op of the protocol's table (`crate::ops`) as JSON; use `send`, which types it.
    fn send_json(&mut self, path: &'static str, body: serde_json::Value) -> Result<serde_json::Value>;
    /// A verified copy of the ledger at `to` on this machine (made on the server host and
    /// streamed here, with `--server`).
    fn backup(&mut self, to: &std::path::Path) -> Result<VerifyReport>;
    /// Can the hall be reached right now? Always true for the ledger file; a quick
    /// `/healthz` for the server.
    fn reachable(&mut self) -> bool {
        true
    }
    /// Follow the hall's calls after event `after` on a thread of its own: each call once,
    /// in ledger order, a `Head` when anything else changed, `Lost`/`Connected` when the hall
    /// goes away and comes back. `wake` runs after each message. The server's live stream for
    /// `--server`; the file's `data_version` (microseconds when nothing changed) for `--db`.
    fn follow(&mut self, after: i64, wake: Box<dyn Fn() + Send>) -> Result<crate::remote::Follower>;

    /// `follow`, hearing only these departments' calls and waiting counts where the door can
    /// tell them apart (the server's stream; the file's follower hears everything).
    fn follow_departments(
        &mut self,
        after: i64,
        departments: &[String],
        wake: Box<dyn Fn() + Send>,
    ) -> Result<crate::remote::Follower> {
        let _ = departments;
        self.follow(after, wake)
    }
}

impl dyn HallClient + '_ {
    /// Send one op of the protocol's table and read its typed reply.
    pub fn send<O: crate::ops::Op>(&mut self, op: O) -> Result<O::Reply> {
        let body = serde_json::to_value(op).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let reply = self.send_json(O::PATH, body)?;
        serde_json::from_value(reply)
            .map_err(|e| LedgerError::Unreachable(format!("unreadable answer to {}: {e}", O::PATH)))
    }
}
