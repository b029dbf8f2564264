//! A ledger with past days: the hot queries use their indexes (so no change can quietly bring
//! back a scan of the whole history), the first call of the day looks at today's calls only,
//! and the streaming verify stays right when it lets go of idle cases.

use std::sync::Arc;
use std::time::Duration;

use bangban::clock::ManualClock;
use bangban::{CallRequest, CaseAction, Channel, IssueRequest, Ledger, LedgerOptions};
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::support::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Three past days of ten tickets each, every one called and served, and a fourth day begun.
fn ledger_with_past_days(t: &TempLedger) -> (Ledger, ManualClock) {
    let clock = ManualClock::new(at("2026-11-24T01:00:00Z"));
    let mut l = bangban::open_or_demo(
        &t.db,
        LedgerOptions {
            busy_timeout: Duration::from_secs(5),
            clock: Arc::new(clock.clone()),
        },
        "test",
    )
    .unwrap();
    for day in 0..3 {
        clock.set(at("2026-11-24T01:00:00Z") + chrono::Duration::days(day));
        for i in 0..10 {
            let t = l
                .issue(&IssueRequest {
                    item: if i % 2 == 0 { "A01" } else { "B01" }.into(),
                    priority: (i % 3 == 0).then(|| "elderly".to_string()),
                    mode: None,
                    channel: Channel::Kiosk,
                    actor: "kiosk".into(),
                })
                .unwrap();
            let (window, staff) = if i % 2 == 0 { (1, "S101") } else { (4, "S201") };
            clock.advance(chrono::Duration::minutes(3));
            l.call(&CallRequest {
                window,
                staff: staff.into(),
                number: None,
            })
            .unwrap();
            if i % 4 == 0 {
                l.recall(&t.number, window, staff).unwrap();
            }
            l.act(&t.number, window, staff, &CaseAction::Start).unwrap();
            l.act(
                &t.number,
                window,
                staff,
                &CaseAction::Consult {
                    question: "q".into(),
                    answer: Some("a".into()),
                    resolved: true,
                },
            )
            .unwrap();
            l.act(
                &t.number,
                window,
                staff,
                &CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"),
            )
            .unwrap();
        }
    }
    clock.set(at("2026-11-27T01:00:00Z"));
    (l, clock)
}

#[test]
fn the_hot_queries_use_their_indexes_on_a_ledger_with_past_days() {
    let t = temp_ledger();
    let (l, _clock) = ledger_with_past_days(&t);
    let plans = l.query_plans().unwrap();
    assert_eq!(plans.len(), 16, "{plans:?}");
    for (name, index, lines) in plans {
        let plan = lines.join(" / ");
        let uses = |index: &str| {
            lines.iter().any(|l| {
                l.contains(&format!("USING INDEX {index} "))
                    || l.contains(&format!("USING COVERING INDEX {index} "))
                    || l.ends_with(&format!("USING INDEX {index}"))
            })
        };
        assert!(index.split('|').any(uses), "{name} does not use {index}: {plan}");
        // Scanning the partial index of watched cases reads only those (a few hundred in a
        // hall), never the archived history.
        assert!(
            !lines
                .iter()
                .any(|l| l.trim_start().starts_with("SCAN ") && !l.ends_with("USING INDEX cases_watched")),
            "{name} scans a whole table: {plan}"
        );
    }
}

