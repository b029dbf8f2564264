//! What every store must do, through `HallClient` only (see `mod.rs` for how a store plugs in).

use bangban::api::{Act, Call, CheckIn, HallClient, Issue, SignIn};
use bangban::ledger::{FeedbackKind, NewFeedback};
use bangban::model::PartState;
use bangban::ops::{AppointmentAdd, AppointmentCancel, CloseDay, FeedbackList, FeedbackReply};
use bangban::{CaseAction, CaseState, Channel, ErrorKind};

use super::TestHall;
use crate::support::TEST_PIN;

fn issue(c: &mut dyn HallClient, item: &str, priority: Option<&str>) -> String {
    c.issue(&Issue {
        item: item.into(),
        priority: priority.map(str::to_string),
        mode: None,
        channel: Channel::Kiosk,
    })
    .unwrap_or_else(|e| panic!("issue {item}: {e}"))
    .number
}

/// Act as a counter does, the visitor's signature recorded on paper first where the step needs it.
fn act(c: &mut dyn HallClient, case: &str, action: CaseAction) -> bangban::Case {
    crate::support::act_signing_via(c, case, &action).unwrap_or_else(|e| panic!("{action:?} on {case}: {e}"))
}

fn refused<T: std::fmt::Debug>(r: bangban::error::Result<T>) -> ErrorKind {
    r.expect_err("refused").kind()
}

fn call(c: &mut dyn HallClient) -> bangban::Called {
    c.call(&Call { number: None }).unwrap()
}

#[test]
fn numbers_run_gap_free_per_department_prefix() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    let got: Vec<String> = ["A01", "F01", "A01", "A01", "F01"]
        .iter()
        .map(|i| issue(k.as_mut(), i, None))
        .collect();
    assert_eq!(got, ["A001", "F001", "A002", "A003", "F002"]);
}

#[test]
fn a_priority_visitor_is_called_before_earlier_tickets() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    issue(k.as_mut(), "A01", None);
    let elderly = issue(k.as_mut(), "A01", Some("elderly"));
    let mut c = h.counter("S101", 1);
    assert_eq!(call(c.as_mut()).number, elderly);
}

#[test]
fn two_counters_calling_at_once_never_get_the_same_case() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    let issued: Vec<String> = (0..12).map(|_| issue(k.as_mut(), "A01", None)).collect();
    let called = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (staff, window) in [("S101", 1), ("S102", 2)] {
            let (h, called) = (&h, &called);
            s.spawn(move || {
                let mut c = h.counter(staff, window);
                loop {
                    match c.call(&Call { number: None }) {
                        Ok(got) => {
                            called.lock().unwrap().push(got.number.clone());
                            act(c.as_mut(), &got.number, CaseAction::Hold);
                        }
                        Err(e) if e.kind() == ErrorKind::NobodyWaiting => return,
                        Err(e) if e.kind() == ErrorKind::Busy => continue,
                        Err(e) => panic!("{staff}: {e}"),
                    }
                }
            });
        }
    });
    let mut called = called.into_inner().unwrap();
    called.sort();
    assert_eq!(called, issued, "each ticket called exactly once");
}

#[test]
fn a_case_moves_through_the_four_stages_to_the_archive() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    let number = issue(k.as_mut(), "F01", None);
    let materials = k.hall().unwrap().item("F01").unwrap().materials.clone();
    assert!(!materials.is_empty());
    let mut c = h.counter("S601", 12);
    assert_eq!(call(c.as_mut()).number, number);
    let steps = [
        (CaseAction::Start, CaseState::Serving),
        (CaseAction::accept(materials), CaseState::Accepted),
        (CaseAction::StartWork, CaseState::InProgress),
        (CaseAction::Ready, CaseState::Ready),
        (CaseAction::DeliverInPerson, CaseState::Delivered),
        (
            CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
            CaseState::Archived,
        ),
    ];
    for (action, state) in steps {
        assert_eq!(act(c.as_mut(), &number, action).state, state);
    }
    let view = c.case(&number).unwrap();
    assert_eq!(view.case.state, CaseState::Archived);
}

