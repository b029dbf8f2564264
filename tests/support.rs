//! Shared helpers: temporary ledgers, the `bangban` binary, clocks and a snapshot `check`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use bangban::clock::ManualClock;
use bangban::{Hall, Ledger, LedgerOptions};
use chrono::{DateTime, Utc};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bangban")
}

pub fn demo_hall_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-hall.toml")
}

/// A fresh directory with a ledger path inside it (not yet created).
pub struct TempLedger {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

pub fn temp_ledger() -> TempLedger {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ledger.sqlite3");
    TempLedger { dir, db }
}

/// A ledger initialised with the demo hall through the CLI.
pub fn demo_ledger() -> TempLedger {
    let t = temp_ledger();
    let out = cli(&t.db, &["init", "--hall", demo_hall_path().to_str().unwrap()]);
    assert!(out.status.success(), "init failed: {}", stderr(&out));
    t
}

pub fn cli(db: &Path, args: &[&str]) -> Output {
    cli_env(db, args, &[])
}

pub fn cli_env(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("BANGBAN_NOW")
        .env_remove("BANGBAN_DB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run bangban")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
}

/// An in-process ledger on the demo hall with a hand-moved clock.
pub fn clocked_ledger(db: &Path, start: &str) -> (Ledger, ManualClock) {
    let clock = ManualClock::new(at(start));
    let opts = LedgerOptions {
        busy_timeout: Duration::from_secs(5),
        clock: Arc::new(clock.clone()),
    };
    let mut ledger = Ledger::open(db, opts).expect("open ledger");
    if !ledger.is_initialised().unwrap() {
        let hall = Hall::from_path(&demo_hall_path()).expect("demo hall");
        ledger.configure(&hall, "test", "demo").expect("configure");
    }
    (ledger, clock)
}

/// Snapshot-style comparison with a readable diff.
#[track_caller]
pub fn check(actual: &str, expected: &str) {
    let (a, e) = (actual.trim(), expected.trim());
    if a != e {
        panic!("snapshot mismatch\n--- expected\n{e}\n--- actual\n{a}\n");
    }
}
