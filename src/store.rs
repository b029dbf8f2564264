//! The storage port: what the rules (`Ledger`, `src/ledger/`) ask of a store, one
//! transaction-shaped method at a time, and nothing that knows a rule.
//!
//! A store keeps the hash chain of events and the tables folded from it, and answers the
//! queries the rules name here. It refuses nothing on the hall's behalf: who may call whom,
//! what a case may do next, whether a day is closed, all of that is decided above this port,
//! in the rules that both doors (the CLI's `--db` and `bangban serve`) run. A store's own
//! errors are the ones a store can have: busy, disk full, damaged, a conditional write that
//! found its row moved (`Conflict`), and its engine's failures. `tests/main.rs` greps this
//! file and the SQLite adapter (`src/ledger/sqlite.rs`) for the rule refusals and finds none.
//!
//! To plug in another store (PostgreSQL, issue "PostgreSQL"), implement `Store`, `WriteTx` and
//! `StoreTx` over its connection, and the host's work in `crate::host::Host`; the conformance
//! suite (`tests/conformance/`) then runs the same rules on it.

use crate::chain::{CallRow, Event};
use crate::error::Result;
use crate::model::{Case, Note, NoteRef};

/// Who asked for a write: recorded beside the first event the write appends, so a retry of the
/// same request id is answered from that event and never written twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub device: String,
    pub op: String,
    /// The SHA-256 of what the request asked (`ops::request_body_hash`).
    pub body: String,
}

/// What the ledger recorded of a request id: the operation, the sequence number of its first
/// event, the device that sent it and the hash of what it asked ("" before bodies were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub op: String,
    pub seq: i64,
    pub device: String,
    pub body: String,
}

/// One case, found by what a caller knows of it.
#[derive(Debug, Clone, Copy)]
pub enum CaseKey<'a> {
    Id(i64),
    /// The visitor's token (the ticket's QR).
    Token(&'a str),
    /// A token, or a number issued on `day` (the latest case with it).
    Ref {
        day: &'a str,
        text: &'a str,
    },
    /// The case a window has called or is serving on `day`.
    UnsettledAt {
        day: &'a str,
        window: u32,
    },
    /// The latest case of a business day before `day` (the last day the hall worked).
    LatestBefore {
        day: &'a str,
    },
    /// The first waiting case of these departments in calling order (priority rank, then the
    /// queue position), among priority visitors or among the others.
    FirstWaiting {
        day: &'a str,
        departments: &'a [String],
        priority: bool,
    },
}

