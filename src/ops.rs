//! The office's operations as one table: each request type declares its reply, its path under
//! `/api/v1/`, which device roles may send it, whether it writes, whether a signed-in
//! specialist must send it, and how the hall carries it out (`run`). `bangban serve` mounts one
//! generic handler per op (`each_op`), `RemoteClient` posts every op the same way, and
//! `LocalClient` runs the same `run` in this process, so an op behaves alike through either
//! door and the CLI's office commands work from any desk in the hall.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::access::{Device, DeviceRole};
use crate::api::SignedIn;
use crate::api::{Act, Call, CheckIn, FeedbackReceipt, Issue, PauseWindow, PrintFailure, PrintOutcome, Rate, Rated};
use crate::attachments::{ImportKind, Sheet};
use crate::error::{LedgerError, Result};
use crate::ledger::{
    Appointment, CallRequest, ConfigureOutcome, DayClose, Feedback, IssueRequest, Ledger, NewFeedback, OpenCase,
    Purged, RecordKind, RecordRow, Ticket,
};
use crate::model::Case;

/// Who sends an op: the device (or, in-process, the program) and the specialist signed in on it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The name the events carry: the device's name on the server, the program's actor here.
    pub actor: String,
    pub role: DeviceRole,
    /// The specialist signed in on this device, for staff ops.
    pub staff: Option<SignedIn>,
    /// The window the device is bound to (`device add --window`): a rating pad acts for that
    /// window only.
    pub window: Option<u32>,
}

impl Caller {
    /// The signed-in specialist, for an op that acts as one.
    pub fn specialist(&self) -> Result<&SignedIn> {
        self.staff
            .as_ref()
            .ok_or_else(|| LedgerError::Forbidden("a specialist must sign in with their PIN first".into()))
    }
}

/// One operation of the protocol.
pub trait Op: Serialize + DeserializeOwned + Send + 'static {
    type Reply: Serialize + DeserializeOwned + Send + 'static;
    /// Its path under `/api/v1/` (always a POST with the op as its JSON body).
    const PATH: &'static str;
    /// The device roles that may send it; any other is refused (403) before anything is read.
    const ROLES: &'static [DeviceRole];
    /// Whether it may change the ledger: writes carry a request id and are answered once.
    const WRITES: bool;
    /// Whether a specialist must be signed in on the device (their session header).
    const STAFF: bool = false;
    /// Whether `prepare` does slow work (a PIN's hash) that the server runs off its writer.
    const SLOW: bool = false;
    /// The name a request id is recorded under (its path, or the name older servers used).
    const NAME: &'static str = Self::PATH;

    /// Slow work that must not hold the ledger (hashing a new PIN): done before `run`, and in
    /// the server beside the writer thread, not on it.
    fn prepare(&mut self) -> Result<()> {
        Ok(())
    }

    /// A PIN the sender must prove before `run` (staff id, PIN). It is checked like a sign-in:
    /// the slow check beside the writer, every wrong try counted towards the lockout.
    fn pin_to_check(&self, _by: &Caller) -> Option<(String, String)> {
        None
    }

    /// Carry the op out.
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Self::Reply>;

    /// Answer a retried write whose first try committed event `seq` but whose reply was lost.
    fn replay(_l: &mut Ledger, seq: i64) -> Result<Self::Reply> {
        Err(LedgerError::Invalid(format!(
            "this request was carried out already (event {seq}); look the result up instead of sending it again"
        )))
    }
}

/// Run an op in this process: prepare, prove the PIN, run (what the server does in three
/// steps around its writer thread).
pub fn run_here<O: Op>(mut op: O, l: &mut Ledger, by: &Caller) -> Result<O::Reply> {
    if !O::ROLES.contains(&by.role) {
        return Err(forbidden::<O>(by.role, &by.actor));
    }
    op.prepare()?;
    if let Some((staff, pin)) = op.pin_to_check(by) {
        let stored = l.pin_record_of(&staff)?;
        let checked = stored.check(&pin)?;
        l.record_login(&staff, 0, &stored, &checked)?;
    }
    op.run(l, by)
}

