//! Time for the ledger: an injectable clock and the hall's business day, never the process TZ.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::sync::{Arc, Mutex};

/// Where the ledger reads the time; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(t: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = t;
        }
    }
    pub fn advance(&self, d: chrono::Duration) {
        if let Ok(mut g) = self.0.lock() {
            *g += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|g| *g).unwrap_or_else(|p| *p.into_inner())
    }
}

/// The clock the binaries use: `BANGBAN_NOW` (RFC 3339) pins it, for demos and contract tests.
/// A malformed value is refused by `Ledger::open` (see `check_env`), never taken as "now".
pub fn from_env() -> Arc<dyn Clock> {
    match env_time() {
        Ok(Some(t)) => Arc::new(ManualClock::new(t)),
        _ => Arc::new(SystemClock),
    }
}

/// `BANGBAN_NOW` when set: the pinned time, or why it cannot be read.
fn env_time() -> Result<Option<DateTime<Utc>>, String> {
    match std::env::var("BANGBAN_NOW") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err("BANGBAN_NOW is not valid text".into()),
        Ok(s) if s.is_empty() => Ok(None),
        Ok(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("BANGBAN_NOW {s:?} is not an RFC 3339 time such as 2026-11-25T09:00:00+08:00: {e}")),
    }
}

/// Refuse a malformed `BANGBAN_NOW`: running on the real clock instead would stamp a drill's
/// tickets with today's date without anyone noticing.
pub fn check_env() -> Result<(), String> {
    env_time().map(|_| ())
}

/// How far the clock may step back between two events before it is worth a log line: NTP
/// slews small errors away, but a wrong hardware clock at boot jumps by hours.
pub const STEP_BACK_TOLERANCE_SECS: i64 = 5;

static STEP_BACK_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Note a clock that went backwards (`now` earlier than the newest event's time), once per
/// process: the queue does not depend on it, but the times in the 台账 do.
pub fn note_step_back(now: DateTime<Utc>, last_event: DateTime<Utc>) -> bool {
    let back = last_event - now;
    if back.num_seconds() <= STEP_BACK_TOLERANCE_SECS {
        return false;
    }
    if !STEP_BACK_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            "the clock stepped back {} s: it says {} but the ledger already has an event at {}; \
             queue order follows issue order, times in the ledger may look out of order until the clock is fixed",
            back.num_seconds(),
            stamp(now),
            stamp(last_event)
        );
    }
    true
}

/// The business day of an instant in the hall's time zone.
pub fn business_day(now: DateTime<Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Timestamps are stored as UTC RFC 3339 with milliseconds, so they sort as text.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time typed by staff: RFC 3339 (`2026-11-27T15:00:00+08:00`), or `YYYY-MM-DD HH:MM` in
/// the hall's time zone.
pub fn parse_local_time(s: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").ok()?;
    naive.and_local_timezone(tz).single().map(|t| t.with_timezone(&Utc))
}

pub fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// A stamp as people read it: the hall's local time to the minute (YYYY-MM-DD HH:MM); `None`
/// when it is not a stamp.
pub fn local_minute(s: &str, tz: chrono_tz::Tz) -> Option<String> {
    parse_stamp(s).map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
}