/// Several cases, in the order each query names.
#[derive(Debug, Clone, Copy)]
pub enum CaseQuery<'a> {
    /// A day's waiting cases, in calling order.
    Waiting { day: &'a str },
    /// One department's waiting cases on a day, in calling order.
    WaitingIn { day: &'a str, department: &'a str },
    /// A day's waiting priority visitors, by id.
    PriorityWaiting { day: &'a str },
    /// A day's cases at the counters (called, serving, on hold), by id.
    AtCounters { day: &'a str },
    /// A day's cases still open at its close (waiting, transferred, called, on hold), by id.
    OpenAtClose { day: &'a str },
    /// Every case of a day, by id.
    Day { day: &'a str },
    /// The cases a deadline watches, whatever their day.
    Watched,
    /// A department's latest finished services, newest first.
    RecentServices { department: &'a str, limit: usize },
}

/// A number the rules need counted.
#[derive(Debug, Clone, Copy)]
pub enum CountQuery<'a> {
    /// Waiting cases of a department on a day (a read bounded by `LIMIT 1` is enough to tell
    /// none from some; the SQLite adapter answers 0 or 1).
    AnyoneWaiting {
        day: &'a str,
        department: &'a str,
    },
    /// Cases (of any day) a specialist owns, and cases of an item: what a hall file may not drop
    /// unnoticed. Whole-table reads, for `init` only.
    OwnedBy {
        staff: &'a str,
    },
    OfItem {
        item: &'a str,
    },
    /// Tickets of an item taken on a day at the kiosk or the counter (a daily quota's count;
    /// cases opened without a ticket, by phone or online, take none).
    ItemTickets {
        day: &'a str,
        item: &'a str,
    },
    /// Waiting cases of a department on a day ahead of (rank, position) in calling order.
    Ahead {
        day: &'a str,
        department: &'a str,
        rank: i64,
        position: i64,
    },
}

/// Grouped figures: rows of (key, sub, n, m).
#[derive(Debug, Clone, Copy)]
pub enum TallyQuery<'a> {
    /// Per department on a day: (department, "", waiting, of them priority).
    QueueSizes { day: &'a str },
    /// Per department and item on a day: (department, item, tickets issued, 0).
    IssuedToday { day: &'a str },
    /// A department's latest first calls on a day, newest first: ("", "", seq, priority rank).
    LatestCallRanks {
        day: &'a str,
        department: &'a str,
        limit: usize,
    },
}

/// One row of `TallyQuery`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub key: String,
    pub sub: String,
    pub n: i64,
    pub m: i64,
}

/// Events, in sequence order unless named otherwise.
#[derive(Debug, Clone, Copy)]
pub enum EventQuery<'a> {
    /// Events after a sequence number, at most `limit`.
    After { seq: i64, limit: usize },
    /// One event.
    Seq(i64),
    /// A case's events before a sequence number (`i64::MAX`: all of them).
    OfCase { case_id: i64, before: i64 },
    /// The call and recall events of a day, newest first, at most `limit`.
    RecentCalls { day: &'a str, limit: usize },
    /// Events stamped in [from, to) after sequence number `after`, at most `limit`, of these
    /// kinds (all kinds when empty): the office's periods, read in batches.
    Period {
        from: &'a str,
        to: &'a str,
        kinds: &'a [&'a str],
        after: i64,
        limit: usize,
    },
    /// The `day_closed` anchor of a business day, if any.
    DayClosed { day: &'a str },
    /// The latest call or recall at a window on a day.
    LastCallAt { day: &'a str, window: u32 },
}

/// The next id of a table the rules number themselves.
#[derive(Debug, Clone, Copy)]
pub enum IdOf<'a> {
    Case,
    Appointment,
    Feedback,
    /// A queue position after every ticket issued so far (today's and the highest case id's),
    /// for a case put back in line.
    QueuePosition {
        day: &'a str,
    },
}

/// A window's pause state row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRow {
    pub window: u32,
    pub paused: bool,
    pub staff: String,
    pub since: String,
}

/// A signature a console asked its window's pad for (`sql/017_suspension_and_signatures.sql`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequestRow {
    pub window: u32,
    pub case_id: i64,
    pub form: String,
    pub staff: String,
    pub at: String,
    /// The `signature_requested` event.
    pub seq: i64,
}

/// A specialist's PIN row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPin {
    pub staff: String,
    pub salt: String,
    pub pin_hash: String,
    pub failed: u32,
    pub locked_until: Option<String>,
}

/// A stored hall configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRow {
    pub id: i64,
    pub sha256: String,
    pub body: String,
}

/// An enrolled device (its token kept as SHA-256 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub name: String,
    pub role: String,
    pub token_sha256: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The one window a counter signs in at, when enrolled so.
    pub window: Option<u32>,
}

/// A specialist's session on a device at a window (its token kept as SHA-256 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub token_sha256: String,
    pub staff: String,
    pub device: String,
    pub window: u32,
    pub created_at: String,
    pub expires_at: String,
    pub ended_at: Option<String>,
}

/// An appointment (预约); the phone is a note, so it can be purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRow {
    pub id: i64,
    pub code: String,
    /// The salt of the code's hash in the booking event ("" for bookings before salts).
    pub code_salt: String,
    pub item: String,
    pub at: String,
    pub phone_note: Option<i64>,
    /// booked, checked_in, cancelled
    pub state: String,
    pub booked_at: String,
    pub case_id: Option<i64>,
}