/// The refusal of an op to a device of the wrong role.
pub fn forbidden<O: Op>(role: DeviceRole, name: &str) -> LedgerError {
    LedgerError::Forbidden(format!(
        "device {name} is a {}; {} needs a {}",
        role.as_str(),
        O::PATH,
        O::ROLES.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
    ))
}

/// Something that is shown every op in turn (the server mounting routes, a test walking them).
pub trait OpVisitor {
    fn visit<O: Op>(&mut self);
}

/// The table itself: every op, once.
macro_rules! op_table {
    ($($op:ty),* $(,)?) => {
        /// Show `v` every op of the protocol.
        pub fn each_op(v: &mut impl OpVisitor) {
            $( v.visit::<$op>(); )*
        }

        /// Run the op at `path` from its JSON body, in this process.
        pub fn run_json(path: &str, body: serde_json::Value, l: &mut Ledger, by: &Caller) -> Result<serde_json::Value> {
            $(
                if path == <$op as Op>::PATH {
                    let op: $op = serde_json::from_value(body)
                        .map_err(|e| LedgerError::Invalid(format!("{path}: {e}")))?;
                    let reply = run_here(op, l, by)?;
                    return serde_json::to_value(reply).map_err(|e| LedgerError::Invalid(e.to_string()));
                }
            )*
            Err(LedgerError::Invalid(format!("no operation {path:?}")))
        }
    };
}

op_table!(
    Issue,
    CheckIn,
    Rate,
    NewFeedback,
    PrintOutcome,
    Call,
    Act,
    OpenCase,
    PauseWindow,
    Records,
    RateVisit,
    FeedbackAdd,
    FeedbackReply,
    FeedbackList,
    AppointmentAdd,
    AppointmentList,
    AppointmentCancel,
    CloseDay,
    Import,
    DeviceAdd,
    DeviceList,
    DeviceRevoke,
    SetPin,
    RebuildCases,
    Purge,
    PadShow,
    PadRate,
    RatingsExport,
    LeavePhone,
    Outbox,
    PadSign,
    FormShow,
    SignedFormFind,
    TrainingAdd,
);

/// The kiosks (and the admin, who may do anything).
pub const KIOSK: &[DeviceRole] = &[DeviceRole::Kiosk, DeviceRole::Admin];
/// The counters (and the admin).
pub const COUNTER: &[DeviceRole] = &[DeviceRole::Counter, DeviceRole::Admin];
/// The management office's work: its desk PCs and the admin's.
pub const OFFICE: &[DeviceRole] = &[DeviceRole::Office, DeviceRole::Admin];
/// The desks where staff serve visitors or the office: counters, the office, the admin.
pub const DESKS: &[DeviceRole] = &[DeviceRole::Counter, DeviceRole::Office, DeviceRole::Admin];
/// The hall's keys: enrolling devices, repairing the ledger.
pub const ADMIN: &[DeviceRole] = &[DeviceRole::Admin];
/// A counter's rating pad.
pub const PAD: &[DeviceRole] = &[DeviceRole::Pad, DeviceRole::Admin];

/// A register (登记) for business days `from..=to`, with the notes' text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Records {
    pub kind: RecordKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Op for Records {
    type Reply = Vec<RecordRow>;
    const PATH: &'static str = "records";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        l.records(self.kind, self.from, self.to)
    }
}

/// 好差评 recorded at a desk (a paper card, a phone call): one per visit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateVisit {
    pub case: String,
    pub level: u8,
    pub channel: String,
}

impl Op for RateVisit {
    type Reply = Case;
    const PATH: &'static str = "ratings";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Case> {
        l.rate(&self.case, self.level, &self.channel, &by.actor)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Case> {
        case_of_event(l, seq)
    }
}

/// A complaint or suggestion handed in at a desk, with what the visitor said.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackAdd {
    pub feedback: NewFeedback,
}

impl Op for FeedbackAdd {
    type Reply = Feedback;
    const PATH: &'static str = "feedback/add";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Feedback> {
        l.add_feedback(&self.feedback, &by.actor)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Feedback> {
        match body_of_event(l, seq)? {
            crate::EventBody::FeedbackReceived { feedback, .. } => l.feedback(feedback),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a feedback"))),
        }
    }
}

