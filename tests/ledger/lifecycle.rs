//! Cases through their states in-process: business days, the state machine, priority calling,
//! replay of the log, locks and schema versions.

use std::sync::Arc;
use std::time::Duration;

use bangban::clock::ManualClock;
use bangban::{CallRequest, CaseAction, CaseState, Channel, IssueRequest, Ledger, LedgerError, LedgerOptions, Mode};
use chrono::Duration as Span;

use crate::support::*;

fn req(item: &str, priority: Option<&str>) -> IssueRequest {
    IssueRequest {
        item: item.into(),
        priority: priority.map(String::from),
        mode: None,
        channel: Channel::Kiosk,
        actor: "kiosk-1".into(),
    }
}

fn call(l: &mut Ledger, window: u32, staff: &str) -> bangban::Called {
    l.call(&CallRequest {
        window,
        staff: staff.into(),
        number: None,
    })
    .expect("call")
}

/// Call the next visitor and put them on hold, so the window may call again (a window serves
/// one visitor at a time).
fn call_and_hold(l: &mut Ledger, window: u32, staff: &str) -> bangban::Called {
    let called = call(l, window, staff);
    l.act(&called.number, window, staff, &bangban::CaseAction::Hold)
        .expect("hold");
    called
}

#[test]
fn business_day_rolls_over_at_local_midnight() {
    let t = temp_ledger();
    // 23:59:59 in Shanghai is 15:59:59 UTC.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-25T15:59:58Z");
    let a = l.issue(&req("A01", None)).unwrap();
    let b = l.issue(&req("A01", None)).unwrap();
    assert_eq!((a.number.as_str(), a.business_day.as_str()), ("A001", "2026-11-25"));
    assert_eq!(b.number, "A002");
    clock.set(at("2026-11-25T16:00:00Z"));
    let c = l.issue(&req("A01", None)).unwrap();
    assert_eq!((c.number.as_str(), c.business_day.as_str()), ("A001", "2026-11-26"));
    // Yesterday's unserved tickets are not in today's queue.
    assert_eq!(l.waiting(&[]).unwrap().len(), 1);
}

#[test]
fn business_day_ignores_the_process_time_zone() {
    let t = demo_ledger();
    for (now, day, number) in [
        ("2026-11-25T15:59:59Z", "2026-11-25", "G001"),
        ("2026-11-25T16:00:01Z", "2026-11-26", "G001"),
    ] {
        for tz in ["UTC", "America/New_York"] {
            let out = cli_env(
                &t.db,
                &["issue", "--item", "G01", "--json"],
                &[("TZ", tz), ("BANGBAN_NOW", now)],
            );
            let j = json(&out);
            assert_eq!(j["business_day"], day, "TZ={tz} now={now}");
            if tz == "UTC" {
                assert_eq!(j["number"], number, "TZ={tz} now={now}");
            }
        }
    }
}

#[test]
fn a_case_walks_all_four_stages_with_one_event_each() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-25T01:00:00Z");
    let ticket = l.issue(&req("F01", Some("elderly"))).unwrap();
    let head = l.head_seq().unwrap();
    let called = call(&mut l, 12, "S602");
    assert_eq!(called.text, "请F001号到12号窗口办理");
    let poa = l.form_number(bangban::forms::FormKind::Poa, &ticket.number).unwrap();
    let steps: Vec<(CaseAction, CaseState)> = vec![
        (CaseAction::Recall, CaseState::Called),
        (CaseAction::Start, CaseState::Serving),
        (
            CaseAction::Consult {
                question: "二手房过户要带什么".into(),
                answer: Some("见一次性告知单".into()),
                resolved: true,
            },
            CaseState::Consulted,
        ),
        (
            CaseAction::NotifyMissing {
                missing: vec!["完税凭证".into()],
            },
            CaseState::AwaitingMaterials,
        ),
        (CaseAction::MaterialsReturned, CaseState::Serving),
        // 纸质签署: the 委托书 signed on paper, its number read off the form.
        (
            CaseAction::SignedOnPaper {
                form: "poa".into(),
                number: poa,
            },
            CaseState::Serving,
        ),
        (CaseAction::accept(materials_of("F01")), CaseState::Accepted),
        (CaseAction::StartWork, CaseState::InProgress),
        (CaseAction::Ready, CaseState::Ready),
        (CaseAction::mail("SF1234567890", "王芳", "EMS"), CaseState::Mailed),
        (CaseAction::ConfirmReceipt, CaseState::ReceiptConfirmed),
        (
            CaseAction::archive("档案盒 2026-11-F", "档案室 刘芳"),
            CaseState::Archived,
        ),
    ];
    let mut seq = head + 1;
    for (action, state) in steps {
        clock.advance(Span::minutes(3));
        let c = l
            .act(&ticket.number, 12, "S602", &action)
            .unwrap_or_else(|e| panic!("{action:?}: {e}"));
        seq += 1;
        assert_eq!(c.state, state, "{action:?}");
        assert_eq!(l.head_seq().unwrap(), seq, "exactly one event for {action:?}");
    }
    let events = l.case_events(ticket.case_id).unwrap();
    assert!(
        events.iter().skip(1).all(|e| e.actor == "S602"),
        "every step is attributed to the specialist"
    );
    let case = l.case_by_id(ticket.case_id).unwrap();
    assert_eq!(case.owner.as_deref(), Some("S602"));
    assert_eq!(case.mode, Mode::Onsite);
    // No plaintext personal data in the log: the tracking number and texts live in notes only.
    assert!(events
        .iter()
        .all(|e| !e.payload.contains("SF1234567890") && !e.payload.contains("二手房过户")));
    assert!(l.verify().unwrap().ok);
}

