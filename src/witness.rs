//! Witness files: chain heads a client has seen, kept outside the ledger file, so a rewrite of
//! the whole log (every hash recomputed) or a tail cut together with the chain head is caught
//! by `bangban verify --witness FILE`.
//!
//! The file is plain text, one head a line: `SEQ HASH AT` (AT is when it was seen, RFC 3339),
//! after a `#` header line. It stays small: past `MAX_LINES` every other older line is dropped,
//! so old heads thin out while the newest stay dense.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, Result};

/// The most lines a witness file keeps.
pub const MAX_LINES: usize = 256;
/// How often a client writes a new head down (a busy hall commits many times a second).
pub const EVERY: Duration = Duration::from_secs(30);

const HEADER: &str =
    "# bangban witness: chain heads seen (seq hash seen-at); check with `bangban verify --witness FILE`";

/// One head as the chain had it: the event `seq` had hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// A witnessed head, with the file line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    pub line: usize,
    pub seq: i64,
    pub hash: String,
    pub at: String,
}

/// A client's witness file.
pub struct Witness {
    path: PathBuf,
    last: Option<Instant>,
    last_seq: i64,
}

impl Witness {
    pub fn new(path: impl Into<PathBuf>) -> Witness {
        Witness {
            path: path.into(),
            last: None,
            last_seq: -1,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a head should be fetched and written now (at most every `EVERY`).
    pub fn due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= EVERY)
    }

    /// Write a head down when it is new; the file is replaced atomically, so a power cut
    /// leaves the old or the new file, never half of one.
    pub fn observe(&mut self, head: &ChainHead, at: &str) -> Result<()> {
        self.last = Some(Instant::now());
        if head.seq <= self.last_seq || head.seq <= 0 {
            return Ok(());
        }
        let mut lines = match read(&self.path) {
            Ok(l) => l,
            // A witness file that cannot be read is not thrown away: it may be the evidence.
            Err(e) if self.path.exists() => return Err(e),
            Err(_) => vec![],
        };
        if lines.last().is_some_and(|l| l.seq >= head.seq) {
            self.last_seq = head.seq;
            return Ok(());
        }
        lines.push(Witnessed {
            line: 0,
            seq: head.seq,
            hash: head.hash.clone(),
            at: at.to_string(),
        });
        if lines.len() > MAX_LINES {
            let half = lines.len() / 2;
            let old: Vec<Witnessed> = lines
                .drain(..half)
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, w)| w)
                .collect();
            lines.splice(0..0, old);
        }
        let mut text = String::from(HEADER);
        text.push('\n');
        for w in &lines {
            text.push_str(&format!("{} {} {}\n", w.seq, w.hash, w.at));
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error(&self.path, e))?;
        }
        // A temporary name of this process's and this write's own: every program's witness
        // file sits beside the ledger, and one shared temporary name had parallel commands
        // renaming each other's half-written files away.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(
            ".{}-{}.partial",
            std::process::id(),
            WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io_error(&self.path, e)
            })?;
        self.last_seq = head.seq;
        Ok(())
    }
}

fn io_error(path: &Path, e: std::io::Error) -> LedgerError {
    LedgerError::Invalid(format!("witness file {}: {e}", path.display()))
}

/// Read a witness file; a malformed line is an error naming the file, line and field.
pub fn read(path: &Path) -> Result<Vec<Witnessed>> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad =
            |field: &str, why: &str| LedgerError::Invalid(format!("{}:{line_no}: {field}: {why}", path.display()));
        let mut parts = line.split_whitespace();
        let seq = parts
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s > 0)
            .ok_or_else(|| bad("seq", "not a positive sequence number"))?;
        let hash = parts
            .next()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| bad("hash", "not a SHA-256 in hex"))?;
        let at = parts.next().unwrap_or("").to_string();
        out.push(Witnessed {
            line: line_no,
            seq,
            hash: hash.to_ascii_lowercase(),
            at,
        });
    }
    Ok(out)
}

/// The default witness file of a program: beside the ledger it follows (`--db`), or in the
/// user's data directory for a hall server (one file per server address).
pub fn default_path(program: &str, db: Option<&Path>, server: Option<&str>) -> PathBuf {
    // A PostgreSQL hall (a URL where the ledger file would be) is witnessed like a server: in
    // the data directory, named after the URL without its password.
    let pg = db
        .and_then(|d| d.to_str())
        .filter(|d| crate::ledger::is_pg_url(d))
        .map(crate::ledger::pg::masked);
    match (server.or(pg.as_deref()), db) {
        (Some(url), _) => {
            let name: String = url
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_start_matches("postgres://")
                .trim_start_matches("postgresql://")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("bangban")
                .join(format!("witness-{program}-{name}.txt"))
        }
        (None, Some(db)) => {
            let mut p = db.as_os_str().to_owned();
            p.push(format!(".witness-{program}"));
            PathBuf::from(p)
        }
        (None, None) => PathBuf::from(format!("witness-{program}.txt")),
    }
}

/// A program's witness: `BANGBAN_WITNESS` when set, else its default path.
pub fn for_program(program: &str, db: Option<&Path>, server: Option<&str>) -> Witness {
    match std::env::var_os("BANGBAN_WITNESS").filter(|p| !p.is_empty()) {
        Some(p) => Witness::new(PathBuf::from(p)),
        None => Witness::new(default_path(program, db, server)),
    }
}

/// Fetch the chain head through the client and write it down, when due. Failures are logged,
/// never raised: a witness must not stop a kiosk or a board.
pub fn keep(w: &mut Witness, client: &mut dyn crate::api::HallClient) {
    if !w.due() {
        return;
    }
    let now = crate::clock::stamp(crate::clock::from_env().now());
    let done = client.chain_head().and_then(|h| w.observe(&h, &now));
    if let Err(e) = done {
        w.last = Some(Instant::now());
        tracing::warn!("cannot keep the witness file {}: {e}", w.path.display());
    }
}