/// The reply to a complaint or suggestion, by the signed-in specialist (the department's
/// coordinator or the office).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackReply {
    pub id: i64,
    pub reply: String,
}

impl Op for FeedbackReply {
    type Reply = Feedback;
    const PATH: &'static str = "feedback/reply";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    const STAFF: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Feedback> {
        let staff = by.specialist()?.staff.clone();
        l.reply_feedback(self.id, &staff, &self.reply)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Feedback> {
        match body_of_event(l, seq)? {
            crate::EventBody::FeedbackReplied { feedback, .. } => l.feedback(feedback),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a reply"))),
        }
    }
}

/// Complaints and suggestions, newest first; only those waiting for a reply with `open`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackList {
    #[serde(default)]
    pub open: bool,
    #[serde(default)]
    pub department: Option<String>,
}

impl Op for FeedbackList {
    type Reply = Vec<Feedback>;
    const PATH: &'static str = "feedback/list";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        l.feedback_list(self.open, self.department.as_deref())
    }
}

/// 预约 booked for a visitor at a desk or on the phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentAdd {
    pub item: String,
    pub at: String,
    pub phone: String,
    pub channel: String,
    #[serde(default)]
    pub from_case: Option<String>,
}

impl Op for AppointmentAdd {
    type Reply = Appointment;
    const PATH: &'static str = "appointments/add";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Appointment> {
        l.book_appointment_from(
            &self.item,
            &self.at,
            &self.phone,
            &by.actor,
            &self.channel,
            self.from_case.as_deref(),
        )
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Appointment> {
        match body_of_event(l, seq)? {
            crate::EventBody::AppointmentBooked { appointment, .. } => l.appointment(appointment),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a booking"))),
        }
    }
}

/// The appointments of a business day (today when `date` is absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentList {
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

/// A day's appointments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointments {
    pub date: NaiveDate,
    pub appointments: Vec<Appointment>,
}

impl Op for AppointmentList {
    type Reply = Appointments;
    const PATH: &'static str = "appointments/list";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Appointments> {
        let date = match self.date {
            Some(d) => d,
            None => l.business_day()?,
        };
        Ok(Appointments {
            date,
            appointments: l.appointments_on(date)?,
        })
    }
}

/// Cancel a booked appointment by its six-digit code (the visitor called to say so).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentCancel {
    pub code: String,
}

impl Op for AppointmentCancel {
    type Reply = Appointment;
    const PATH: &'static str = "appointments/cancel";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Appointment> {
        l.cancel_appointment(&self.code, &by.actor)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Appointment> {
        match body_of_event(l, seq)? {
            crate::EventBody::AppointmentCancelled { appointment } => l.appointment(appointment),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a cancellation"))),
        }
    }
}

/// 培训记录: a specialist's training, recorded by the office.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingAdd {
    pub staff: String,
    pub date: String,
    pub course: String,
    pub hours: f64,
}

/// The recorded training: its event's sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingAdded {
    pub seq: i64,
}

impl Op for TrainingAdd {
    type Reply = TrainingAdded;
    const PATH: &'static str = "staff/training";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<TrainingAdded> {
        let seq = l.record_training(&self.staff, &self.date, &self.course, self.hours, &by.actor)?;
        Ok(TrainingAdded { seq })
    }
    fn replay(_: &mut Ledger, seq: i64) -> Result<TrainingAdded> {
        Ok(TrainingAdded { seq })
    }
}

/// 日结: close a business day (the oldest one still open when `date` is absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloseDay {
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

impl Op for CloseDay {
    type Reply = DayClose;
    const PATH: &'static str = "close-day";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<DayClose> {
        let day = match self.date {
            Some(d) => d,
            None => l.day_to_close()?,
        };
        l.close_day(day, &by.actor)
    }
}

/// The rules' Attachment 1 or 2, read into sheets on the sender's machine, applied to the
/// hall in force (one department's rows, or the whole table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Import {
    pub kind: ImportKind,
    pub sheets: Vec<Sheet>,
    #[serde(default)]
    pub department: Option<String>,
    /// The files' names, as the configuration event records them.
    pub source: String,
}

