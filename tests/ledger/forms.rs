//! The forms as A4 PDFs (`bangban form KIND CASE --out`): each made from a scripted case and
//! read back with poppler's `pdftotext` (the number, the names, the materials, the dates),
//! and drawn to PNGs with `pdftoppm` for README.

use std::process::Command;

use bangban::{CallRequest, CaseAction, Channel, IssueRequest};

use crate::support::*;

/// `bangban form KIND DAY/CASE --out DIR/KIND.pdf` at the time `now`; the PDF's path.
#[track_caller]
fn form_pdf(t: &TempLedger, kind: &str, case: &str, now: &[(&str, &str)]) -> std::path::PathBuf {
    let pdf = t.dir.path().join(format!("{kind}.pdf"));
    let out = cli_env(
        &t.db,
        &[
            "form",
            kind,
            &format!("2026-12-07/{case}"),
            "--out",
            pdf.to_str().unwrap(),
        ],
        now,
    );
    assert!(out.status.success(), "{kind}: {}", stderr(&out));
    pdf
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_form_of_a_case_is_an_a4_pdf_whose_text_reads_back_with_the_cases_number_names_materials_and_dates() {
    let t = temp_ledger();
    // Monday 7 December 2026, 10:00 in the hall.
    let (mut l, _clock) = clocked_ledger(&t.db, "2026-12-07T02:00:00Z");
    let call = |l: &mut bangban::Ledger| {
        l.call(&CallRequest {
            window: 12,
            staff: "S601".into(),
            number: None,
        })
        .unwrap()
    };
    let materials = l.hall().unwrap().item("F01").unwrap().materials.clone();
    // One visitor lacks two materials: the one-time notification.
    let short = issue(&mut l, "F01");
    call(&mut l);
    for action in [
        CaseAction::Start,
        CaseAction::NotifyMissing {
            missing: vec![materials[2].clone(), materials[4].clone()],
        },
    ] {
        l.act(&short, 12, "S601", &action).unwrap();
    }
    // The next has everything: accepted, handled, ready.
    let whole = issue(&mut l, "F01");
    call(&mut l);
    for action in [
        CaseAction::Start,
        CaseAction::accept(materials.clone()),
        CaseAction::StartWork,
        CaseAction::Ready,
    ] {
        act_signing(&mut l, &whole, 12, "S601", &action).unwrap();
    }
    drop(l);

    let dir = repo().join("target/screens/forms");
    std::fs::create_dir_all(&dir).unwrap();
    let now = [("BANGBAN_NOW", "2026-12-07T03:00:00Z")];
    for (kind, case, title, must) in [
        (
            "poa",
            &whole,
            "帮办代办委托书",
            vec!["委托人姓名", "冯雪", "ZZ0601", &materials[0][..], "委托人（签字）"],
        ),
        (
            "acceptance",
            &whole,
            "受理单",
            vec![&materials[3][..], "承诺办结日期：2026年12月", "0632-3316601"],
        ),
        (
            "notice",
            &short,
            "一次性告知书",
            vec![&materials[2][..], &materials[4][..], "12 号窗口", "09:00–17:00"],
        ),
        ("suspension", &whole, "中止告知单", vec!["中止原因", "预计恢复日期"]),
        ("termination", &whole, "终止告知单", vec!["终止原因"]),
        (
            "completion",
            &whole,
            "办结单",
            vec!["办理结果：已办结", "领取人（签字）"],
        ),
        ("handover", &whole, "材料交接单", vec![&materials[1][..], "接收人"]),
    ] {
        let pdf = form_pdf(&t, kind, case, &now);
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{kind} is a PDF");
        assert!(
            bytes.len() < 200_000,
            "{kind}: the font is embedded as a subset ({} bytes)",
            bytes.len()
        );
        // pdftotext keeps the words, not the spacing between CJK and digits: compare without spaces.
        let text = pdftotext(&pdf);
        let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for want in [
            title,
            "枣庄市民中心",
            &format!("2026-12-07/{case}")[..],
            "不动产转移登记",
            "打印日期：2026年12月07日",
            "第 1 页 共 1 页",
        ]
        .into_iter()
        .chain(must)
        {
            let want: String = want.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(flat.contains(&want), "{kind}: {want:?} not in\n{text}");
        }
        let png = Command::new("pdftoppm")
            .args(["-png", "-r", "70", "-singlefile"])
            .arg(&pdf)
            .arg(dir.join(kind))
            .status()
            .unwrap();
        assert!(png.success());
    }
    // A case that is not there: a plain error, no file.
    let missing = t.dir.path().join("none.pdf");
    let out = cli_env(
        &t.db,
        &["form", "poa", "2026-12-07/F099", "--out", missing.to_str().unwrap()],
        &now,
    );
    assert!(!out.status.success());
    assert!(!missing.exists());
}

const NAME: &str = "许喆";
const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13912345678";

/// Through the server, as the hall works: the principal typed at the counter, the 委托书 signed
/// on the window's pad. Neither the details nor the signature enter an event payload or a log
/// line; the 委托书 shows them masked; after `purge` the details and the PNG are gone, the
/// ledger still verifies, and the signed PDF can no longer be made again.
#[test]
fn the_principals_details_and_signature_stay_out_of_events_and_logs_and_purge_erases_them() {
    use bangban::api::HallClient;
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let counter = enrol(&t.db, "counter-1", "counter");
    let out = cli(&t.db, &["device", "add", "pad-1", "--role", "pad", "--window", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pad_token = stdout(&out).trim().to_string();
    let log = t.dir.path().join("serve.log");
    // Tuesday 8 December 2026, 10:00 in the hall.
    let mut s = Served::start_logged(&t.db, "2026-12-08T02:00:00Z", &log);

    let number = json(&remote(&s.url, &kiosk, &["--json", "issue", "--item", "A01"]))["number"]
        .as_str()
        .unwrap()
        .to_string();
    let at_counter = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--staff", "S101", "--window", "1"]);
        let out = remote(&s.url, &counter, &all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    at_counter(&["call", "--number", &number]);
    at_counter(&["case", &number, "start"]);
    // A mistyped ID number is refused, naming the field.
    let mut bad = vec![
        "case",
        number.as_str(),
        "principal",
        "--name",
        NAME,
        "--id",
        "110105194912310021",
    ];
    bad.extend_from_slice(&["--staff", "S101", "--window", "1"]);
    let refused = remote(&s.url, &counter, &bad);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("id number"), "{}", stderr(&refused));
    at_counter(&[
        "case",
        &number,
        "principal",
        "--name",
        NAME,
        "--id",
        ID_NUMBER,
        "--phone",
        PHONE,
    ]);
    at_counter(&["case", &number, "request-signature", "--form", "poa"]);

    let mut pad: Box<dyn HallClient> = Box::new(bangban::remote::RemoteClient::new(&s.url, &pad_token).unwrap());
    let view = pad
        .send(bangban::ops::PadShow {
            window: 1,
            following: None,
        })
        .unwrap();
    let ask = view.sign.expect("the pad is asked for the signature");
    assert_eq!((ask.form.as_str(), ask.number.as_str()), ("poa", number.as_str()));
    pad.send(bangban::ops::PadSign {
        window: 1,
        case: ask.case,
        strokes: vec![
            bangban::signature::Stroke(vec![(40.0, 160.0), (120.0, 60.0), (200.0, 180.0)]),
            bangban::signature::Stroke(vec![(260.0, 120.0), (380.0, 80.0), (520.0, 150.0)]),
        ],
    })
    .unwrap();
    // A second tap finds the request answered.
    let again = pad
        .send(bangban::ops::PadSign {
            window: 1,
            case: ask.case,
            strokes: vec![bangban::signature::Stroke(vec![(1.0, 1.0), (2.0, 2.0)])],
        })
        .unwrap_err();
    assert_eq!(again.kind(), bangban::ErrorKind::Conflict, "{again}");

    let pdf = t.dir.path().join("poa.pdf");
    let out = remote(
        &s.url,
        &counter,
        &["form", "poa", &number, "--out", pdf.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let flat: String = pdftotext(&pdf).chars().filter(|c| !c.is_whitespace()).collect();
    assert!(flat.contains(&format!("委托人姓名：{NAME}")), "{flat}");
    assert!(flat.contains("委托人身份证号：1101**********002X"), "{flat}");
    assert!(flat.contains("委托人联系电话：139****5678"), "{flat}");
    assert!(!flat.contains(ID_NUMBER) && !flat.contains(PHONE), "{flat}");
    assert!(flat.contains("电子签名"), "the signed form: {flat}");
    // README's picture of a signed 委托书.
    let dir = repo().join("target/screens/forms");
    std::fs::create_dir_all(&dir).unwrap();
    let png = Command::new("pdftoppm")
        .args(["-png", "-r", "70", "-singlefile"])
        .arg(&pdf)
        .arg(dir.join("poa-signed"))
        .status()
        .unwrap();
    assert!(png.success());
    assert!(s.stop().success());

    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let payloads: Vec<String> = conn
        .prepare("SELECT payload FROM events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for secret in [NAME, ID_NUMBER, PHONE, "1101**********002X"] {
        assert!(
            payloads.iter().all(|p| !p.contains(secret)),
            "{secret} is in an event payload"
        );
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("stopping"), "the server's log was captured:\n{logged}");
    for secret in [NAME, ID_NUMBER, PHONE] {
        assert!(!logged.contains(secret), "{secret} is in the server's log");
    }
    let kept = |kind: &str| -> String {
        conn.query_row(
            "SELECT group_concat(body, '') FROM notes WHERE kind = ?1",
            [kind],
            |r| r.get::<_, Option<String>>(0),
        )
        .unwrap()
        .unwrap_or_default()
    };
    assert_eq!(kept("principal_name"), NAME);
    assert!(
        kept("signature").len() > 1000,
        "the signature PNG is kept with the notes"
    );
    drop(conn);

    // Three years on: purge.
    let later = [("BANGBAN_NOW", "2029-12-09T02:00:00Z")];
    let out = cli_env(&t.db, &["--json", "purge"], &later);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let kept = |kind: &str| -> String {
        conn.query_row(
            "SELECT group_concat(body, '') FROM notes WHERE kind = ?1",
            [kind],
            |r| r.get::<_, Option<String>>(0),
        )
        .unwrap()
        .unwrap_or_default()
    };
    for kind in [
        "principal_name",
        "principal_id",
        "principal_phone",
        "signature",
        "signed_form",
    ] {
        assert_eq!(kept(kind), "", "{kind} was purged");
    }
    let anywhere: i64 = conn
        .query_row(
            "SELECT count(*) FROM notes WHERE body LIKE ?1 OR body LIKE ?2",
            [format!("%{NAME}%"), format!("%{ID_NUMBER}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(anywhere, 0);
    drop(conn);
    let verified = cli_env(&t.db, &["verify"], &later);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let gone = cli_env(&t.db, &["form", "verify", pdf.to_str().unwrap()], &later);
    assert!(!gone.status.success());
    assert!(stderr(&gone).contains("purged"), "{}", stderr(&gone));
}

/// 中止 stops the promised completion clock and the case resumes where it stood; 终止 closes a
/// case with its reason, in the register, on the status page and on the 终止告知单.
#[test]
fn a_suspended_case_pauses_its_deadline_and_resumes_and_a_terminated_one_is_closed_with_its_reason() {
    use bangban::ledger::DeadlineKind;
    let t = temp_ledger();
    // Monday 7 December 2026, 10:00 in the hall.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-12-07T02:00:00Z");
    let materials = l.hall().unwrap().item("F01").unwrap().materials.clone();
    let accepted = |l: &mut bangban::Ledger| {
        let ticket = l
            .issue(&IssueRequest {
                item: "F01".into(),
                priority: None,
                mode: None,
                channel: Channel::Kiosk,
                actor: "kiosk-1".into(),
            })
            .unwrap();
        l.call(&CallRequest {
            window: 12,
            staff: "S601".into(),
            number: Some(ticket.number.clone()),
        })
        .unwrap();
        for action in [
            CaseAction::Start,
            CaseAction::accept(materials.clone()),
            CaseAction::StartWork,
        ] {
            act_signing(l, &ticket.number, 12, "S601", &action).unwrap();
        }
        ticket
    };
    let a = accepted(&mut l);
    let b = accepted(&mut l);
    // Past their day, the cases are named with it.
    let (ar, br) = (format!("2026-12-07/{}", a.number), format!("2026-12-07/{}", b.number));
    let due_of = |l: &mut bangban::Ledger, number: &str| {
        l.overdue(None)
            .unwrap()
            .into_iter()
            .find(|o| o.kind == DeadlineKind::Completion && o.number == number)
            .map(|o| o.due)
    };
    // The hall's 10 working days: Monday 21 December, 10:00 — listed once due soon (in the
    // last fifth of its time), as on Friday the 18th at 16:00.
    clock.set(at("2026-12-18T08:00:00Z"));
    assert_eq!(due_of(&mut l, &a.number).as_deref(), Some("2026-12-21T02:00:00.000Z"));
    // Suspended then, until the other office answers.
    let refused = l
        .act(
            &ar,
            12,
            "S601",
            &CaseAction::Suspend {
                reason: String::new(),
                until: None,
            },
        )
        .unwrap_err();
    assert!(refused.to_string().contains("reason"), "{refused}");
    let c = l
        .act(
            &ar,
            12,
            "S601",
            &CaseAction::Suspend {
                reason: "等待公安局出具户籍证明".into(),
                until: Some("2026-12-23".into()),
            },
        )
        .unwrap();
    assert_eq!(c.state, bangban::CaseState::Suspended);
    clock.set(at("2026-12-22T02:00:00Z"));
    assert_eq!(due_of(&mut l, &a.number), None, "a suspended case's clock stands still");
    let status = l.ticket_status(&a.token).unwrap();
    assert_eq!(status.state, "suspended");
    assert_eq!(status.reason.as_deref(), Some("等待公安局出具户籍证明"));
    assert_eq!(status.resume_by.as_deref(), Some("2026-12-23"));
    let refused = l.act(&ar, 12, "S601", &CaseAction::Ready).unwrap_err();
    assert!(refused.to_string().contains("suspended"), "{refused}");
    // Resumed on Wednesday the 23rd: 21, 22 and 23 December did not count.
    clock.set(at("2026-12-23T02:00:00Z"));
    let c = l.act(&ar, 12, "S601", &CaseAction::ResumeWork).unwrap();
    assert_eq!(
        c.state,
        bangban::CaseState::InProgress,
        "the work resumes where it stood"
    );
    clock.set(at("2026-12-24T02:00:00Z"));
    assert_eq!(due_of(&mut l, &a.number).as_deref(), Some("2026-12-24T02:00:00.000Z"));
    l.act(&ar, 12, "S601", &CaseAction::Ready).unwrap();

    // The other is terminated: closed, with its reason.
    let c = l
        .act(
            &br,
            12,
            "S601",
            &CaseAction::Terminate {
                reason: "申请人撤回申请".into(),
            },
        )
        .unwrap();
    assert_eq!(c.state, bangban::CaseState::Terminated);
    assert!(c.closed_at.is_some());
    assert_eq!(due_of(&mut l, &b.number), None);
    let status = l.ticket_status(&b.token).unwrap();
    assert_eq!((status.state.as_str(), status.stage), ("terminated", 4));
    assert_eq!(status.reason.as_deref(), Some("申请人撤回申请"));
    let rows = l
        .records(
            bangban::RecordKind::Suspensions,
            "2026-12-01".parse().unwrap(),
            "2026-12-31".parse().unwrap(),
        )
        .unwrap();
    let lines: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.number.clone(), r.what.clone(), r.detail.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                a.number.clone(),
                "中止".to_string(),
                "原因：等待公安局出具户籍证明；预计恢复：2026-12-23".to_string()
            ),
            (a.number.clone(), "恢复办理".to_string(), String::new()),
            (b.number.clone(), "终止".to_string(), "原因：申请人撤回申请".to_string()),
        ]
    );
    let report = l.verify().unwrap();
    assert!(report.ok, "{:?}", report.problem);
    drop(l);

    // The forms say the same, and the status page shows it.
    let now = [("BANGBAN_NOW", "2026-12-24T03:00:00Z")];
    for (kind, case, want) in [
        (
            "suspension",
            &a.number,
            vec!["中止原因：等待公安局出具户籍证明", "预计恢复日期：2026年12月23日"],
        ),
        (
            "termination",
            &b.number,
            vec!["终止原因：申请人撤回申请", "终止日期：2026年12月24日"],
        ),
    ] {
        let pdf = form_pdf(&t, kind, case, &now);
        let flat: String = pdftotext(&pdf).chars().filter(|c| !c.is_whitespace()).collect();
        for w in want {
            assert!(flat.contains(w), "{kind}: {w} not in {flat}");
        }
    }
    let s = Served::start_at(&t.db, "2026-12-24T03:00:00Z");
    let browser = chromium_with((390, 844), false);
    let tab = tab_sized(&browser, 390, 844, true);
    tab.navigate_to(&format!("{}/t/{}", s.url, b.token)).unwrap();
    tab.wait_until_navigated().unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let read = |id: &str| {
        tab.find_element(&format!("#{id}"))
            .and_then(|e| e.get_inner_text())
            .unwrap_or_default()
    };
    while read("big").is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(read("big"), "已终止办理");
    assert_eq!(read("small"), "原因：申请人撤回申请");
}
