//! Every request the CLI and the counters send, in any order, with any arguments, against a
//! real ledger file and a clock that may step back: no panic, errors are errors, and at the
//! end the chain verifies and the cases table equals a replay of the log.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use bangban::clock::ManualClock;
use bangban::{CallRequest, CaseAction, Channel, Hall, IssueRequest, Ledger, LedgerOptions, Mode};
use libfuzzer_sys::fuzz_target;

const ITEMS: &[&str] = &["A01", "B01", "C01", "F01", "G01", "a01", "ZZ9", ""];
const STAFF: &[&str] = &["S101", "S102", "S201", "S602", "nobody", ""];
const TEXT: &[&str] = &["", " ", "二手房过户", "SF1234567890", "\u{1b}@", "公司章程", "不动产权证书"];

fn case_ref(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 => format!("A{:03}", u.int_in_range(0..=4)?),
        1 => format!("B{:03}", u.int_in_range(0..=4)?),
        2 => format!("F{:03}", u.int_in_range(0..=4)?),
        _ => u.choose(&["", "zz", "a001", "A0001"])?.to_string(),
    })
}

fn text(u: &mut Unstructured) -> Result<String> {
    Ok(u.choose(TEXT)?.to_string())
}

fn list(u: &mut Unstructured) -> Result<Vec<String>> {
    (0..u.int_in_range(0..=3)?).map(|_| text(u)).collect()
}

fn action(u: &mut Unstructured) -> Result<CaseAction> {
    Ok(match u.int_in_range(0..=24)? {
        0 => CaseAction::Recall,
        1 => CaseAction::Start,
        2 => CaseAction::NoShow,
        3 => CaseAction::Hold,
        4 => CaseAction::Resume,
        5 => CaseAction::Transfer {
            department: u.choose(&["GAJ", "BDC", "SCJG", "nope"])?.to_string(),
            window: if u.arbitrary()? { Some(u.int_in_range(0..=20)?) } else { None },
            note: if u.arbitrary()? { Some(text(u)?) } else { None },
        },
        6 => CaseAction::Consult {
            question: text(u)?,
            answer: if u.arbitrary()? { Some(text(u)?) } else { None },
            resolved: u.arbitrary()?,
        },
        7 => CaseAction::Answer { answer: text(u)? },
        8 => CaseAction::NotifyMissing { missing: list(u)? },
        9 => CaseAction::MaterialsReturned,
        10 => CaseAction::accept(list(u)?),
        11 => CaseAction::StartWork,
        12 => CaseAction::Ready,
        13 => CaseAction::DeliverInPerson,
        14 => CaseAction::Mail {
            tracking: text(u)?,
            recipient: text(u)?,
            courier: text(u)?,
            address: if u.arbitrary()? { Some(text(u)?) } else { None },
            sent_on: if u.arbitrary()? { Some(text(u)?) } else { None },
        },
        15 => CaseAction::ConfirmReceipt,
        16 => CaseAction::Archive {
            handover: if u.arbitrary()? { Some(text(u)?) } else { None },
            receiver: if u.arbitrary()? { Some(text(u)?) } else { None },
        },
        17 => CaseAction::Suspend { reason: text(u)?, until: if u.arbitrary()? { Some(text(u)?) } else { None } },
        18 => CaseAction::ResumeWork,
        19 => CaseAction::Terminate { reason: text(u)? },
        20 => CaseAction::Principal { name: text(u)?, id_number: text(u)?, phone: if u.arbitrary()? { Some(text(u)?) } else { None } },
        21 => CaseAction::RequestSignature { form: u.choose(&["poa", "completion", "nope"])?.to_string() },
        22 => CaseAction::SignedOnPaper { form: u.choose(&["poa", "completion", "nope"])?.to_string(), number: text(u)? },
        _ => CaseAction::Cancel { reason: text(u)? },
    })
}

fn step(ledger: &mut Ledger, clock: &ManualClock, u: &mut Unstructured) -> Result<()> {
    let window: u32 = *u.choose(&[0, 1, 2, 4, 12, 13, 99])?;
    let staff = u.choose(STAFF)?.to_string();
    match u.int_in_range(0..=7)? {
        0 | 1 => {
            let _ = ledger.issue(&IssueRequest {
                item: u.choose(ITEMS)?.to_string(),
                priority: if u.arbitrary()? { Some(u.choose(&["elderly", "military", "vip", ""])?.to_string()) } else { None },
                mode: if u.arbitrary()? { Some(*u.choose(&[Mode::Onsite, Mode::Online, Mode::Fullprocess])?) } else { None },
                channel: *u.choose(&[Channel::Kiosk, Channel::Counter, Channel::Phone])?,
                actor: u.choose(&["kiosk-1", "", "S101"])?.to_string(),
            });
        }
        2 => {
            let number = if u.arbitrary()? { Some(case_ref(u)?) } else { None };
            let _ = ledger.call(&CallRequest { window, staff, number });
        }
        3 | 4 => {
            let case = case_ref(u)?;
            let act = action(u)?;
            let _ = ledger.act(&case, window, &staff, &act);
        }
        5 => {
            let _ = ledger.set_window_paused(window, &staff, u.arbitrary()?);
        }
        6 => {
            // The clock moves on, or steps back (NTP, a wrong hardware clock).
            let minutes: i64 = u.int_in_range(-90..=240)?;
            clock.advance(chrono::Duration::minutes(minutes));
        }
        _ => {
            let _ = ledger.waiting(&[]);
            let _ = ledger.queues();
            let _ = ledger.recent_calls(8);
        }
    }
    Ok(())
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(std::env::var_os("BANGBAN_FUZZ_TMP").unwrap_or_else(|| "/tmp".into())).unwrap()
}

/// A configured demo ledger, made once: each input starts from a copy of its file.
fn template() -> &'static [u8] {
    static T: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch();
        let path = dir.path().join("template.sqlite3");
        let mut ledger = Ledger::open(&path, LedgerOptions::default()).unwrap();
        let hall = Hall::from_toml(bangban::DEMO_HALL, "demo.toml").unwrap();
        ledger.configure(&hall, "fuzz", "demo").unwrap();
        // Closing the last connection folds the write-ahead log into the file.
        drop(ledger);
        std::fs::read(&path).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let path = dir.path().join("l.sqlite3");
    std::fs::write(&path, template()).unwrap();
    let clock = ManualClock::new("2026-11-25T01:00:00Z".parse().unwrap());
    let opts = LedgerOptions { busy_timeout: Duration::from_secs(1), clock: Arc::new(clock.clone()) };
    let mut ledger = Ledger::open(&path, opts).unwrap();
    let mut u = Unstructured::new(data);
    for _ in 0..64 {
        if u.is_empty() || step(&mut ledger, &clock, &mut u).is_err() {
            break;
        }
    }
    let report = ledger.verify().unwrap();
    assert!(report.ok, "{report:?}");
});
