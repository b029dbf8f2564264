//! Appointments and the visitor's voice: a booked code checks in ahead of the walk-ins of its
//! slot only in its window of time and only once; complaints and suggestions are tracked to a
//! reply by their deadline; what the visitor said stays out of the event log.

use rusqlite::Connection;

use crate::support::*;

fn payloads(db: &std::path::Path) -> String {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT payload FROM events").unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn an_appointment_checks_in_once_in_its_slot_ahead_of_the_walk_ins() {
    let t = demo_ledger();
    set_pins(&t.db, &["S601"]);
    let ok = |when: &str, args: &[&str]| ok_json(&t.db, when, args);
    let refused = |when: &str, args: &[&str]| refused_json(&t.db, when, args);
    let fri = |hm: &str| format!("2026-11-27T{hm}:00+08:00");
    // Booked at 09:00 (by phone, 来电) for 10:00; the phone is kept as a note, shown masked.
    let booked = ok(
        &fri("09:00"),
        &[
            "appointment",
            "add",
            "--item",
            "F01",
            "--at",
            "2026-11-27 10:00",
            "--phone",
            "138 1234 5678",
            "--channel",
            "phone",
        ],
    );
    let code = booked["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6, "{booked}");
    assert_eq!(booked["phone"], "138****5678");
    assert_eq!(
        (booked["check_in_from"].as_str(), booked["check_in_until"].as_str()),
        (Some("09:30"), Some("10:15"))
    );
    // A time the hall is closed, or one that has passed, is refused.
    let e = refused(
        &fri("09:00"),
        &[
            "appointment",
            "add",
            "--item",
            "F01",
            "--at",
            "2026-11-27 18:30",
            "--phone",
            "13812345678",
        ],
    );
    assert!(e.contains("the hall is open 09:00–17:00"), "{e}");
    let e = refused(
        &fri("09:00"),
        &[
            "appointment",
            "add",
            "--item",
            "F01",
            "--at",
            "2026-11-27 08:30",
            "--phone",
            "13812345678",
        ],
    );
    assert!(e.contains("has passed"), "{e}");
    // Two walk-ins take tickets first.
    ok(&fri("09:35"), &["issue", "--item", "F01"]);
    ok(&fri("09:36"), &["issue", "--item", "F01"]);
    // Too early: the code works from half an hour before.
    let e = refused(&fri("09:20"), &["check-in", &code]);
    assert!(e.contains("check in from 09:30"), "{e}");
    let ticket = ok(&fri("09:40"), &["check-in", &code]);
    assert_eq!(ticket["number"], "F003");
    assert_eq!(ticket["priority"], "appointment");
    assert_eq!(ticket["priority_name"], "预约");
    assert_eq!(
        ticket["ahead"], 0,
        "the appointment stands ahead of the walk-ins: {ticket}"
    );
    // Reused: refused, plainly.
    let e = refused(&fri("09:41"), &["check-in", &code]);
    assert!(e.contains("has checked in already"), "{e}");
    // The counter calls the appointment before F001 and F002.
    let called = ok(&fri("09:45"), &["call", "--window", "12", "--staff", "S601"]);
    assert_eq!(called["number"], "F003");
    // A second appointment at 11:00 whose visitor comes at 11:20: the time is over.
    let late = ok(
        &fri("09:50"),
        &[
            "appointment",
            "add",
            "--item",
            "F02",
            "--at",
            "2026-11-27T11:00:00+08:00",
            "--phone",
            "13900001111",
        ],
    );
    let e = refused(&fri("11:20"), &["check-in", late["code"].as_str().unwrap()]);
    assert!(
        e.contains("could be checked in until 11:15: take an ordinary ticket"),
        "{e}"
    );
    let e = refused(&fri("11:20"), &["check-in", "12345"]);
    assert!(e.contains("six digits"), "{e}");
    // The day's list; the log holds neither the phone nor the code.
    let list = ok(&fri("12:00"), &["appointment", "list"]);
    let states: Vec<&str> = list["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["checked_in", "booked"]);
    let log = payloads(&t.db);
    assert!(
        !log.contains("13812345678") && !log.contains(&format!("\"{code}\"")),
        "phone or code in the log"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_complaint_is_overdue_after_its_deadline_until_the_coordinator_replies() {
    let t = demo_ledger();
    set_pins(&t.db, &["S601", "S602"]);
    let at = |when: &str, args: &[&str]| cli_env(&t.db, &[&["--json"][..], args].concat(), &[("BANGBAN_NOW", when)]);
    // Friday 10:00: a visitor complains at the desk about the wait at window 12.
    let out = at(
        "2026-11-27T10:00:00+08:00",
        &[
            "feedback",
            "add",
            "--kind",
            "complaint",
            "--category",
            "wait",
            "--window",
            "12",
            "--text",
            "等了一个小时 电话13812345678",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let f = json(&out);
    assert_eq!(f["department"], "BDC", "the window's department: {f}");
    let id = f["id"].as_i64().unwrap().to_string();
    let listed = |when: &str| -> Option<bool> {
        let out = at(when, &["overdue", "--department", "BDC"]);
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "feedback_reply")
            .map(|o| o["overdue"].as_bool().unwrap())
    };
    // Five working days: due Friday 4 December 10:00.
    assert_eq!(listed("2026-12-02T09:00:00+08:00"), None);
    assert_eq!(listed("2026-12-03T12:00:00+08:00"), Some(false), "due soon");
    assert_eq!(listed("2026-12-04T10:01:00+08:00"), Some(true), "overdue");
    // A handler may not reply; the department's coordinator does.
    let out = at(
        "2026-12-04T11:00:00+08:00",
        &[
            "--pin",
            TEST_PIN,
            "feedback",
            "reply",
            &id,
            "--reply",
            "已调整窗口",
            "--staff",
            "S602",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("may not reply") || stdout(&out).contains("may not reply"));
    let out = at(
        "2026-12-04T11:00:00+08:00",
        &[
            "--pin",
            TEST_PIN,
            "feedback",
            "reply",
            &id,
            "--reply",
            "已增开13号窗口，高峰时段分流",
            "--staff",
            "S601",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(listed("2026-12-04T11:01:00+08:00"), None, "replied: no longer overdue");
    let out = at(
        "2026-12-04T11:02:00+08:00",
        &[
            "feedback", "reply", &id, "--reply", "again", "--staff", "S601", "--pin", TEST_PIN,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "one reply");
    let list = json(&at("2026-12-04T12:00:00+08:00", &["feedback", "list"]));
    let item = &list["items"][0];
    assert_eq!(item["replied_by"], "S601");
    assert_eq!(item["reply"], "已增开13号窗口，高峰时段分流");
    assert_eq!(item["text"], "等了一个小时 电话13812345678");
    // A department suggestion from the office names its department.
    let out = at(
        "2026-12-04T12:00:00+08:00",
        &[
            "feedback",
            "add",
            "--kind",
            "department_suggestion",
            "--text",
            "建议增设自助查询",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "needs --department");
    let out = at(
        "2026-12-04T12:00:00+08:00",
        &[
            "feedback",
            "add",
            "--kind",
            "department_suggestion",
            "--department",
            "SWJ",
            "--text",
            "建议增设自助查询",
            "--channel",
            "office",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = payloads(&t.db);
    assert!(
        !log.contains("13812345678") && !log.contains("高峰时段"),
        "typed text in the log"
    );
    // The week's figures carry them per department (and the suggestion for 税务).
    let out = at(
        "2026-12-04T18:00:00+08:00",
        &[
            "report",
            "--from",
            "2026-11-27",
            "--to",
            "2026-12-04",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let figures = json(&out);
    let dept = |code: &str| {
        figures["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            dept("BDC")["complaints"].as_u64(),
            dept("BDC")["feedback_replied"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(dept("SWJ")["suggestions"], 1);
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn ratings_count_in_the_figures_of_the_department_and_the_specialist_who_served() {
    let t = demo_ledger();
    set_pins(&t.db, &["S602"]);
    let at = |args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", "2026-11-27T10:00:00+08:00")]);
    for level in ["2", "5"] {
        assert!(at(&["issue", "--item", "F01"]).status.success());
        let called = json(&at(&[
            "--json", "--pin", TEST_PIN, "call", "--window", "13", "--staff", "S602",
        ]));
        let number = called["number"].as_str().unwrap().to_string();
        for action in [&["start"][..], &["hold"]] {
            let out = at(&[
                &["--pin", TEST_PIN, "case", &number][..],
                action,
                &["--staff", "S602", "--window", "13"],
            ]
            .concat());
            assert!(out.status.success(), "{}", stderr(&out));
        }
        assert!(at(&["rate", &number, "--level", level]).status.success());
    }
    let figures = json(&at(&["report", "--format", "json"]));
    let line = |list: &str, code: &str| {
        figures[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == code)
            .unwrap()
            .clone()
    };
    for l in [line("departments", "BDC"), line("specialists", "S602")] {
        assert_eq!(
            (l["ratings"].as_u64(), l["ratings_bad"].as_u64()),
            (Some(2), Some(1)),
            "{l}"
        );
        assert_eq!(l["rating_mean"].as_f64(), Some(3.5));
    }
    assert_eq!(line("specialists", "S601")["ratings"], 0);
}

#[test]
fn a_phone_call_online_help_and_a_key_projects_intervention_open_cases_without_a_ticket() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let at = |args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", "2026-11-27T10:00:00+08:00")]);
    let run = |args: &[&str]| {
        let out = at(&[&["--json", "--pin", TEST_PIN][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        json(&out)
    };
    let open = |extra: &[&str]| run(&[&["open-case", "--staff", "S101", "--window", "1"][..], extra].concat());
    // 来电咨询: recorded at once, answered; the window is free for its queue.
    let call = open(&[
        "--item",
        "A02",
        "--channel",
        "phone",
        "--question",
        "个体户能否网上办理？来电人 13812345678",
        "--answer",
        "可以，通过政务服务网",
    ]);
    assert_eq!(
        (call["state"].as_str(), call["channel"].as_str()),
        (Some("consulted"), Some("phone"))
    );
    assert_eq!(call["owner"], "S101");
    // The caller wants to come in: an appointment booked from the call shows on its case.
    let number = call["number"].as_str().unwrap();
    run(&[
        "appointment",
        "add",
        "--item",
        "A02",
        "--at",
        "2026-11-27 14:00",
        "--phone",
        "13812345678",
        "--channel",
        "phone",
        "--from-case",
        number,
    ]);
    let events = json(&at(&["--json", "case", number, "show"]))["events"].to_string();
    assert!(events.contains("appointment_booked"), "{events}");
    // 网上帮办: on hold at the specialist's counter, in online mode.
    let online = open(&["--item", "A02", "--channel", "online"]);
    assert_eq!(
        (online["state"].as_str(), online["mode"].as_str()),
        (Some("on_hold"), Some("online"))
    );
    // 提前介入 for a key project: whole-chain parts open before the visitor comes.
    let early = open(&[
        "--item",
        "A01",
        "--channel",
        "intervention",
        "--project",
        "枣庄新能源产业园",
    ]);
    assert_eq!(early["channel"], "intervention");
    assert_eq!(early["parts"].as_array().map(Vec::len), Some(4), "{early}");
    let shown = stdout(&at(&["case", early["number"].as_str().unwrap(), "show"]));
    assert!(
        shown.contains("枣庄新能源产业园") && shown.contains("case_opened"),
        "{shown}"
    );
    // None of them holds up the window's queue, nor takes a number of it.
    assert!(at(&["issue", "--item", "A02"]).status.success());
    let called = run(&["call", "--window", "1", "--staff", "S101"]);
    assert_eq!(called["number"], "A001");
    // A kiosk channel is not opened at the counter; an intervention names its project.
    for bad in [
        &["--item", "A02", "--channel", "kiosk"][..],
        &["--item", "A01", "--channel", "intervention"],
    ] {
        let out = at(&[
            &["--pin", TEST_PIN, "open-case", "--staff", "S101", "--window", "1"][..],
            bad,
        ]
        .concat());
        assert_ne!(out.status.code(), Some(0), "{bad:?} went through");
    }
    assert!(
        !payloads(&t.db).contains("13812345678"),
        "the caller's words stay in the notes"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn an_appointment_or_complaint_changed_behind_the_logs_back_is_found_by_table_and_field() {
    let t = demo_ledger();
    set_pins(&t.db, &["S601"]);
    let at = |when: &str, args: &[&str]| {
        let out = cli_env(&t.db, &[&["--json"][..], args].concat(), &[("BANGBAN_NOW", when)]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        json(&out)
    };
    let booked = at(
        "2026-11-27T09:00:00+08:00",
        &[
            "appointment",
            "add",
            "--item",
            "F01",
            "--at",
            "2026-11-27 10:00",
            "--phone",
            "13812345678",
        ],
    );
    at(
        "2026-11-27T09:45:00+08:00",
        &["check-in", booked["code"].as_str().unwrap()],
    );
    at(
        "2026-11-27T10:00:00+08:00",
        &["feedback", "add", "--category", "wait", "--window", "12"],
    );
    at(
        "2026-11-27T11:00:00+08:00",
        &[
            "--pin",
            TEST_PIN,
            "feedback",
            "reply",
            "1",
            "--reply",
            "已处理",
            "--staff",
            "S601",
        ],
    );
    assert!(cli(&t.db, &["verify"]).status.success());
    let conn = Connection::open(&t.db).unwrap();
    let code = booked["code"].as_str().unwrap();
    let restore_code = format!("UPDATE appointments SET code = '{code}'");
    let edits = [
        // A used code made usable again; a code swapped; a reply wiped.
        (
            "UPDATE appointments SET state = 'booked', case_id = NULL",
            "UPDATE appointments SET state = 'checked_in', case_id = 1",
            "appointments",
            "case_id",
        ),
        (
            "UPDATE appointments SET code = '000000'",
            restore_code.as_str(),
            "appointments",
            "code",
        ),
        (
            "UPDATE feedback SET replied_at = NULL, reply_note = NULL, replied_by = NULL",
            "",
            "feedback",
            "replied_at",
        ),
    ];
    for (sql, undo, table, field) in edits {
        conn.execute(sql, []).unwrap();
        let out = cli(&t.db, &["verify", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{sql} went unnoticed");
        let finding = json(&out)["finding"].clone();
        assert_eq!(
            (finding["table"].as_str(), finding["field"].as_str()),
            (Some(table), Some(field)),
            "{sql}"
        );
        if !undo.is_empty() {
            conn.execute(undo, []).unwrap();
            assert!(cli(&t.db, &["verify"]).status.success(), "undone: {undo}");
        }
    }
}

#[test]
fn a_departments_appointment_slot_takes_four_bookings_and_refuses_the_fifth() {
    let t = demo_ledger();
    let book = |item: &str, at: &str| {
        cli_env(
            &t.db,
            &[
                "--json",
                "appointment",
                "add",
                "--item",
                item,
                "--at",
                at,
                "--phone",
                "13812345678",
            ],
            &[("BANGBAN_NOW", "2026-11-27T09:00:00+08:00")],
        )
    };
    // 不动产登记中心's 10:00–10:30 slot: four bookings, whatever the minute or the item.
    for (item, at) in [
        ("F01", "2026-11-27 10:00"),
        ("F02", "2026-11-27 10:10"),
        ("F01", "2026-11-27 10:20"),
        ("F03", "2026-11-27 10:29"),
    ] {
        let out = book(item, at);
        assert!(out.status.success(), "{item} {at}: {}", stderr(&out));
    }
    let full = book("F01", "2026-11-27 10:15");
    assert_eq!(full.status.code(), Some(1));
    let e = json(&full)["error"].as_str().unwrap().to_string();
    assert!(
        e.contains("the 10:00–10:30 slot of 不动产登记中心 is full (4 booked)"),
        "{e}"
    );
    // The next slot, and another department in the same slot, still take bookings.
    assert!(book("F01", "2026-11-27 10:30").status.success());
    assert!(book("A01", "2026-11-27 10:15").status.success());
}

#[test]
fn a_phone_consultation_takes_no_queue_number_keeps_the_callers_number_masked_and_is_no_ticket_in_the_report() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let now = "2026-11-27T10:00:00+08:00";
    let at = |args: &[&str]| cli_env(&t.db, args, &[("BANGBAN_NOW", now)]);
    let run = |args: &[&str]| {
        let out = at(&[&["--json", "--pin", TEST_PIN][..], args].concat());
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        json(&out)
    };
    fn phone<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [
            &[
                "open-case",
                "--staff",
                "S101",
                "--window",
                "1",
                "--item",
                "A02",
                "--channel",
                "phone",
            ][..],
            extra,
        ]
        .concat()
    }
    // A deferred question with the caller's number for the call-back.
    let call = run(&phone(&[
        "--question",
        "个体户变更经营场所要带什么",
        "--caller-phone",
        "138 1234 5678",
    ]));
    assert_eq!(call["number"], "来电001", "{call}");
    assert_eq!(call["open_question"], true);
    // A typo in the number is refused without repeating it.
    let out = at(&[
        &["--json", "--pin", TEST_PIN][..],
        &phone(&["--question", "q", "--caller-phone", "1381234x"]),
    ]
    .concat());
    assert_eq!(out.status.code(), Some(1));
    let said = json(&out)["error"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("caller phone") && !said.contains("1381234x"), "{said}");
    let online = run(&[
        "open-case",
        "--staff",
        "S101",
        "--window",
        "1",
        "--item",
        "A02",
        "--channel",
        "online",
    ]);
    assert_eq!(online["number"], "网上001");
    // Each remote step of the online help is a note of its case; a phone call takes none.
    run(&[
        "case",
        "网上001",
        "online-step",
        "--note",
        "远程指导上传经营场所证明，已提交网上申请",
        "--staff",
        "S101",
    ]);
    let out = at(&[
        &["--json", "--pin", TEST_PIN][..],
        &["case", "来电001", "online-step", "--note", "x", "--staff", "S101"],
    ]
    .concat());
    assert_eq!(out.status.code(), Some(1), "a phone call took an online step");
    // A visitor's ticket is still the queue's first number.
    assert_eq!(run(&["issue", "--item", "A02"])["number"], "A001");

    // Shown masked, kept in the notes only; never in an event, nor in the request's hash.
    let shown = stdout(&at(&["case", "来电001", "show"]));
    assert!(shown.contains("138****5678"), "{shown}");
    assert!(!shown.contains("13812345678"), "{shown}");
    let payloads = payloads(&t.db);
    assert!(!payloads.contains("13812345678") && !payloads.contains("138****5678"));

    // The report counts one visit, one call and one online case; the register says 来电.
    let report = run(&["report", "--from", "2026-11-27", "--to", "2026-11-27"]);
    let hall_line = report["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "SCJG")
        .cloned()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        (
            hall_line["tickets"].as_u64(),
            hall_line["phone"].as_u64(),
            hall_line["online"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{hall_line}"
    );
    let register = stdout(&at(&[
        "records",
        "consultations",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-27",
    ]));
    assert!(register.contains("来电 来电001"), "{register}");
    assert!(
        register.contains("网上 网上001") && register.contains("远程指导上传经营场所证明"),
        "{register}"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}
