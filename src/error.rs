//! The ledger's error type: every failure a caller can act on, in plain lowercase words.

use crate::hall::HallErrors;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Another program held the write lock for longer than this connection's busy timeout.
    #[error(
        "the ledger is busy: another program held the write lock past the busy timeout; nothing was written, try again"
    )]
    Busy,
    #[error("the disk holding the ledger is full; nothing was written: free some space on it")]
    DiskFull,
    #[error("refusing the ledger: {0}")]
    NetworkFileSystem(String),
    #[error("cannot open the ledger {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "the ledger {path} has schema version {found}, newer than this program supports ({supported}); upgrade bangban"
    )]
    TooNew { path: String, found: i64, supported: i64 },
    #[error(
        "no ledger at {0} (missing or empty file): create it with `bangban init --hall FILE` on the ledger's host"
    )]
    NoLedger(String),
    #[error("the ledger {0} has no hall configuration yet: run `bangban init --hall FILE`")]
    NotInitialised(String),
    #[error("{0}")]
    Hall(#[from] HallErrors),
    #[error("unknown item code {0:?} (see `bangban items`)")]
    UnknownItem(String),
    #[error("unknown priority class {code:?} (valid codes: {known})")]
    UnknownPriority { code: String, known: String },
    #[error("unknown window {0}: no department of this hall is served there")]
    UnknownWindow(u32),
    #[error("unknown staff id {0:?}")]
    UnknownStaff(String),
    #[error("no case {0} today")]
    UnknownCase(String),
    #[error("no note {0}")]
    UnknownNote(i64),
    #[error("unknown department {0:?}")]
    UnknownDepartment(String),
    #[error("case {number}: cannot {action} while it is {state}")]
    IllegalTransition {
        number: String,
        state: String,
        action: String,
    },
    /// Another counter moved the case between our read and our write; nothing was written.
    #[error("case {0} was just changed by another counter; look at it again")]
    Conflict(String),
    /// A number is only ever today's: a past day's case is called by the number it takes
    /// when it comes back.
    #[error("case {number} holds a number of {day}: take it back first (`bangban case TOKEN return`) so it gets today's number")]
    PastDay { number: String, day: String },
    #[error("the business day {0} is already closed")]
    DayClosed(String),
    /// The hall issues tickets only on working days in its hours (`issue_only_in_hours`).
    #[error(
        "no tickets now: tickets are issued on working days from {open} until {last} (the hall closes at {close})"
    )]
    OutsideHours { open: String, last: String, close: String },
    /// The item's tickets for the day (`daily_quota`) are all issued.
    #[error("the {quota} tickets a day of item {item} are all issued today: come back on the next working day")]
    QuotaReached { item: String, quota: u32 },
    /// 首问负责制: the specialist who first served a case owns it; another specialist of the
    /// same department acts on it only after a handover.
    #[error("case {number} is {owner}'s (首问负责): {owner} or the department's coordinator hands it over first (`bangban case {number} handover --to STAFF`)")]
    NotOwner { number: String, owner: String },
    /// The case waits for the coordination meeting's outcome (协调中).
    #[error("case {0} is under coordination (协调中): the management office records the outcome first (`bangban case {0} resolve --outcome …`); meanwhile hold or transfer it")]
    UnderCoordination(String),
    /// A window serves one visitor at a time: the case it called (or serves) is settled —
    /// started and finished, recalled and marked a no-show, held, transferred — before the next.
    #[error("window {window} has {number} {state}: settle it first (finish it, recall it and mark a no-show, hold or transfer it), then call the next")]
    WindowBusy { window: u32, number: String, state: String },
    /// A whole-chain case is finished only when every department's part is done.
    #[error("case {number} has parts not yet done: {parts}; the lead department delivers when every part is done")]
    PartsPending { number: String, parts: String },
    /// An appointment's check-in code was refused: unknown, used, too early or expired.
    #[error("{detail}")]
    CodeRefused {
        refusal: crate::ledger::CodeRefusal,
        detail: String,
    },
    /// 好差评 is one rating per visit.
    #[error("case {0} has been rated already: one rating per visit")]
    AlreadyRated(String),
    /// A visit is rated once the counter has served it.
    #[error("case {0} has not been served yet: a visit is rated after the counter")]
    NotServed(String),
    #[error("nobody is waiting for window {0}")]
    NobodyWaiting(u32),
    #[error("window {0} is paused")]
    WindowPaused(u32),
    #[error("wrong PIN for staff {0:?} ({1} tries left before the login locks)")]
    WrongPin(String, u32),
    #[error("login for staff {0:?} is locked until {1} after too many wrong PINs")]
    LoginLocked(String, String),
    #[error("{0}")]
    Invalid(String),
    #[error("the ledger is damaged: {0}")]
    Corrupt(String),
    #[error("sqlite: {0}")]
    Sql(rusqlite::Error),
    /// The PostgreSQL store's own failure (a constraint, a query it could not run).
    #[error("postgresql: {0}")]
    Pg(String),
    /// The ledger's database cannot be reached or is not the primary any more (it failed
    /// over); nothing was written, and the next try connects again.
    #[error("the ledger's database cannot be reached: {0}; nothing was written, try again")]
    StoreDown(String),
    /// No device token, or one the server does not know (HTTP 401).
    #[error("not authorised: {0}")]
    Unauthorized(String),
    /// A device or specialist without the right to this operation (HTTP 403).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The server cannot be reached (down, network cut, timed out).
    #[error("the hall server cannot be reached: {0}")]
    Unreachable(String),
    #[error("too many requests from this address; try again in a minute")]
    RateLimited,
    /// A command that by nature runs where the ledger lives (`serve`, `init`, `restore` …)
    /// was asked of a remote hall.
    #[error("`bangban {0}` runs on the ledger's host only (it opens the ledger file itself): run it there with --db FILE, not with --server")]
    HostOnly(String),
    /// Any other error reported by the server, with its kind.
    #[error("{message}")]
    Remote { kind: ErrorKind, message: String },
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => LedgerError::Busy,
            Some(ErrorCode::DiskFull) => LedgerError::DiskFull,
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => LedgerError::Corrupt(e.to_string()),
            _ => LedgerError::Sql(e),
        }
    }
}

