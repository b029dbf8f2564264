//! Tampering with the database file is detected by `bangban verify`, naming the first bad event.

use rusqlite::Connection;

use crate::support::*;

/// A demo ledger with some history: 12 tickets, a few calls.
fn ledger_with_history() -> TempLedger {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    assert!(cli(&t.db, &["issue", "--item", "A01", "--repeat", "12"])
        .status
        .success());
    // Three windows of the department call one visitor each (a window serves one at a time).
    for window in ["1", "2", "3"] {
        assert!(cli(&t.db, &["call", "--window", window, "--staff", "S101"])
            .status
            .success());
    }
    assert!(cli(&t.db, &["verify"]).status.success());
    t
}

fn verify_fails_at(t: &TempLedger, seq: i64) -> serde_json::Value {
    let out = cli(&t.db, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify should fail: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let msg = stderr(&out);
    assert!(
        msg.contains(&format!("first bad sequence number {seq}:")),
        "expected seq {seq} in: {msg}"
    );
    let j = json(&cli(&t.db, &["verify", "--json"]));
    assert_eq!(j["ok"], false);
    assert_eq!(j["first_bad_seq"], seq);
    assert_eq!(j["finding"]["seq"], seq, "{j}");
    j["finding"].clone()
}

fn seq_of(t: &TempLedger, needle: &str) -> i64 {
    let c = Connection::open(&t.db).unwrap();
    c.query_row(
        "SELECT seq FROM events WHERE payload LIKE ?1",
        [format!("%{needle}%")],
        |r| r.get(0),
    )
    .unwrap()
}

/// Open without the triggers' protection, as someone with a SQLite shell would.
fn raw(t: &TempLedger) -> Connection {
    let c = Connection::open(&t.db).unwrap();
    c.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
    c
}

#[test]
fn the_log_refuses_updates_and_deletes() {
    let t = ledger_with_history();
    let c = Connection::open(&t.db).unwrap();
    let e = c
        .execute("UPDATE events SET actor = 'x' WHERE seq = 2", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c.execute("DELETE FROM events WHERE seq = 2", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn a_changed_byte_in_a_payload_names_its_event() {
    let t = ledger_with_history();
    let seq = seq_of(&t, "\"number\":\"A007\"");
    // Edit the file itself, as a hex editor would: no SQL, no triggers.
    let mut bytes = std::fs::read(&t.db).unwrap();
    let needle = b"\"number\":\"A007\"";
    // The cases table holds the same text, and SQLite may keep stale copies of a row in pages
    // a split left behind: edit every copy inside an issuing event's payload, as an attacker would.
    let hits: Vec<usize> = (0..bytes.len() - needle.len())
        .filter(|&i| {
            &bytes[i..i + needle.len()] == needle
                && bytes[i.saturating_sub(80)..i].windows(11).any(|w| w == b"case_issued")
        })
        .collect();
    assert!(!hits.is_empty(), "payload bytes in the file");
    for pos in hits {
        bytes[pos + needle.len() - 2] = b'9';
    }
    std::fs::write(&t.db, &bytes).unwrap();
    verify_fails_at(&t, seq);
}

#[test]
fn a_deleted_row_names_the_missing_sequence() {
    let t = ledger_with_history();
    raw(&t).execute("DELETE FROM events WHERE seq = 6", []).unwrap();
    let finding = verify_fails_at(&t, 6);
    assert_eq!(finding["kind"], "missing_event");
    // A broken log is never "repaired" by rebuilding the cases from it.
    let out = cli(&t.db, &["rebuild-cases"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("refusing to rebuild"), "{}", stderr(&out));
}

#[test]
fn reordered_rows_are_detected() {
    let t = ledger_with_history();
    let c = raw(&t);
    // Swap the contents of events 4 and 5, keeping their sequence numbers.
    c.execute_batch(
        "CREATE TEMP TABLE s AS SELECT * FROM events WHERE seq IN (4, 5);
         UPDATE events SET at = (SELECT at FROM s WHERE seq = 5), payload = (SELECT payload FROM s WHERE seq = 5),
           hash = (SELECT hash FROM s WHERE seq = 5), prev_hash = (SELECT prev_hash FROM s WHERE seq = 5) WHERE seq = 4;
         UPDATE events SET at = (SELECT at FROM s WHERE seq = 4), payload = (SELECT payload FROM s WHERE seq = 4),
           hash = (SELECT hash FROM s WHERE seq = 4), prev_hash = (SELECT prev_hash FROM s WHERE seq = 4) WHERE seq = 5;",
    )
    .unwrap();
    verify_fails_at(&t, 4);
}

#[test]
fn a_log_truncated_at_its_tail_is_detected() {
    let t = ledger_with_history();
    let head: i64 = Connection::open(&t.db)
        .unwrap()
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    raw(&t)
        .execute("DELETE FROM events WHERE seq > ?1", [head - 3])
        .unwrap();
    assert_eq!(verify_fails_at(&t, head - 2)["kind"], "truncated");
}

#[test]
fn a_truncated_database_file_fails_verification() {
    let t = ledger_with_history();
    // Grow the log past a few pages so that truncation cuts through events.
    assert!(cli(&t.db, &["issue", "--item", "A01", "--repeat", "300"])
        .status
        .success());
    let len = std::fs::metadata(&t.db).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&t.db).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let out = cli(&t.db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("first bad sequence number"), "{}", stderr(&out));
}

#[test]
fn an_edited_case_row_does_not_match_the_log() {
    let t = ledger_with_history();
    let c = Connection::open(&t.db).unwrap();
    c.execute("UPDATE cases SET data = replace(data, '\"state\":\"waiting\"', '\"state\":\"archived\"') WHERE number = 'A010'", [])
        .unwrap();
    let seq = seq_of(&t, "\"number\":\"A010\"");
    let finding = verify_fails_at(&t, seq);
    assert_eq!(finding["kind"], "projection_differs");
    assert_eq!(finding["table"], "cases");
    assert_eq!(finding["field"], "state");
    let id: i64 = c
        .query_row("SELECT id FROM cases WHERE number = 'A010'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(finding["row"], id);
    // The projection can be rebuilt from the log, and then it verifies again.
    assert!(cli(&t.db, &["rebuild-cases"]).status.success());
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_raised_priority_rank_column_is_found_by_field() {
    let t = ledger_with_history();
    // The JSON is left alone: only the column the queue is ordered by is raised, so the case
    // would jump the queue.
    let c = Connection::open(&t.db).unwrap();
    c.execute("UPDATE cases SET priority_rank = 9 WHERE number = 'A010'", [])
        .unwrap();
    let seq = seq_of(&t, "\"number\":\"A010\"");
    let finding = verify_fails_at(&t, seq);
    assert_eq!(finding["kind"], "projection_differs");
    assert_eq!(finding["field"], "priority_rank");
    assert!(cli(&t.db, &["rebuild-cases"]).status.success());
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn the_calls_table_must_match_the_calls_in_the_log() {
    let t = ledger_with_history();
    let c = Connection::open(&t.db).unwrap();
    let first_call: i64 = c.query_row("SELECT min(seq) FROM calls", [], |r| r.get(0)).unwrap();
    // A call removed from the board's history.
    c.execute("DELETE FROM calls WHERE seq = ?1", [first_call]).unwrap();
    let finding = verify_fails_at(&t, first_call);
    assert_eq!(finding["table"], "calls");
    assert!(cli(&t.db, &["rebuild-cases"]).status.success());
    assert!(cli(&t.db, &["verify"]).status.success());
    // A call that never happened, added to the board's history.
    c.execute(
        "INSERT INTO calls (seq, business_day, department, case_id, recall) SELECT max(seq) + 1000, business_day, department, case_id, 0 FROM calls",
        [],
    )
    .unwrap();
    let out = cli(&t.db, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["finding"]["table"], "calls");
}

#[test]
fn a_changed_note_text_is_found() {
    let t = ledger_with_history();
    let out = cli(&t.db, &["case", "A001", "start", "--staff", "S101"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        vec![
            "case",
            "A001",
            "consult",
            "--question",
            "q",
            "--answer",
            "a",
            "--staff",
            "S101",
        ],
        vec![
            "case",
            "A001",
            "archive",
            "--handover",
            "档案盒 A-1",
            "--receiver",
            "档案室 刘芳",
            "--staff",
            "S101",
        ],
    ] {
        let out = cli(&t.db, &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // The hand-over note rewritten in place, its hash column left alone.
    let c = Connection::open(&t.db).unwrap();
    c.execute("UPDATE notes SET body = '档案盒 B-9' WHERE body = '档案盒 A-1'", [])
        .unwrap();
    let id: i64 = c
        .query_row("SELECT id FROM notes WHERE body = '档案盒 B-9'", [], |r| r.get(0))
        .unwrap();
    let seq = seq_of(&t, "\"kind\":\"archived\"");
    let finding = verify_fails_at(&t, seq);
    assert_eq!(finding["table"], "notes");
    assert_eq!(finding["row"], id);
    assert_eq!(finding["field"], "body");
}

#[test]
fn a_day_counter_set_back_is_found() {
    let t = ledger_with_history();
    let c = Connection::open(&t.db).unwrap();
    c.execute("UPDATE day_counters SET last = last - 5", []).unwrap();
    let out = cli(&t.db, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let finding = json(&out)["finding"].clone();
    assert_eq!(finding["table"], "day_counters");
    assert_eq!(finding["field"], "last");
}

#[test]
fn a_paused_window_reopened_behind_the_logs_back_is_found() {
    let t = ledger_with_history();
    assert!(cli(&t.db, &["window", "1", "pause", "--staff", "S101"])
        .status
        .success());
    let c = Connection::open(&t.db).unwrap();
    c.execute("UPDATE window_state SET paused = 0 WHERE window = 1", [])
        .unwrap();
    let out = cli(&t.db, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let finding = json(&out)["finding"].clone();
    assert_eq!(
        (finding["table"].as_str(), finding["row"].as_i64()),
        (Some("window_state"), Some(1))
    );
}

#[test]
fn a_specialist_slipped_into_the_stored_hall_is_found() {
    let t = ledger_with_history();
    // A fake specialist added to the configuration in force, its hash column recomputed too,
    // as a careful forger would.
    let c = Connection::open(&t.db).unwrap();
    let (id, body): (i64, String) = c
        .query_row("SELECT id, body FROM hall_config ORDER BY id DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let forged = body.replacen("\"S101\"", "\"S999\"", 1);
    assert_ne!(forged, body);
    let sha = bangban::chain::sha256_hex(&forged);
    c.execute(
        "UPDATE hall_config SET body = ?1, sha256 = ?2 WHERE id = ?3",
        rusqlite::params![forged, sha, id],
    )
    .unwrap();
    let out = cli(&t.db, &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let finding = json(&out)["finding"].clone();
    assert_eq!(
        (finding["table"].as_str(), finding["row"].as_i64()),
        (Some("hall_config"), Some(id))
    );
}

#[test]
fn an_emptied_file_is_an_error_and_verify_writes_nothing() {
    let t = ledger_with_history();
    std::fs::write(&t.db, b"").unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", t.db.display()));
    }
    let out = cli(&t.db, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(!stdout(&out).contains("intact"));
    assert_eq!(std::fs::metadata(&t.db).unwrap().len(), 0, "verify wrote to the file");
    // A SQLite file that is not a ledger at all.
    let other = t.dir.path().join("other.sqlite3");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let out = cli(&other, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a ledger"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&other).unwrap(), before, "verify wrote to the file");
}

/// Rewrite the log from event `from` on as a forger with a SQLite shell and the source code
/// would: change that event's actor, recompute every later hash and the chain head.
fn rewrite_from(t: &TempLedger, from: i64) {
    let c = raw(&t);
    c.execute("UPDATE events SET actor = 'forger' WHERE seq = ?1", [from])
        .unwrap();
    let mut prev: String = c
        .query_row(
            "SELECT coalesce((SELECT hash FROM events WHERE seq = ?1 - 1), '')",
            [from],
            |r| r.get(0),
        )
        .unwrap();
    if prev.is_empty() {
        prev = c
            .query_row("SELECT prev_hash FROM events WHERE seq = ?1", [from], |r| r.get(0))
            .unwrap();
    }
    let rows: Vec<(i64, String, String, String, Option<i64>, String)> = c
        .prepare("SELECT seq, at, actor, kind, case_id, payload FROM events WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([from], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (seq, at, actor, kind, case_id, payload) in rows {
        let hash = bangban::chain::event_hash(seq, &at, &actor, &kind, case_id, &payload, &prev);
        c.execute(
            "UPDATE events SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, prev, hash],
        )
        .unwrap();
        prev = hash;
    }
    c.execute("UPDATE chain_head SET hash = ?1", [&prev]).unwrap();
}

/// The CLI's own witness file beside the ledger (every command that used the hall wrote to it).
fn cli_witness(t: &TempLedger) -> std::path::PathBuf {
    let w = t.dir.path().join("ledger.sqlite3.witness-cli");
    assert!(w.exists(), "the CLI keeps a witness file beside the ledger");
    w
}

#[test]
fn a_rewrite_of_the_whole_log_passes_verify_alone_but_not_a_witness() {
    let t = ledger_with_history();
    let witness = cli_witness(&t);
    let lines = std::fs::read_to_string(&witness).unwrap();
    assert!(lines.lines().filter(|l| !l.starts_with('#')).count() >= 2, "{lines}");
    rewrite_from(&t, 2);
    // The limit ARCHITECTURE.md states: a consistent rewrite is invisible from the file alone.
    assert!(cli(&t.db, &["verify"]).status.success());
    let out = cli(&t.db, &["verify", "--json", "--witness", witness.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let j = json(&out);
    assert_eq!(j["finding"]["kind"], "rewritten", "{j}");
    assert!(stderr(&out).contains("was witnessed"), "{}", stderr(&out));
}

#[test]
fn a_tail_cut_together_with_its_chain_head_is_caught_by_a_witness() {
    let t = ledger_with_history();
    let witness = cli_witness(&t);
    let head: (i64, String) = Connection::open(&t.db)
        .unwrap()
        .query_row("SELECT seq, hash FROM chain_head", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let c = raw(&t);
    c.execute("DELETE FROM events WHERE seq > ?1", [head.0 - 3]).unwrap();
    c.execute(
        "UPDATE chain_head SET seq = ?1, hash = (SELECT hash FROM events WHERE seq = ?1)",
        [head.0 - 3],
    )
    .unwrap();
    drop(c);
    // The projections still name the lost events' effects, so verify alone finds a difference;
    // the witness names what happened: the log was cut.
    let out = cli(&t.db, &["verify", "--json", "--witness", witness.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let j = json(&out);
    assert!(
        j["finding"]["kind"] == "truncated" || j["finding"]["kind"] == "projection_differs",
        "{j}"
    );
    let w = bangban::witness::read(&witness).unwrap();
    assert_eq!(w.last().unwrap().seq, head.0, "the witness saw the last head");
    let mut l = bangban::Ledger::open(&t.db, bangban::LedgerOptions::default()).unwrap();
    let r = l.verify().unwrap();
    let found = l.check_witness("w", &w, &r).unwrap().expect("a finding");
    assert_eq!(found.finding.unwrap().kind, bangban::FindingKind::Truncated);
}

#[test]
fn a_malformed_witness_file_is_refused_naming_its_line() {
    let t = ledger_with_history();
    let bad = t.dir.path().join("w.txt");
    std::fs::write(&bad, "# heads\n5 abc 2026-11-27T00:00:00Z\n").unwrap();
    let out = cli(&t.db, &["verify", "--witness", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("w.txt:2: hash"), "{}", stderr(&out));
}

/// A ledger where counter devices are enrolled (one revoked), S101 signed in at window 1, out,
/// and in again; S102 typed two wrong PINs; S201 typed five and is locked out.
fn ledger_with_sign_ins() -> TempLedger {
    use bangban::access::DeviceRole;
    let t = ledger_with_history();
    set_pins(&t.db, &["S102", "S201"]);
    let mut l = bangban::Ledger::open(&t.db, bangban::LedgerOptions::default()).unwrap();
    l.add_device("counter-1", DeviceRole::Counter, "office").unwrap();
    l.add_device("counter-4", DeviceRole::Counter, "office").unwrap();
    let s = l.open_session("S101", TEST_PIN, "counter-1", 1).unwrap();
    l.end_session(&s.token).unwrap();
    l.open_session("S101", TEST_PIN, "counter-1", 1).unwrap();
    l.open_session("S201", TEST_PIN, "counter-4", 4).unwrap();
    l.revoke_device("counter-4", "office").unwrap();
    for _ in 0..2 {
        assert!(l.open_session("S102", "000001", "counter-1", 2).is_err());
    }
    for _ in 0..5 {
        assert!(l.open_session("S201", "000001", "counter-1", 4).is_err());
    }
    drop(l);
    assert!(cli(&t.db, &["verify"]).status.success(), "untouched sign-ins verify");
    t
}

#[test]
fn sign_in_state_changed_behind_the_logs_back_is_found_by_table_and_field() {
    let t = ledger_with_sign_ins();
    let planted = bangban::chain::sha256_hex(&bangban::chain::sha256_hex("a token the forger knows"));
    let cases: [(&str, String, &str, &str); 7] = [
        (
            "a session planted for S101 at window 1",
            format!(
                "INSERT INTO sessions (token_sha256, staff, device, window, created_at, expires_at)
                 VALUES ('{planted}', 'S101', 'counter-1', 1, '2026-11-27T01:00:00.000Z', '2099-01-01T00:00:00.000Z')"
            ),
            "sessions",
            "token_sha256",
        ),
        (
            "the live session made to last for years",
            "UPDATE sessions SET expires_at = '2099-01-01T00:00:00.000Z' WHERE ended_at IS NULL".into(),
            "sessions",
            "expires_at",
        ),
        (
            "the revoked device's session reopened",
            "UPDATE sessions SET ended_at = NULL WHERE device = 'counter-4'".into(),
            "sessions",
            "ended_at",
        ),
        (
            "S102's wrong tries wiped",
            "UPDATE staff_auth SET failed = 0 WHERE staff_id = 'S102'".into(),
            "staff_auth",
            "failed",
        ),
        (
            "S201's lockout lifted",
            "UPDATE staff_auth SET locked_until = NULL WHERE staff_id = 'S201'".into(),
            "staff_auth",
            "locked_until",
        ),
        (
            "S101's PIN hash swapped for one whose PIN the forger knows",
            "UPDATE staff_auth SET pin_hash = (SELECT pin_hash FROM staff_auth WHERE staff_id = 'S102') WHERE staff_id = 'S101'".into(),
            "staff_auth",
            "pin_hash",
        ),
        (
            "an admin device planted",
            format!(
                "INSERT INTO devices (name, role, token_sha256, created_at)
                 VALUES ('admin-x', 'admin', '{planted}', '2026-11-27T01:00:00.000Z')"
            ),
            "devices",
            "name",
        ),
    ];
    let pristine = std::fs::read(&t.db).unwrap();
    for (what, sql, table, field) in cases {
        std::fs::write(&t.db, &pristine).unwrap();
        let c = Connection::open(&t.db).unwrap();
        assert_eq!(c.execute(&sql, []).unwrap(), 1, "{what}: the edit changed one row");
        drop(c);
        let out = cli(&t.db, &["verify", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stdout(&out));
        let finding = json(&out)["finding"].clone();
        assert_eq!(
            (finding["table"].as_str(), finding["field"].as_str()),
            (Some(table), Some(field)),
            "{what}: {finding}"
        );
    }
}

#[test]
fn a_log_rewritten_before_a_days_close_no_longer_has_the_head_the_close_recorded() {
    let t = demo_ledger();
    let at = |now: &str, args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", now)]);
    assert!(at(
        "2026-11-26T10:00:00+08:00",
        &["issue", "--item", "A01", "--repeat", "3"]
    )
    .status
    .success());
    let out = at("2026-11-26T18:00:00+08:00", &["close-day"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(at("2026-11-27T09:30:00+08:00", &["issue", "--item", "A01"])
        .status
        .success());
    // Every hash recomputed from event 2 on, the close's own among them: the chain alone is
    // consistent, but the close recorded the head it closed on.
    rewrite_from(&t, 2);
    let out = at("2026-11-27T09:31:00+08:00", &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["finding"]["kind"], "rewritten", "{j}");
    assert!(stderr(&out).contains("close of 2026-11-26"), "{}", stderr(&out));
}
