//! Restoring a backup over the ledger file: refuse while any program has it open, verify the
//! copy first, keep the replaced file aside, and never let a stale write-ahead log meet it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::chain::{self, VerifyReport};
use crate::error::{LedgerError, Result};

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub ledger: PathBuf,
    pub from: PathBuf,
    /// Where the ledger that was replaced now is (none when there was no ledger).
    pub replaced: Option<PathBuf>,
    pub report: VerifyReport,
}

/// The files SQLite keeps beside a ledger while a program has it open (write-ahead mode).
fn companions(ledger: &Path) -> [PathBuf; 2] {
    let side = |ext: &str| {
        let mut p = ledger.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    [side("-wal"), side("-shm")]
}

/// `path` with every symlink resolved (of its directory, when the file does not exist yet).
fn real_path(path: &Path) -> Result<PathBuf> {
    let open_err = |p: &Path, e: std::io::Error| LedgerError::Open {
        path: p.display().to_string(),
        reason: format!("cannot resolve the path: {e}"),
    };
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_err() => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path.file_name().ok_or_else(|| open_err(path, e))?;
            Ok(std::fs::canonicalize(dir).map_err(|e| open_err(dir, e))?.join(name))
        }
        // A dangling link names no file to replace.
        Err(e) => Err(open_err(path, e)),
    }
}

/// A process other than this one with `ledger` (or its `-wal`/`-shm`) open, by pid and
/// name: seen in `/proc/*/fd` (Linux); None elsewhere or when none is.
fn holder_of(ledger: &Path) -> Option<(u32, String)> {
    let mine = std::process::id();
    let wanted: Vec<PathBuf> = std::iter::once(ledger.to_path_buf())
        .chain(companions(ledger))
        .collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == mine {
            continue;
        }
        // Processes of other users cannot be looked into; those that can are enough for
        // every bangban program run as the hall's service user.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if wanted.contains(&target) {
                    let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                    return Some((pid, name.trim().to_string()));
                }
            }
        }
    }
    None
}

/// Verify a ledger file without writing to it (no journal switch, no migration).
pub fn verify_read_only(path: &Path) -> Result<VerifyReport> {
    let size = std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| LedgerError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    if size == 0 {
        return Err(LedgerError::NoLedger(path.display().to_string()));
    }
    let mut conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    if !crate::db::has_event_log(&conn)? {
        return Err(LedgerError::Corrupt(format!(
            "{} is not a ledger: it has no event log",
            path.display()
        )));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != crate::db::SCHEMA_VERSION {
        return Err(LedgerError::Invalid(format!(
            "{} has schema version {version}, this program {}: restore it with the bangban version that wrote it, then upgrade",
            path.display(),
            crate::db::SCHEMA_VERSION
        )));
    }
    chain::verify(&mut conn)
}

/// Put `backup` in place of `ledger`. Every program must have closed the ledger first (SIGTERM
/// to each; they close it cleanly): a `-wal` or `-shm` beside it means one has not, or one was
/// cut off by a crash, and then nothing is touched. The backup is verified before anything
/// moves; the old ledger is renamed aside, never deleted; the copy is written beside, synced
/// and renamed into place, so a power cut leaves the old file or the new one.
pub fn restore(backup: &Path, ledger: &Path, stamp: &str) -> Result<Restored> {
    if let Some(at) = crate::ledger::pg_at(ledger)? {
        // A database's hall is not a file to put another in place of: its history goes on
        // in the database (and its standby). A backup goes in as a hall of its own.
        return Err(LedgerError::Invalid(format!(
            "{} is a hall in a PostgreSQL database, not a ledger file: restore puts a file in place of a file. Move the backup in as a new hall with `bangban migrate --from {} --to URL?hall=NEW-CODE`, or restore the database with PostgreSQL's own tools",
            at.shown(),
            backup.display()
        )));
    }
    // The real file, through any symlink: a running server holds the file a link points at,
    // and replacing the link would leave it writing the old file (numbers issued twice after
    // its restart).
    let ledger = &real_path(ledger)?;
    for c in companions(ledger) {
        if c.exists() {
            return Err(LedgerError::Invalid(format!(
                "{} exists: a program still has the ledger open (or was killed without closing it); stop every bangban program (SIGTERM) and, if it stays, open the ledger once with `bangban verify` to fold it in",
                c.display()
            )));
        }
    }
    if let Some((pid, name)) = holder_of(ledger) {
        return Err(LedgerError::Invalid(format!(
            "{} is open in process {pid} ({name}): a program still has the ledger open; stop it (SIGTERM) before restoring",
            ledger.display()
        )));
    }
    if companions(backup).iter().any(|c| c.exists()) {
        return Err(LedgerError::Invalid(format!(
            "{} is in use by a program (its -wal or -shm is beside it); restore from a closed copy",
            backup.display()
        )));
    }
    let checked = verify_read_only(backup)?;
    if !checked.ok {
        return Err(LedgerError::Corrupt(format!(
            "the backup {} does not verify: {}",
            backup.display(),
            checked.problem.unwrap_or_default()
        )));
    }
    let dir = ledger
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = ledger
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let io = |what: &str, p: &Path, e: std::io::Error| LedgerError::Open {
        path: p.display().to_string(),
        reason: format!("{what}: {e}"),
    };
    // Copy first, beside the ledger (the same file system, so the rename is atomic).
    let tmp = dir.join(format!("{name}.restoring"));
    std::fs::copy(backup, &tmp).map_err(|e| io("cannot copy the backup", &tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot sync the copy", &tmp, e))?;
    let replaced = if ledger.exists() {
        let aside = dir.join(format!("{name}.replaced-{stamp}"));
        if aside.exists() {
            let _ = std::fs::remove_file(&tmp);
            return Err(LedgerError::Invalid(format!("{} already exists", aside.display())));
        }
        std::fs::rename(ledger, &aside).map_err(|e| io("cannot move the ledger aside", ledger, e))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&tmp, ledger).map_err(|e| io("cannot put the copy in place", ledger, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let report = verify_read_only(ledger)?;
    Ok(Restored {
        ledger: ledger.to_path_buf(),
        from: backup.to_path_buf(),
        replaced,
        report,
    })
}