#[test]
fn the_rules_refuse_what_a_counter_may_not_do() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    assert_eq!(
        refused(k.issue(&Issue {
            item: "NOPE".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })),
        ErrorKind::UnknownItem
    );
    let mut c = h.counter("S101", 1);
    assert_eq!(refused(c.call(&Call { number: None })), ErrorKind::NobodyWaiting);
    let first = issue(k.as_mut(), "A01", None);
    issue(k.as_mut(), "A01", None);
    call(c.as_mut());
    // One visitor at a time at a window.
    assert_eq!(refused(c.call(&Call { number: None })), ErrorKind::WindowBusy);
    // Stages in order: a case just called is not ready.
    assert_eq!(
        refused(c.act(&Act {
            case: first.clone(),
            action: CaseAction::Ready,
        })),
        ErrorKind::IllegalTransition
    );
    // Another department's specialist cannot move it.
    let mut other = h.counter("S601", 12);
    assert_eq!(
        refused(other.act(&Act {
            case: first,
            action: CaseAction::Start,
        })),
        ErrorKind::Forbidden
    );
    // A wrong PIN signs nobody in.
    let mut d = h.door("counter-2");
    assert_eq!(
        refused(d.sign_in(&SignIn {
            staff: "S102".into(),
            pin: "000000".into(),
            window: 2,
        })),
        ErrorKind::WrongPin
    );
    assert_ne!(TEST_PIN, "000000");
}

#[test]
fn a_whole_chain_case_finishes_only_when_every_part_is_done() {
    let h = TestHall::new();
    // 企业开办 (A01) is whole-chain: 市场监督 leads, 税务, 人社 and 公积金 take parts.
    let number = issue(h.kiosk().as_mut(), "A01", None);
    let mut lead = h.counter("S101", 1);
    call(lead.as_mut());
    act(lead.as_mut(), &number, CaseAction::Start);
    let accepted = act(
        lead.as_mut(),
        &number,
        CaseAction::accept(crate::support::materials_of("A01")),
    );
    let departments: Vec<&str> = accepted.parts.iter().map(|p| p.department.as_str()).collect();
    assert_eq!(departments, ["SCJG", "SWJ", "RSJ", "GJJ"]);
    act(lead.as_mut(), &number, CaseAction::StartWork);
    assert_eq!(
        refused(lead.act(&Act {
            case: number.clone(),
            action: CaseAction::Ready,
        })),
        ErrorKind::PartsPending
    );
    let mut others: Vec<Box<dyn HallClient>> = [("S701", 15), ("S301", 6), ("S501", 10)]
        .into_iter()
        .map(|(staff, window)| h.counter(staff, window))
        .collect();
    for c in std::iter::once(&mut lead).chain(others.iter_mut()) {
        act(c.as_mut(), &number, CaseAction::Claim);
        for state in [PartState::Accepted, PartState::InProgress, PartState::Done] {
            act(
                c.as_mut(),
                &number,
                CaseAction::Part {
                    state,
                    missing: vec![],
                    supply_by: None,
                },
            );
        }
    }
    assert_eq!(act(lead.as_mut(), &number, CaseAction::Ready).state, CaseState::Ready);
}

