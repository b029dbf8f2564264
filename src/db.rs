//! SQLite plumbing: opening with the ledger's pragmas, migrations keyed on `user_version`,
//! and immediate write transactions.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{LedgerError, Result};

/// The migrations, in order; migration N brings the schema to `user_version` N.
const MIGRATIONS: &[&str] = &[
    include_str!("../sql/001_schema.sql"),
    include_str!("../sql/002_queue_by_issue_order.sql"),
    include_str!("../sql/003_devices_sessions_requests.sql"),
    include_str!("../sql/004_calls.sql"),
    include_str!("../sql/005_daily_close.sql"),
    include_str!("../sql/006_signed_in_sessions.sql"),
    include_str!("../sql/007_appointments_feedback.sql"),
    include_str!("../sql/008_watched_cases.sql"),
    include_str!("../sql/009_office_role_and_indexes.sql"),
    include_str!("../sql/010_request_bodies.sql"),
    include_str!("../sql/011_note_salts.sql"),
    include_str!("../sql/012_appointment_code_salts.sql"),
    include_str!("../sql/013_counter_windows.sql"),
    include_str!("../sql/014_watched_coordination.sql"),
    include_str!("../sql/015_pad_role.sql"),
    include_str!("../sql/016_outbox.sql"),
    include_str!("../sql/017_suspension_and_signatures.sql"),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The longest wait for another program's write lock: beyond ten minutes a caller is better
/// told that something holds the ledger.
pub const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(600);

/// Open (creating if needed) and migrate the ledger at `path`. Refuses a network file system;
/// reports a full disk as `DiskFull`, whatever SQLite called it.
pub fn open(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    if let Some(why) = crate::disk::refuse_network(path) {
        return Err(LedgerError::NetworkFileSystem(why));
    }
    open_local(path, busy_timeout).map_err(|e| match e {
        LedgerError::Open { .. } | LedgerError::Sql(_) | LedgerError::Corrupt(_) if crate::disk::is_full(path) => {
            LedgerError::DiskFull
        }
        e => e,
    })
}

fn open_local(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| LedgerError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| LedgerError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if busy_timeout > MAX_BUSY_TIMEOUT {
        return Err(LedgerError::Invalid(format!(
            "a busy timeout of {} ms is too long (at most {} ms)",
            busy_timeout.as_millis(),
            MAX_BUSY_TIMEOUT.as_millis()
        )));
    }
    conn.busy_timeout(busy_timeout)?;
    // WAL lets readers (the wall board) run beside the writer; FULL makes every commit durable
    // across power loss, which a ledger that must never lose a ticket needs.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::Open {
            path: path.display().to_string(),
            reason: format!("cannot switch to WAL (journal mode is {mode})"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
            path: path.display().to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = immediate(conn)?;
    // Another process may have migrated while we waited for the lock.
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

/// Start a write transaction that takes the write lock at once, so two writers never both read
/// and then collide on upgrade (which SQLite reports as "database is locked" with no retry).
pub fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    restart_log_if_large(conn);
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// When the write-ahead log has passed `WAL_RESTART_AT`, the writer itself starts it over
/// before its next transaction. The checkpointer's own attempt cannot get the write lock from
/// a writer that commits back to back (the history generator, the server at many times a busy
/// morning's rate), but the writer, between two of its transactions, is in nobody's way but a
/// reader's. Readers that started before the last frame was copied back still read the log;
/// the attempt waits for them at most `RESTART_WAIT` (a console's read takes a millisecond;
/// `RESTART_WAIT_URGENT`, before every write, once the log is past four times the mark),
/// holding off the next write that long, and when a long read (a year's report) is in the way
/// it gives up and is tried again only after `RESTART_RETRY`. The wait happens only past
/// 32 MB of log: at a hall's pace that is minutes of writes, more than a report takes.
fn restart_log_if_large(conn: &Connection) {
    // When to try next, per ledger file: one program may hold several ledgers (the tests do),
    // and one's long read must not put off another's restart.
    static NEXT_TRY: std::sync::Mutex<Option<std::collections::HashMap<String, std::time::Instant>>> =
        std::sync::Mutex::new(None);
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return;
    };
    let restart_at = RESTART_AT.load(std::sync::atomic::Ordering::Relaxed);
    let size = wal_size(Path::new(path));
    if size <= restart_at {
        return;
    }
    // Far past the mark (the checkpointer or readers kept getting in the way), the writer
    // tries before every write and waits longer: the log's growth is bounded by how long a
    // reader can hold it, not by luck.
    let urgent = size > restart_at.saturating_mul(4);
    let now = std::time::Instant::now();
    if !urgent {
        let next = NEXT_TRY.lock().unwrap_or_else(|p| p.into_inner());
        if next.as_ref().and_then(|m| m.get(path)).is_some_and(|t| now < *t) {
            return;
        }
    }
    let Ok(waited) = conn.query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0)) else {
        return;
    };
    if conn
        .busy_timeout(if urgent { RESTART_WAIT_URGENT } else { RESTART_WAIT })
        .is_err()
    {
        return;
    }
    let busy = match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)) {
        Ok(b) => b != 0,
        Err(e) => {
            tracing::debug!("starting the write-ahead log over: {e}");
            true
        }
    };
    let _ = conn.busy_timeout(Duration::from_millis(waited.max(0) as u64));
    let mut next = NEXT_TRY.lock().unwrap_or_else(|p| p.into_inner());
    next.get_or_insert_with(Default::default).insert(
        path.to_string(),
        std::time::Instant::now() + if busy { RESTART_RETRY } else { RESTART_AGAIN },
    );
}