/// What an import changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub configured: ConfigureOutcome,
    /// The departments whose rows were replaced; empty when the whole table was.
    pub departments: Vec<String>,
    pub rows: usize,
    /// Identifiers given to new specialists or items: (file, row, name, id).
    pub assigned: Vec<(String, usize, String, String)>,
}

impl Op for Import {
    type Reply = Imported;
    const PATH: &'static str = "import";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Imported> {
        let hall = l.hall()?;
        if let Some(d) = &self.department {
            if hall.department(d).is_none() {
                return Err(LedgerError::UnknownDepartment(d.clone()));
            }
        }
        let imported = crate::attachments::import_sheets(&hall, self.kind, &self.sheets, self.department.as_deref())?;
        let configured = l.configure(&imported.hall, &by.actor, &self.source)?;
        Ok(Imported {
            configured,
            departments: imported.departments,
            rows: imported.rows,
            assigned: imported.assigned,
        })
    }
}

/// Enrol a device; the token is in the reply only (shown once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAdd {
    pub name: String,
    pub role: DeviceRole,
    /// A counter's one window (signing in elsewhere on it is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
}

/// A device enrolled, with the token it will send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    pub name: String,
    pub role: DeviceRole,
    pub token: String,
}

impl Op for DeviceAdd {
    type Reply = Enrolled;
    const PATH: &'static str = "devices/add";
    const ROLES: &'static [DeviceRole] = ADMIN;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Enrolled> {
        let token = l.add_device_at(&self.name, self.role, self.window, &by.actor)?;
        Ok(Enrolled {
            name: self.name,
            role: self.role,
            token,
        })
    }
}

/// Every enrolled device (never with its token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceList {}

impl Op for DeviceList {
    type Reply = Vec<Device>;
    const PATH: &'static str = "devices/list";
    const ROLES: &'static [DeviceRole] = ADMIN;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Vec<Device>> {
        l.list_devices()
    }
}

/// Revoke a device: its token stops working and its sessions end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRevoke {
    pub name: String,
}

impl Op for DeviceRevoke {
    type Reply = ();
    const PATH: &'static str = "devices/revoke";
    const ROLES: &'static [DeviceRole] = ADMIN;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<()> {
        l.revoke_device(&self.name, &by.actor)
    }
    fn replay(_: &mut Ledger, _: i64) -> Result<()> {
        Ok(())
    }
}

/// Set a specialist's PIN. A specialist changes their own with the current one (`old_pin`)
/// from any desk; an admin device resets anyone's without it.
#[derive(Serialize, Deserialize)]
pub struct SetPin {
    pub staff: String,
    #[serde(default)]
    pub old_pin: Option<String>,
    pub new_pin: String,
    /// The new PIN's hash, made in `prepare`; never sent.
    #[serde(skip)]
    hash: Option<String>,
}

impl std::fmt::Debug for SetPin {
    // PINs never reach a log line, not even a debug one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPin")
            .field("staff", &self.staff)
            .finish_non_exhaustive()
    }
}

impl SetPin {
    pub fn new(staff: &str, old_pin: Option<String>, new_pin: String) -> SetPin {
        SetPin {
            staff: staff.trim().to_string(),
            old_pin,
            new_pin,
            hash: None,
        }
    }
}

/// The specialist whose PIN was set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinSet {
    pub staff: String,
    /// True when the specialist's current PIN proved it; false for an admin's reset.
    pub own: bool,
}

