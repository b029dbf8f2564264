//! What the CLI writes: text lines and JSON objects on standard output, and the error that
//! ends a command with its exit code.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

/// Print a line to standard output. When the reader has gone away (`bangban report | head`)
/// the program stops quietly with the shell's broken-pipe status instead of panicking.
macro_rules! say {
    ($($t:tt)*) => { $crate::out::emit(&format!($($t)*)) };
}
pub(crate) use say;

pub fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
        stdout_failed(&e);
    }
}

/// Standard output cannot be written: a closed pipe ends the program as `head` expects, any
/// other failure (a full disk behind a redirect) is an error.
fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(BROKEN_PIPE_EXIT);
    }
    eprintln!("bangban: cannot write to standard output: {e}");
    std::process::exit(1);
}

/// The status a shell reports for a program ended by SIGPIPE (128 + 13).
pub const BROKEN_PIPE_EXIT: i32 = 141;

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(
                |ce| matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe),
            )
    })
}

/// An error with the exit code it maps to: 1 for a failure, 2 for a usage error, 3 when
/// nobody waits to be called.
pub struct Exit(pub u8, pub anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Exit {
    fn from(e: E) -> Self {
        Exit(1, e.into())
    }
}

impl Exit {
    /// A request the ledger found invalid (a period, a purge date, a backup that does not
    /// fit) is the caller's mistake: exit 2; any other error exits 1.
    pub fn usage_if_invalid<T>(r: bangban::Result<T>) -> Result<T, Exit> {
        match r {
            Err(e) if e.kind() == bangban::ErrorKind::Invalid => Err(Exit::usage(e)),
            r => Ok(r?),
        }
    }
    pub fn usage(msg: impl std::fmt::Display) -> Exit {
        Exit(2, anyhow::anyhow!("{msg}"))
    }
    pub fn failed(msg: impl std::fmt::Display) -> Exit {
        Exit(1, anyhow::anyhow!("{msg}"))
    }
}

/// Set once a JSON object went to stdout, so an error does not print a second one.
static PRINTED_JSON: AtomicBool = AtomicBool::new(false);

pub fn printed_json() -> bool {
    PRINTED_JSON.load(Ordering::Relaxed)
}

pub fn print_json(v: &impl serde::Serialize) {
    PRINTED_JSON.store(true, Ordering::Relaxed);
    say!(
        "{}",
        serde_json::to_string(v).unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string())
    );
}
