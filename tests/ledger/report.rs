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
    act_signing(&mut l, &a1, 1, "S101", &CaseAction::accept(materials_of("A01"))).unwrap();
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
2026-11-24 09:05  来访 A001  市场监督管理局·企业开办·有限责任公司设立登记  S101 王丽 1号窗口  咨询已答复  问：个体户能否网上办理　答：可以，在政务服务网",
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
            "缺：住所使用证明",
            "来访"
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

#[test]
fn the_registers_name_who_received_the_files_and_the_post_escorts_meetings_by_role_difficulties_and_training() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-24T01:00:00Z");
    // 不动产 F01 posted, then archived; both refused without who and how.
    let f = issue(&mut l, "F01");
    assert_eq!(call(&mut l, 12, "S601"), f);
    for action in [
        CaseAction::Start,
        CaseAction::accept(materials_of("F01")),
        CaseAction::StartWork,
        CaseAction::Ready,
    ] {
        act_signing(&mut l, &f, 12, "S601", &action).unwrap();
    }
    let refused = l
        .act(&f, 12, "S601", &CaseAction::mail("SF1234567890", "", "EMS"))
        .unwrap_err();
    assert!(refused.to_string().contains("--recipient"), "{refused}");
    l.act(
        &f,
        12,
        "S601",
        &CaseAction::Mail {
            tracking: "SF1234567890".into(),
            recipient: "王芳".into(),
            courier: "EMS".into(),
            address: Some("枣庄市市中区光明路 1 号".into()),
            sent_on: None,
        },
    )
    .unwrap();
    l.act(&f, 12, "S601", &CaseAction::ConfirmReceipt).unwrap();
    let refused = l
        .act(
            &f,
            12,
            "S601",
            &CaseAction::Archive {
                handover: Some("卷宗一册".into()),
                receiver: None,
            },
        )
        .unwrap_err();
    assert!(refused.to_string().contains("--receiver"), "{refused}");
    l.act(
        &f,
        12,
        "S601",
        &CaseAction::archive("卷宗一册、收件回执", "档案室 刘芳"),
    )
    .unwrap();
    // 综合咨询 walks a visitor to window 12, and says later how it went.
    let z = issue(&mut l, "Z01");
    assert_eq!(call(&mut l, 21, "S001"), z);
    l.act(&z, 21, "S001", &CaseAction::Start).unwrap();
    l.act(
        &z,
        21,
        "S001",
        &CaseAction::Accompany {
            to_window: 12,
            result: None,
        },
    )
    .unwrap();
    l.act(
        &z,
        21,
        "S001",
        &CaseAction::AccompanyResult {
            result: "12号窗口已收件".into(),
        },
    )
    .unwrap();
    // A stuck case (难点堵点): escalated, met on with the chief representatives and an outside
    // unit, resolved.
    let a = issue(&mut l, "A02");
    assert_eq!(call(&mut l, 1, "S101"), a);
    l.act(&a, 1, "S101", &CaseAction::Start).unwrap();
    l.act(
        &a,
        1,
        "S101",
        &CaseAction::Escalate {
            reason: "经营场所涉及消防前置，部门意见不一".into(),
        },
    )
    .unwrap();
    l.act(
        &a,
        21,
        "S900",
        &CaseAction::Meeting {
            held_at: "2026-11-24 15:00".into(),
            participants: vec!["S101".into(), "S102".into(), "S900".into()],
            minutes: "市场监管与消防共同审查".into(),
            decision: "先出具消防意见".into(),
            follow_up: Some("2026-11-26".into()),
            chiefs: Some("市场监管局首席代表 赵军".into()),
            outside: Some("市消防救援支队 孙磊".into()),
        },
    )
    .unwrap();
    l.act(
        &a,
        21,
        "S900",
        &CaseAction::Resolve {
            outcome: "消防意见已出具，继续办理".into(),
        },
    )
    .unwrap();
    clock.advance(Span::minutes(5));
    drop(l);
    // Training: recorded by the office; a bad length, a day to come and an unknown
    // specialist are refused.
    let now = [("BANGBAN_NOW", "2026-11-24T16:00:00+08:00")];
    let training = |staff: &str, date: &str, hours: &str| {
        cli_env(
            &t.db,
            &[
                "staff",
                "training",
                "add",
                staff,
                "--date",
                date,
                "--course",
                "帮办代办服务规范",
                "--hours",
                hours,
            ],
            &now,
        )
    };
    let out = training("S101", "2026-11-20", "1.5");
    assert!(out.status.success(), "{}", stderr(&out));
    for (staff, date, hours, said) in [
        ("S101", "2026-11-20", "0.2", "half hours"),
        ("S101", "2026-12-20", "2", "once it took place"),
        ("S999", "2026-11-20", "2", "S999"),
    ] {
        let out = training(staff, date, hours);
        assert!(!out.status.success(), "{staff} {date} {hours} went through");
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
    }

    let register = |kind: &str| {
        let out = cli_env(
            &t.db,
            &["records", kind, "--from", "2026-11-20", "--to", "2026-11-24"],
            &now,
        );
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        stdout(&out)
    };
    let mail = register("mail");
    assert!(
        mail.contains("运单号：SF1234567890；快递：EMS；收件人：王芳；地址：枣庄市市中区光明路 1 号；寄出：2026-11-24"),
        "{mail}"
    );
    let archives = register("archives");
    assert!(
        archives.contains("交接：卷宗一册、收件回执；接收人：档案室 刘芳"),
        "{archives}"
    );
    let escorts = register("escorts");
    assert!(
        escorts.contains("陪同至12号窗口") && escorts.contains("陪同结果  12号窗口已收件"),
        "{escorts}"
    );
    let meetings = register("meetings");
    for said in [
        "会议时间：2026-11-24 15:00",
        "参会：王丽（统筹协调）、",
        "（管理办公室）",
        "首席代表：市场监管局首席代表 赵军",
        "外部单位：市消防救援支队 孙磊",
        "跟进日期：2026-11-26",
    ] {
        assert!(meetings.contains(said), "{said}:\n{meetings}");
    }
    let difficulties = register("difficulties");
    assert!(
        difficulties.contains("经营场所涉及消防前置，部门意见不一")
            && difficulties.contains("消防意见已出具，继续办理"),
        "{difficulties}"
    );
    let training = register("training");
    assert!(
        training.contains("帮办代办服务规范") && training.contains("培训日期：2026-11-20；学时：1.5"),
        "{training}"
    );
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn a_scripted_week_reads_back_from_the_workbook_as_scorecard_breaches_visits_per_case_and_categories() {
    let t = temp_ledger();
    let (mut l, clock) = clocked_ledger(&t.db, "2026-11-23T02:00:00Z");
    let local = |s: &str| at(&format!("{s}+08:00"));
    let set = |s: &str| clock.set(local(s));
    let all_f01 = || CaseAction::accept(materials_of("F01"));
    // Monday 23 November. F001: served whole in one visit.
    set("2026-11-23T10:00:00");
    let f1 = issue(&mut l, "F01");
    let f2 = issue(&mut l, "F01");
    let f3 = issue(&mut l, "F01");
    let a1 = issue(&mut l, "A02");
    assert_eq!(call(&mut l, 12, "S602"), f1);
    for action in [
        CaseAction::Start,
        all_f01(),
        CaseAction::StartWork,
        CaseAction::Ready,
        CaseAction::DeliverInPerson,
    ] {
        act_signing(&mut l, &f1, 12, "S602", &action).unwrap();
    }
    // F002: told what is missing (一次性告知); comes back Wednesday, posted Friday.
    set("2026-11-23T10:20:00");
    assert_eq!(call(&mut l, 12, "S602"), f2);
    l.act(&f2, 12, "S602", &CaseAction::Start).unwrap();
    l.act(
        &f2,
        12,
        "S602",
        &CaseAction::NotifyMissing {
            missing: vec!["完税凭证".into()],
        },
    )
    .unwrap();
    // F003: ready Monday, collected Friday: a day past its three working days.
    set("2026-11-23T10:40:00");
    assert_eq!(call(&mut l, 12, "S602"), f3);
    for action in [CaseAction::Start, all_f01(), CaseAction::StartWork, CaseAction::Ready] {
        act_signing(&mut l, &f3, 12, "S602", &action).unwrap();
    }
    // A001: a question deferred Monday (two working days to answer), answered Friday.
    set("2026-11-23T11:00:00");
    assert_eq!(call(&mut l, 1, "S102"), a1);
    l.act(&a1, 1, "S102", &CaseAction::Start).unwrap();
    l.act(
        &a1,
        1,
        "S102",
        &CaseAction::Consult {
            question: "个体户经营范围能否增加网络销售".into(),
            answer: None,
            resolved: false,
        },
    )
    .unwrap();
    // Wednesday: F002's visitor brings the missing paper.
    set("2026-11-25T10:00:00");
    let f2_ref = format!("2026-11-23/{f2}");
    for action in [
        CaseAction::MaterialsReturned,
        all_f01(),
        CaseAction::StartWork,
        CaseAction::Ready,
    ] {
        act_signing(&mut l, &f2_ref, 12, "S602", &action).unwrap();
    }
    // Friday: answered late, archived; F002 posted; F003 collected late.
    set("2026-11-27T10:00:00");
    let a1_ref = format!("2026-11-23/{a1}");
    l.act(
        &a1_ref,
        1,
        "S102",
        &CaseAction::Answer {
            answer: "可以，增加网络销售无需前置审批".into(),
        },
    )
    .unwrap();
    l.act(&a1_ref, 1, "S102", &CaseAction::archive("咨询记录一份", "档案室 刘芳"))
        .unwrap();
    l.act(&f2_ref, 12, "S602", &CaseAction::mail("SF1", "王芳", "EMS"))
        .unwrap();
    set("2026-11-27T11:30:00");
    act_signing(
        &mut l,
        &format!("2026-11-23/{f3}"),
        12,
        "S602",
        &CaseAction::DeliverInPerson,
    )
    .unwrap();
    drop(l);

    let xlsx = t.dir.path().join("week.xlsx");
    let out = cli_env(
        &t.db,
        &[
            "report",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-27",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ],
        &[("BANGBAN_NOW", "2026-11-27T18:00:00+08:00")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    // A sheet's row whose first cell is `code`, as strings (numbers as Excel shows them).
    let row = |book: &mut calamine::Xlsx<_>, sheet: &str, code: &str| -> Vec<String> {
        let range = book.worksheet_range(sheet).unwrap();
        range
            .rows()
            .find(|r| r.first().map(|c| c.to_string()) == Some(code.to_string()))
            .unwrap_or_else(|| panic!("no row {code} in {sheet}"))
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    // 减少跑腿: 不动产 finished three, one in a single visit, five visits in all.
    let bdc = row(&mut book, "减少跑腿", "BDC");
    assert_eq!(bdc[3..], ["3", "1", "33.3", "5", "1.7"], "{bdc:?}");
    let staff = row(&mut book, "减少跑腿", "S602");
    assert_eq!(staff[3..], ["3", "1", "33.3", "5", "1.7"], "{staff:?}");
    let scjg = row(&mut book, "减少跑腿", "SCJG");
    assert_eq!(scjg[3..], ["1", "1", "100", "1", "1"], "{scjg:?}");
    // 考核: the late items by stage, beside the served and the finished.
    let score = row(&mut book, "考核", "S602");
    let head: Vec<String> = book
        .worksheet_range("考核")
        .unwrap()
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| h.ends_with(name))
            .unwrap_or_else(|| panic!("{name}: {head:?}"))
    };
    assert_eq!(score[col("served")], "3", "{score:?}");
    assert_eq!(score[col("late_deliveries")], "1");
    assert_eq!(score[col("late_answers")], "0");
    assert_eq!(score[col("one_visit_pct")], "33.3");
    let s102 = row(&mut book, "考核", "S102");
    assert_eq!(s102[col("late_answers")], "1", "{s102:?}");
    // 超期清单: every late item with its case and specialist.
    let breaches = book.worksheet_range("超期清单").unwrap();
    assert!(breaches.get((0, 0)).unwrap().to_string().contains("共 2 条"));
    let lines: Vec<Vec<String>> = breaches
        .rows()
        .skip(2)
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        lines,
        [
            [
                "咨询答复超期",
                &a1,
                "2026-11-23",
                "市场监督管理局",
                "S102",
                "刘洋",
                "2026-11-25 11:00",
                "2026-11-27 10:00"
            ]
            .map(String::from),
            [
                "结果交付超期",
                &f3,
                "2026-11-23",
                "不动产登记中心",
                "S602",
                "褚伟",
                "2026-11-26 10:40",
                "2026-11-27 11:30"
            ]
            .map(String::from),
        ]
    );
    // 分类: 民生保障 (二手房) three tickets and finished, 企业开办 (个体户) one.
    let minsheng = row(&mut book, "分类", "民生保障");
    assert_eq!(minsheng[1..], ["3", "3", "3", "1", "33.3", "1.7"], "{minsheng:?}");
    let kaiban = row(&mut book, "分类", "企业开办");
    assert_eq!(kaiban[1..], ["1", "1", "1", "1", "100", "1"], "{kaiban:?}");
}