impl Op for SetPin {
    type Reply = PinSet;
    const PATH: &'static str = "staff/set-pin";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = true;
    const SLOW: bool = true;
    fn prepare(&mut self) -> Result<()> {
        self.hash = Some(crate::ledger::hash_new_pin(&self.staff, &self.new_pin)?);
        Ok(())
    }
    fn pin_to_check(&self, _: &Caller) -> Option<(String, String)> {
        // A change of one's own PIN proves the old one; an admin's reset proves nothing (and
        // `run` refuses a reset from any other device).
        self.old_pin.as_ref().map(|old| (self.staff.clone(), old.clone()))
    }
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<PinSet> {
        let own = self.old_pin.is_some();
        if !own && by.role != DeviceRole::Admin {
            return Err(LedgerError::Forbidden(
                "only an admin device resets another specialist's PIN; give your current PIN to change your own".into(),
            ));
        }
        let hash = self
            .hash
            .ok_or_else(|| LedgerError::Invalid("the new PIN was not prepared".into()))?;
        l.set_pin_hash(&self.staff, &hash, &by.actor)?;
        Ok(PinSet { staff: self.staff, own })
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<PinSet> {
        match body_of_event(l, seq)? {
            crate::EventBody::StaffPinSet { staff, .. } => Ok(PinSet { staff, own: false }),
            // The first event of a PIN change is the proof of the old PIN.
            crate::EventBody::StaffLogin { staff, .. } => Ok(PinSet { staff, own: true }),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a PIN change"))),
        }
    }
}

/// Rebuild the cases table from the event log (only when the log itself verifies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RebuildCases {}

impl Op for RebuildCases {
    type Reply = usize;
    const PATH: &'static str = "rebuild-cases";
    const ROLES: &'static [DeviceRole] = ADMIN;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<usize> {
        let before = l.verify()?;
        let only_projection = before.finding.as_ref().is_some_and(|f| f.kind.is_projection());
        if !before.ok && !only_projection {
            return Err(LedgerError::Corrupt(
                "the event log itself does not verify; refusing to rebuild from it".into(),
            ));
        }
        l.rebuild_cases()
    }
}

/// Erase note texts written before a day (default: past the retention period).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Purge {
    #[serde(default)]
    pub before: Option<NaiveDate>,
}

impl Op for Purge {
    type Reply = Purged;
    const PATH: &'static str = "purge";
    const ROLES: &'static [DeviceRole] = ADMIN;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Purged> {
        let before = match self.before {
            Some(d) => d,
            None => l.purge_limit()?,
        };
        l.purge_notes(before, &by.actor)
    }
}

/// The event a request's first try wrote, which a replay answers from.
fn event_of_request(l: &Ledger, seq: i64) -> Result<crate::Event> {
    l.event(seq)?
        .ok_or_else(|| LedgerError::Corrupt(format!("request points at missing event {seq}")))
}

// ---------------------------------------------------------------------------------------
// The hall floor's operations: the kiosk's and the counter's.

impl Op for Issue {
    type Reply = Ticket;
    const PATH: &'static str = "issue";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Ticket> {
        l.issue(&IssueRequest {
            item: self.item,
            priority: self.priority,
            mode: self.mode,
            channel: self.channel,
            actor: by.actor.clone(),
        })
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Ticket> {
        ticket_of_event(l, seq)
    }
}

/// 预约签到 at the kiosk.
impl Op for CheckIn {
    type Reply = Ticket;
    const PATH: &'static str = "check-in";
    const NAME: &'static str = "check_in";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Ticket> {
        match &self.phone {
            Some(phone) => l.check_in_by_phone(phone, &by.actor),
            None => l.check_in(&self.code, &by.actor),
        }
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Ticket> {
        ticket_of_event(l, seq)
    }
}

/// What a visitor is told after rating a case (the level the case now holds).
fn rated(c: crate::Case) -> Rated {
    Rated {
        number: c.number,
        level: c.rating.unwrap_or_default(),
        follow_up: c.follow_up_open,
    }
}

/// 好差评 at the kiosk, by the ticket's QR code or today's number.
impl Op for Rate {
    type Reply = Rated;
    const PATH: &'static str = "rate";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Rated> {
        let c = l.rate(&self.ticket, self.level, "kiosk", &by.actor)?;
        Ok(rated(c))
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Rated> {
        Ok(rated(case_of_event(l, seq)?))
    }
}

/// What a counter's rating pad shows for its window (`display rate --window N`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PadShow {
    pub window: u32,
    /// The case the pad saw last, to follow it past the counter.
    #[serde(default)]
    pub following: Option<i64>,
}

