//! Personal data never enters the append-only log: whatever a specialist types into a case
//! action (a visitor's phone or ID number among it) goes to the notes, and the event carries
//! only the note's id and hash.

use rusqlite::Connection;

use crate::support::*;

const PHONE: &str = "13812345678";
const ID_NUMBER: &str = "370402199001011234";

fn typed() -> String {
    format!("张三 电话{PHONE} 身份证{ID_NUMBER}")
}

#[track_caller]
fn act(t: &TempLedger, number: &str, args: &[&str]) {
    let mut all = vec!["case", number];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--staff", "S101", "--window", "1"]);
    let out = cli(&t.db, &all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

#[track_caller]
fn issue_and_call(t: &TempLedger) -> String {
    let issued = json(&cli(&t.db, &["--json", "issue", "--item", "A01"]));
    let number = issued["number"].as_str().unwrap().to_string();
    let out = cli(
        &t.db,
        &["call", "--window", "1", "--staff", "S101", "--number", &number],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    number
}

#[test]
fn no_event_payload_holds_anything_typed_into_a_case_action() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S900"]);
    let text = typed();

    // Consultation answered on the spot, then archived with a hand-over note.
    let a = issue_and_call(&t);
    act(&t, &a, &["start"]);
    act(&t, &a, &["consult", "--question", &text, "--answer", &text]);
    act(&t, &a, &["archive", "--handover", &text, "--receiver", &text]);
    // Rated 非常不满意; the coordinator's reply is typed.
    assert!(cli(&t.db, &["rate", &a, "--level", "1"]).status.success());
    act(&t, &a, &["rating-reply", "--reply", &text]);
    // A deferred question answered later; the result mailed with a tracking number.
    let b = issue_and_call(&t);
    act(&t, &b, &["start"]);
    act(&t, &b, &["consult", "--question", &text, "--deferred"]);
    act(&t, &b, &["answer", "--answer", &text]);
    // 现场帮办 rather than the whole chain's 全程: no parts to wait for.
    act(&t, &b, &["mode", "--mode", "onsite"]);
    let poa = form_number_cli(&t.db, &b, "poa", &[]);
    act(&t, &b, &["signed-on-paper", "--form", "poa", "--number", &poa]);
    let mut accept = vec!["accept"];
    let materials = materials_of("A01");
    for m in &materials {
        accept.extend(["--material", m.as_str()]);
    }
    act(&t, &b, &accept);
    act(&t, &b, &["start-work"]);
    act(&t, &b, &["ready"]);
    act(
        &t,
        &b,
        &[
            "mail",
            "--tracking",
            &text,
            "--recipient",
            &text,
            "--courier",
            &text,
            "--address",
            &text,
        ],
    );
    // A transfer with a note for the receiving department.
    let c = issue_and_call(&t);
    act(&t, &c, &["start"]);
    act(&t, &c, &["transfer", "--department", "GAJ", "--note", &text]);
    // A cancellation with a reason.
    let d = json(&cli(&t.db, &["--json", "issue", "--item", "A01"]))["number"]
        .as_str()
        .unwrap()
        .to_string();
    act(&t, &d, &["cancel", "--reason", &text]);
    // A handover to another specialist of the department, with a note of where it stands
    // (held first: the window is free for the next visitor).
    let h = issue_and_call(&t);
    act(&t, &h, &["start"]);
    act(&t, &h, &["hold"]);
    act(&t, &h, &["handover", "--to", "S102", "--note", &text]);
    // Escalated to a coordination meeting: the reason, minutes, decision and outcome typed.
    act(&t, &h, &["escalate", "--reason", &text]);
    for args in [
        vec![
            "meeting",
            "--at",
            "2026-11-27 15:00",
            "--participant",
            "S101",
            "--minutes",
            &text,
            "--decision",
            &text,
        ],
        vec!["resolve", "--outcome", &text],
    ] {
        let mut all = vec!["case", h.as_str()];
        all.extend(args.iter().copied());
        all.extend(["--staff", "S900", "--window", "21"]);
        let out = cli(&t.db, &all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    // Materials are named from the item's list only: typed text is refused, nothing recorded.
    let e = issue_and_call(&t);
    act(&t, &e, &["start"]);
    for args in [
        vec!["notify", "--missing", text.as_str()],
        vec!["accept", "--material", text.as_str()],
    ] {
        let mut all = vec!["case", e.as_str()];
        all.extend(args.iter().copied());
        all.extend(["--staff", "S101", "--window", "1"]);
        let out = cli(&t.db, &all);
        assert_eq!(out.status.code(), Some(1), "{args:?} must be refused");
        assert!(stderr(&out).contains("materials list"), "{}", stderr(&out));
    }
    // Walked to another receiving window, with how it went.
    act(&t, &e, &["accompany", "--to-window", "2", "--result", &text]);
    // The window settles this visitor before calling the next.
    act(&t, &e, &["hold"]);

    let conn = Connection::open(&t.db).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq, kind, actor, payload FROM events ORDER BY seq")
        .unwrap();
    let events: Vec<(i64, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    for kind in [
        "consultation_recorded",
        "question_answered",
        "archived",
        "mailed",
        "case_transferred",
        "case_cancelled",
        "case_handed_over",
        "coordination_requested",
        "coordination_meeting",
        "coordination_resolved",
        "accompanied",
        "rating_replied",
    ] {
        assert!(kinds.contains(&kind), "the test wrote a {kind} event: {kinds:?}");
    }
    for (seq, kind, actor, payload) in &events {
        for secret in [PHONE, ID_NUMBER, "张三"] {
            assert!(
                !payload.contains(secret) && !actor.contains(secret),
                "event {seq} ({kind}) holds typed text: {payload}"
            );
        }
    }
    // What was typed is kept where it can be read and, after the retention period, erased.
    let in_notes: i64 = conn
        .query_row(
            "SELECT count(*) FROM notes WHERE body LIKE ?1",
            [format!("%{PHONE}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_notes, 19, "every typed text is a note");
    assert!(cli(&t.db, &["verify"]).status.success());
}

/// Three years on (the demo hall's retention), `bangban purge` erases what was typed, keeps the
/// hashes, records one event, and the ledger still verifies; a day inside the retention period
/// is refused.
#[test]
fn purge_erases_old_notes_and_the_log_still_verifies() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let db = t.db.clone();
    let at = |s: &'static str| {
        let db = db.clone();
        move |args: &[&str]| cli_env(&db, args, &[("BANGBAN_NOW", s)])
    };
    let day1 = at("2026-11-27T02:00:00Z");
    let number = json(&day1(&["--json", "issue", "--item", "A01"]))["number"]
        .as_str()
        .unwrap()
        .to_string();
    let text = typed();
    for args in [
        vec!["call", "--window", "1", "--staff", "S101", "--number", number.as_str()],
        vec!["case", number.as_str(), "start", "--staff", "S101"],
        vec![
            "case",
            number.as_str(),
            "consult",
            "--question",
            text.as_str(),
            "--answer",
            text.as_str(),
            "--staff",
            "S101",
        ],
        vec![
            "case",
            number.as_str(),
            "archive",
            "--handover",
            text.as_str(),
            "--receiver",
            text.as_str(),
            "--staff",
            "S101",
        ],
    ] {
        let out = day1(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let count = |like: &str| -> i64 {
        Connection::open(&t.db)
            .unwrap()
            .query_row("SELECT count(*) FROM notes WHERE body LIKE ?1", [like], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&format!("%{PHONE}%")), 4);
    // Inside the retention period: refused, nothing erased.
    let soon = at("2029-11-26T02:00:00Z");
    let out = soon(&["purge", "--before", "2026-11-28"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 years"), "{}", stderr(&out));
    assert_eq!(count(&format!("%{PHONE}%")), 4);
    // Three years on, the default day is the retention limit.
    let later = at("2029-11-28T02:00:00Z");
    let out = later(&["--json", "purge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let done = json(&out);
    assert_eq!(done["notes"], 4);
    assert_eq!(done["before"], "2026-11-28");
    assert_eq!(count(&format!("%{PHONE}%")), 0);
    assert_eq!(count("%"), 4, "the rows (and their hashes) stay");
    let verified = later(&["verify"]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let kinds: Vec<String> = Connection::open(&t.db)
        .unwrap()
        .prepare("SELECT kind FROM events ORDER BY seq DESC LIMIT 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(kinds, ["notes_purged"]);
}

#[test]
fn a_counter_reads_notes_only_signed_in_for_its_windows_cases_and_unknown_ids_are_404() {
    use bangban::api::{HallClient, SignIn};
    use bangban::remote::RemoteClient;
    use bangban::ErrorKind;

    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S601"]);
    let a = issue_and_call(&t);
    act(&t, &a, &["start"]);
    act(&t, &a, &["consult", "--question", &typed(), "--answer", "已答复"]);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(8 + 24)).date_naive();
    let booked = cli(
        &t.db,
        &[
            "appointment",
            "add",
            "--item",
            "A01",
            "--at",
            &format!("{tomorrow} 10:00"),
            "--phone",
            PHONE,
        ],
    );
    assert!(booked.status.success(), "{}", stderr(&booked));
    let db = Connection::open(&t.db).unwrap();
    let id_of = |kind: &str| -> i64 {
        db.query_row("SELECT id FROM notes WHERE kind = ?1", [kind], |r| r.get(0))
            .unwrap()
    };
    let (question, phone) = (id_of("question"), id_of("appointment_phone"));

    let counter = enrol(&t.db, "counter-1", "counter");
    let office = enrol(&t.db, "office-1", "office");
    let s = Served::start(&t.db);
    let kind = |r: bangban::Result<String>| r.expect_err("refused").kind();

    // A counter token with nobody signed in reads nothing.
    let mut c = RemoteClient::new(&s.url, &counter).unwrap();
    assert_eq!(kind(c.note(question)), ErrorKind::Forbidden);
    assert_eq!(kind(c.note(phone)), ErrorKind::Forbidden);
    // A specialist of another department (不动产, window 12) does not read a 市场监督 case's note.
    c.sign_in(&SignIn {
        staff: "S601".into(),
        pin: TEST_PIN.into(),
        window: 12,
    })
    .unwrap();
    assert_eq!(kind(c.note(question)), ErrorKind::Forbidden);
    c.sign_out().unwrap();
    // The specialist at the case's window does; an appointment's phone is the office's.
    c.sign_in(&SignIn {
        staff: "S101".into(),
        pin: TEST_PIN.into(),
        window: 1,
    })
    .unwrap();
    assert_eq!(c.note(question).unwrap(), typed());
    assert_eq!(kind(c.note(phone)), ErrorKind::Forbidden);
    // The office reads it; an unknown id is 404, not a server error.
    let mut o = RemoteClient::new(&s.url, &office).unwrap();
    assert_eq!(o.note(phone).unwrap(), PHONE);
    let unknown = o.note(999_999).unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::UnknownNote);
    assert_eq!(unknown.kind().http_status(), 404);
}

/// A note moved back in time is found by verify, and does not carry the notes written after
/// it into a purge: before, backdating the newest note made `purge` erase every note.
#[test]
fn a_backdated_note_is_found_by_verify_and_purges_nothing_newer() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let db = t.db.clone();
    let at = |s: &'static str| {
        let db = db.clone();
        move |args: &[&str]| cli_env(&db, args, &[("BANGBAN_NOW", s)])
    };
    let consult_on = |run: &dyn Fn(&[&str]) -> std::process::Output, text: &str| {
        let number = json(&run(&["--json", "issue", "--item", "A01"]))["number"]
            .as_str()
            .unwrap()
            .to_string();
        for args in [
            vec!["call", "--window", "1", "--staff", "S101", "--number", number.as_str()],
            vec!["case", number.as_str(), "start", "--staff", "S101"],
            vec![
                "case",
                number.as_str(),
                "consult",
                "--question",
                text,
                "--answer",
                text,
                "--staff",
                "S101",
            ],
        ] {
            let out = run(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        }
    };
    consult_on(&at("2026-11-27T02:00:00Z"), "三年前 13812345678");
    consult_on(&at("2029-11-27T02:00:00Z"), "昨天 13912345678");
    let conn = Connection::open(&t.db).unwrap();
    conn.execute(
        "UPDATE notes SET at = '2023-01-01T00:00:00Z' WHERE id = (SELECT max(id) FROM notes)",
        [],
    )
    .unwrap();
    let later = at("2029-11-28T02:00:00Z");
    let v = json(&later(&["--json", "verify"]));
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(
        (v["finding"]["table"].as_str(), v["finding"]["field"].as_str()),
        (Some("notes"), Some("at")),
        "{v}"
    );
    let out = later(&["--json", "purge", "--before", "2026-11-28"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["notes"], 2, "only the two notes of three years ago");
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM notes WHERE body LIKE '%13912345678%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, 2, "yesterday's notes are kept, the backdated one among them");
}

/// An appointment booked on 2026-11-27 for 2026-11-30 10:00, with `PHONE` for the reminder:
/// its check-in code.
fn book_with_phone(t: &TempLedger) -> String {
    let out = cli_env(
        &t.db,
        &[
            "--json",
            "appointment",
            "add",
            "--item",
            "A01",
            "--at",
            "2026-11-30 10:00",
            "--phone",
            PHONE,
        ],
        &[("BANGBAN_NOW", "2026-11-27T02:00:00Z")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out)["code"].as_str().unwrap().to_string()
}

/// The booking event's payload.
fn booking_event(conn: &Connection) -> serde_json::Value {
    let payload: String = conn
        .query_row(
            "SELECT payload FROM events WHERE kind = 'appointment_booked'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&payload).unwrap()
}

/// A purged phone cannot be found again by hashing candidates: the note's hash is salted and
/// the purge erases the salt with the text (a plain SHA-256 of an 11-digit phone falls to a
/// search in minutes).
#[test]
fn a_purged_phone_is_not_recoverable_by_hashing_candidates() {
    let t = demo_ledger();
    let db = t.db.clone();
    let at = |s: &'static str| {
        let db = db.clone();
        move |args: &[&str]| cli_env(&db, args, &[("BANGBAN_NOW", s)])
    };
    book_with_phone(&t);
    let conn = Connection::open(&t.db).unwrap();
    let event_sha = booking_event(&conn)["phone"]["sha256"].as_str().unwrap().to_string();
    let guess = |salt: &str| hex::encode(bangban::chain::note_sha256(salt, PHONE));
    assert_ne!(
        event_sha,
        bangban::chain::sha256_hex(PHONE),
        "the event's hash is not the plain SHA-256"
    );
    let salt: String = conn
        .query_row("SELECT salt FROM notes WHERE kind = 'appointment_phone'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(event_sha, guess(&salt), "while kept, the salt and the text verify");
    let out = at("2029-12-01T02:00:00Z")(&["--json", "purge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json(&out)["notes"].as_i64().unwrap() >= 1);
    let (body, salt): (String, String) = conn
        .query_row(
            "SELECT body, salt FROM notes WHERE kind = 'appointment_phone'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((body.as_str(), salt.as_str()), ("", ""), "text and salt erased");
    assert_ne!(event_sha, guess(""), "the right phone no longer matches the hash");
    assert!(at("2029-12-01T02:00:00Z")(&["verify"]).status.success());
}

/// The booking event keeps the check-in code's hash salted: a plain SHA-256 of six digits gave
/// the code back to anyone holding the log in under a second (and with it the visitor's slot).
#[test]
fn an_appointment_code_cannot_be_read_back_from_its_event() {
    let t = demo_ledger();
    let code = book_with_phone(&t);
    let conn = Connection::open(&t.db).unwrap();
    let event_sha = booking_event(&conn)["code_sha256"].as_str().unwrap().to_string();
    // Every six-digit candidate hashed plain: none is the event's hash.
    assert!(
        !(0..1_000_000u32).any(|n| bangban::chain::sha256_hex(&format!("{n:06}")) == event_sha),
        "the code is not recoverable from the log"
    );
    let salt: String = conn
        .query_row("SELECT code_salt FROM appointments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hex::encode(bangban::chain::note_sha256(&salt, &code)), event_sha);
    assert!(cli_env(&t.db, &["verify"], &[("BANGBAN_NOW", "2026-11-27T03:00:00Z")])
        .status
        .success());
}

/// Past the retention period a closed appointment's code goes with its phone: a used or
/// cancelled code is of no use to anyone, and with its salt erased its event's hash answers no
/// guess. The log still verifies.
#[test]
fn purge_erases_closed_appointments_codes_and_the_log_still_verifies() {
    let t = demo_ledger();
    let day1 = |args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", "2026-11-27T02:00:00Z")]);
    let code = book_with_phone(&t);
    let cancelled = day1(&["appointment", "cancel", &code]);
    assert!(cancelled.status.success(), "{}", stderr(&cancelled));
    let later = |args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", "2029-12-01T02:00:00Z")]);
    let out = later(&["--json", "purge"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(&t.db).unwrap();
    let (left_code, left_salt): (String, String) = conn
        .query_row("SELECT code, code_salt FROM appointments", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((left_code.as_str(), left_salt.as_str()), ("", ""));
    let v = later(&["verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
}