#[test]
fn illegal_transitions_are_errors_and_write_nothing() {
    let t = temp_ledger();
    let (mut l, _) = clocked_ledger(&t.db, "2026-11-25T01:00:00Z");
    let ticket = l.issue(&req("B01", None)).unwrap();
    let head = l.head_seq().unwrap();
    let err = l
        .act(
            &ticket.number,
            4,
            "S202",
            &CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
        )
        .unwrap_err();
    assert!(matches!(err, LedgerError::IllegalTransition { .. }), "{err}");
    assert_eq!(err.to_string(), "case B001: cannot archive while it is waiting");
    call(&mut l, 4, "S202");
    l.act(&ticket.number, 4, "S202", &CaseAction::Start).unwrap();
    let err = l
        .act(&ticket.number, 4, "S202", &CaseAction::accept(vec!["户口簿".into()]))
        .unwrap_err();
    assert!(err.to_string().contains("signature on the 帮办代办委托书"), "{err}");
    // A paper form's number that is not this case's 委托书 is refused.
    let err = l
        .act(
            &ticket.number,
            4,
            "S202",
            &CaseAction::SignedOnPaper {
                form: "poa".into(),
                number: "WT-20261125-999999".into(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("is not case B001's 帮办代办委托书"), "{err}");
    let err = l
        .act(&ticket.number, 4, "S202", &CaseAction::accept(vec!["营业执照".into()]))
        .unwrap_err();
    assert!(err.to_string().contains("not on the materials list"), "{err}");
    assert_eq!(
        l.head_seq().unwrap(),
        head + 2,
        "only the call and the start were written"
    );
    // A deferred question keeps the case open until answered.
    l.act(
        &ticket.number,
        4,
        "S202",
        &CaseAction::Consult {
            question: "户口迁往外省怎么办".into(),
            answer: None,
            resolved: false,
        },
    )
    .unwrap();
    let err = l
        .act(
            &ticket.number,
            4,
            "S202",
            &CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("deferred question"), "{err}");
    l.act(
        &ticket.number,
        4,
        "S202",
        &CaseAction::Answer {
            answer: "已电话答复".into(),
        },
    )
    .unwrap();
    assert_eq!(
        l.act(
            &ticket.number,
            4,
            "S202",
            &CaseAction::archive("资料一套（档案盒）", "档案室 刘芳")
        )
        .unwrap()
        .state,
        CaseState::Archived
    );
}

#[test]
fn priority_first_fifo_within_a_class_and_a_cap_against_starvation() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-25T01:00:00Z");
    let issue = |l: &mut Ledger, p: Option<&str>| {
        clock.advance(Span::seconds(10));
        l.issue(&req("D01", p)).unwrap().number
    };
    let r1 = issue(&mut l, None);
    let r2 = issue(&mut l, None);
    let p: Vec<String> = ["elderly", "pregnant", "military", "disabled", "elderly"]
        .iter()
        .map(|c| issue(&mut l, Some(c)))
        .collect();
    let order: Vec<String> = (0..7).map(|_| call_and_hold(&mut l, 8, "S402").number).collect();
    // Demo hall cap is 3: three priority calls, then a regular visitor, and so on.
    assert_eq!(
        order,
        vec![
            p[0].clone(),
            p[1].clone(),
            p[2].clone(),
            r1,
            p[3].clone(),
            p[4].clone(),
            r2
        ]
    );
    assert!(matches!(
        l.call(&CallRequest {
            window: 8,
            staff: "S402".into(),
            number: None
        }),
        Err(LedgerError::NobodyWaiting(8))
    ));
}

#[test]
fn ahead_count_and_estimated_wait_follow_the_queue() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-25T01:00:00Z");
    // No history yet: the configured default (12 min) × ahead ÷ 2 open windows.
    for _ in 0..4 {
        l.issue(&req("E01", None)).unwrap();
    }
    let fifth = l.issue(&req("E01", None)).unwrap();
    assert_eq!((fifth.ahead, fifth.estimated_wait_min), (4, 24));
    // One service of 6 minutes becomes the average.
    let c = call(&mut l, 10, "S502");
    l.act(&c.number, 10, "S502", &CaseAction::Start).unwrap();
    clock.advance(Span::minutes(6));
    l.act(
        &c.number,
        10,
        "S502",
        &CaseAction::NotifyMissing {
            missing: vec!["本人银行卡".into()],
        },
    )
    .unwrap();
    l.set_window_paused(11, "S501", true).unwrap();
    assert_eq!(
        l.position(fifth.case_id).unwrap(),
        bangban::ledger::Position {
            ahead: 3,
            estimated_wait_min: 18
        },
        "6 min × 3 ahead ÷ 1 open window"
    );
}

#[test]
fn replaying_the_log_rebuilds_exactly_the_cases_table() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-25T01:00:00Z");
    for (i, item) in ["A01", "B01", "C01", "F01", "Z01", "J03", "A02"].iter().enumerate() {
        clock.advance(Span::seconds(30));
        l.issue(&req(item, if i % 3 == 0 { Some("military") } else { None }))
            .unwrap();
    }
    let c = call(&mut l, 1, "S101");
    l.act(&c.number, 1, "S101", &CaseAction::Start).unwrap();
    l.act(
        &c.number,
        1,
        "S101",
        &CaseAction::Transfer {
            department: "SWJ".into(),
            window: None,
            note: Some("需先办税务".into()),
        },
    )
    .unwrap();
    let z = call(&mut l, 21, "S001");
    l.act(&z.number, 21, "S001", &CaseAction::NoShow).unwrap_err();
    l.act(&z.number, 21, "S001", &CaseAction::Recall).unwrap();
    l.act(&z.number, 21, "S001", &CaseAction::NoShow).unwrap();
    let b = call(&mut l, 4, "S202");
    l.act(&b.number, 4, "S202", &CaseAction::Start).unwrap();
    l.act(&b.number, 4, "S202", &CaseAction::Hold).unwrap();
    l.act(&b.number, 4, "S202", &CaseAction::Resume).unwrap();
    act_signing(&mut l, &b.number, 4, "S202", &CaseAction::accept(materials_of("B01"))).unwrap();
    l.act(&b.number, 4, "S202", &CaseAction::Ready).unwrap();
    act_signing(&mut l, &b.number, 4, "S202", &CaseAction::DeliverInPerson).unwrap();
    l.record_print(
        1,
        "kiosk-1",
        Some((bangban::api::PrintFailure::Offline, "printer offline")),
        false,
    )
    .unwrap();
    let stored = l.cases().unwrap();
    let replayed = l.replay().unwrap();
    assert_eq!(stored.len(), 7);
    assert_eq!(replayed, stored, "replay differs from the cases table");
    assert_eq!(stored.values().filter(|c| c.state == CaseState::Transferred).count(), 1);
    // The transferred case keeps its original place (queued_at) in the tax queue.
    let moved = stored.values().find(|c| c.state == CaseState::Transferred).unwrap();
    assert_eq!(
        (moved.department.as_str(), moved.queued_at.as_str()),
        ("SWJ", moved.issued_at.as_str())
    );
}

