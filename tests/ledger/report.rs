//! The daily ledger (台账): `bangban report` on a fixture day against figures computed by hand.

use bangban::{CallRequest, CaseAction};
use chrono::Duration as Span;

use crate::support::*;

/// The next in line to window `w` by specialist `s`; the number called.
fn call(l: &mut bangban::Ledger, w: u32, s: &str) -> String {
    l.call(&CallRequest {
        window: w,
        staff: s.into(),
        number: None,
    })
    .unwrap()
    .number
}

#[test]
fn report_matches_a_fixture_day_computed_by_hand() {
    let t = temp_ledger();
    // 2026-11-24 09:00 in Shanghai.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-24T01:00:00Z");
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
    act_signing(
        &mut l,
        &a1,
        1,
        "S101",
        &CaseAction::Accept {
            materials: vec!["公司章程".into()],
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
    // SCJG: issued 3, served 2, no-show 1, wait 10, 30, 35 (mean 25.0, p90 35.0), service 20
    // and 5 (mean 12.5, p90 20.0). S101 called A001 (10) and A003 (35), served A001 (20),
    // accepted it, marked A003 a no-show; S102 called A002 (30), served it (5), notified it.
    // Total: issued 4, served 2, no-show 1.
    let out = cli(&t.db, &["report", "--date", "2026-11-24"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A byte-order mark first, so Excel on Chinese Windows reads the names as UTF-8.
    let csv = stdout(&out);
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("the CSV starts with a UTF-8 byte-order mark");
    let pick = |cols: &[&str]| -> Vec<String> {
        let mut r = ::csv::Reader::from_reader(csv.as_bytes());
        let head = r.headers().unwrap().clone();
        let at: Vec<usize> = cols
            .iter()
            .map(|c| head.iter().position(|h| h == *c).unwrap())
            .collect();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                at.iter().map(|&i| rec[i].to_string()).collect::<Vec<_>>().join(",")
            })
            .filter(|l| l.contains("SCJG") || l.contains("SWJ") || l.contains("ALL") || l.contains("S10"))
            .collect()
    };
    check(
        &pick(&[
            "kind",
            "code",
            "tickets",
            "served",
            "no_shows",
            "acceptances",
            "notifications",
            "wait_mean_min",
            "wait_p90_min",
            "service_mean_min",
            "service_p90_min",
        ])
        .join("\n"),
        "department,SCJG,3,2,1,1,1,25.0,35.0,12.5,20.0
department,SWJ,1,0,0,0,0,,,,
specialist,S101,0,1,1,1,0,22.5,35.0,20.0,20.0
specialist,S102,0,1,0,0,1,30.0,30.0,5.0,5.0
total,ALL,4,2,1,1,1,25.0,35.0,12.5,20.0",
    );
    let j = json(&cli(&t.db, &["report", "--date", "2026-11-24", "--format", "json"]));
    assert_eq!(j["total"]["tickets"], 4);
    assert_eq!(j["departments"].as_array().unwrap().len(), 10);
    let next = json(&cli(&t.db, &["report", "--date", "2026-11-25", "--format", "json"]));
    assert_eq!(next["total"]["tickets"], 1);
    let both = json(&cli(
        &t.db,
        &[
            "report",
            "--from",
            "2026-11-24",
            "--to",
            "2026-11-25",
            "--format",
            "json",
        ],
    ));
    assert_eq!(both["total"]["tickets"], 5);

    // The XLSX, read back: the same figures per department and per specialist, and the hours.
    let xlsx = t.dir.path().join("台账.xlsx");
    let png = t.dir.path().join("chart.png");
    let out = cli(
        &t.db,
        &[
            "report",
            "--date",
            "2026-11-24",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
            "--chart",
            png.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    use calamine::{Data, Reader};
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let row_of = |range: &calamine::Range<Data>, code: &str| -> Vec<String> {
        range
            .rows()
            .find(|r| r.first().map(|c| c.to_string()) == Some(code.to_string()))
            .unwrap_or_else(|| panic!("no row {code}"))
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    let depts = book.worksheet_range("部门").unwrap();
    let head: Vec<String> = depts.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| head.iter().position(|h| h.ends_with(&format!("\n{name}"))).unwrap();
    let scjg = row_of(&depts, "SCJG");
    assert_eq!(
        [
            &scjg[col("tickets")],
            &scjg[col("served")],
            &scjg[col("no_shows")],
            &scjg[col("wait_mean_min")],
            &scjg[col("service_mean_min")]
        ],
        ["3", "2", "1", "25", "12.5"]
    );
    assert_eq!(row_of(&depts, "ALL")[col("tickets")], "4");
    let staff = book.worksheet_range("专员").unwrap();
    let s101 = row_of(&staff, "S101");
    assert_eq!(
        [
            &s101[col("served")],
            &s101[col("no_shows")],
            &s101[col("acceptances")],
            &s101[col("wait_mean_min")]
        ],
        ["1", "1", "1", "22.5"]
    );
    let s102 = row_of(&staff, "S102");
    assert_eq!(
        [&s102[col("notifications")], &s102[col("service_mean_min")]],
        ["1", "5"]
    );
    let hours = book.worksheet_range("分时").unwrap();
    assert_eq!(
        row_of(&hours, "09:00")[1..3],
        ["4".to_string(), "2".to_string()],
        "4 arrivals and 2 served 09:00–10:00"
    );
    let png = std::fs::read(&png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the chart is a PNG");
}

#[test]
fn the_report_defaults_to_today_and_can_go_to_a_file() {
    let t = demo_ledger();
    let now = [("BANGBAN_NOW", "2026-11-27T02:00:00Z")];
    assert!(cli_env(&t.db, &["issue", "--item", "A01"], &now).status.success());
    // No --date: today in the hall's time zone.
    let today = json(&cli_env(&t.db, &["report", "--format", "json"], &now));
    assert_eq!(today["from"], "2026-11-27");
    assert_eq!(today["total"]["tickets"], 1);
    // --out writes the same CSV to a file, byte-order mark included, and nothing to stdout.
    let file = t.dir.path().join("台账-2026-11-27.csv");
    let out = cli_env(&t.db, &["report", "--out", file.to_str().unwrap()], &now);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("\u{feff}from,to,kind,code,name"), "{written}");
    assert!(
        written.contains("2026-11-27,2026-11-27,total,ALL,合计,,1,"),
        "{written}"
    );
    // A file that cannot be written is an error naming it, and leaves nothing behind.
    let nowhere = t.dir.path().join("no-such-dir").join("r.csv");
    let out = cli_env(&t.db, &["report", "--out", nowhere.to_str().unwrap()], &now);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
}

#[test]
fn the_registers_list_each_record_with_the_text_typed_at_the_counter() {
    let t = temp_ledger();
    // 2026-11-24 09:00 in Shanghai.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-24T01:00:00Z");
    let a = issue(&mut l, "A01");
    clock.advance(Span::minutes(5));
    assert_eq!(call(&mut l, 1, "S101"), a);
    l.act(&a, 1, "S101", &CaseAction::Start).unwrap();
    l.act(
        &a,
        1,
        "S101",
        &CaseAction::Consult {
            question: "个体户能否网上办理".into(),
            answer: Some("可以，在政务服务网".into()),
            resolved: true,
        },
    )
    .unwrap();
    clock.advance(Span::minutes(3));
    l.act(
        &a,
        1,
        "S101",
        &CaseAction::NotifyMissing {
            missing: vec!["住所使用证明".into()],
        },
    )
    .unwrap();
    drop(l);
    let text = cli(&t.db, &["records", "consultations", "--date", "2026-11-24"]);
    assert!(text.status.success(), "{}", stderr(&text));
    check(
        &stdout(&text),
        "接待咨询记录（consultations） 2026-11-24  共 1 条
2026-11-24 09:05  A001  市场监督管理局·企业开办·有限责任公司设立登记  S101 王丽 1号窗口  咨询已答复  问：个体户能否网上办理　答：可以，在政务服务网",
    );
    let xlsx = t.dir.path().join("告知.xlsx");
    let out = cli(
        &t.db,
        &[
            "records",
            "notifications",
            "--date",
            "2026-11-24",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("一次性告知记录").unwrap();
    let row: Vec<String> = sheet.rows().nth(2).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        row,
        [
            "2026-11-24 09:08",
            "2026-11-24",
            "A001",
            "市场监督管理局",
            "企业开办·有限责任公司设立登记",
            "S101",
            "王丽",
            "1",
            "一次性告知",
            "缺：住所使用证明"
        ]
    );
    assert_eq!(sheet.rows().count(), 3, "title, heading and one record");
    // The case, shown whole: the notes' text beside the events that name them.
    let shown = stdout(&cli(&t.db, &["case", "2026-11-24/A001", "show"]));
    assert!(
        shown.contains("「个体户能否网上办理」「可以，在政务服务网」"),
        "{shown}"
    );
    assert!(shown.contains("缺：住所使用证明"), "{shown}");
}
