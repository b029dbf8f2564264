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
        assert_eq!(report.sheet_names(), ["部门", "专员", "分时"]);
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
