//! bangban: the shared ledger of a citizen service hall (帮办代办) — hall configuration, cases
//! and their hash-chained event log, queries and reports. Knows nothing of screens or printers.

pub mod access;
pub mod api;
pub mod attachments;
pub mod chain;
pub mod clock;
pub mod connect;
pub mod db;
pub mod demo_day;
pub mod disk;
pub mod error;
pub mod font;
pub mod forms;
pub mod hall;
pub mod host;
pub mod ledger;
pub mod limits;
pub mod local;
pub mod model;
pub mod notify;
pub mod ops;
pub mod pin;
pub mod principal;
pub mod remote;
pub mod restore;
pub mod signature;
pub mod store;
pub mod tls;
pub mod visitors;
pub mod witness;

pub use chain::{Event, Finding, FindingKind, VerifyReport};
pub use error::{ErrorKind, LedgerError, Result};
pub use hall::{mask_phone, Hall, HallErrors, HallIssue};
pub use ledger::{
    add_working_days, announcement, Appointment, CallRequest, Called, CaseAction, CodeRefusal, DayClose, DayReport,
    Feedback, FeedbackKind, FigureLine, Figures, HourFigures, IssueRequest, Ledger, LedgerOptions, NewFeedback,
    OpenCase, PadView, PinChecked, PinRecord, RatingRecord, RecordKind, RecordRow, SignAsk, SignedForm, Ticket,
    WaitingEntry, FEEDBACK_CATEGORIES, RATING_LEVELS, RATING_REASONS,
};
pub use model::{Case, CaseState, Channel, EventBody, Mode};

/// The demo hall shipped with the program, so a fresh kiosk starts on something real.
pub const DEMO_HALL: &str = include_str!("../examples/demo-hall.toml");

/// The default ledger path: `$BANGBAN_DB`, else the per-user data directory.
pub fn default_db_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("BANGBAN_DB").filter(|p| !p.is_empty()) {
        return p.into();
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("bangban")
        .join("ledger.sqlite3")
}

/// Open a ledger that a hall already set up with `bangban init`. A missing, empty or
/// unconfigured file is refused rather than created: a program that quietly started a new
/// ledger would restart the day's numbering at A001 beside the real one.
pub fn open_existing(path: &std::path::Path, opts: LedgerOptions) -> Result<Ledger> {
    if !ledger::ledger_exists(path) {
        return Err(LedgerError::NoLedger(path.display().to_string()));
    }
    let ledger = Ledger::open(path, opts)?;
    if !ledger.is_initialised()? {
        return Err(LedgerError::NotInitialised(ledger.shown_path()));
    }
    Ok(ledger)
}

/// Open a ledger for `verify`, which must never write: an empty file, or one without the
/// ledger's event log, is an error here, not a fresh schema (which would then "verify").
pub fn open_to_verify(path: &std::path::Path, opts: LedgerOptions) -> Result<Ledger> {
    if ledger::pg_at(path)?.is_some() {
        return open_existing(path, opts);
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size == 0 {
        return Err(LedgerError::NoLedger(path.display().to_string()));
    }
    let probe = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| db::has_event_log(&c));
    match probe {
        Ok(true) => open_existing(path, opts),
        Ok(false) => Err(LedgerError::Corrupt(format!(
            "{} is not a ledger: it has no event log",
            path.display()
        ))),
        Err(e) => Err(LedgerError::Corrupt(e.to_string())),
    }
}

/// Open a ledger, applying the demo hall when it has no configuration yet (demos and tests).
pub fn open_or_demo(path: &std::path::Path, opts: LedgerOptions, actor: &str) -> Result<Ledger> {
    // A PostgreSQL URL that names its hall registers it: the demo's own hall in the database.
    let register = ledger::pg_at(path)?.and_then(|at| at.hall);
    let mut ledger = Ledger::open_registering(path, opts, register.as_deref())?;
    if !ledger.is_initialised()? {
        let hall = Hall::from_toml(DEMO_HALL, "examples/demo-hall.toml")?;
        ledger.configure(&hall, actor, "demo-hall")?;
    }
    Ok(ledger)
}