/// The window a pad acts for: the one its device is bound to; a pad's token cannot speak for
/// another window.
fn pad_window(by: &Caller, asked: u32) -> Result<u32> {
    match by.window {
        Some(w) if w != asked => Err(LedgerError::Forbidden(format!(
            "device {} is the rating pad of window {w}, not of window {asked}",
            by.actor
        ))),
        _ => Ok(asked),
    }
}

impl Op for PadShow {
    type Reply = crate::PadView;
    const PATH: &'static str = "pad";
    const ROLES: &'static [DeviceRole] = PAD;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<crate::PadView> {
        let window = pad_window(by, self.window)?;
        l.pad_view(window, self.following)
    }
}

/// 好差评 on the counter's pad, right after the service (一次一评 at the place of service).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PadRate {
    pub window: u32,
    /// The case's id, as the pad was shown it.
    pub case: i64,
    /// 1 非常不满意 … 5 非常满意
    pub level: u8,
    /// For a bad rating: codes of `RATING_REASONS`.
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl Op for PadRate {
    type Reply = Rated;
    const PATH: &'static str = "pad/rate";
    const ROLES: &'static [DeviceRole] = PAD;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Rated> {
        let window = pad_window(by, self.window)?;
        let c = l.rate_at_window(self.case, window, self.level, &self.reasons, &by.actor)?;
        Ok(rated(c))
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Rated> {
        Ok(rated(case_of_event(l, seq)?))
    }
}

/// The visitor signed on the window's pad (`display sign`): the strokes, in the pad's canvas
/// units (`signature::WIDTH` × `signature::HEIGHT`), for the case the pad was asked about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PadSign {
    pub window: u32,
    pub case: i64,
    pub strokes: Vec<crate::signature::Stroke>,
}

impl Op for PadSign {
    type Reply = Case;
    const PATH: &'static str = "pad/sign";
    const ROLES: &'static [DeviceRole] = PAD;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Case> {
        let window = pad_window(by, self.window)?;
        l.sign_at_window(window, self.case, &self.strokes, &by.actor)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Case> {
        case_of_event(l, seq)
    }
}

/// A form's words for a case as it stands (`bangban form`, the console's print, the office's
/// case page): the caller draws them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormShow {
    pub kind: crate::forms::FormKind,
    pub case: String,
}

impl Op for FormShow {
    type Reply = crate::forms::FormContent;
    const PATH: &'static str = "form";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        l.form(self.kind, &self.case)
    }
}

/// A form as the visitor signed it on the pad: by its event (`form verify`), or the latest of
/// a kind for a case (`bangban form` prints the signed one when there is one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedFormFind {
    #[serde(default)]
    pub seq: Option<i64>,
    #[serde(default)]
    pub kind: Option<crate::forms::FormKind>,
    #[serde(default)]
    pub case: Option<String>,
}

impl Op for SignedFormFind {
    type Reply = Option<crate::SignedForm>;
    const PATH: &'static str = "form/signed";
    const ROLES: &'static [DeviceRole] = DESKS;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        match (self.seq, self.kind, self.case) {
            (Some(seq), _, _) => l.signed_form_at(seq).map(Some),
            (None, Some(kind), Some(case)) => l.signed_form(kind, &case),
            _ => Err(LedgerError::Invalid("form/signed: give seq, or kind and case".into())),
        }
    }
}

/// The ratings of business days `from..=to` with the data items the national 好差评 platform
/// collects (`bangban export ratings`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatingsExport {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Op for RatingsExport {
    type Reply = Vec<crate::RatingRecord>;
    const PATH: &'static str = "ratings/export";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        l.ratings(self.from, self.to)
    }
}

/// A visitor leaves a mobile number at the kiosk for messages about their ticket (前面还有
/// 3 人, the result ready, the one-time notification).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeavePhone {
    /// The ticket: its token (the QR) or today's number.
    pub ticket: String,
    pub phone: String,
}

impl Op for LeavePhone {
    type Reply = crate::Case;
    const PATH: &'static str = "phone";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<crate::Case> {
        l.leave_phone(&self.ticket, &self.phone, &by.actor)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<crate::Case> {
        case_of_event(l, seq)
    }
}