/// What kind of failure an error is: the one thing a program decides on (retry, show the
/// refusal, sign in again …). It travels over the wire as its snake_case name (`"busy"`,
/// `"window_busy"`, `"code_used"` …), the same strings since the first protocol version;
/// apps `match` on it and never compare the strings. A kind this build does not know (a newer
/// server) arrives as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Busy,
    DiskFull,
    Open,
    TooNew,
    NotInitialised,
    Hall,
    UnknownItem,
    UnknownPriority,
    UnknownWindow,
    UnknownStaff,
    UnknownCase,
    UnknownNote,
    UnknownDepartment,
    IllegalTransition,
    Conflict,
    NobodyWaiting,
    WindowPaused,
    PastDay,
    DayClosed,
    OutsideHours,
    QuotaReached,
    NotOwner,
    WindowBusy,
    UnderCoordination,
    PartsPending,
    AlreadyRated,
    NotServed,
    CodeUnknown,
    CodeUsed,
    CodeEarly,
    CodeExpired,
    WrongPin,
    LoginLocked,
    Invalid,
    Corrupt,
    Internal,
    Unauthorized,
    Forbidden,
    Unreachable,
    RateLimited,
    /// The command runs only on the ledger's host (`serve`, `init`, `restore` …).
    HostOnly,
    /// The server answered with something that is not the protocol (a proxy's error page).
    Http,
    #[serde(other)]
    Other,
}