/// A message to a visitor's phone in the outbox (`sql/016_outbox.sql`); the phone is a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    /// booked, reminder_day, reminder_hour, near, ready, notice
    pub kind: String,
    pub case_id: Option<i64>,
    pub appointment: Option<i64>,
    pub phone_note: i64,
    /// The words sent ("" while a watched message waits for its moment).
    pub text: String,
    pub due_at: String,
    /// watch, pending, sent, failed, dropped
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// A complaint or suggestion and its reply; their texts are notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    pub id: i64,
    pub kind: String,
    pub category: String,
    pub department: Option<String>,
    pub window: Option<u32>,
    pub staff: Option<String>,
    pub channel: String,
    pub text_note: Option<i64>,
    pub received_at: String,
    pub due: String,
    pub replied_at: Option<String>,
    pub reply_note: Option<i64>,
    pub replied_by: Option<String>,
}

/// Rows of the tables beside the cases (their projections).
#[derive(Debug, Clone)]
pub enum SideQuery<'a> {
    Window(u32),
    /// The signature waiting on a window's pad.
    SignRequest(u32),
    Pin(&'a str),
    /// The configuration in force (the latest), or the id only when `body` is false.
    Config {
        body: bool,
    },
    /// A configuration applied before, by its SHA-256 (the latest row with it).
    ConfigBySha(&'a str),
    Device(&'a str),
    DeviceByToken {
        token_sha256: &'a str,
    },
    /// Every device, by name.
    Devices,
    /// The hall of an enrolled, unrevoked device of another hall with this token, in a store
    /// that holds many halls (`SideRow::Hall`); a store of one hall has none.
    DeviceElsewhere {
        token_sha256: &'a str,
    },
    Session {
        token_sha256: &'a str,
    },
    Appointment(i64),
    /// The open appointment with a code, or else the newest used or cancelled one.
    AppointmentByCode(&'a str),
    /// Appointments timed in [from, to), in time order.
    Appointments {
        from: &'a str,
        to: &'a str,
    },
    Feedback(i64),
    /// Every complaint and suggestion by id, or only those without a reply.
    FeedbackAll {
        open: bool,
    },
    /// The last note before the first one written at or after a time: `SideRow::Note`.
    LastNoteBefore {
        at: &'a str,
    },
    /// Outbox messages in a state (watch, pending …), due at or before a time when given,
    /// oldest due first, at most `limit`.
    Messages {
        state: &'a str,
        due_by: Option<&'a str>,
        limit: usize,
    },
    /// One outbox message by id.
    Message(i64),
    /// The messages of a case (`Some`) or an appointment, by id.
    MessagesOf {
        case_id: Option<i64>,
        appointment: Option<i64>,
    },
}

/// What `SideQuery` answers.
#[derive(Debug, Clone)]
pub enum SideRow {
    Window(WindowRow),
    SignRequest(SignRequestRow),
    Pin(StoredPin),
    Config(ConfigRow),
    Device(DeviceRow),
    Session(SessionRow),
    Appointment(AppointmentRow),
    Feedback(FeedbackRow),
    Note(i64),
    Message(MessageRow),
    /// A hall's code.
    Hall(String),
}

/// Which sessions a write ends.
#[derive(Debug, Clone, Copy)]
pub enum SessionsOf<'a> {
    Token {
        token_sha256: &'a str,
    },
    /// Every open session of a specialist (their PIN changed).
    Staff(&'a str),
    Device(&'a str),
    DeviceAt {
        device: &'a str,
        window: u32,
    },
}

/// A write to a table beside the cases; the count of rows it changed comes back, so a
/// conditional write can tell it found nothing to change.
#[derive(Debug, Clone)]
pub enum SideWrite<'a> {
    Window(&'a WindowRow),
    /// A window's pad asked for a signature (replacing what it was asked before).
    SignRequest(&'a SignRequestRow),
    /// The window's request answered (signed), if it is still the one of event `seq`.
    SignRequestDone {
        window: u32,
        seq: i64,
    },
    /// A new PIN (salt and hash), failures cleared.
    PinSet {
        staff: &'a str,
        salt: &'a str,
        pin_hash: &'a str,
    },
    /// A PIN's stored hash replaced in place (an old-style hash upgraded at sign-in).
    PinRehash {
        staff: &'a str,
        pin_hash: &'a str,
    },
    /// The failure count and lock of a PIN.
    PinTries {
        staff: &'a str,
        failed: u32,
        locked_until: Option<&'a str>,
    },
    Config {
        sha256: &'a str,
        body: &'a str,
        at: &'a str,
    },
    /// A device enrolled (a revoked one's row taken over).
    Device(&'a DeviceRow),
    /// A device revoked, if it was not already.
    DeviceRevoked {
        name: &'a str,
        at: &'a str,
    },
    SessionStarted(&'a SessionRow),
    /// The open sessions named end.
    SessionsEnded {
        of: SessionsOf<'a>,
        at: &'a str,
    },
    Appointment(&'a AppointmentRow),
    /// A booked appointment checked in or cancelled, if it is still booked.
    AppointmentMoved {
        id: i64,
        state: &'a str,
        case_id: Option<i64>,
    },
    Feedback(&'a FeedbackRow),
    /// A complaint's reply, if it has none yet.
    FeedbackReplied {
        id: i64,
        at: &'a str,
        note: i64,
        by: &'a str,
    },
    /// The text of every note up to an id erased (its hash kept).
    NotesErased {
        up_to: i64,
    },
    /// The check-in codes (and their salts) of appointments no longer open whose slot was
    /// before a time: a used or cancelled code is of no further use to anyone.
    AppointmentCodesErased {
        before: &'a str,
    },
    /// A message put in the outbox, unless one of its kind is there for its case or
    /// appointment already (then nothing is written: a message is sent once).
    Message(&'a MessageRow),
    /// A message moved on: its state, text, next try, tries, error and when it was sent.
    MessageMoved(&'a MessageRow),
}

/// One transaction's view of the store: a write transaction's, or a read's.
pub trait StoreTx {
    /// Append one event to the chain (hash of the previous) and move the head; with the
    /// transaction's request, if it has one, recorded beside the first event.
    fn append(&self, at: &str, actor: &str, case_id: Option<i64>, body: &crate::model::EventBody) -> Result<Event>;
    /// The chain head: (sequence number, hash); (0, genesis) for an empty chain.
    fn head(&self) -> Result<(i64, String)>;
    fn events(&self, q: EventQuery<'_>) -> Result<Vec<Event>>;
    fn case(&self, key: CaseKey<'_>) -> Result<Option<Case>>;
    fn cases(&self, q: CaseQuery<'_>) -> Result<Vec<Case>>;
    /// Write a case (a new one when `old` is none), only if it is still in `old`'s state
    /// (`Conflict` otherwise), with the `calls` row its event makes.
    fn save_case(&self, old: Option<&Case>, new: &Case, call: Option<&CallRow>) -> Result<()>;
    fn count(&self, q: CountQuery<'_>) -> Result<i64>;
    fn tally(&self, q: TallyQuery<'_>) -> Result<Vec<Tally>>;
    /// The next number of a prefix on a business day (1, 2, …), gap-free.
    fn next_number(&self, day: &str, prefix: &str) -> Result<i64>;
    fn next_id(&self, of: IdOf<'_>) -> Result<i64>;
    /// Keep free text in the notes (purgeable; events keep its id and hash).
    fn add_note(&self, case_id: Option<i64>, kind: &str, text: &str, at: &str) -> Result<NoteRef>;
    /// A note (its text "" once purged), if it exists.
    fn note(&self, id: i64) -> Result<Option<Note>>;
    fn side(&self, q: SideQuery<'_>) -> Result<Vec<SideRow>>;
    fn put(&self, w: SideWrite<'_>) -> Result<usize>;
    /// The first outcome of a request id: (operation, sequence number of its first event).
    fn request(&self, id: &str) -> Result<Option<RequestRow>>;
}

/// A write transaction: everything in it lands together or not at all.
pub trait WriteTx: StoreTx {
    fn commit(self: Box<Self>) -> Result<()>;
}

/// A store: one writer at a time, reads beside it.
pub trait Store: Send {
    /// Begin a write transaction holding the store's write lock, for `request` if a client's
    /// request (with its id) asked for it.
    fn write(&mut self, request: Option<Request>) -> Result<Box<dyn WriteTx + '_>>;
    /// Read outside any write.
    fn read(&self) -> &dyn StoreTx;
}