#[test]
fn a_locked_ledger_gives_a_clear_busy_error_and_loses_nothing() {
    let t = demo_ledger();
    let blocker = rusqlite::Connection::open(&t.db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = cli(&t.db, &["--busy-timeout-ms", "300", "issue", "--item", "A01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the ledger is busy"), "{}", stderr(&out));
    blocker.execute_batch("ROLLBACK").unwrap();
    let j = json(&cli(&t.db, &["issue", "--item", "A01", "--json"]));
    assert_eq!(j["number"], "A001", "the failed attempt used no number");
}

#[test]
fn a_newer_schema_is_refused_plainly() {
    let t = demo_ledger();
    rusqlite::Connection::open(&t.db)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let out = cli(&t.db, &["items"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("schema version 99, newer than this program supports"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_uninitialised_ledger_says_how_to_start() {
    let t = temp_ledger();
    let out = cli(&t.db, &["issue", "--item", "A01"]);
    assert!(
        stderr(&out).contains("run `bangban init --hall FILE`"),
        "{}",
        stderr(&out)
    );
    assert!(!t.db.exists(), "a mistyped --db must not create an empty ledger");
}

#[test]
fn staff_pins_lock_after_five_wrong_tries() {
    let t = temp_ledger();
    let clock = ManualClock::new(at("2026-11-25T01:00:00Z"));
    let opts = LedgerOptions {
        busy_timeout: Duration::from_secs(5),
        clock: Arc::new(clock.clone()),
    };
    let mut l = bangban::open_or_demo(&t.db, opts, "test").unwrap();
    l.set_pin("S101", "246813", "admin").unwrap();
    l.login("S101", 1, "246813").unwrap();
    for left in (1..=4).rev() {
        assert!(matches!(l.login("S101", 1, "0000"), Err(LedgerError::WrongPin(_, n)) if n == left));
    }
    assert!(matches!(l.login("S101", 1, "0000"), Err(LedgerError::LoginLocked(..))));
    assert!(
        matches!(l.login("S101", 1, "246813"), Err(LedgerError::LoginLocked(..))),
        "locked even with the right PIN"
    );
    clock.advance(Span::minutes(6));
    l.login("S101", 1, "246813").unwrap();
    let events = l.events_after(0).unwrap();
    assert!(
        events.iter().all(|e| !e.payload.contains("246813")),
        "no PIN in the log"
    );
}

#[test]
fn another_specialist_of_the_department_acts_only_after_the_owner_hands_the_case_over() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102"]);
    let ok = |args: &[&str]| {
        let out = cli(&t.db, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    let refused = |args: &[&str]| {
        let out = cli(&t.db, &[args, &["--json"][..]].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?} went through");
        json(&out)
    };
    ok(&["issue", "--item", "A01", "--repeat", "2"]);
    // S102 serves A001 first: it is S102's case (首问负责).
    ok(&["call", "--window", "2", "--staff", "S102"]);
    ok(&["case", "A001", "start", "--staff", "S102", "--window", "2"]);
    ok(&["case", "A001", "hold", "--staff", "S102", "--window", "2"]);
    // S101 of the same department can neither act on it nor call it back.
    let e = refused(&["case", "A001", "resume", "--staff", "S101", "--window", "1"]);
    assert!(e["error"].as_str().unwrap().contains("is S102's (首问负责)"), "{e}");
    let e = refused(&["call", "--window", "1", "--staff", "S101", "--number", "A001"]);
    assert!(e["error"].as_str().unwrap().contains("S102"), "{e}");
    // The owner hands it over with a note; then S101 serves it, and S102 no longer may.
    ok(&[
        "case",
        "A001",
        "handover",
        "--to",
        "S101",
        "--note",
        "材料已核对，待补营业执照",
        "--staff",
        "S102",
        "--window",
        "2",
    ]);
    ok(&["case", "A001", "resume", "--staff", "S101", "--window", "1"]);
    refused(&["case", "A001", "hold", "--staff", "S102", "--window", "2"]);
    let shown = json(&cli(&t.db, &["--json", "case", "A001", "show"]));
    assert_eq!(shown["case"]["owner"], "S101");
    assert!(
        shown.to_string().contains("材料已核对，待补营业执照"),
        "the handover note is on the case"
    );
    // The department's coordinator (S101) may reassign S102's case without S102.
    ok(&["call", "--window", "2", "--staff", "S102"]);
    ok(&["case", "A002", "start", "--staff", "S102", "--window", "2"]);
    refused(&["case", "A002", "hold", "--staff", "S101", "--window", "1"]);
    ok(&[
        "case", "A002", "handover", "--to", "S101", "--staff", "S101", "--window", "1",
    ]);
    ok(&["case", "A002", "hold", "--staff", "S101", "--window", "1"]);
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_window_calls_the_next_visitor_only_after_settling_the_current_one() {
    let t = demo_ledger();
    set_pins(&t.db, &["S602"]);
    assert!(cli(&t.db, &["issue", "--item", "F01", "--repeat", "3"])
        .status
        .success());
    let call = || cli(&t.db, &["call", "--window", "12", "--staff", "S602", "--json"]);
    assert_eq!(json(&call())["number"], "F001");
    // F001 is called at window 12 and nothing became of it yet.
    let out = call();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("window 12 has F001 已叫号: settle it first"),
        "{}",
        stderr(&out)
    );
    // Another window of the department calls the next one meanwhile.
    let other = cli(&t.db, &["call", "--window", "13", "--staff", "S602", "--json"]);
    assert_eq!(json(&other)["number"], "F002");
    // A no-show after a recall settles F001; window 12 calls F003.
    for action in ["recall", "no-show"] {
        let out = cli(&t.db, &["case", "F001", action, "--staff", "S602", "--window", "12"]);
        assert!(out.status.success(), "{action}: {}", stderr(&out));
    }
    assert_eq!(json(&call())["number"], "F003");
}

#[test]
fn the_service_mode_is_set_and_changed_at_the_counter_with_an_event() {
    let t = demo_ledger();
    set_pins(&t.db, &["S602"]);
    assert!(cli(&t.db, &["issue", "--item", "F01"]).status.success());
    assert!(cli(&t.db, &["call", "--window", "12", "--staff", "S602"])
        .status
        .success());
    let set = |mode: &str| {
        json(&cli(
            &t.db,
            &["--json", "case", "F001", "mode", "--mode", mode, "--staff", "S602"],
        ))
    };
    assert_eq!(set("fullprocess")["mode"], "fullprocess");
    assert_eq!(set("onsite")["mode"], "onsite");
    let out = cli(
        &t.db,
        &["case", "F001", "mode", "--mode", "by-carrier-pigeon", "--staff", "S602"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let kinds = event_kinds(&t.db, "F001");
    assert_eq!(kinds.iter().filter(|k| **k == "mode_changed").count(), 2, "{kinds:?}");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_stuck_case_is_escalated_held_while_its_window_calls_on_met_on_and_resumes_with_everything_in_case_show() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102", "S900"]);
    let run = |args: &[&str]| cli(&t.db, args);
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    ok(&["issue", "--item", "A01"]);
    ok(&["call", "--window", "1", "--staff", "S101"]);
    ok(&["case", "A001", "start", "--staff", "S101"]);
    // Only the owner (or the department's coordinator) escalates.
    let out = run(&[
        "case", "A001", "escalate", "--reason", "x", "--staff", "S102", "--window", "2",
    ]);
    assert!(
        !out.status.success(),
        "a handler who does not own the case escalated it"
    );
    ok(&[
        "case",
        "A001",
        "escalate",
        "--reason",
        "税务、公积金开户需同时确认，部门意见不一",
        "--staff",
        "S101",
    ]);
    let shown = json(&run(&["--json", "case", "A001", "show"]));
    assert_eq!(shown["case"]["under_coordination"], true);
    // The escalation is the office's alert (and the department's) until the outcome is in.
    let coordination = |department: Option<&str>| -> Option<serde_json::Value> {
        let mut args = vec!["--json", "overdue"];
        if let Some(d) = department {
            args.extend(["--department", d]);
        }
        json(&run(&args))["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "coordination" && o["number"] == "A001")
            .cloned()
    };
    let alert = coordination(None).expect("an escalated case is an alert for the office");
    assert_eq!(
        alert["overdue"], false,
        "the meeting is due within two working days: {alert}"
    );
    assert!(coordination(Some("SCJG")).is_some(), "and for its department");
    assert!(
        coordination(Some("GAJ")).is_none(),
        "not for a department it does not involve"
    );
    // Waiting for the meeting does not stall the window: the case is held (暂挂) and the
    // window calls the next visitor, while the office still sees the pending escalation.
    ok(&["issue", "--item", "A01"]);
    let busy = run(&["call", "--window", "1", "--staff", "S101"]);
    assert!(!busy.status.success(), "the window still serves A001");
    ok(&["case", "A001", "hold", "--staff", "S101"]);
    let next = json(&run(&["--json", "call", "--window", "1", "--staff", "S101"]));
    assert_eq!(next["number"], "A002", "the window called the next visitor: {next}");
    ok(&["case", "A002", "start", "--staff", "S101"]);
    assert!(
        coordination(None).is_some(),
        "the held escalation is still the office's alert"
    );
    // The work itself waits for the office's outcome.
    let out = run(&["case", "A001", "resume", "--staff", "S101"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("under coordination (协调中)"), "{}", stderr(&out));
    // Only the management office records the meeting and its outcome.
    let meeting = [
        "case",
        "A001",
        "meeting",
        "--at",
        "2026-11-27 15:00",
        "--participant",
        "S101",
        "--participant",
        "S201",
        "--participant",
        "S601",
        "--minutes",
        "三部门会商，明确办理顺序",
        "--decision",
        "先办税务登记，公积金同步开户",
        "--follow-up",
        "2026-11-30",
    ];
    let out = run(&[&meeting[..], &["--staff", "S101"]].concat());
    assert!(!out.status.success(), "a specialist recorded a coordination meeting");
    ok(&[&meeting[..], &["--staff", "S900", "--window", "21"]].concat());
    // The meeting's follow-up date (30 November, long past) is now the outcome's deadline.
    let alert = coordination(None).expect("the outcome is still awaited");
    assert_eq!(alert["overdue"], true, "{alert}");
    assert!(
        alert["due"].as_str().unwrap().starts_with("2026-11-30T16:00"),
        "{alert}"
    );
    ok(&[
        "case",
        "A001",
        "resolve",
        "--outcome",
        "按会议决定继续办理",
        "--staff",
        "S900",
        "--window",
        "21",
    ]);
    assert!(
        coordination(None).is_none(),
        "the outcome is recorded: no longer an alert"
    );
    // The case resumes once the window has set its current visitor aside.
    ok(&["case", "A002", "hold", "--staff", "S101"]);
    ok(&["case", "A001", "resume", "--staff", "S101"]);
    let text = stdout(&run(&["case", "A001", "show"]));
    for said in [
        "税务、公积金开户需同时确认，部门意见不一",
        "三部门会商，明确办理顺序",
        "先办税务登记，公积金同步开户",
        "按会议决定继续办理",
    ] {
        assert!(text.contains(said), "{said} is not in case show:\n{text}");
    }
    let kinds = event_kinds(&t.db, "A001");
    for kind in [
        "coordination_requested",
        "coordination_meeting",
        "coordination_resolved",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind}: {kinds:?}");
    }
    let shown = json(&run(&["--json", "case", "A001", "show"]));
    let meeting = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "coordination_meeting")
        .unwrap()["payload"]
        .clone();
    let payload: serde_json::Value = serde_json::from_str(meeting.as_str().unwrap()).unwrap();
    assert_eq!(payload["participants"], serde_json::json!(["S101", "S201", "S601"]));
    assert_eq!(payload["held_at"], "2026-11-27T07:00:00.000Z");
    assert_eq!(payload["follow_up"], "2026-11-30");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_visitor_walked_to_the_receiving_window_is_recorded_with_the_result() {
    let t = demo_ledger();
    set_pins(&t.db, &["S001"]);
    let ok = |args: &[&str]| {
        let out = cli(&t.db, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    // At the consultation desk the visitor's materials are incomplete; the specialist walks
    // them to the property department's receiving window, and later records how it went.
    ok(&["issue", "--item", "Z01"]);
    ok(&["call", "--window", "21", "--staff", "S001"]);
    ok(&["case", "Z001", "start", "--staff", "S001"]);
    ok(&["case", "Z001", "accompany", "--to-window", "12", "--staff", "S001"]);
    ok(&[
        "case",
        "Z001",
        "accompany-result",
        "--result",
        "12号窗口已收件，缺婚姻状况证明",
        "--staff",
        "S001",
    ]);
    let out = cli(&t.db, &["case", "Z001", "accompany", "--staff", "S001"]);
    assert_eq!(out.status.code(), Some(2), "the window is required: {}", stderr(&out));
    let out = cli(
        &t.db,
        &["case", "Z001", "accompany", "--to-window", "99", "--staff", "S001"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let kinds = event_kinds(&t.db, "Z001");
    assert!(kinds.iter().any(|k| k == "accompanied") && kinds.iter().any(|k| k == "accompany_result"));
    let text = stdout(&cli(&t.db, &["case", "Z001", "show"]));
    assert!(text.contains("12号窗口已收件，缺婚姻状况证明"), "{text}");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn each_deadline_alerts_at_its_moment_and_not_before() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S601", "S602", "S603"]);
    // Friday 27 November 2026, in the hall's time zone.
    let at = |when: &str, args: &[&str]| {
        let out = cli_env(&t.db, args, &[("BANGBAN_NOW", when)]);
        assert!(out.status.success(), "{when} {args:?}: {}", stderr(&out));
    };
    let overdue = |when: &str| -> Vec<(String, String, bool)> {
        let out = cli_env(&t.db, &["--json", "overdue"], &[("BANGBAN_NOW", when)]);
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().to_string(),
                    o["number"].as_str().unwrap().to_string(),
                    o["overdue"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let has = |list: &[(String, String, bool)], kind: &str, number: &str| {
        list.iter().find(|o| o.0 == kind && o.1 == number).map(|o| o.2)
    };
    let fri = |hm: &str| format!("2026-11-27T{hm}:00+08:00");
    // A priority visitor at 10:00 (10 minutes), a consultation deferred at 10:05 (2 working
    // days), results ready, posted and delivered at 11:00 (3 working days, 7 days, 5 days).
    at(&fri("10:00"), &["issue", "--item", "B01", "--priority", "elderly"]);
    at(&fri("10:00"), &["issue", "--item", "A01"]);
    at(&fri("10:01"), &["call", "--window", "1", "--staff", "S101"]);
    at(&fri("10:02"), &["case", "A001", "start", "--staff", "S101"]);
    at(
        &fri("10:05"),
        &[
            "case",
            "A001",
            "consult",
            "--question",
            "跨区迁址",
            "--deferred",
            "--staff",
            "S101",
        ],
    );
    at(&fri("10:06"), &["issue", "--item", "F01", "--repeat", "3"]);
    for (number, window, staff) in [("F001", "12", "S601"), ("F002", "13", "S602"), ("F003", "14", "S603")] {
        at(
            &fri("10:07"),
            &["call", "--window", window, "--staff", staff, "--number", number],
        );
        at(&fri("10:30"), &["case", number, "start", "--staff", staff]);
        let poa = form_number_cli(&t.db, number, "poa", &[("BANGBAN_NOW", &fri("10:30"))]);
        for action in [
            &["signed-on-paper", "--form", "poa", "--number", &poa][..],
            &[
                "accept",
                "--material",
                "不动产权证书",
                "--material",
                "买卖双方身份证",
                "--material",
                "婚姻状况证明",
                "--material",
                "存量房买卖合同",
                "--material",
                "完税凭证",
            ],
            &["start-work"],
        ] {
            at(
                &fri("10:30"),
                &[&["case", number][..], action, &["--staff", staff]].concat(),
            );
        }
        at(&fri("11:00"), &["case", number, "ready", "--staff", staff]);
    }
    at(
        &fri("11:00"),
        &[
            "case",
            "F002",
            "mail",
            "--tracking",
            "SF1",
            "--recipient",
            "王芳",
            "--courier",
            "EMS",
            "--staff",
            "S602",
        ],
    );
    let slip = form_number_cli(&t.db, "F003", "completion", &[("BANGBAN_NOW", &fri("11:00"))]);
    at(
        &fri("11:00"),
        &[
            "case",
            "F003",
            "signed-on-paper",
            "--form",
            "completion",
            "--number",
            &slip,
            "--staff",
            "S603",
        ],
    );
    at(&fri("11:00"), &["case", "F003", "deliver", "--staff", "S603"]);

    // The priority visitor: nothing at 10:07, due soon at 10:09, overdue at 10:11.
    // 主动服务: the floor sees the priority visitor from the ticket on.
    assert_eq!(has(&overdue(&fri("10:01")), "priority_arrived", "B001"), Some(false));
    assert_eq!(has(&overdue(&fri("10:07")), "priority_wait", "B001"), None);
    assert_eq!(
        has(&overdue(&fri("10:09")), "priority_arrived", "B001"),
        None,
        "turned into priority_wait"
    );
    assert_eq!(has(&overdue(&fri("10:09")), "priority_wait", "B001"), Some(false));
    assert_eq!(has(&overdue(&fri("10:11")), "priority_wait", "B001"), Some(true));
    // Each day-counted deadline: not a minute early, overdue a minute late. Weekends skip
    // the working days: deferred Friday 10:05 → due Tuesday 10:05; ready Friday 11:00 →
    // Wednesday 11:00; posted → Friday 4 December 11:00; delivered → Wednesday 2 December 11:00.
    for (kind, number, due) in [
        ("consultation_answer", "A001", "2026-12-01T10:05"),
        ("delivery", "F001", "2026-12-02T11:00"),
        ("receipt", "F002", "2026-12-04T11:00"),
        ("archive", "F003", "2026-12-02T11:00"),
    ] {
        let due: chrono::DateTime<chrono::FixedOffset> =
            chrono::DateTime::parse_from_rfc3339(&format!("{due}:00+08:00")).unwrap();
        let before = (due - chrono::Duration::minutes(1)).to_rfc3339();
        let after = (due + chrono::Duration::minutes(1)).to_rfc3339();
        assert_ne!(
            has(&overdue(&before), kind, number),
            Some(true),
            "{kind} {number} early"
        );
        assert_eq!(has(&overdue(&after), kind, number), Some(true), "{kind} {number} late");
    }
    // Answered, the consultation is no longer held to its deadline.
    at(
        "2026-12-01T09:00:00+08:00",
        &[
            "case",
            "2026-11-27/A001",
            "answer",
            "--answer",
            "可办理",
            "--staff",
            "S101",
        ],
    );
    assert_eq!(
        has(&overdue("2026-12-01T10:06:00+08:00"), "consultation_answer", "A001"),
        None
    );
}

#[test]
fn one_rating_per_visit_and_a_bad_one_is_overdue_until_the_coordinator_replies() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102"]);
    let at = |when: &str, args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", when)]);
    let ok = |when: &str, args: &[&str]| {
        let out = at(when, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    let fri = "2026-11-27T10:00:00+08:00";
    ok(fri, &["issue", "--item", "A01", "--repeat", "2"]);
    // Not served yet: nothing to rate.
    assert_eq!(at(fri, &["rate", "A001", "--level", "5"]).status.code(), Some(1));
    ok(fri, &["call", "--window", "2", "--staff", "S102"]);
    ok(fri, &["case", "A001", "start", "--staff", "S102"]);
    ok(
        fri,
        &[
            "case",
            "A001",
            "consult",
            "--question",
            "名称核准",
            "--answer",
            "已说明",
            "--staff",
            "S102",
        ],
    );
    // A 不满意 rating: once, and it opens a follow-up.
    let rated = json(&ok(
        fri,
        &["--json", "rate", "A001", "--level", "2", "--channel", "kiosk"],
    ));
    assert_eq!(
        (rated["rating"].as_u64(), rated["follow_up_open"].as_bool()),
        (Some(2), Some(true))
    );
    let again = at(fri, &["rate", "A001", "--level", "5"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("one rating per visit"), "{}", stderr(&again));
    let listed = |when: &str| -> Option<bool> {
        json(&at(when, &["--json", "overdue"]))["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "rating_follow_up" && o["number"] == "A001")
            .map(|o| o["overdue"].as_bool().unwrap())
    };
    // Two working days: Friday 10:00 → Tuesday 10:00.
    assert_ne!(
        listed("2026-12-01T09:59:00+08:00"),
        Some(true),
        "not before its deadline"
    );
    assert_eq!(listed("2026-12-01T10:01:00+08:00"), Some(true), "overdue after it");
    // Only the department's coordinator replies; then the follow-up is closed.
    let reply = [
        "case",
        "2026-11-27/A001",
        "rating-reply",
        "--reply",
        "已致电说明办理进度并致歉",
    ];
    assert!(!at(
        "2026-12-01T11:00:00+08:00",
        &[&reply[..], &["--staff", "S102"]].concat()
    )
    .status
    .success());
    ok(
        "2026-12-01T11:00:00+08:00",
        &[&reply[..], &["--staff", "S101", "--window", "1"]].concat(),
    );
    assert_eq!(listed("2026-12-01T11:01:00+08:00"), None);
    // A good rating opens nothing.
    ok(fri, &["call", "--window", "1", "--staff", "S101"]);
    ok(fri, &["case", "A002", "start", "--staff", "S101"]);
    let good = json(&ok(fri, &["--json", "rate", "A002", "--level", "5"]));
    assert_eq!(good["follow_up_open"].as_bool(), None);
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_whole_chain_case_is_delivered_only_when_every_departments_part_is_done() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S201", "S301", "S501", "S701", "S702"]);
    // Friday 27 November 2026 in the hall's time zone; the materials are due on Monday.
    let fri = "2026-11-27T10:00:00+08:00";
    let ok = |when: &str, args: &[&str]| ok_json(&t.db, when, args);
    let refused = |when: &str, args: &[&str]| refused_json(&t.db, when, args);
    fn act<'a>(staff: &'a str, window: &'a str, action: &[&'a str]) -> Vec<&'a str> {
        // By day and number: the case runs over several days.
        [
            &["case", "2026-11-27/A001"][..],
            action,
            &["--staff", staff, "--window", window],
        ]
        .concat()
    }
    // 企业开办 (A01) is whole-chain, led by 市场监督 with 税务, 人社 and 公积金: the lead
    // accepts it in 全程 mode, and one part per department opens.
    ok(fri, &["issue", "--item", "A01"]);
    ok(fri, &["call", "--window", "1", "--staff", "S101"]);
    ok(fri, &act("S101", "1", &["start"]));
    // Put aside at the counter is not accepted: no parts yet.
    let held = ok(fri, &act("S101", "1", &["hold"]));
    assert!(held["parts"].is_null(), "{held}");
    ok(fri, &act("S101", "1", &["resume"]));
    let poa = form_number_cli(&t.db, "2026-11-27/A001", "poa", &[("BANGBAN_NOW", fri)]);
    ok(
        fri,
        &act("S101", "1", &["signed-on-paper", "--form", "poa", "--number", &poa]),
    );
    let mut accept = vec!["accept"];
    let materials = materials_of("A01");
    for m in &materials {
        accept.extend(["--material", m.as_str()]);
    }
    let accepted = ok(fri, &act("S101", "1", &accept));
    let parts = |case: &serde_json::Value| -> Vec<(String, String)> {
        case["parts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["department"].as_str().unwrap().into(),
                            p["state"].as_str().unwrap().into(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let open = |d: &str| (d.to_string(), "open".to_string());
    assert_eq!(
        parts(&accepted),
        vec![open("SCJG"), open("SWJ"), open("RSJ"), open("GJJ")]
    );
    // Each part is an alert for its department from the start, overdue when not claimed
    // within one working day (part_claim_days): Friday 10:00 → Monday 10:00.
    let unclaimed = |when: &str| -> Option<bool> {
        let out = cli_env(
            &t.db,
            &["--json", "overdue", "--department", "RSJ"],
            &[("BANGBAN_NOW", when)],
        );
        json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "part_unclaimed")
            .map(|o| o["overdue"].as_bool().unwrap())
    };
    assert_eq!(unclaimed(fri), Some(false));
    assert_eq!(
        unclaimed("2026-11-30T09:59:00+08:00"),
        Some(false),
        "the weekend does not count"
    );
    assert_eq!(unclaimed("2026-11-30T10:01:00+08:00"), Some(true));
    // The lead department answers for the whole: it sees another department's part once that
    // part stalls (past its claim deadline), not before.
    let lead_sees_rsj = |when: &str| -> bool {
        let out = cli_env(
            &t.db,
            &["--json", "overdue", "--department", "SCJG"],
            &[("BANGBAN_NOW", when)],
        );
        json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "part_unclaimed" && o["department"] == "RSJ" && o["overdue"] == true)
    };
    assert!(!lead_sees_rsj(fri), "人社's part is not the lead's alert while on time");
    assert!(
        lead_sees_rsj("2026-11-30T10:01:00+08:00"),
        "a stalled part is the lead's alert too"
    );
    // A department that takes no part cannot claim one; the lead cannot finish early.
    let e = refused(fri, &act("S201", "4", &["claim"]));
    assert!(e.contains("has no part for 公安局"), "{e}");
    let e = refused(fri, &act("S101", "1", &["ready"]));
    assert!(e.contains("has parts not yet done"), "{e}");
    // Each department claims its part (责任认领) and works it side by side.
    for (staff, window) in [("S101", "1"), ("S701", "15"), ("S301", "6"), ("S501", "10")] {
        ok(fri, &act(staff, window, &["claim"]));
    }
    // The part is S701's: another specialist of 税务 cannot move it.
    assert_eq!(unclaimed(fri), None, "claimed: no longer an alert");
    let e = refused(fri, &act("S702", "16", &["part", "--state", "accepted"]));
    assert!(e.contains("is S701's (首问负责)"), "{e}");
    for (staff, window) in [("S101", "1"), ("S701", "15"), ("S301", "6")] {
        for state in ["accepted", "in_progress", "done"] {
            ok(fri, &act(staff, window, &["part", "--state", state]));
        }
    }
    // 公积金 accepts its part without the bank card (容缺受理), due Monday 30 November.
    ok(
        fri,
        &act(
            "S501",
            "10",
            &[
                "part",
                "--state",
                "accepted",
                "--missing",
                "本人银行卡",
                "--supply-by",
                "2026-11-30",
            ],
        ),
    );
    let e = refused(fri, &act("S501", "10", &["part", "--state", "done"]));
    assert!(e.contains("本人银行卡"), "{e}");
    let missing_overdue = |when: &str| -> Vec<(String, String, bool)> {
        let out = cli_env(
            &t.db,
            &["--json", "overdue", "--department", "GJJ"],
            &[("BANGBAN_NOW", when)],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["kind"] == "missing_material")
            .map(|o| {
                (
                    o["number"].as_str().unwrap().into(),
                    o["material"].as_str().unwrap().into(),
                    o["overdue"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert!(
        missing_overdue("2026-11-28T10:00:00+08:00").is_empty(),
        "due on Monday, not on Saturday"
    );
    assert_eq!(
        missing_overdue("2026-11-30T23:00:00+08:00"),
        vec![("A001".into(), "本人银行卡".into(), false)],
        "due soon on its last evening"
    );
    let tue = "2026-12-01T09:00:00+08:00";
    assert_eq!(missing_overdue(tue), vec![("A001".into(), "本人银行卡".into(), true)]);
    // Other departments' lists do not carry 公积金's material.
    let out = cli_env(
        &t.db,
        &["--json", "overdue", "--department", "SWJ"],
        &[("BANGBAN_NOW", tue)],
    );
    assert!(!stdout(&out).contains("missing_material"), "{}", stdout(&out));
    let e = refused(tue, &act("S101", "1", &["ready"]));
    assert!(e.contains("GJJ (accepted)"), "{e}");
    // The card is handed in: the part is done, the alert goes, and the lead delivers.
    ok(tue, &act("S501", "10", &["supplied", "--material", "本人银行卡"]));
    assert!(missing_overdue(tue).is_empty());
    ok(tue, &act("S501", "10", &["part", "--state", "done"]));
    ok(tue, &act("S101", "1", &["ready"]));
    let slip = form_number_cli(&t.db, "2026-11-27/A001", "completion", &[("BANGBAN_NOW", tue)]);
    ok(
        tue,
        &act(
            "S101",
            "1",
            &["signed-on-paper", "--form", "completion", "--number", &slip],
        ),
    );
    let delivered = ok(tue, &act("S101", "1", &["deliver"]));
    assert_eq!(delivered["state"], "delivered");
    assert!(parts(&delivered).iter().all(|p| p.1 == "done"));
    let shown = cli(&t.db, &["case", "2026-11-27/A001", "show"]);
    let text = stdout(&shown);
    for line in [
        "全链条分项（并联办理）",
        "SWJ 已办结 · S701",
        "GJJ 已办结 · S501",
        "part_claimed",
        "part_material_supplied",
    ] {
        assert!(text.contains(line), "{line} missing from case show:\n{text}");
    }
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn acceptance_checks_the_items_materials_and_what_is_accepted_without_is_due_and_in_the_register() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    // Monday 7 December: a company registration (A01, five materials) at window 1.
    let mon = "2026-12-07T10:00:00+08:00";
    ok_json(&t.db, mon, &["issue", "--item", "A01"]);
    ok_json(&t.db, mon, &["call", "--window", "1", "--staff", "S101"]);
    ok_json(&t.db, mon, &["case", "A001", "start", "--staff", "S101"]);
    let poa = form_number_cli(&t.db, "A001", "poa", &[("BANGBAN_NOW", mon)]);
    ok_json(
        &t.db,
        mon,
        &[
            "case",
            "A001",
            "signed-on-paper",
            "--form",
            "poa",
            "--number",
            &poa,
            "--staff",
            "S101",
        ],
    );
    let accept = |extra: &[&str]| {
        let mut args = vec!["case", "A001", "accept", "--staff", "S101"];
        for m in ["公司登记（备案）申请书", "公司章程", "股东身份证明"] {
            args.extend(["--material", m]);
        }
        args.extend(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_json(&t.db, mon, &args)
    };
    // Two of the five neither handed over nor accepted without: refused, naming the first.
    let said = run(&accept(&[]));
    assert!(
        said.contains("法定代表人、董事、监事任职文件") && said.contains("neither handed over nor accepted without"),
        "{said}"
    );
    // One accepted without (容缺) is not enough either; with no due day it is refused too.
    let said = run(&accept(&["--missing", "住所使用证明", "--supply-by", "2026-12-10"]));
    assert!(said.contains("法定代表人、董事、监事任职文件"), "{said}");
    let said = run(&accept(&[
        "--material",
        "法定代表人、董事、监事任职文件",
        "--missing",
        "住所使用证明",
    ]));
    assert!(said.contains("--supply-by"), "{said}");
    let said = run(&accept(&[
        "--material",
        "法定代表人、董事、监事任职文件",
        "--missing",
        "公司章程",
        "--supply-by",
        "2026-12-10",
    ]));
    assert!(said.contains("both handed over and missing"), "{said}");
    assert_eq!(
        event_kinds(&t.db, "2026-12-07/A001")
            .iter()
            .filter(|k| *k == "case_accepted")
            .count(),
        0,
        "nothing was accepted by the refusals"
    );
    // Four handed over, 住所使用证明 accepted without, due Thursday.
    let accepted = ok_json(
        &t.db,
        mon,
        &accept(&[
            "--material",
            "法定代表人、董事、监事任职文件",
            "--missing",
            "住所使用证明",
            "--supply-by",
            "2026-12-10",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert_eq!(accepted["state"], "accepted", "{accepted}");
    let missing = |now: &str| -> Option<serde_json::Value> {
        ok_json(&t.db, now, &["overdue", "--department", "SCJG"])["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "missing_material" && o["number"] == "A001")
            .cloned()
    };
    // Due at the end of Thursday: due soon on Thursday, overdue on Friday, owned by 许喆.
    let thu = missing("2026-12-10T16:00:00+08:00").expect("the material is due on Thursday");
    assert_eq!(thu["overdue"], false);
    assert_eq!(thu["material"], "住所使用证明");
    assert_eq!(thu["owner"], "S101");
    let fri = "2026-12-11T09:00:00+08:00";
    assert_eq!(missing(fri).expect("overdue on Friday")["overdue"], true);
    // The acceptances register names it with its day.
    let register = stdout(&cli_env(
        &t.db,
        &["records", "acceptances", "--from", "2026-12-07", "--to", "2026-12-07"],
        &[("BANGBAN_NOW", fri)],
    ));
    assert!(
        register.contains("容缺：住所使用证明（2026-12-10 前补齐）"),
        "{register}"
    );
    // Handed in: no longer due.
    ok_json(
        &t.db,
        fri,
        &[
            "case",
            "2026-12-07/A001",
            "supplied",
            "--material",
            "住所使用证明",
            "--staff",
            "S101",
        ],
    );
    assert!(missing(fri).is_none(), "the supplied material is still listed");
    let said = refused_json(
        &t.db,
        fri,
        &[
            "case",
            "2026-12-07/A001",
            "supplied",
            "--material",
            "住所使用证明",
            "--staff",
            "S101",
        ],
    );
    assert!(said.contains("容缺"), "{said}");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_visitor_gone_in_service_is_cancelled_with_the_reason_and_a_returned_number_is_found_by_its_old_day() {
    let t = demo_ledger();
    set_pins(&t.db, &["S602"]);
    let wed = "2026-12-09T10:00:00+08:00";
    let thu = "2026-12-10T09:30:00+08:00";
    // Wednesday: F001 is served, the visitor walks away from the counter; F002 never comes.
    ok_json(&t.db, wed, &["issue", "--item", "F01"]);
    let f2 = ok_json(&t.db, wed, &["issue", "--item", "F01"]);
    ok_json(&t.db, wed, &["call", "--window", "12", "--staff", "S602"]);
    ok_json(&t.db, wed, &["case", "F001", "start", "--staff", "S602"]);
    let said = refused_json(&t.db, wed, &["case", "F001", "cancel", "--staff", "S602"]);
    assert!(said.contains("walked away") && said.contains("--reason"), "{said}");
    let cancelled = ok_json(
        &t.db,
        wed,
        &[
            "case",
            "F001",
            "cancel",
            "--reason",
            "群众临时有事离开",
            "--staff",
            "S602",
        ],
    );
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    // The window is free again.
    let next = ok_json(&t.db, wed, &["call", "--window", "12", "--staff", "S602"]);
    assert_eq!(next["number"], "F002");
    // `case show` speaks the hall's time, not UTC.
    let shown = stdout(&cli_env(&t.db, &["case", "F001", "show"], &[("BANGBAN_NOW", wed)]));
    assert!(shown.contains("2026-12-09 10:00:00"), "{shown}");
    assert!(!shown.contains("T02:00:00"), "{shown}");
    assert!(shown.contains("群众临时有事离开"), "{shown}");

    // Wednesday is closed (F002, called, never came: expired); Thursday F002 comes back and
    // takes today's number, and Wednesday's number still finds it.
    ok_json(
        &t.db,
        thu,
        &[
            "close-day",
            "--date",
            "2026-12-09",
            "--out-dir",
            t.dir.path().join("filed").to_str().unwrap(),
        ],
    );
    let token = f2["token"].as_str().unwrap();
    let back = ok_json(
        &t.db,
        thu,
        &["case", token, "return", "--staff", "S602", "--window", "12"],
    );
    assert_eq!(back["number"], "F001", "{back}");
    let found = ok_json(&t.db, thu, &["case", "2026-12-09/F002", "show"]);
    assert_eq!(found["case"]["token"], token, "{found}");
    assert_eq!(found["case"]["business_day"], "2026-12-10");
    // Today's F001 is the returned visitor, Wednesday's F001 the cancelled one.
    assert_eq!(ok_json(&t.db, thu, &["case", "F001", "show"])["case"]["token"], token);
    assert_eq!(
        ok_json(&t.db, thu, &["case", "2026-12-09/F001", "show"])["case"]["state"],
        "cancelled"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}