#[test]
fn an_appointment_checks_in_once_and_a_cancelled_one_not_at_all() {
    let h = TestHall::new();
    let mut office = h.office();
    let book = |office: &mut Box<dyn HallClient>| {
        office
            .send(AppointmentAdd {
                item: "F01".into(),
                at: "2026-12-10 10:00".into(),
                phone: "13800001234".into(),
                channel: "phone".into(),
                from_case: None,
            })
            .unwrap()
    };
    let kept = book(&mut office);
    assert_eq!(kept.phone, "138****1234");
    let dropped = book(&mut office);
    office
        .send(AppointmentCancel {
            code: dropped.code.clone(),
        })
        .unwrap();
    let mut k = h.kiosk();
    let ticket = k
        .check_in(&CheckIn {
            code: kept.code.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(ticket.number.starts_with('F'), "{}", ticket.number);
    assert_eq!(
        refused(k.check_in(&CheckIn {
            code: kept.code,
            ..Default::default()
        })),
        ErrorKind::CodeUsed
    );
    assert_eq!(
        refused(k.check_in(&CheckIn {
            code: dropped.code,
            ..Default::default()
        })),
        ErrorKind::CodeUnknown
    );
}

#[test]
fn a_complaint_is_handed_in_listed_and_answered() {
    let h = TestHall::new();
    let receipt = h
        .kiosk()
        .feedback(&NewFeedback {
            kind: FeedbackKind::Complaint,
            category: "wait".into(),
            department: Some("SCJG".into()),
            window: None,
            channel: "kiosk".into(),
            text: None,
        })
        .unwrap();
    let mut office = h.office();
    let open = office
        .send(FeedbackList {
            open: true,
            department: None,
        })
        .unwrap();
    assert_eq!(open.iter().map(|f| f.id).collect::<Vec<_>>(), [receipt.id]);
    let answered = office
        .send(FeedbackReply {
            id: receipt.id,
            reply: "已增开窗口".into(),
        })
        .unwrap();
    assert_eq!(answered.replied_by.as_deref(), Some("S900"));
    let open = office
        .send(FeedbackList {
            open: true,
            department: None,
        })
        .unwrap();
    assert!(open.is_empty(), "answered: no longer open");
}

#[test]
fn closing_the_day_expires_the_waiting_and_issues_nothing_more_that_day() {
    // After the hall's 17:00 closing, two visitors still waiting.
    let h = TestHall::at("2026-12-10T17:30:00+08:00");
    let mut k = h.kiosk();
    issue(k.as_mut(), "A01", None);
    issue(k.as_mut(), "F01", None);
    let closed = h
        .office()
        .send(CloseDay {
            date: Some("2026-12-10".parse().unwrap()),
        })
        .unwrap();
    assert_eq!((closed.business_day.as_str(), closed.expired), ("2026-12-10", 2));
    assert_eq!(
        refused(k.issue(&Issue {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })),
        ErrorKind::DayClosed
    );
    assert!(k.queues().unwrap().iter().all(|q| q.waiting == 0));
}

#[test]
fn verify_names_the_first_event_changed_behind_the_ledgers_back() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    for _ in 0..3 {
        issue(k.as_mut(), "A01", None);
    }
    let called = call(h.counter("S101", 1).as_mut());
    let mut office = h.office();
    let report = office.verify().unwrap();
    assert!(report.ok, "{report:?}");
    h.tamper_event(called.seq, "\"window\":1", "\"window\":3");
    let report = office.verify().unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(called.seq), "{report:?}");
}

#[test]
fn a_write_delivered_twice_with_one_request_id_is_done_once() {
    let h = TestHall::new();
    let (first, again) = h.issue_twice("A01", "kiosk-1-7f3a");
    assert_eq!(first.number, "A001");
    assert_eq!(again.number, first.number, "the retry gets the first answer");
    assert_eq!(
        issue(h.kiosk().as_mut(), "A01", None),
        "A002",
        "no number was used twice"
    );
}

#[test]
fn a_window_calls_by_number_only_its_own_departments_tickets() {
    let h = TestHall::new();
    let mut k = h.kiosk();
    let other = issue(k.as_mut(), "A01", None);
    let own = issue(k.as_mut(), "F01", None);
    // 不动产 (window 12) asked for 市场监督's A001: refused, naming whose ticket it is.
    let mut c = h.counter("S601", 12);
    let e = c
        .call(&Call {
            number: Some(other.clone()),
        })
        .expect_err("another department's ticket");
    assert_eq!(e.kind(), ErrorKind::Forbidden);
    assert!(e.to_string().contains("市场监督管理局"), "{e}");
    assert!(
        h.office().calls_after(0).unwrap().calls.is_empty(),
        "nothing announced on the boards"
    );
    // The window is not stalled: it calls its own next visitor, and 市场监督 still can call A001.
    assert_eq!(call(c.as_mut()).number, own);
    let mut scjg = h.counter("S101", 1);
    assert_eq!(
        scjg.call(&Call {
            number: Some(other.clone())
        })
        .unwrap()
        .number,
        other
    );
}