impl ErrorKind {
    /// The wire name (`"window_busy"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Busy => "busy",
            ErrorKind::DiskFull => "disk_full",
            ErrorKind::Open => "open",
            ErrorKind::TooNew => "too_new",
            ErrorKind::NotInitialised => "not_initialised",
            ErrorKind::Hall => "hall",
            ErrorKind::UnknownItem => "unknown_item",
            ErrorKind::UnknownPriority => "unknown_priority",
            ErrorKind::UnknownWindow => "unknown_window",
            ErrorKind::UnknownStaff => "unknown_staff",
            ErrorKind::UnknownCase => "unknown_case",
            ErrorKind::UnknownNote => "unknown_note",
            ErrorKind::UnknownDepartment => "unknown_department",
            ErrorKind::IllegalTransition => "illegal_transition",
            ErrorKind::Conflict => "conflict",
            ErrorKind::NobodyWaiting => "nobody_waiting",
            ErrorKind::WindowPaused => "window_paused",
            ErrorKind::PastDay => "past_day",
            ErrorKind::DayClosed => "day_closed",
            ErrorKind::OutsideHours => "outside_hours",
            ErrorKind::QuotaReached => "quota_reached",
            ErrorKind::NotOwner => "not_owner",
            ErrorKind::WindowBusy => "window_busy",
            ErrorKind::UnderCoordination => "under_coordination",
            ErrorKind::PartsPending => "parts_pending",
            ErrorKind::AlreadyRated => "already_rated",
            ErrorKind::NotServed => "not_served",
            ErrorKind::CodeUnknown => "code_unknown",
            ErrorKind::CodeUsed => "code_used",
            ErrorKind::CodeEarly => "code_early",
            ErrorKind::CodeExpired => "code_expired",
            ErrorKind::WrongPin => "wrong_pin",
            ErrorKind::LoginLocked => "login_locked",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Internal => "internal",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::HostOnly => "host_only",
            ErrorKind::Http => "http",
            ErrorKind::Other => "other",
        }
    }

    /// An appointment code refused for one of the four reasons.
    pub fn is_code_refusal(self) -> bool {
        matches!(
            self,
            ErrorKind::CodeUnknown | ErrorKind::CodeUsed | ErrorKind::CodeEarly | ErrorKind::CodeExpired
        )
    }

    /// The HTTP status the server answers this kind with (the only place statuses are chosen).
    pub fn http_status(self) -> u16 {
        use ErrorKind::*;
        match self {
            Unauthorized => 401,
            Forbidden | WrongPin | LoginLocked | HostOnly => 403,
            RateLimited => 429,
            UnknownCase | UnknownNote => 404,
            Busy | DiskFull | Unreachable => 503,
            Internal | Corrupt | Open | TooNew | NotInitialised | Http | Other => 500,
            IllegalTransition | WindowPaused | Conflict | PastDay | DayClosed | OutsideHours | QuotaReached
            | NotOwner | WindowBusy | UnderCoordination | PartsPending | AlreadyRated | NotServed => 409,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Kiosks and consoles already in halls send and read these names: they must not change,
    /// and a kind a newer server invents must still be read (as `Other`), not fail the reply.
    #[test]
    fn error_kinds_travel_as_their_snake_case_names_and_unknown_ones_arrive_as_other() {
        for (kind, name) in [
            (ErrorKind::Busy, "busy"),
            (ErrorKind::WindowBusy, "window_busy"),
            (ErrorKind::CodeUsed, "code_used"),
            (ErrorKind::NotInitialised, "not_initialised"),
            (ErrorKind::AlreadyRated, "already_rated"),
            (ErrorKind::HostOnly, "host_only"),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::from_value::<ErrorKind>(name.into()).unwrap(), kind);
        }
        let newer: ErrorKind = serde_json::from_value("a_kind_from_a_newer_server".into()).unwrap();
        assert_eq!(newer, ErrorKind::Other);
        // Every kind's name reads back as itself.
        for kind in [
            ErrorKind::DiskFull,
            ErrorKind::PastDay,
            ErrorKind::PartsPending,
            ErrorKind::NotServed,
            ErrorKind::RateLimited,
            ErrorKind::Unreachable,
        ] {
            assert_eq!(serde_json::from_value::<ErrorKind>(kind.as_str().into()).unwrap(), kind);
        }
    }

    #[test]
    fn a_refusal_by_the_rules_is_a_conflict_and_a_missing_token_is_unauthorised() {
        assert_eq!(ErrorKind::WindowBusy.http_status(), 409);
        assert_eq!(ErrorKind::AlreadyRated.http_status(), 409);
        assert_eq!(ErrorKind::Unauthorized.http_status(), 401);
        assert_eq!(ErrorKind::HostOnly.http_status(), 403);
        assert_eq!(ErrorKind::UnknownCase.http_status(), 404);
        assert_eq!(ErrorKind::Busy.http_status(), 503);
    }
}
