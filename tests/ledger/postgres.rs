//! The PostgreSQL store with real parts: two `bangban serve` on one database, halls kept apart
//! in one database, and a SQLite hall moved in with `bangban migrate` (a throwaway cluster).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bangban::api::{Act, Call, HallClient, Issue, SignIn};
use bangban::remote::{Heard, RemoteClient};
use bangban::{CaseAction, Channel, ErrorKind};

use crate::cluster;
use crate::support::*;

/// A Thursday morning: the servers' clock for these tests.
const NOW: &str = "2026-12-10T09:30:00+08:00";

/// The demo hall with a third specialist at 市场监督管理局, so three counters race for one queue.
fn hall_with_three_at_scjg(dir: &std::path::Path) -> PathBuf {
    let text = format!(
        "{}\n[[specialists]]\nstaff_id = \"S103\"\ndepartment = \"SCJG\"\nname = \"许喆\"\nscope = \"设立登记\"\nphone = \"13806321103\"\nrole = \"handler\"\n",
        std::fs::read_to_string(demo_hall_path()).unwrap()
    );
    let path = dir.join("hall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn init(db: &std::path::Path, hall: &std::path::Path) {
    let out = cli(db, &["init", "--hall", hall.to_str().unwrap()]);
    assert!(out.status.success(), "init: {}", stderr(&out));
}

fn issue(k: &mut dyn HallClient, item: &str) -> bangban::Ticket {
    k.issue(&Issue {
        item: item.into(),
        priority: None,
        mode: None,
        channel: Channel::Kiosk,
    })
    .unwrap_or_else(|e| panic!("issue {item}: {e}"))
}

#[test]
fn two_servers_on_one_database_number_gap_free_call_each_case_once_and_every_board_hears_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = PathBuf::from(cluster::new_hall_url());
    init(&db, &hall_with_three_at_scjg(dir.path()));
    set_pins(&db, &["S101", "S102", "S103"]);
    let kiosks: Vec<String> = (0..8).map(|i| enrol(&db, &format!("kiosk-{i}"), "kiosk")).collect();
    let counters: Vec<String> = (1..=3)
        .map(|w| enrol(&db, &format!("counter-{w}"), "counter"))
        .collect();
    let boards: Vec<String> = (0..2).map(|i| enrol(&db, &format!("board-{i}"), "board")).collect();
    let servers = [Served::start_at(&db, NOW), Served::start_at(&db, NOW)];
    let url = |i: usize| servers[i % 2].url.clone();

    // A board on each server, from the head as it stands.
    let followers: Vec<_> = boards
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let mut b = RemoteClient::new(&url(i), token).unwrap();
            let head = b.head_seq().unwrap();
            let f = b.follow(head, || {});
            match f.heard.recv_timeout(Duration::from_secs(10)) {
                Ok(Heard::Connected) => {}
                other => panic!("board {i} connects: {other:?}"),
            }
            f
        })
        .collect();

    // Eight kiosks issue fifty tickets each, half through each server, while three counters
    // (also split between the servers) call the same department's queue.
    let issuing_done = Arc::new(AtomicBool::new(false));
    let numbers = Arc::new(Mutex::new(Vec::new()));
    let called = Arc::new(Mutex::new(Vec::new()));
    let kiosk_threads: Vec<_> = kiosks
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (u, token, numbers) = (url(i), token.clone(), numbers.clone());
            std::thread::spawn(move || {
                let mut k = RemoteClient::new(&u, &token).unwrap();
                for _ in 0..50 {
                    let t = issue(&mut k, "A01");
                    numbers.lock().unwrap().push(t.number);
                }
            })
        })
        .collect();
    let counter_threads: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (u, token, called, done) = (url(i), token.clone(), called.clone(), issuing_done.clone());
            let window = i as u32 + 1;
            let staff = format!("S10{window}");
            std::thread::spawn(move || {
                let mut c = RemoteClient::new(&u, &token).unwrap();
                c.sign_in(&SignIn {
                    staff,
                    pin: TEST_PIN.into(),
                    window,
                })
                .unwrap();
                loop {
                    match c.call(&Call { number: None }) {
                        Ok(call) => {
                            called.lock().unwrap().push(call.number.clone());
                            for action in [
                                CaseAction::Start,
                                CaseAction::Consult {
                                    question: "办理流程".into(),
                                    answer: Some("已当面说明".into()),
                                    resolved: true,
                                },
                            ] {
                                c.act(&Act {
                                    case: call.number.clone(),
                                    action,
                                })
                                .unwrap_or_else(|e| panic!("window {window} settles {}: {e}", call.number));
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::NobodyWaiting => {
                            if done.load(Ordering::Relaxed) {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("window {window} calls: {e}"),
                    }
                }
            })
        })
        .collect();
    for t in kiosk_threads {
        t.join().unwrap();
    }
    issuing_done.store(true, Ordering::Relaxed);
    for t in counter_threads {
        t.join().unwrap();
    }

    let mut numbers = numbers.lock().unwrap().clone();
    numbers.sort();
    let expected: Vec<String> = (1..=400).map(|n| format!("A{n:03}")).collect();
    assert_eq!(numbers, expected, "400 tickets, A001 to A400, none twice, none missing");
    let called = called.lock().unwrap().clone();
    let once: BTreeSet<&String> = called.iter().collect();
    assert_eq!(called.len(), 400, "every ticket called");
    assert_eq!(once.len(), 400, "no case called twice");

    // Each board, on either server, announces every call once, whichever server it went
    // through.
    for (i, f) in followers.iter().enumerate() {
        let mut heard: BTreeMap<String, u32> = BTreeMap::new();
        let until = Instant::now() + Duration::from_secs(20);
        while heard.len() < 400 {
            let left = until
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("board {i} heard {} of 400 calls", heard.len()));
            if let Ok(Heard::Call(c)) = f.heard.recv_timeout(left) {
                *heard.entry(c.number).or_default() += 1;
            }
        }
        // Anything more that comes would be a call said twice.
        while let Ok(h) = f.heard.recv_timeout(Duration::from_millis(300)) {
            if let Heard::Call(c) = h {
                *heard.entry(c.number).or_default() += 1;
            }
        }
        let twice: Vec<_> = heard.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "board {i} said these twice: {twice:?}");
        assert_eq!(heard.keys().collect::<BTreeSet<_>>(), once, "board {i}");
    }
    let out = cli(&db, &["verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn halls_in_one_database_keep_their_own_numbers_chains_and_devices() {
    // A database of its own: the city's report below covers exactly these two halls.
    let city = cluster::shared().url("city");
    cluster::shared().create_db("city");
    let (a, b) = (
        PathBuf::from(format!("{city}&hall=north")),
        PathBuf::from(format!("{city}&hall=south")),
    );
    for db in [&a, &b] {
        init(db, &demo_hall_path());
    }
    let kiosk_a = enrol(&a, "kiosk-1", "kiosk");
    let kiosk_b = enrol(&b, "kiosk-1", "kiosk");
    let board_a = enrol(&a, "board-1", "board");
    for _ in 0..3 {
        assert!(cli(&a, &["issue", "--item", "A01"]).status.success());
    }
    // Hall B numbers its own day: its first ticket is A001 though hall A issued three.
    let first_b = cli(&b, &["--json", "issue", "--item", "A01"]);
    assert_eq!(json(&first_b)["number"], "A001", "{}", stderr(&first_b));
    let head = |db: &PathBuf| json(&cli(db, &["--json", "verify"]));
    let (ha, hb) = (head(&a), head(&b));
    assert_eq!(ha["ok"], true);
    assert_eq!(hb["ok"], true);
    // Each chain holds its own hall's events only: hall A's two more tickets and one more device.
    assert_eq!(
        ha["head_seq"].as_i64().unwrap() - hb["head_seq"].as_i64().unwrap(),
        3,
        "a chain per hall"
    );

    // Hall B's server refuses hall A's devices, to read or to write, and writes nothing.
    let s = Served::start(&b);
    let before = hb["head_seq"].as_i64().unwrap();
    for (token, what) in [(&kiosk_a, "issue"), (&board_a, "read")] {
        let r = if what == "issue" {
            ureq::post(&format!("{}/api/v1/issue", s.url))
                .set("Authorization", &format!("Bearer {token}"))
                .send_json(serde_json::json!({ "item": "A01", "channel": "kiosk" }))
        } else {
            ureq::get(&format!("{}/api/v1/waiting", s.url))
                .set("Authorization", &format!("Bearer {token}"))
                .call()
        };
        match r {
            Err(ureq::Error::Status(403, resp)) => {
                let body = resp.into_string().unwrap();
                assert!(body.contains("enrolled in hall"), "{body}");
            }
            other => panic!("hall A's {what} in hall B: {other:?}"),
        }
    }
    // Its own kiosk is served.
    let mut k = RemoteClient::new(&s.url, &kiosk_b).unwrap();
    assert_eq!(issue(&mut k, "A01").number, "A002");
    drop(s);
    assert_eq!(
        head(&b)["head_seq"].as_i64().unwrap(),
        before + 1,
        "only hall B's own ticket written"
    );
    assert_eq!(head(&a)["head_seq"], ha["head_seq"], "hall A untouched");

    // The city office's report covers every hall of the database, each with its own tickets.
    let out = Command::new(bin())
        .args(["--store", &city, "--json", "report", "--all-halls"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let all = json(&out);
    let halls: Vec<&str> = all["halls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hall"].as_str().unwrap())
        .collect();
    assert_eq!(halls, ["north", "south"]);
    let csv = Command::new(bin())
        .args(["--store", &city, "report", "--all-halls"])
        .output()
        .unwrap();
    assert!(csv.status.success(), "{}", stderr(&csv));
    let text = stdout(&csv);
    assert!(
        text.trim_start_matches('\u{feff}').starts_with("hall,from,to,kind"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("north,")) && text.lines().any(|l| l.starts_with("south,")));
    let one = Command::new(bin())
        .args(["--store", &format!("{city}&hall=north"), "report", "--all-halls"])
        .output()
        .unwrap();
    assert_eq!(
        one.status.code(),
        Some(2),
        "a URL naming one hall is refused with --all-halls"
    );
}

#[test]
fn migrate_moves_a_busy_day_with_its_history_and_refuses_to_copy_over_the_same_hall() {
    let t = temp_ledger();
    let out = cli(&t.db, &["demo-day", "--date", "2026-12-08"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = json(&cli(&t.db, &["--json", "verify"]));
    let url = cluster::new_hall_url();
    let out = Command::new(bin())
        .args(["--json", "migrate", "--from", t.db.to_str().unwrap(), "--to", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let moved = json(&out);
    assert_eq!(moved["head_seq"], file["head_seq"]);
    assert_eq!(moved["copy"]["ok"], true);
    assert_eq!(moved["copy"]["events"], file["events"]);
    assert_eq!(moved["copy"]["cases"], file["cases"]);

    // Verify through the store itself, and the same queue read from both.
    let db = PathBuf::from(&url);
    let pg = json(&cli(&db, &["--json", "verify"]));
    assert_eq!(pg["ok"], true, "{pg}");
    assert_eq!(pg["head_seq"], file["head_seq"]);
    let env = [("BANGBAN_NOW", "2026-12-08T02:30:00Z")];
    let (w1, w2) = (cli_env(&t.db, &["waiting"], &env), cli_env(&db, &["waiting"], &env));
    assert!(stdout(&w1).lines().count() >= 60, "{}", stdout(&w1));
    assert_eq!(stdout(&w1), stdout(&w2), "the same queue in both stores");

    // Moving it again is refused, and the hall is as it was.
    let again = Command::new(bin())
        .args(["migrate", "--from", t.db.to_str().unwrap(), "--to", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already holds hall"), "{}", stderr(&again));
    assert_eq!(json(&cli(&db, &["--json", "verify"]))["head_seq"], file["head_seq"]);

    // Its backup is a SQLite ledger file that verifies at the same head.
    let back = t.dir.path().join("back.sqlite3");
    let out = cli(&db, &["backup", "--to", back.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&cli(&back, &["--json", "verify"]))["head_seq"], file["head_seq"]);

    // Restore puts a file in place of a file: a database's hall is refused, and says how.
    let out = cli(&db, &["restore", back.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bangban migrate --from"), "{}", stderr(&out));
    assert_eq!(json(&cli(&db, &["--json", "verify"]))["head_seq"], file["head_seq"]);
}

use std::process::Command;

/// What one client was told, and when.
#[derive(Default)]
struct Told {
    /// (number, token) of every ticket a kiosk was given.
    tickets: Vec<(String, String)>,
    /// When each ticket was given.
    at: Vec<Instant>,
    errors: Vec<String>,
}

#[test]
fn a_primary_killed_mid_burst_fails_over_to_its_synchronous_standby_without_losing_an_acknowledged_ticket() {
    // A primary that commits only once its standby has the commit, and that standby.
    let mut primary = cluster::Cluster::start(&["-c", "synchronous_commit=on"]);
    primary.create_db("bangban");
    let standby = cluster::Cluster::standby_of(&primary, &["-c", "cluster_name=standby1"]);
    // Synchronous from now on, on the primary only (the standby, once promoted, stands alone
    // until a new standby is attached: deploy/README.md).
    let mut admin = primary.client("postgres");
    admin
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let sync: Option<String> = primary
            .client("postgres")
            .query_opt(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        if sync.as_deref() == Some("sync") {
            break;
        }
        assert!(Instant::now() < until, "the standby never became synchronous: {sync:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Both hosts in one URL: a connection goes to whichever takes writes.
    let socket = |c: &cluster::Cluster| format!("{}:{}", c.dir.display().to_string().replace('/', "%2F"), c.port);
    let db = PathBuf::from(format!(
        "postgres://postgres@{},{}/bangban?target_session_attrs=read-write&hall=failover",
        socket(&primary),
        socket(&standby)
    ));
    init(&db, &demo_hall_path());
    set_pins(&db, &["S101", "S102"]);
    let kiosks: Vec<String> = (0..4).map(|i| enrol(&db, &format!("kiosk-{i}"), "kiosk")).collect();
    let counters: Vec<String> = (1..=2)
        .map(|w| enrol(&db, &format!("counter-{w}"), "counter"))
        .collect();
    let servers = [Served::start_at(&db, NOW), Served::start_at(&db, NOW)];
    // Every client knows both servers, starting with a different one.
    let both = |i: usize| format!("{},{}", servers[i % 2].url, servers[(i + 1) % 2].url);

    let stop = Arc::new(AtomicBool::new(false));
    let told: Vec<Arc<Mutex<Told>>> = (0..4).map(|_| Arc::default()).collect();
    let kiosk_threads: Vec<_> = kiosks
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (u, token, stop, told) = (both(i), token.clone(), stop.clone(), told[i].clone());
            std::thread::spawn(move || {
                let mut k = RemoteClient::new(&u, &token).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    match k.issue(&Issue {
                        item: "A01".into(),
                        priority: None,
                        mode: None,
                        channel: Channel::Kiosk,
                    }) {
                        Ok(t) => {
                            let mut told = told.lock().unwrap();
                            told.tickets.push((t.number, t.token));
                            told.at.push(Instant::now());
                        }
                        Err(e) => {
                            told.lock().unwrap().errors.push(e.to_string());
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();
    let called = Arc::new(Mutex::new(Vec::new()));
    let counter_threads: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (u, token, stop, called) = (both(i), token.clone(), stop.clone(), called.clone());
            let window = i as u32 + 1;
            std::thread::spawn(move || {
                let mut c = RemoteClient::new(&u, &token).unwrap();
                c.sign_in(&SignIn {
                    staff: format!("S10{window}"),
                    pin: TEST_PIN.into(),
                    window,
                })
                .unwrap();
                // The case this window holds and the step it is at (0: start, 1: finish), until
                // settled; a write whose answer was lost is found done when tried again.
                let mut holding: Option<(String, u8)> = None;
                while !stop.load(Ordering::Relaxed) {
                    let step = match holding.clone() {
                        None => c.call(&Call { number: None }).map(|k| {
                            called.lock().unwrap().push(k.number.clone());
                            holding = Some((k.number, 0));
                        }),
                        Some((n, stage)) => {
                            let action = if stage == 0 {
                                CaseAction::Start
                            } else {
                                CaseAction::Consult {
                                    question: "办理流程".into(),
                                    answer: Some("已当面说明".into()),
                                    resolved: true,
                                }
                            };
                            let r = c.act(&Act {
                                case: n.clone(),
                                action,
                            });
                            match r {
                                Ok(_) => {
                                    holding = if stage == 0 { Some((n, 1)) } else { None };
                                    Ok(())
                                }
                                Err(e) if e.kind() == ErrorKind::IllegalTransition => {
                                    holding = if stage == 0 { Some((n, 1)) } else { None };
                                    Ok(())
                                }
                                Err(e) => Err(e),
                            }
                        }
                    };
                    match step {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::NobodyWaiting => std::thread::sleep(Duration::from_millis(20)),
                        // A case called just before the failover, whose answer was lost, is
                        // still this window's: settle it once the hall answers again.
                        Err(e) if e.kind() == ErrorKind::WindowBusy => {
                            if let Ok(cases) = c.at_window(window) {
                                holding = cases
                                    .into_iter()
                                    .find(|k| {
                                        matches!(k.state, bangban::CaseState::Called | bangban::CaseState::Serving)
                                    })
                                    .map(|k| {
                                        let stage = u8::from(k.state == bangban::CaseState::Serving);
                                        (k.number, stage)
                                    });
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    let issued_before = told.iter().map(|t| t.lock().unwrap().tickets.len()).sum::<usize>();
    assert!(issued_before > 10, "the burst is under way ({issued_before} tickets)");
    let killed = Instant::now();
    primary.kill9();
    std::thread::sleep(Duration::from_millis(300));
    standby.promote();
    std::thread::sleep(Duration::from_millis(3000));
    stop.store(true, Ordering::Relaxed);
    for t in kiosk_threads.into_iter().chain(counter_threads) {
        t.join().unwrap();
    }

    // The downtime the kiosks saw: the longest time without a ticket, around the kill (a
    // ticket whose commit was done just before the kill may still arrive just after it).
    let mut times: Vec<Instant> = told.iter().flat_map(|t| t.lock().unwrap().at.clone()).collect();
    times.sort();
    assert!(
        times.iter().any(|a| *a > killed),
        "tickets are issued again after the failover"
    );
    let downtime = times
        .windows(2)
        .filter(|w| w[1] > killed)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    let errors: usize = told.iter().map(|t| t.lock().unwrap().errors.len()).sum();
    println!(
        "failover: the kiosks went {} ms without a ticket around kill -9 of the primary ({errors} requests refused meanwhile, none lost)",
        downtime.as_millis()
    );

    let mut c = standby.client("bangban");
    let mut acknowledged = 0;
    for t in &told {
        for (number, token) in &t.lock().unwrap().tickets {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM cases WHERE hall = 'failover' AND token = $1 AND number = $2",
                    &[token, number],
                )
                .unwrap()
                .get(0);
            assert_eq!(n, 1, "ticket {number}, which a kiosk was given, is in the ledger once");
            acknowledged += 1;
        }
    }
    assert!(acknowledged > issued_before, "tickets issued after the failover too");
    let gaps: i64 = c
        .query_one(
            "SELECT count(*) FROM (SELECT business_day FROM cases WHERE hall = 'failover'
             GROUP BY business_day, rtrim(number, '0123456789')
             HAVING count(*) <> max(substr(number, length(rtrim(number, '0123456789')) + 1)::bigint)) g",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(gaps, 0, "numbers gap-free");
    let twice: i64 = c
        .query_one(
            "SELECT count(*) FROM (SELECT case_id FROM calls WHERE hall = 'failover' AND recall = 0
             GROUP BY case_id HAVING count(*) > 1) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(twice, 0, "no case called twice");
    let called = called.lock().unwrap();
    assert_eq!(
        called.iter().collect::<BTreeSet<_>>().len(),
        called.len(),
        "no window was told it called a case another had"
    );
    let out = cli(&db, &["verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}