/// How long the writer waits for readers to leave the log before starting it over.
const RESTART_WAIT: Duration = Duration::from_millis(5);
/// The same, once the log is past four times the mark.
const RESTART_WAIT_URGENT: Duration = Duration::from_millis(50);
/// After a restart the log is small: the next check comes soon (a writer that never pauses).
const RESTART_AGAIN: Duration = Duration::from_millis(10);
/// After a long read was in the way: the next try, so the writers are not held up each time.
const RESTART_RETRY: Duration = Duration::from_millis(50);

/// Execute a statement through the connection's statement cache: the hot paths run the same
/// few statements thousands of times a day, and compiling SQL each time costs more than running it.
pub fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// Query one row through the statement cache.
pub fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<T> {
    Ok(conn.prepare_cached(sql)?.query_row(params, f)?)
}

/// Copies the write-ahead log back into the database file on a thread and connection of its
/// own, so no commit pays for it. With SQLite's automatic checkpoint, about one commit in a
/// hundred did the copying itself, and on a year-sized file (3.5 GB, pages far apart) that
/// commit took 4.6 ms instead of 0.2 ms (`cargo bench --bench history`). A passive checkpoint
/// never blocks writers or readers; when another program is checkpointing, this one just tries
/// again a moment later.
///
/// A passive checkpoint alone does not bound the log: SQLite starts the log over only when a
/// writer begins while every frame is already copied back, and under continuous writes that
/// moment never comes (the history bench's generator grew a 73.8 GB log). So once the log
/// passes `WAL_RESTART_AT`, the checkpointer asks for a TRUNCATE checkpoint without waiting
/// (busy timeout zero): it takes the write lock only between two transactions, copies the few
/// frames written since the last pass and empties the file, and gives up at once, to try again
/// next pass, when a writer or a reader is in the way. A log still over `WAL_CAP` is said once
/// in the program's log with what holds it.
pub struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// How often the checkpointer copies the log back.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// Past this size the checkpointer starts the log over (a TRUNCATE checkpoint).
pub const WAL_RESTART_AT: u64 = 32 << 20;
/// The size past which writers start the log over (`WAL_RESTART_AT`; tests lower it).
static RESTART_AT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(WAL_RESTART_AT);
/// The log's bound: past it something holds the log (a long read) and the log says so.
pub const WAL_CAP: u64 = 256 << 20;

