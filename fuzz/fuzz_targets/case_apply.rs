//! The case state machine: `apply` over any sequence of events never panics, refuses without
//! side effects, and replaying the accepted events rebuilds exactly the same case.
#![no_main]

use arbitrary::{Result, Unstructured};
use bangban::model::{apply, Case, Channel, EventBody, MissingMaterial, Mode, NoteRef, PartState};
use libfuzzer_sys::fuzz_target;

fn text(u: &mut Unstructured) -> Result<String> {
    Ok(u.choose(&["S101", "S102", "", "A\u{1b}@", "二手房过户"])?.to_string())
}

fn note(u: &mut Unstructured) -> Result<NoteRef> {
    Ok(NoteRef { note: u.int_in_range(1..=5)?, sha256: "00".repeat(32) })
}

fn dept(u: &mut Unstructured) -> Result<String> {
    Ok(u.choose(&["SCJG", "SWJ", "GJJ", "GAJ"])?.to_string())
}

fn body(u: &mut Unstructured) -> Result<EventBody> {
    let window = u.int_in_range(0..=30)?;
    let staff = text(u)?;
    Ok(match u.int_in_range(0..=30)? {
        0 => EventBody::CaseCalled { window, staff, number: "A001".into(), department: "SCJG".into() },
        1 => EventBody::CaseRecalled { window, staff, number: "A001".into(), department: String::new() },
        2 => EventBody::CaseStarted { window, staff },
        3 => EventBody::CaseNoShow { staff },
        4 => EventBody::CaseHeld { staff },
        5 => EventBody::CaseResumed { window, staff },
        6 => EventBody::CaseTransferred {
            staff,
            from_department: "SCJG".into(),
            to_department: text(u)?,
            to_window: window,
            note: if u.arbitrary()? { Some(note(u)?) } else { None },
        },
        7 => EventBody::ConsultationRecorded {
            staff,
            question: note(u)?,
            answer: if u.arbitrary()? { Some(note(u)?) } else { None },
            resolved: u.arbitrary()?,
        },
        8 => EventBody::QuestionAnswered { staff, answer: note(u)? },
        9 => EventBody::MaterialsMissing { staff, missing: (0..u.int_in_range(0..=2)?).map(|_| "公司章程".to_string()).collect() },
        10 => EventBody::MaterialsReturned { window, staff },
        11 => EventBody::CaseAccepted {
            staff,
            materials: (0..u.int_in_range(0..=2)?).map(|_| "股东身份证明".to_string()).collect(),
            power_of_attorney: u.arbitrary()?,
            missing: (0..u.int_in_range(0..=1)?)
                .map(|_| bangban::model::MissingMaterial {
                    material: "住所使用证明".into(),
                    supply_by: "2026-12-10".into(),
                })
                .collect(),
        },
        12 => EventBody::WorkStarted { staff },
        13 => EventBody::ResultReady { staff },
        14 => EventBody::DeliveredInPerson { staff, completion_slip_signed: u.arbitrary()? },
        15 => EventBody::Mailed {
            staff,
            tracking: note(u)?,
            recipient: if u.arbitrary()? { Some(note(u)?) } else { None },
            courier: if u.arbitrary()? { Some(note(u)?) } else { None },
            address: None,
            sent_on: if u.arbitrary()? { Some("2026-11-27".into()) } else { None },
        },
        16 => EventBody::ReceiptConfirmed { staff },
        17 => EventBody::Archived {
            staff,
            handover: if u.arbitrary()? { Some(note(u)?) } else { None },
            receiver: if u.arbitrary()? { Some(note(u)?) } else { None },
        },
        18 => EventBody::CaseCancelled { actor: staff, reason: String::new(), reason_note: None },
        19 => EventBody::TicketPrinted { device: "printer:none".into(), reprint: u.arbitrary()? },
        20 => EventBody::StaffLogin { staff, window, ok: u.arbitrary()?, pin_check: None },
        21 => EventBody::WindowPaused { window, staff },
        // The whole chain's parts: opened, claimed, moved (容缺 with missing materials),
        // supplied; a case opened at the counter.
        22 => EventBody::PartsOpened {
            staff,
            departments: vec!["SCJG".into(), "SWJ".into(), "GJJ".into()][..u.int_in_range(0..=3)?].to_vec(),
            in_series: u.arbitrary()?,
        },
        23 => EventBody::PartClaimed { staff, department: dept(u)? },
        24 => EventBody::PartMoved {
            staff,
            department: dept(u)?,
            state: *u.choose(&PartState::ALL)?,
            missing: if u.arbitrary()? {
                vec![MissingMaterial { material: "本人银行卡".into(), supply_by: "2026-11-30".into() }]
            } else {
                vec![]
            },
        },
        25 => EventBody::PartMaterialSupplied { staff, department: dept(u)?, material: "本人银行卡".into() },
        26 => EventBody::CaseOpened {
            staff,
            window,
            project: None,
            caller: None,
        },
        _ => issued(u)?,
    })
}

fn issued(u: &mut Unstructured) -> Result<EventBody> {
    Ok(EventBody::CaseIssued {
        business_day: "2026-11-25".into(),
        number: "A001".into(),
        token: "t".into(),
        item: "A01".into(),
        department: "SCJG".into(),
        window: 1,
        priority: None,
        priority_rank: u.int_in_range(0..=3)?,
        mode: *u.choose(&[Mode::Onsite, Mode::Online, Mode::Fullprocess])?,
        channel: *u.choose(&Channel::ALL)?,
    })
}

fn fold(events: &[(i64, String, EventBody)]) -> Option<Case> {
    let mut case: Option<Case> = None;
    for (seq, at, b) in events {
        case = Some(apply(case.as_ref(), 7, *seq, at, b).expect("an accepted event is accepted again on replay"));
    }
    case
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(first) = issued(&mut u) else { return };
    let mut case = apply(None, 7, 1, "2026-11-25T01:00:00.000Z", &first).expect("a first issue is accepted");
    let mut accepted = vec![(1, "2026-11-25T01:00:00.000Z".to_string(), first)];
    let mut seq = 1;
    while let Ok(b) = body(&mut u) {
        seq += 1;
        // Times may go backwards: a clock stepping back must not break the machine.
        let minute: u32 = u.int_in_range(0..=59).unwrap_or(0);
        let at = format!("2026-11-25T02:{minute:02}:00.000Z");
        let before = case.clone();
        match apply(Some(&case), 7, seq, &at, &b) {
            Ok(next) => {
                assert_eq!(next.last_seq, seq);
                assert_eq!(next.id, 7);
                if next.state.is_queued() {
                    assert!(next.called_window.is_none() || next.state.as_str() == "waiting");
                }
                case = next;
                accepted.push((seq, at, b));
            }
            Err(_) => assert_eq!(case, before, "a refused event changed the case"),
        }
        if u.is_empty() {
            break;
        }
    }
    assert_eq!(fold(&accepted).as_ref(), Some(&case), "replay differs from the projection");
});
