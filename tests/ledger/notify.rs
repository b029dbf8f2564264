//! Messages to visitors' phones through the hall's `[notify]` hook, on a served ledger: a
//! phone left at the kiosk hears 「前面还有 3 人」 once and 「可以取件」 when the result is
//! ready; a failing, slow hook is tried again and never holds up a call.

use std::path::Path;
use std::time::{Duration, Instant};

use bangban::api::{Act, Call, HallClient, Issue, SignIn};
use bangban::{CaseAction, Channel};

use crate::support::*;

/// The test's SMS gateway: its first try hangs three seconds and fails (a gateway that is
/// down), every later one records the JSON it was given, one line each.
fn gateway(dir: &Path) -> String {
    let script = dir.join("gateway.sh");
    let d = dir.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(cat '{d}/tries' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{d}/tries'\n\
             if [ \"$n\" = 1 ]; then touch '{d}/hanging'; sleep 3; rm '{d}/hanging'; echo 'gateway busy' >&2; exit 75; fi\n\
             cat >> '{d}/sent.jsonl'; echo >> '{d}/sent.jsonl'\n"
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

fn sent(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("sent.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Wait (up to 20 s) until a sent message's text contains `words`.
#[track_caller]
fn wait_for(dir: &Path, words: &str) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = sent(dir)
            .into_iter()
            .find(|m| m["text"].as_str().unwrap_or("").contains(words))
        {
            return m;
        }
        assert!(Instant::now() < end, "no message saying {words:?}: {:?}", sent(dir));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_phone_left_at_the_kiosk_hears_three_ahead_once_and_result_ready_and_a_failing_hook_never_holds_a_call() {
    let t = temp_ledger();
    let hall = t.dir.path().join("hall.toml");
    let mut text = std::fs::read_to_string(demo_hall_path()).unwrap();
    text.push_str(&format!(
        "\n[notify]\ncommand = \"{}\"\nretry_seconds = 1\n",
        gateway(t.dir.path())
    ));
    std::fs::write(&hall, text).unwrap();
    let out = cli(&t.db, &["init", "--hall", hall.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    set_pins(&t.db, &["S101"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let counter = enrol(&t.db, "counter-1", "counter");
    let s = Served::start(&t.db);

    let mut k: Box<dyn HallClient> = Box::new(bangban::remote::RemoteClient::new(&s.url, &kiosk).unwrap());
    let issue = |k: &mut Box<dyn HallClient>| {
        k.issue(&Issue {
            item: "A02".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap()
    };
    for _ in 0..6 {
        issue(&mut k);
    }
    let mine = issue(&mut k);
    let phone = "13912345678";
    let left = k
        .send(bangban::ops::LeavePhone {
            ticket: mine.token.clone(),
            phone: phone.into(),
        })
        .unwrap();
    assert_eq!(left.number, mine.number);
    // A number that is not a mobile is refused in plain words.
    let wrong = k
        .send(bangban::ops::LeavePhone {
            ticket: mine.token.clone(),
            phone: "12345".into(),
        })
        .unwrap_err();
    assert!(wrong.to_string().contains("11 digits"), "{wrong}");

    let mut c: Box<dyn HallClient> = Box::new(bangban::remote::RemoteClient::new(&s.url, &counter).unwrap());
    c.sign_in(&SignIn {
        staff: "S101".into(),
        pin: TEST_PIN.into(),
        window: 1,
    })
    .unwrap();
    // Serve the next visitor in line: call, start, answer their question.
    let serve_next = |c: &mut Box<dyn HallClient>| -> String {
        let called = c.call(&Call { number: None }).unwrap();
        for action in [
            CaseAction::Start,
            CaseAction::Consult {
                question: "需要什么材料".into(),
                answer: Some("见一次性告知".into()),
                resolved: true,
            },
        ] {
            c.act(&Act {
                case: called.number.clone(),
                action,
            })
            .unwrap();
        }
        called.number
    };
    // Six ahead, then five, four: nothing is said yet.
    serve_next(&mut c);
    serve_next(&mut c);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sent(t.dir.path()).is_empty(), "{:?}", sent(t.dir.path()));
    // Three ahead: the message is due; the gateway's first try hangs, then fails.
    serve_next(&mut c);
    let end = Instant::now() + Duration::from_secs(10);
    while !t.dir.path().join("hanging").exists() {
        assert!(Instant::now() < end, "the hook was never tried");
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the hook hangs, the counter calls the next visitor: the hall does not wait for it.
    serve_next(&mut c);
    assert!(
        t.dir.path().join("hanging").exists(),
        "the call was answered only after the hook gave up"
    );
    // The failed try is tried again, and the message arrives once.
    let near = wait_for(t.dir.path(), "前面还有 3 人");
    assert_eq!(near["phone"], phone);
    assert_eq!(near["kind"], "near");
    assert!(near["text"].as_str().unwrap().contains(&mine.number), "{near}");
    serve_next(&mut c);
    serve_next(&mut c);
    std::thread::sleep(Duration::from_millis(1500));
    let nears = sent(t.dir.path())
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("前面还有"))
        .count();
    assert_eq!(nears, 1, "「前面还有 N 人」 is said once: {:?}", sent(t.dir.path()));

    // The visitor's own turn: accepted, handled, ready to collect.
    let called = c.call(&Call { number: None }).unwrap();
    assert_eq!(called.number, mine.number);
    let materials = c.hall().unwrap().item("A02").unwrap().materials.clone();
    for action in [
        CaseAction::Start,
        CaseAction::accept(materials),
        CaseAction::StartWork,
        CaseAction::Ready,
    ] {
        act_signing_via(c.as_mut(), &mine.number, &action).unwrap();
    }
    let ready = wait_for(t.dir.path(), "可以取件");
    assert_eq!(ready["kind"], "ready");
    assert_eq!(ready["phone"], phone);
    drop(s);

    // The phone is personal data: in a note, never in an event.
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let in_events: i64 = conn
        .query_row(
            "SELECT count(*) FROM events WHERE payload LIKE ?1",
            [format!("%{phone}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_events, 0);
    let tries: u32 = std::fs::read_to_string(t.dir.path().join("tries"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(tries, 3, "one failed try, then the two messages");
    let out = cli(&t.db, &["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// A booking's messages: the code at once, a reminder the day before and an hour before, each
/// due at its time and sent once; a cancelled booking's reminders are not sent.
#[test]
fn a_booking_texts_its_code_at_once_and_reminds_the_day_before_and_the_hour_before() {
    let t = temp_ledger();
    // Monday 09:00 in the hall.
    let (mut l, clock) = clocked_ledger(&t.db, "2026-12-07T01:00:00Z");
    let mut hall = (*l.hall().unwrap()).clone();
    hall.notify.command = "true".into();
    l.configure(&hall, "test", "hall.toml").unwrap();
    let kept = l
        .book_appointment("F01", "2026-12-09 10:00", "13912345678", "S601", "phone")
        .unwrap();
    let dropped = l
        .book_appointment("F01", "2026-12-09 11:00", "13700001111", "S601", "phone")
        .unwrap();
    let due = |l: &mut bangban::Ledger| -> Vec<(String, String)> {
        let out = l.messages_claim(50).unwrap();
        for m in &out {
            l.message_sent(m.id, Ok(())).unwrap();
        }
        out.into_iter().map(|m| (m.kind, m.text)).collect()
    };
    let now = due(&mut l);
    assert_eq!(now.len(), 2, "each booking's code at once: {now:?}");
    assert!(
        now[0].1.contains(&kept.code) && now[0].1.contains("12月09日 10:00"),
        "{now:?}"
    );
    l.cancel_appointment(&dropped.code, "S601").unwrap();
    assert!(due(&mut l).is_empty(), "nothing else is due yet");
    // Tuesday 10:00: the day before.
    clock.set(at("2026-12-08T02:00:00Z"));
    let day_before = due(&mut l);
    assert_eq!(day_before.len(), 1, "{day_before:?}");
    assert_eq!(day_before[0].0, "reminder_day");
    assert!(day_before[0].1.contains("明天 10:00") && day_before[0].1.contains(&kept.code));
    // Wednesday 09:00: the hour before; the cancelled booking's reminder never comes.
    clock.set(at("2026-12-09T01:00:00Z"));
    let hour_before = due(&mut l);
    assert_eq!(hour_before.len(), 1, "{hour_before:?}");
    assert_eq!(hour_before[0].0, "reminder_hour");
    clock.set(at("2026-12-09T03:30:00Z"));
    assert!(due(&mut l).is_empty(), "each message once");
    let sent = l.messages("sent", 100).unwrap();
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter().all(|m| m.phone.contains("****")),
        "the office sees phones masked"
    );
    assert_eq!(
        l.messages("dropped", 100).unwrap().len(),
        2,
        "the cancelled booking's two reminders"
    );
}
