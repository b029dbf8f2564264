//! Backups and restore while the hall runs: every program stops cleanly on SIGTERM, and
//! `bangban restore` puts a verified backup in place without a stale write-ahead log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn sigterm(pid: u32) {
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
}

#[test]
fn restore_after_sigterm_to_every_program_gives_back_the_backup_exactly() {
    let t = demo_ledger();
    assert!(cli(&t.db, &["issue", "--item", "A01", "--repeat", "20"])
        .status
        .success());
    let backup = t.dir.path().join("backup.sqlite3");
    let out = cli(&t.db, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = std::fs::read(&backup).unwrap();

    // The hall keeps running: a server and a kiosk-like writer issuing ticket after ticket.
    let mut server = Served::start(&t.db);
    let mut writer = Command::new(bin())
        .arg("--db")
        .arg(&t.db)
        .args(["issue", "--item", "B01", "--repeat", "100000"])
        .env_remove("BANGBAN_NOW")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    // While they have the ledger open, restore refuses and touches nothing.
    let busy = cli(&t.db, &["restore", backup.to_str().unwrap()]);
    assert_eq!(busy.status.code(), Some(2), "{}", stderr(&busy));
    assert!(stderr(&busy).contains("still has the ledger open"), "{}", stderr(&busy));

    // SIGTERM to every program: each finishes its write and closes the ledger.
    sigterm(writer.id());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = writer.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "the writer ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "the writer stopped cleanly on SIGTERM, not killed: {status:?}"
    );
    assert!(server.stop().success());
    let wal = t.dir.path().join("ledger.sqlite3-wal");
    assert!(!wal.exists(), "no -wal is left once every program has stopped");
    let grown = std::fs::metadata(&t.db).unwrap().len();

    let out = cli(&t.db, &["--json", "restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = json(&out);
    assert_eq!(r["report"]["ok"], true);
    assert_eq!(
        std::fs::read(&t.db).unwrap(),
        saved,
        "the restored file is the backup, byte for byte"
    );
    let aside = std::path::PathBuf::from(r["replaced"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(&aside).unwrap().len(),
        grown,
        "the replaced ledger is kept aside"
    );
    let v = cli(&t.db, &["--json", "verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
    assert_eq!(json(&v)["cases"], 20, "the restored ledger has the backup's 20 tickets");
}

#[test]
fn a_backup_that_does_not_verify_is_never_restored() {
    let t = demo_ledger();
    assert!(cli(&t.db, &["issue", "--item", "A01", "--repeat", "3"])
        .status
        .success());
    let backup = t.dir.path().join("backup.sqlite3");
    assert!(cli(&t.db, &["backup", "--to", backup.to_str().unwrap()])
        .status
        .success());
    {
        let c = rusqlite::Connection::open(&backup).unwrap();
        c.execute_batch("DROP TRIGGER events_no_update; UPDATE events SET actor = 'forger' WHERE seq = 2;")
            .unwrap();
    }
    let before = std::fs::read(&t.db).unwrap();
    let out = cli(&t.db, &["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&t.db).unwrap(), before, "the ledger was not touched");
}

#[test]
fn restore_through_a_symlinked_path_refuses_while_the_server_runs_and_replaces_the_real_file() {
    let t = demo_ledger();
    let link = t.dir.path().join("current.sqlite3");
    std::os::unix::fs::symlink(&t.db, &link).unwrap();
    assert!(cli(&link, &["issue", "--item", "A01", "--repeat", "5"])
        .status
        .success());
    let backup = t.dir.path().join("backup.sqlite3");
    assert!(cli(&link, &["backup", "--to", backup.to_str().unwrap()])
        .status
        .success());
    // The hall runs on the link and issues A006–A011 after the backup.
    let kiosk = enrol(&link, "kiosk-1", "kiosk");
    let mut s = Served::start(&link);
    let more = remote(&s.url, &kiosk, &["issue", "--item", "A01", "--repeat", "6"]);
    assert!(more.status.success(), "{}", stderr(&more));
    // Through the link, restore sees the server's ledger and refuses, touching nothing.
    let busy = cli(&link, &["restore", backup.to_str().unwrap()]);
    assert_eq!(busy.status.code(), Some(2), "{}", stderr(&busy));
    assert!(stderr(&busy).contains("still has the ledger open"), "{}", stderr(&busy));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(s.stop().success());
    // Stopped, the restore replaces the real file and the link still points at it.
    let done = cli(&link, &["restore", backup.to_str().unwrap()]);
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
        "the link is kept"
    );
    let next = json(&cli(&link, &["--json", "issue", "--item", "A01"]));
    assert_eq!(
        next["number"], "A006",
        "the restored ledger continues after its own last ticket"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}
