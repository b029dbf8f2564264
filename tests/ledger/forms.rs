//! The forms as A4 PDFs (`bangban form KIND CASE --out`): each made from a scripted case and
//! read back with poppler's `pdftotext` (the number, the names, the materials, the dates),
//! and drawn to PNGs with `pdftoppm` for README.

use std::process::Command;

use bangban::{CallRequest, CaseAction, Channel, IssueRequest};

use crate::support::*;

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
    let issue = |l: &mut bangban::Ledger| {
        l.issue(&IssueRequest {
            item: "F01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap()
        .number
    };
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
    let short = issue(&mut l);
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
    let whole = issue(&mut l);
    call(&mut l);
    for action in [
        CaseAction::Start,
        CaseAction::Accept {
            materials: materials.clone(),
            power_of_attorney: true,
        },
        CaseAction::StartWork,
        CaseAction::Ready,
    ] {
        l.act(&whole, 12, "S601", &action).unwrap();
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
            &now,
        );
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
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