/// The size of the write-ahead log beside `db` (0 when there is none).
pub fn wal_size(db: &Path) -> u64 {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    std::fs::metadata(Path::new(&name)).map(|m| m.len()).unwrap_or(0)
}

impl Checkpointer {
    /// Start checkpointing `path` in the background; None when a second connection cannot be
    /// opened (the caller then keeps SQLite's automatic checkpoint).
    pub fn start(path: &Path) -> Option<Checkpointer> {
        Checkpointer::start_with(path, WAL_RESTART_AT)
    }

    /// `start` with the size past which the log is started over (tests use a small one).
    #[doc(hidden)]
    pub fn start_with(path: &Path, restart_at: u64) -> Option<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        conn.busy_timeout(Duration::ZERO).ok()?;
        let path = path.to_path_buf();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                let mut over_cap = false;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::debug!("background checkpoint: {e}");
                    }
                    let size = wal_size(&path);
                    if size <= restart_at {
                        over_cap = false;
                        continue;
                    }
                    // (busy, frames in the log, frames copied back): busy when a writer or a
                    // reader kept the log from being started over this time.
                    let busy = conn
                        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0))
                        .unwrap_or(1);
                    let size = wal_size(&path);
                    if busy != 0 && size > WAL_CAP && !over_cap {
                        over_cap = true;
                        tracing::warn!(
                            "write-ahead log {}-wal is {} MB, over its {} MB bound: a long read (a report, a backup, verify) holds it; it is emptied as soon as that read ends",
                            path.display(),
                            size >> 20,
                            WAL_CAP >> 20
                        );
                    } else if size <= WAL_CAP {
                        over_cap = false;
                    }
                }
            })
            .ok()?;
        Some(Checkpointer {
            stop: Some(stop),
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Whether a database holds a ledger's event log (the `events` and `chain_head` tables): read
/// only, so a file that is not a ledger is told apart without a schema being written into it.
pub(crate) fn has_event_log(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'chain_head')",
        [],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes small transactions back to back for `secs`, as the history generator and the
    /// server at many times a busy morning's rate do; returns the log's largest size seen.
    fn continuous_writes(restart_at: u64, secs: f64) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.sqlite3");
        let mut conn = open_local(&path, Duration::from_secs(5)).unwrap();
        conn.pragma_update(None, "synchronous", "OFF").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (b BLOB)").unwrap();
        let _c = Checkpointer::start_with(&path, restart_at).unwrap();
        RESTART_AT.store(restart_at, std::sync::atomic::Ordering::Relaxed);
        let blob = vec![7u8; 4096];
        let mut peak = 0;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs_f64(secs) {
            let tx = immediate(&mut conn).unwrap();
            tx.execute("INSERT INTO t (b) VALUES (?1)", [&blob]).unwrap();
            tx.commit().unwrap();
            peak = peak.max(wal_size(&path));
        }
        RESTART_AT.store(WAL_RESTART_AT, std::sync::atomic::Ordering::Relaxed);
        peak
    }

    #[test]
    fn the_write_ahead_log_stays_bounded_under_continuous_writes() {
        // The log is started over once it passes 2 MB, whatever the writer does: it stays
        // within a small multiple of that (the hall's 32 MB restart keeps it under its 256 MB
        // bound by the same margin), even on a machine busy with other work.
        let peak = continuous_writes(2 << 20, 3.0);
        assert!(peak < 32 << 20, "the log reached {} MB", peak >> 20);
        // Without the restart the same writes grow it with every commit (the control: a
        // passive checkpoint alone never catches a writer that never pauses).
        let grown = continuous_writes(u64::MAX, 0.5);
        assert!(grown > 64 << 20, "passive only: {} MB", grown >> 20);
    }
}