#[test]
fn the_first_call_of_the_day_caps_priority_by_todays_calls_only() {
    let t = temp_ledger();
    let (mut l, clock) = ledger_with_past_days(&t);
    // Today: more priority visitors than the cap allows in a row, and one ordinary visitor.
    let cap = l.hall().unwrap().priority_cap as usize;
    let mut numbers = Vec::new();
    for k in 0..=cap + 1 {
        clock.advance(chrono::Duration::seconds(10));
        let priority = (k != 1).then(|| "elderly".to_string());
        numbers.push(
            l.issue(&IssueRequest {
                item: "A01".into(),
                priority,
                mode: None,
                channel: Channel::Kiosk,
                actor: "kiosk".into(),
            })
            .unwrap()
            .number,
        );
    }
    let ordinary = numbers[1].clone();
    // Past days ended with ordinary calls, so yesterday's streak must not count: the first
    // `cap` calls of today are priority visitors, then the ordinary one gets its turn.
    let mut called = Vec::new();
    for _ in 0..=cap {
        let number = l
            .call(&CallRequest {
                window: 1,
                staff: "S101".into(),
                number: None,
            })
            .unwrap()
            .number;
        // The window settles each visitor before the next call.
        l.act(&number, 1, "S101", &bangban::CaseAction::Hold).unwrap();
        called.push(number);
    }
    assert!(!called[..cap].contains(&ordinary), "{called:?}");
    assert_eq!(
        called[cap], ordinary,
        "after {cap} priority calls the ordinary visitor is next: {called:?}"
    );
    // The board's recent calls are today's only.
    let recent = l.recent_calls(50).unwrap();
    assert_eq!(recent.len(), cap + 1);
    assert!(recent.iter().all(|c| called.contains(&c.number)));
}

#[test]
fn verify_that_lets_go_of_idle_cases_still_finds_every_edit() {
    let t = temp_ledger();
    let (mut l, _clock) = ledger_with_past_days(&t);
    let events = l.verify().unwrap().events;
    assert!(events > 150, "{events}");
    // Small batches and a short memory: cases are dropped, compared and folded again.
    for (evict, batch) in [(5, 3), (20, 16), (1, 1), (1_000_000, 8192)] {
        let r = l.verify_evicting(evict, batch).unwrap();
        assert!(r.ok, "evict {evict}, batch {batch}: {r:?}");
        assert_eq!(r.events, events);
        assert_eq!(r.cases, 30);
    }
    drop(l);
    // An early case's row edited: found however early it was let go.
    let c = Connection::open(&t.db).unwrap();
    c.execute(
        "UPDATE cases SET data = replace(data, '\"recalls\":1', '\"recalls\":0') WHERE id = 1",
        [],
    )
    .unwrap();
    let mut l = Ledger::open(&t.db, LedgerOptions::default()).unwrap();
    for (evict, batch) in [(5, 3), (1_000_000, 8192)] {
        let r = l.verify_evicting(evict, batch).unwrap();
        let f = r.finding.expect("the edit is found");
        assert_eq!(
            (f.table.as_deref(), f.row, f.field.as_deref()),
            (Some("cases"), Some(1), Some("recalls"))
        );
    }
    l.rebuild_cases().unwrap();
    assert!(l.verify_evicting(5, 3).unwrap().ok);
    drop(l);
    // A row that claims a later change the log does not have (its last_seq raised) is found
    // too, even though that claim is what would let a dropped case skip its comparison.
    c.execute(
        "UPDATE cases SET data = replace(data, '\"last_seq\":', '\"last_seq\":9') WHERE id = 2",
        [],
    )
    .unwrap();
    let mut l = Ledger::open(&t.db, LedgerOptions::default()).unwrap();
    for (evict, batch) in [(5, 3), (1_000_000, 8192)] {
        let f = l.verify_evicting(evict, batch).unwrap().finding.expect("found");
        assert_eq!((f.table.as_deref(), f.row), (Some("cases"), Some(2)), "{f:?}");
    }
}

/// No commit copies the write-ahead log back (on a year-sized file that made one commit in a
/// hundred take milliseconds); the ledger's checkpointer does it in the background, so within
/// a second the database file alone holds what was committed.
#[test]
fn committed_tickets_reach_the_database_file_within_a_second() {
    let t = demo_ledger();
    let mut l = Ledger::open(&t.db, LedgerOptions::default()).unwrap();
    for _ in 0..20 {
        l.issue(&IssueRequest {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk".into(),
        })
        .unwrap();
    }
    // Twenty tickets are far fewer pages than SQLite's own automatic checkpoint waits for.
    let copy = t.dir.path().join("file-alone.sqlite3");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let in_file = loop {
        std::fs::copy(&t.db, &copy).unwrap();
        let n: i64 = Connection::open(&copy)
            .unwrap()
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .unwrap();
        if n == 20 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(in_file, 20, "the database file alone holds every committed ticket");
    drop(l);
    assert!(!t.db.with_extension("sqlite3-wal").exists());
}
