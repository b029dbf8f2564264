//! The daily close (日结): unserved tickets expire, numbers are only ever today's, and a
//! returning visitor's case keeps its id with a new number.

use crate::support::*;

const DAY1: &str = "2026-11-26T10:00:00+08:00";
const DAY1_EVENING: &str = "2026-11-26T18:00:00+08:00";
const DAY2: &str = "2026-11-27T09:30:00+08:00";

fn run(db: &std::path::Path, now: &str, args: &[&str]) -> std::process::Output {
    cli_env(db, args, &[("BANGBAN_NOW", now)])
}

#[test]
fn close_day_expires_the_waiting_and_a_returning_case_keeps_its_id_with_todays_number() {
    let t = demo_ledger();
    set_pins(&t.db, &["S602", "S001"]);
    // Day 1: three tickets for the same queue; F001 is served, F002 waits, F003 is called but
    // never comes to the counter.
    let f1 = ok_json(&t.db, DAY1, &["issue", "--item", "F01"]);
    let f2 = ok_json(&t.db, DAY1, &["issue", "--item", "F01"]);
    let f3 = ok_json(&t.db, DAY1, &["issue", "--item", "F01"]);
    assert_eq!(f3["number"], "F003");
    let staff = ["--staff", "S602"];
    ok_json(&t.db, DAY1, &["call", "--window", "12", "--staff", "S602"]);
    ok_json(&t.db, DAY1, &[&["case", "F001", "start"][..], &staff].concat());
    ok_json(
        &t.db,
        DAY1,
        &["call", "--window", "13", "--staff", "S602", "--number", "F003"],
    );

    // The day cannot be closed while the hall is open.
    let early = run(&t.db, DAY1, &["close-day", "--date", "2026-11-26"]);
    assert!(!early.status.success());
    assert!(stderr(&early).contains("has not ended"), "{}", stderr(&early));

    let reports = t.dir.path().join("filed");
    let closed = ok_json(
        &t.db,
        DAY1_EVENING,
        &["close-day", "--out-dir", reports.to_str().unwrap()],
    );
    assert_eq!(closed["business_day"], "2026-11-26");
    assert_eq!(closed["expired"], 2, "{closed}");
    assert_eq!(closed["anchor_hash"].as_str().unwrap().len(), 64);
    let csv = std::fs::read_to_string(reports.join("report-2026-11-26.csv")).unwrap();
    assert!(csv.starts_with('\u{feff}') && csv.contains("社会保障"), "{csv}");
    // The day's report as a workbook and every register of the rules, a sheet each, filed too.
    {
        use calamine::Reader;
        let report: calamine::Xlsx<_> = calamine::open_workbook(reports.join("report-2026-11-26.xlsx")).unwrap();
        assert_eq!(
            report.sheet_names(),
            ["部门", "专员", "分时", "考核", "减少跑腿", "分类", "超期清单"]
        );
        let registers: calamine::Xlsx<_> = calamine::open_workbook(reports.join("registers-2026-11-26.xlsx")).unwrap();
        assert_eq!(registers.sheet_names().len(), bangban::RecordKind::ALL.len());
        assert_eq!(closed["files"].as_array().unwrap().len(), 4, "{closed}");
    }
    // A kiosk left on after the close gets no number for the closed day.
    let late = run(&t.db, DAY1_EVENING, &["issue", "--item", "F01"]);
    assert!(!late.status.success());
    assert!(
        stderr(&late).contains("2026-11-26 is already closed"),
        "{}",
        stderr(&late)
    );
    // Closing twice is refused and changes nothing.
    let again = run(&t.db, DAY1_EVENING, &["close-day", "--date", "2026-11-26"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));

    let token = |v: &serde_json::Value| v["token"].as_str().unwrap().to_string();
    let show = |r: &str| ok_json(&t.db, DAY2, &["case", r, "show"]);
    assert_eq!(show(&token(&f2))["case"]["state"], "expired");
    assert_eq!(show(&token(&f3))["case"]["state"], "expired");
    assert_eq!(show(&token(&f1))["case"]["state"], "serving");

    // Day 2: numbers start at 001 again.
    let today = ok_json(&t.db, DAY2, &["issue", "--item", "F01"]);
    assert_eq!(today["number"], "F001");
    // A past day's number is never called: not by token, not by its date and number.
    let old = run(
        &t.db,
        DAY2,
        &["call", "--window", "12", "--staff", "S602", "--number", &token(&f3)],
    );
    assert!(!old.status.success());
    assert!(stderr(&old).contains("take it back first"), "{}", stderr(&old));
    // The visitor of yesterday's F003 comes back: same case, today's next number.
    let back = ok_json(
        &t.db,
        DAY2,
        &[&["case", "2026-11-26/F003", "return"][..], &staff, &["--window", "12"]].concat(),
    );
    assert_eq!(back["id"], f3["case_id"], "{back}");
    assert_eq!(back["number"], "F002");
    assert_eq!(back["business_day"], "2026-11-27");
    assert_eq!(back["state"], "waiting");
    // The general desk (综合咨询, window 21) puts yesterday's F002 back in line too: it queues
    // in its own department, after F002.
    let desk = ok_json(
        &t.db,
        DAY2,
        &["case", "2026-11-26/F002", "return", "--staff", "S001", "--window", "21"],
    );
    assert_eq!(
        (desk["number"].as_str(), desk["department"].as_str()),
        (Some("F003"), Some("BDC"))
    );
    // It stands in line after the ticket issued before it came back.
    let first = ok_json(&t.db, DAY2, &["call", "--window", "12", "--staff", "S602"]);
    assert_eq!(first["number"], "F001");
    assert_eq!(first["case_id"], today["case_id"]);
    // Window 12 serves F001; the next window calls the returned case.
    let second = ok_json(&t.db, DAY2, &["call", "--window", "13", "--staff", "S602"]);
    assert_eq!(second["case_id"], f3["case_id"]);
    assert_eq!(second["text"], "请F002号到13号窗口办理");
    // The log, its projections and the day counters still agree.
    let v = ok_json(&t.db, DAY2, &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

/// The demo hall with its hours enforced (last ticket 16:30) and 不动产二手房 (F01) limited to
/// two tickets a day.
fn hall_in_hours(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(demo_hall_path())
        .unwrap()
        .replacen(
            "[hall]\n",
            "[hall]\nissue_only_in_hours = true\nlast_ticket = \"16:30\"\n",
            1,
        )
        .replacen(
            "code = \"F01\"\ndepartment = \"BDC\"\n",
            "code = \"F01\"\ndepartment = \"BDC\"\ndaily_quota = 2\n",
            1,
        );
    let path = dir.join("hall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_hall_in_its_hours_refuses_a_sunday_night_ticket_naming_its_hours_and_an_items_ticket_past_its_quota() {
    let t = temp_ledger();
    let hall = hall_in_hours(t.dir.path());
    let out = cli(&t.db, &["init", "--hall", hall.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let issue = ["issue", "--item", "A02"];
    // Sunday 03:00, Saturday at ten, Monday before nine and after the last ticket: refused,
    // with the hours in the words.
    for now in [
        "2026-12-06T03:00:00+08:00",
        "2026-12-05T10:00:00+08:00",
        "2026-12-07T08:59:00+08:00",
        "2026-12-07T16:30:00+08:00",
    ] {
        let out = cli_env(&t.db, &[&["--json"][..], &issue].concat(), &[("BANGBAN_NOW", now)]);
        assert_eq!(out.status.code(), Some(1), "{now}: {}", stdout(&out));
        let said = json(&out)["error"].as_str().unwrap_or_default().to_string();
        assert!(
            said.contains("working days from 09:00 until 16:30") && said.contains("closes at 17:00"),
            "{now}: {said}"
        );
    }
    // Nothing was written by the refusals: Monday's first ticket is A001.
    let first = ok_json(&t.db, "2026-12-07T09:00:00+08:00", &issue);
    assert_eq!(first["number"], "A001");
    ok_json(&t.db, "2026-12-07T16:29:00+08:00", &issue);

    // F01 takes two tickets a day; the third visitor is told, and the next day starts again.
    let f01 = ["issue", "--item", "F01"];
    for _ in 0..2 {
        ok_json(&t.db, "2026-12-07T10:00:00+08:00", &f01);
    }
    let said = refused_json(&t.db, "2026-12-07T10:01:00+08:00", &f01);
    assert!(said.contains("2 tickets a day of item F01"), "{said}");
    // Another item of the same department still issues.
    assert_eq!(
        ok_json(&t.db, "2026-12-07T10:02:00+08:00", &["issue", "--item", "F02"])["number"],
        "F003"
    );
    assert_eq!(ok_json(&t.db, "2026-12-08T10:00:00+08:00", &f01)["number"], "F001");

    // A last ticket after the closing time is a hall-file error naming the field.
    let bad = t.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&hall)
            .unwrap()
            .replacen("last_ticket = \"16:30\"", "last_ticket = \"17:30\"", 1),
    )
    .unwrap();
    let out = cli(&t.db, &["init", "--hall", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bad.toml") && stderr(&out).contains("last_ticket") && stderr(&out).contains("17:30"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_day_nobody_closed_is_the_offices_alert_until_the_server_closes_it_at_the_next_opening() {
    let t = demo_ledger();
    // Thursday: two visitors took tickets; nobody closed the day.
    let f1 = ok_json(&t.db, DAY1, &["issue", "--item", "F01"]);
    ok_json(&t.db, DAY1, &["issue", "--item", "F01"]);
    let token = f1["token"].as_str().unwrap().to_string();

    // Friday before opening: the office's list names the day; a department's does not.
    let early = "2026-11-27T08:30:00+08:00";
    let list = ok_json(&t.db, early, &["overdue"]);
    let unclosed: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "unclosed_day")
        .collect();
    assert_eq!(unclosed.len(), 1, "{list}");
    assert_eq!(unclosed[0]["business_day"], "2026-11-26");
    assert_eq!(unclosed[0]["overdue"], true);
    let text = stdout(&run(&t.db, early, &["overdue"]));
    assert!(text.contains("日结未完成") && text.contains("2026-11-26"), "{text}");
    let dept = ok_json(&t.db, early, &["overdue", "--department", "BDC"]);
    assert!(
        dept["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["kind"] != "unclosed_day"),
        "{dept}"
    );

    // A server up before the opening leaves the day alone.
    let state = |now: &str| {
        ok_json(&t.db, now, &["case", &token, "show"])["case"]["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    {
        let _s = Served::start_at(&t.db, early);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(state(early), "waiting", "closed before the opening");
    }
    // At the opening it closes the day itself, recorded like the office's close.
    let opened = "2026-11-27T09:01:00+08:00";
    let _s = Served::start_at(&t.db, opened);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while state(opened) != "expired" && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(state(opened), "expired", "the unserved ticket was expired by the close");
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let (actor, payload): (String, String) = conn
        .query_row("SELECT actor, payload FROM events WHERE kind = 'day_closed'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(actor, "auto-close");
    assert!(payload.contains("2026-11-26"), "{payload}");
    let list = ok_json(&t.db, opened, &["overdue"]);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["kind"] != "unclosed_day"),
        "{list}"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}