/// The outbox of messages to visitors' phones, for the office (phones masked).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outbox {
    /// watch, pending, sent, failed or dropped
    pub state: String,
    #[serde(default = "hundred")]
    pub limit: usize,
}

fn hundred() -> usize {
    100
}

impl Op for Outbox {
    type Reply = Vec<crate::ledger::MessageView>;
    const PATH: &'static str = "outbox";
    const ROLES: &'static [DeviceRole] = OFFICE;
    const WRITES: bool = false;
    fn run(self, l: &mut Ledger, _: &Caller) -> Result<Self::Reply> {
        l.messages(&self.state, self.limit.min(10_000))
    }
}

/// 找茬吐槽 at the kiosk.
impl Op for NewFeedback {
    type Reply = FeedbackReceipt;
    const PATH: &'static str = "feedback";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<FeedbackReceipt> {
        let f = l.add_feedback(&self, &by.actor)?;
        Ok(FeedbackReceipt { id: f.id, due: f.due })
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<FeedbackReceipt> {
        match body_of_event(l, seq)? {
            crate::EventBody::FeedbackReceived { feedback, due, .. } => Ok(FeedbackReceipt { id: feedback, due }),
            _ => Err(LedgerError::Corrupt(format!("event {seq} is not a feedback"))),
        }
    }
}

/// Whether a ticket came out of the kiosk's printer.
impl Op for PrintOutcome {
    type Reply = ();
    const PATH: &'static str = "print-outcome";
    const ROLES: &'static [DeviceRole] = KIOSK;
    const WRITES: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<()> {
        // The printer is named after the kiosk that drives it, so the 台账 says where. A
        // failure keeps its code in the event; the printer's words go to a note.
        let failure = match (self.failure, self.error.as_deref()) {
            (None, None) => None,
            (code, words) => Some((code.unwrap_or(PrintFailure::Other), words.unwrap_or(""))),
        };
        l.record_print(
            self.case_id,
            &format!("{}/{}", by.actor, self.printer),
            failure,
            self.reprint,
        )?;
        Ok(())
    }
    fn replay(_: &mut Ledger, _: i64) -> Result<()> {
        Ok(())
    }
}

