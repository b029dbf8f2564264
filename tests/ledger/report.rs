//! The daily ledger (台账): `bangban report` on a fixture day against figures computed by hand.

use bangban::{CallRequest, CaseAction, Channel, IssueRequest};
use chrono::Duration as Span;

use crate::support::*;

#[test]
fn report_matches_a_fixture_day_computed_by_hand() {
    let t = temp_ledger();
    // 2026-11-24 09:00 in Shanghai.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-24T01:00:00Z");
    let issue = |l: &mut bangban::Ledger, item: &str| {
        l.issue(&IssueRequest {
            item: item.into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap()
        .number
    };
    let call = |l: &mut bangban::Ledger, w: u32, s: &str| {
        l.call(&CallRequest {
            window: w,
            staff: s.into(),
            number: None,
        })
        .unwrap()
        .number
    };
    // Market supervision: three tickets at 09:00, 09:00, 09:00.
    let a1 = issue(&mut l, "A01");
    let a2 = issue(&mut l, "A02");
    let a3 = issue(&mut l, "A03");
    // Tax: one ticket at 09:00 that is never called.
    issue(&mut l, "G01");
    // 09:10 A001 called (wait 10), started, and accepted at 09:30 (service 20).
    clock.advance(Span::minutes(10));
    assert_eq!(call(&mut l, 1, "S101"), a1);
    l.act(&a1, 1, "S101", &CaseAction::Start).unwrap();
    clock.advance(Span::minutes(20));
    l.act(
        &a1,
        1,
        "S101",
        &CaseAction::Accept {
            materials: vec!["公司章程".into()],
            power_of_attorney: true,
        },
    )
    .unwrap();
    // 09:30 A002 called (wait 30), started; 09:35 notified of missing materials (service 5).
    assert_eq!(call(&mut l, 2, "S102"), a2);
    l.act(&a2, 2, "S102", &CaseAction::Start).unwrap();
    clock.advance(Span::minutes(5));
    l.act(
        &a2,
        2,
        "S102",
        &CaseAction::NotifyMissing {
            missing: vec!["经营场所使用证明".into()],
        },
    )
    .unwrap();
    // 09:35 A003 called (wait 35), recalled, no-show.
    assert_eq!(call(&mut l, 3, "S101"), a3);
    l.act(&a3, 3, "S101", &CaseAction::Recall).unwrap();
    l.act(&a3, 3, "S101", &CaseAction::NoShow).unwrap();
    // A ticket on the next day does not count.
    clock.set(at("2026-11-24T16:00:00Z"));
    issue(&mut l, "A01");
    drop(l);
    // SCJG: issued 3, served 2, no-show 1, wait (10+30+35)/3 = 25.0, service (20+5)/2 = 12.5.
    // Total: issued 4, served 2, no-show 1, wait 25.0, service 12.5.
    let out = cli(&t.db, &["report", "--date", "2026-11-24"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A byte-order mark first, so Excel on Chinese Windows reads the names as UTF-8.
    let csv = stdout(&out);
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("the CSV starts with a UTF-8 byte-order mark");
    let lines: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("date") || l.contains(",SCJG,") || l.contains(",SWJ,") || l.contains(",ALL,"))
        .collect();
    check(
        &lines.join("\n"),
        "date,department,name,issued,served,no_shows,avg_wait_min,avg_service_min
2026-11-24,SCJG,市场监督管理局,3,2,1,25.0,12.5
2026-11-24,SWJ,税务局,1,0,0,,
2026-11-24,ALL,合计,4,2,1,25.0,12.5",
    );
    let j = json(&cli(&t.db, &["report", "--date", "2026-11-24", "--format", "json"]));
    assert_eq!(j["total"]["issued"], 4);
    assert_eq!(j["departments"].as_array().unwrap().len(), 10);
    let next = json(&cli(&t.db, &["report", "--date", "2026-11-25", "--format", "json"]));
    assert_eq!(next["total"]["issued"], 1);
}

#[test]
fn the_report_defaults_to_today_and_can_go_to_a_file() {
    let t = demo_ledger();
    let now = [("BANGBAN_NOW", "2026-11-27T02:00:00Z")];
    assert!(cli_env(&t.db, &["issue", "--item", "A01"], &now).status.success());
    // No --date: today in the hall's time zone.
    let today = json(&cli_env(&t.db, &["report", "--format", "json"], &now));
    assert_eq!(today["date"], "2026-11-27");
    assert_eq!(today["total"]["issued"], 1);
    // --out writes the same CSV to a file, byte-order mark included, and nothing to stdout.
    let file = t.dir.path().join("台账-2026-11-27.csv");
    let out = cli_env(&t.db, &["report", "--out", file.to_str().unwrap()], &now);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("\u{feff}date,department,name"), "{written}");
    assert!(written.contains("2026-11-27,ALL,合计,1,"), "{written}");
    // A file that cannot be written is an error naming it, and leaves nothing behind.
    let nowhere = t.dir.path().join("no-such-dir").join("r.csv");
    let out = cli_env(&t.db, &["report", "--out", nowhere.to_str().unwrap()], &now);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
}