/// The next visitor (or a given number) for the signed-in specialist's window.
impl Op for Call {
    type Reply = crate::Called;
    const PATH: &'static str = "call";
    const ROLES: &'static [DeviceRole] = COUNTER;
    const WRITES: bool = true;
    const STAFF: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<crate::Called> {
        let s = by.specialist()?;
        l.call(&CallRequest {
            window: s.window,
            staff: s.staff.clone(),
            number: self.number,
        })
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<crate::Called> {
        l.calls_after(seq - 1)?
            .calls
            .into_iter()
            .find(|c| c.seq == seq)
            .ok_or_else(|| LedgerError::Corrupt(format!("event {seq} is not a call")))
    }
}

/// A counter action on a case, by the signed-in specialist at their window.
impl Op for Act {
    type Reply = Case;
    const PATH: &'static str = "act";
    const ROLES: &'static [DeviceRole] = COUNTER;
    const WRITES: bool = true;
    const STAFF: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Case> {
        let s = by.specialist()?;
        l.act(&self.case, s.window, &s.staff, &self.action)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Case> {
        case_of_event(l, seq)
    }
}

/// A case opened at the counter without a ticket (来电咨询, 网上帮办, 提前介入).
impl Op for OpenCase {
    type Reply = Case;
    const PATH: &'static str = "open-case";
    const NAME: &'static str = "open_case";
    const ROLES: &'static [DeviceRole] = COUNTER;
    const WRITES: bool = true;
    const STAFF: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<Case> {
        let s = by.specialist()?;
        l.open_case(&self, &s.staff, s.window)
    }
    fn replay(l: &mut Ledger, seq: i64) -> Result<Case> {
        case_of_event(l, seq)
    }
}

/// Pause or reopen the signed-in specialist's window.
impl Op for PauseWindow {
    type Reply = ();
    const PATH: &'static str = "window";
    const ROLES: &'static [DeviceRole] = COUNTER;
    const WRITES: bool = true;
    const STAFF: bool = true;
    fn run(self, l: &mut Ledger, by: &Caller) -> Result<()> {
        let s = by.specialist()?;
        l.set_window_paused(s.window, &s.staff, self.paused)
    }
    fn replay(_: &mut Ledger, _: i64) -> Result<()> {
        Ok(())
    }
}

/// What the event a request's first try wrote says.
pub fn body_of_event(l: &Ledger, seq: i64) -> Result<crate::EventBody> {
    let ev = event_of_request(l, seq)?;
    serde_json::from_str(&ev.payload).map_err(|e| LedgerError::Corrupt(format!("event {seq} cannot be read: {e}")))
}

/// The case the event a request's first try wrote names (a retried case action).
pub fn case_of_event(l: &mut Ledger, seq: i64) -> Result<Case> {
    let id = event_of_request(l, seq)?
        .case_id
        .ok_or_else(|| LedgerError::Corrupt(format!("event {seq} names no case")))?;
    l.case_by_id(id)
}

/// The answer to a retried request id that already wrote, from the event its first try
/// wrote (`replay`); `None` for an id not seen yet.
pub fn answered<T>(
    l: &mut Ledger,
    asked: &Asked<'_>,
    op: &str,
    replay: impl FnOnce(&mut Ledger, i64) -> Result<T>,
) -> Result<Option<T>> {
    let id = asked.id;
    match l.request_outcome(id)? {
        None => Ok(None),
        // A retry comes from the device that sent the request, with the same request: anything
        // else reusing the id would be answered with someone else's outcome (a ticket and its
        // QR token among them).
        Some(r) if r.device != asked.device => Err(LedgerError::Conflict(format!(
            "request id {id} was sent by another device: a new request takes a new id"
        ))),
        Some(r) if r.op != op => Err(LedgerError::Invalid(format!(
            "request id {id} was used for {}, not {op}",
            r.op
        ))),
        Some(r) if !r.body.is_empty() && r.body != asked.body => Err(LedgerError::Conflict(format!(
            "request id {id} was used for another request: a retry sends the same request, a new request takes a new id"
        ))),
        Some(r) => replay(l, r.seq).map(Some),
    }
}

/// A client request id with who sent it and the hash of what it asked.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub id: &'a str,
    pub device: &'a str,
    pub body: &'a str,
}

/// The SHA-256 of what an operation asks, as its request id is bound to: its JSON with sorted
/// keys and without the fields that carry a PIN or a phone number (a six-digit PIN's or an
/// eleven-digit number's plain hash would give it away).
pub fn request_body_hash<O: serde::Serialize>(op: &O) -> String {
    use sha2::{Digest, Sha256};
    let mut v = serde_json::to_value(op).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        m.retain(|k, _| !k.contains("pin") && !k.contains("phone"));
    }
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// Run a write once per request id: a retry of an id that already wrote is answered by
/// `replay` from the event the first try wrote.
pub fn once<T>(
    l: &mut Ledger,
    id: Option<String>,
    device: &str,
    body: &str,
    op: &str,
    run: impl FnOnce(&mut Ledger) -> Result<T>,
    replay: impl FnOnce(&mut Ledger, i64) -> Result<T>,
) -> Result<T> {
    let Some(id) = id else { return run(l) };
    let asked = Asked { id: &id, device, body };
    if let Some(out) = answered(l, &asked, op, replay)? {
        return Ok(out);
    }
    // The request travels with the ledger to the next write transaction it begins, which
    // records it beside its first event; whatever `run` left untaken is dropped after it.
    l.request = Some(crate::store::Request {
        id,
        device: device.to_string(),
        op: op.to_string(),
        body: body.to_string(),
    });
    let out = run(l);
    l.request = None;
    out
}

/// The ticket of the case a request's first event issued (a retried issue or check-in).
pub fn ticket_of_event(l: &mut Ledger, seq: i64) -> Result<crate::Ticket> {
    let c = case_of_event(l, seq)?;
    l.ticket_for(&c.token)
}
