//! `bangban serve` on ephemeral loopback ports: remote issuing and calling under concurrency,
//! who may do what, the server's PIN lockout, retries that never issue twice, a clean
//! SIGTERM, and the visitor's status page answers.

use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use bangban::api::{HallClient, Issue};
use bangban::remote::RemoteClient;
use bangban::Channel;

use crate::support::*;

fn http(method: &str, url: &str, token: Option<&str>, body: Option<serde_json::Value>) -> (u16, String) {
    let mut req = ureq::request(method, url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let r = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

#[test]
fn the_server_says_where_it_listens_and_answers_healthz() {
    let t = demo_ledger();
    let s = Served::start(&t.db);
    let (code, body) = http("GET", &format!("{}/healthz", s.url), None, None);
    assert_eq!((code, body.trim()), (200, "ok"));
}

#[test]
fn eight_remote_cli_processes_issue_400_gap_free_numbers() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, token) = (s.url.clone(), kiosk.clone());
            thread::spawn(move || {
                let out = remote(&url, &token, &["--json", "issue", "--item", "C01", "--repeat", "50"]);
                assert!(out.status.success(), "{}", stderr(&out));
                stdout(&out)
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["number"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let numbers: Vec<String> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let unique: BTreeSet<String> = numbers.iter().cloned().collect();
    assert_eq!(numbers.len(), 400);
    let expected: BTreeSet<String> = (1..=400).map(|n| format!("C{n:03}")).collect();
    assert_eq!(unique, expected, "400 distinct numbers without gaps");
    let admin = enrol(&t.db, "office", "admin");
    let v = remote(&s.url, &admin, &["verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn four_remote_callers_get_100_distinct_cases() {
    let t = demo_ledger();
    set_pins(&t.db, &["S601", "S602", "S603"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let out = remote(&s.url, &kiosk, &["issue", "--item", "F01", "--repeat", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let counters = [(12, "S601"), (13, "S602"), (14, "S603"), (12, "S602")];
    let handles: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(i, (w, staff))| {
            let token = enrol(&t.db, &format!("counter-{i}"), "counter");
            let (url, w, staff) = (s.url.clone(), w.to_string(), staff.to_string());
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 25 {
                    let out = remote(&url, &token, &["--json", "call", "--window", &w, "--staff", &staff]);
                    // The other specialist at this window called just now: try again.
                    if !out.status.success() && stderr(&out).contains("settle it first") {
                        continue;
                    }
                    assert!(out.status.success(), "{}", stderr(&out));
                    let called = json(&out);
                    got.push(called["case_id"].as_i64().unwrap());
                    // One visitor at a time: hold this one before the next call.
                    let number = called["number"].as_str().unwrap().to_string();
                    let held = remote(
                        &url,
                        &token,
                        &["case", &number, "hold", "--window", &w, "--staff", &staff],
                    );
                    assert!(held.status.success(), "{}", stderr(&held));
                }
                got
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.join().unwrap() {
            assert!(seen.insert(id), "case {id} was called twice");
        }
    }
    assert_eq!(seen.len(), 100);
}

#[test]
fn each_role_may_do_only_its_own_work() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let board = enrol(&t.db, "board-1", "board");
    let counter = enrol(&t.db, "counter-1", "counter");
    let s = Served::start(&t.db);
    let head_before = {
        let (_, body) = http("GET", &format!("{}/api/v1/head", s.url), Some(&board), None);
        body
    };
    // A kiosk cannot call.
    let out = remote(&s.url, &kiosk, &["call", "--window", "1", "--staff", "S101"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not allowed") && stderr(&out).contains("kiosk"),
        "{}",
        stderr(&out)
    );
    let (code, body) = http(
        "POST",
        &format!("{}/api/v1/sign-in", s.url),
        Some(&kiosk),
        Some(serde_json::json!({"staff": "S101", "pin": TEST_PIN, "window": 1})),
    );
    assert_eq!(code, 403, "{body}");
    // A board cannot issue.
    let (code, body) = http(
        "POST",
        &format!("{}/api/v1/issue", s.url),
        Some(&board),
        Some(serde_json::json!({"item": "A01", "channel": "kiosk"})),
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("\"kind\":\"forbidden\""), "{body}");
    // No token cannot even read; a made-up token neither.
    let (code, body) = http("GET", &format!("{}/api/v1/queues", s.url), None, None);
    assert_eq!(code, 401, "{body}");
    let (code, _) = http("GET", &format!("{}/api/v1/queues", s.url), Some(&"0".repeat(64)), None);
    assert_eq!(code, 401);
    // A counter without a signed-in specialist cannot call either.
    let (code, body) = http(
        "POST",
        &format!("{}/api/v1/call", s.url),
        Some(&counter),
        Some(serde_json::json!({})),
    );
    assert_eq!(code, 403, "{body}");
    // Nothing of the refused requests changed the ledger.
    let (_, head_after) = http("GET", &format!("{}/api/v1/head", s.url), Some(&board), None);
    assert_eq!(head_before, head_after);
    // A token revoked on the host, in the file behind the server's back, stops working within
    // the server's two seconds of trust in a looked-up token (through the server: at once).
    assert!(cli(&t.db, &["device", "revoke", "kiosk-1"]).status.success());
    let revoked = std::time::Instant::now();
    let code = loop {
        let (code, _) = http("GET", &format!("{}/api/v1/queues", s.url), Some(&kiosk), None);
        if code != 200 || revoked.elapsed() > Duration::from_secs(5) {
            break code;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 401);
    assert!(revoked.elapsed() < Duration::from_secs(3), "{:?}", revoked.elapsed());
}

#[test]
fn five_wrong_pins_lock_the_specialist_on_the_server() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let counter = enrol(&t.db, "counter-1", "counter");
    let s = Served::start(&t.db);
    let sign_in = |pin: &str| {
        http(
            "POST",
            &format!("{}/api/v1/sign-in", s.url),
            Some(&counter),
            Some(serde_json::json!({"staff": "S101", "pin": pin, "window": 1})),
        )
    };
    for left in (1..=4).rev() {
        let (code, body) = sign_in("000001");
        assert_eq!(code, 403, "{body}");
        assert!(
            body.contains("wrong_pin") && body.contains(&format!("{left} tries left")),
            "{body}"
        );
    }
    let (code, body) = sign_in("000001");
    assert!(code == 403 && body.contains("login_locked"), "{body}");
    let (code, body) = sign_in(TEST_PIN);
    assert!(
        code == 403 && body.contains("login_locked"),
        "the right PIN is refused while locked: {body}"
    );
    // The attempts are in the ledger, attributed to the specialist.
    let out = cli(&t.db, &["--json", "verify"]);
    assert!(out.status.success());
    let c = rusqlite::Connection::open(&t.db).unwrap();
    let attempts: i64 = c
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'staff_login' AND actor = 'S101'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 5);
}

/// A proxy that forwards one HTTP request per connection, but for the first request drops
/// the connection after the server answered and before the client hears the answer.
fn cutting_proxy(server: &str) -> String {
    let target = server.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut client) = conn else { continue };
            let request = read_http(&mut client);
            let mut up = TcpStream::connect(&target).unwrap();
            up.write_all(&request).unwrap();
            let answer = read_http(&mut up);
            assert!(!answer.is_empty());
            if n == 0 {
                // The server has committed and answered; the visitor's kiosk never hears it.
                drop(client);
                continue;
            }
            client.write_all(&answer).ok();
        }
    });
    format!("http://{addr}")
}

/// One HTTP/1.1 message: headers, then Content-Length bytes of body.
fn read_http(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return buf,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    buf.extend(body);
    buf
}

#[test]
fn a_retry_after_a_cut_reply_issues_one_ticket() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let proxy = cutting_proxy(&s.url);
    let mut c = RemoteClient::new(&proxy, &kiosk).unwrap();
    let ticket = c
        .issue(&Issue {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .expect("the retry gets the first answer");
    assert_eq!(ticket.number, "A001");
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let issued: i64 = conn
        .query_row("SELECT count(*) FROM events WHERE kind = 'case_issued'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(issued, 1, "one ticket, one number");
    // The next ticket continues the sequence.
    let mut direct = RemoteClient::new(&s.url, &kiosk).unwrap();
    let next = direct
        .issue(&Issue {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap();
    assert_eq!(next.number, "A002");
}

#[test]
fn sigterm_finishes_and_leaves_no_wal_behind_even_with_a_stream_open() {
    let t = demo_ledger();
    let board = enrol(&t.db, "board-1", "board");
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let mut s = Served::start(&t.db);
    assert!(remote(&s.url, &kiosk, &["issue", "--item", "A01"]).status.success());
    // A board follows the live stream.
    let stream = ureq::get(&format!("{}/api/v1/stream?after=0", s.url))
        .set("Authorization", &format!("Bearer {board}"))
        .call()
        .unwrap();
    let reader = thread::spawn(move || {
        let mut r = stream.into_reader();
        let mut sink = Vec::new();
        let _ = r.read_to_end(&mut sink);
    });
    thread::sleep(Duration::from_millis(200));
    let status = s.stop();
    assert!(status.success(), "exit status {status:?}");
    reader.join().unwrap();
    let wal = t.db.with_file_name("ledger.sqlite3-wal");
    assert!(!wal.exists(), "a stale -wal file was left behind");
    assert!(cli(&t.db, &["verify"]).status.success());
}

#[test]
fn the_status_page_hides_which_tokens_exist_and_limits_lookups() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start_with(&t.db, &["--lookups-per-minute", "6"]);
    let out = remote(&s.url, &kiosk, &["--json", "issue", "--item", "A01"]);
    let token = json(&out)["token"].as_str().unwrap().to_string();
    let (code, page) = http("GET", &format!("{}/t/{token}", s.url), None, None);
    assert_eq!(code, 200);
    assert!(page.contains("办理进度") && page.contains(&token), "{page}");
    let (unknown_code, unknown) = http("GET", &format!("{}/t/{}", s.url, "0".repeat(32)), None, None);
    let (bad_code, bad) = http("GET", &format!("{}/t/not-a-token", s.url), None, None);
    assert_eq!((unknown_code, bad_code), (404, 404));
    // The same page but for the nonce each answer's policy gets.
    let without_nonce = |p: &str| {
        p.split("nonce=\"")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_string()
                } else {
                    part.chars().skip(32).collect()
                }
            })
            .collect::<String>()
    };
    assert_eq!(
        without_nonce(&unknown),
        without_nonce(&bad),
        "unknown and malformed tokens get the same page"
    );
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(http("GET", &format!("{}/t/{token}", s.url), None, None).0);
    }
    assert!(codes.contains(&429), "look-ups are limited per address: {codes:?}");
}

#[test]
fn the_same_request_id_is_answered_once() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let post = |id: &str| {
        ureq::post(&format!("{}/api/v1/issue", s.url))
            .set("Authorization", &format!("Bearer {kiosk}"))
            .set("Idempotency-Key", id)
            .send_json(serde_json::json!({"item": "B01", "channel": "kiosk"}))
            .unwrap()
            .into_json::<serde_json::Value>()
            .unwrap()
    };
    let a = post("req-1");
    let b = post("req-1");
    let c = post("req-2");
    assert_eq!(a["number"], "B001");
    assert_eq!(b["number"], "B001", "a retry gets the first answer");
    assert_eq!(a["token"], b["token"]);
    assert_eq!(c["number"], "B002");
}

#[test]
fn specialists_phone_numbers_leave_the_server_masked() {
    let t = demo_ledger();
    let board = enrol(&t.db, "board-1", "board");
    let s = Served::start(&t.db);
    let (code, body) = http("GET", &format!("{}/api/v1/hall", s.url), Some(&board), None);
    assert_eq!(code, 200);
    let hall: serde_json::Value = serde_json::from_str(&body).unwrap();
    let phones: Vec<&str> = hall[1]["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phone"].as_str().unwrap())
        .collect();
    assert!(!phones.is_empty());
    assert!(phones.iter().all(|p| p.contains("****")), "{phones:?}");
}

#[test]
fn clients_say_plainly_when_the_server_or_the_token_is_wrong() {
    // Nothing listens on this port.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = remote(&format!("http://127.0.0.1:{port}"), &"0".repeat(64), &["items"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the hall server cannot be reached"),
        "{}",
        stderr(&out)
    );
    let out = remote("ftp://example", "x", &["items"]);
    assert!(stderr(&out).contains("expected a URL"), "{}", stderr(&out));
    let t = demo_ledger();
    let s = Served::start(&t.db);
    let out = Command::new(bin())
        .args(["--server", &s.url, "items"])
        .env_remove("BANGBAN_TOKEN")
        .output()
        .unwrap();
    assert!(stderr(&out).contains("no device token"), "{}", stderr(&out));
    let out = remote(&s.url, &"ab".repeat(32), &["items"]);
    assert!(
        stderr(&out).contains("unknown or revoked device token"),
        "{}",
        stderr(&out)
    );
    // Server-host commands are refused through --server rather than run somewhere unexpected.
    let out = remote(&s.url, &"ab".repeat(32), &["init", "--hall", "x.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("runs on the ledger's host only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn serve_refuses_a_missing_ledger_instead_of_creating_one() {
    let t = temp_ledger();
    let out = Command::new(bin())
        .arg("--db")
        .arg(&t.db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no ledger at"), "{}", stderr(&out));
    assert!(!t.db.exists());
}

#[test]
fn a_boards_stream_says_the_waiting_counts_itself_at_most_once_a_second() {
    let t = demo_ledger();
    let board = enrol(&t.db, "board-1", "board");
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let mut b = RemoteClient::new(&s.url, &board).unwrap();
    let head = b.head_seq().unwrap();
    let f = b.follow(head, || {});
    let mut k = RemoteClient::new(&s.url, &kiosk).unwrap();
    // Wait for the stream to be up (its first counts), then a burst of five tickets.
    let first = f.heard.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(first, bangban::remote::Heard::Connected), "{first:?}");
    for _ in 0..5 {
        k.issue(&Issue {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap();
    }
    let until = std::time::Instant::now() + Duration::from_millis(2500);
    let mut counts = Vec::new();
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        match f.heard.recv_timeout(left) {
            Ok(bangban::remote::Heard::Queues(q)) => counts.push(q),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let last = counts.last().expect("the stream said the counts");
    assert!(
        last.iter().any(|q| q.waiting == 5),
        "the board is told five wait without reading: {last:?}"
    );
    // The first counts on connecting, then the burst's at most once a second: not one
    // message per ticket to every board.
    assert!(counts.len() <= 3, "{} messages of counts: {counts:?}", counts.len());
}

#[test]
fn a_consoles_stream_hears_only_its_departments_counts() {
    let t = demo_ledger();
    let counter = enrol(&t.db, "counter-1", "counter");
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let c = RemoteClient::new(&s.url, &counter).unwrap();
    let f = c.follow_only(0, &["BDC".to_string()], || {});
    let mut k = RemoteClient::new(&s.url, &kiosk).unwrap();
    let ticket = |k: &mut RemoteClient, item: &str| {
        k.issue(&Issue {
            item: item.into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap()
    };
    // Counts until the stream has been quiet for 1.5 s (past the server's one-second pace).
    let heard_counts = |f: &bangban::remote::Follower| {
        let mut n = 0;
        while let Ok(h) = f.heard.recv_timeout(Duration::from_millis(1500)) {
            if let bangban::remote::Heard::Queues(q) = h {
                n += 1;
                assert!(q.iter().any(|l| l.department == "BDC"), "{q:?}");
            }
        }
        n
    };
    assert_eq!(heard_counts(&f), 1, "the counts once on connecting");
    // Another department's ticket: this console's line did not move.
    ticket(&mut k, "A01");
    assert_eq!(heard_counts(&f), 0, "a ticket of 市场监督 is not this console's news");
    ticket(&mut k, "F01");
    assert_eq!(heard_counts(&f), 1, "a ticket of 不动产 is");
}

#[test]
fn a_print_outcome_keeps_a_code_in_the_event_and_refuses_text_and_unknown_cases() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let out = remote(&s.url, &kiosk, &["--json", "issue", "--item", "A01"]);
    let case_id = json(&out)["case_id"].as_i64().unwrap();
    let post = |body: serde_json::Value| {
        let (code, text) = http(
            "POST",
            &format!("{}/api/v1/print-outcome", s.url),
            Some(&kiosk),
            Some(body),
        );
        (code, text)
    };
    // Whatever a kiosk says about its printer, the words go to a note, never the event.
    let words = "打印机缺纸 张三 13812345678";
    let (code, body) = post(serde_json::json!({
        "case_id": case_id, "printer": "printer:tcp://10.0.0.5:9100",
        "error": words, "failure": "offline"
    }));
    assert_eq!(code, 200, "{body}");
    // A "printer" that is text, and a case that does not exist, are refused.
    let (code, body) = post(serde_json::json!({"case_id": case_id, "printer": "张三 13812345678", "error": null}));
    assert_eq!(code, 400, "{body}");
    let (code, body) = post(serde_json::json!({"case_id": 999_999, "printer": "printer:none", "error": null}));
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("unknown_case"), "{body}");
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let payloads: Vec<String> = conn
        .prepare("SELECT payload FROM events WHERE kind IN ('print_failed', 'ticket_printed')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(payloads.len(), 1, "{payloads:?}");
    let p: serde_json::Value = serde_json::from_str(&payloads[0]).unwrap();
    assert_eq!(
        (p["error"].as_str(), p["device"].as_str()),
        (Some("offline"), Some("kiosk-1/printer:tcp://10.0.0.5:9100"))
    );
    assert!(
        !payloads[0].contains("张三") && !payloads[0].contains("1381234"),
        "{}",
        payloads[0]
    );
    let note: String = conn
        .query_row(
            "SELECT body FROM notes WHERE id = ?1",
            [p["detail"]["note"].as_i64().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(note, words);
}

fn issue_with_key(url: &str, token: &str, key: &str, item: &str) -> (u16, serde_json::Value) {
    let r = ureq::post(&format!("{url}/api/v1/issue"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Idempotency-Key", key)
        .send_json(serde_json::json!({"item": item, "channel": "kiosk"}));
    match r {
        Ok(resp) => (resp.status(), resp.into_json().unwrap()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_json().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_request_id_answers_only_its_own_device_and_body() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let other = enrol(&t.db, "kiosk-2", "kiosk");
    let s = Served::start(&t.db);
    let (code, first) = issue_with_key(&s.url, &kiosk, "key-1", "A01");
    assert_eq!(code, 200, "{first}");
    // The same retry is answered with the same ticket.
    let (code, again) = issue_with_key(&s.url, &kiosk, "key-1", "A01");
    assert_eq!((code, &again["number"]), (200, &first["number"]));
    // The same id with another body, or from another kiosk, is refused: it would hand out
    // the first visitor's ticket and QR token.
    let (code, body) = issue_with_key(&s.url, &kiosk, "key-1", "B01");
    assert_eq!((code, body["kind"].as_str()), (409, Some("conflict")), "{body}");
    let (code, body) = issue_with_key(&s.url, &other, "key-1", "A01");
    assert_eq!((code, body["kind"].as_str()), (409, Some("conflict")), "{body}");
    assert!(!body.to_string().contains(first["token"].as_str().unwrap()), "{body}");
}

#[test]
fn a_requests_row_pointed_at_another_ticket_is_found_by_verify() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let mut s = Served::start(&t.db);
    for key in ["key-1", "key-2"] {
        assert_eq!(issue_with_key(&s.url, &kiosk, key, "A01").0, 200);
    }
    assert!(s.stop().success());
    assert!(cli(&t.db, &["verify"]).status.success());
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    conn.execute(
        "UPDATE requests SET seq = (SELECT seq FROM requests WHERE id = 'key-2') WHERE id = 'key-1'",
        [],
    )
    .unwrap();
    let out = cli(&t.db, &["--json", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let j = json(&out);
    assert_eq!(j["finding"]["table"], "requests", "{j}");
    let problem = j["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("each event answers one request"), "{j}");
    // Pointed at an event that is no ticket of its kiosk: found as well.
    conn.execute(
        "UPDATE requests SET seq = (SELECT min(seq) FROM events) WHERE id = 'key-1'",
        [],
    )
    .unwrap();
    let j = json(&cli(&t.db, &["--json", "verify"]));
    assert_eq!(j["ok"], false, "{j}");
    assert_eq!(j["finding"]["table"], "requests", "{j}");
}

fn status_lookup(url: &str, token: &str, forwarded_for: &str) -> u16 {
    match ureq::get(&format!("{url}/t/{token}"))
        .set("X-Forwarded-For", forwarded_for)
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn behind_a_trusted_proxy_each_phone_has_its_own_status_allowance() {
    let t = demo_ledger();
    let tokens: Vec<String> = (0..6).map(|_| issued_token(&t)).collect();
    // Without the hall file naming the proxy, X-Forwarded-For is not believed: every look-up
    // counts against the connection's own address.
    {
        let s = Served::start_with(&t.db, &["--lookups-per-minute", "3"]);
        let codes: Vec<u16> = (0..4)
            .map(|i| status_lookup(&s.url, &tokens[i], &format!("10.0.0.{}", i + 1)))
            .collect();
        assert_eq!(
            codes,
            [200, 200, 200, 429],
            "a forged header does not escape the allowance"
        );
    }
    // The hall file names the proxy: each phone behind it has its own allowance.
    let src = std::fs::read_to_string(demo_hall_path()).unwrap().replacen(
        "[hall]\n",
        "[hall]\ntrusted_proxies = [\"127.0.0.1\"]\n",
        1,
    );
    let hall = t.dir.path().join("hall.toml");
    std::fs::write(&hall, src).unwrap();
    let applied = cli(&t.db, &["init", "--hall", hall.to_str().unwrap()]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let s = Served::start_with(&t.db, &["--lookups-per-minute", "3"]);
    for (i, token) in tokens.iter().enumerate() {
        let phone = format!("10.0.1.{}", i + 1);
        assert_eq!(status_lookup(&s.url, token, &phone), 200, "phone {phone}");
    }
    // One phone is still held to its allowance, whatever the proxy adds before its address.
    let codes: Vec<u16> = (0..4)
        .map(|i| status_lookup(&s.url, &tokens[i], "203.0.113.7, 10.0.2.9"))
        .collect();
    assert_eq!(codes, [200, 200, 200, 429]);
}

/// A ticket issued on the host: its status page token.
fn issued_token(t: &TempLedger) -> String {
    json(&cli(&t.db, &["--json", "issue", "--item", "A01"]))["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_pin_reset_ends_the_sessions_signed_in_with_the_old_pin() {
    use bangban::api::{Call, SignIn};
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let counter = enrol(&t.db, "counter-1", "counter");
    let admin = enrol(&t.db, "office", "admin");
    assert!(cli(&t.db, &["issue", "--item", "A01", "--repeat", "2"])
        .status
        .success());
    let s = Served::start(&t.db);
    let mut c = RemoteClient::new(&s.url, &counter).unwrap();
    c.sign_in(&SignIn {
        staff: "S101".into(),
        pin: TEST_PIN.into(),
        window: 1,
    })
    .unwrap();
    c.call(&Call { number: None }).unwrap();
    // The office resets the PIN (it leaked): whoever signed in with the old one is signed out.
    let reset = remote(&s.url, &admin, &["staff", "set-pin", "S101", "--pin", "802461"]);
    assert!(reset.status.success(), "{}", stderr(&reset));
    let refused = c.call(&Call { number: None }).expect_err("the old session is over");
    assert_eq!(refused.kind(), bangban::ErrorKind::Forbidden, "{refused}");
    // With the new PIN the specialist signs in again; the ledger still verifies.
    c.sign_in(&SignIn {
        staff: "S101".into(),
        pin: "802461".into(),
        window: 1,
    })
    .unwrap();
    let v = remote(&s.url, &admin, &["verify"]);
    assert!(v.status.success(), "{}", stderr(&v));
}

#[test]
fn the_status_page_runs_only_its_own_script_and_cannot_be_framed() {
    let t = demo_ledger();
    let s = Served::start(&t.db);
    let token = issued_token(&t);
    let r = ureq::get(&format!("{}/t/{token}", s.url)).call().unwrap();
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let nonce = csp
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_string();
    let page = r.into_string().unwrap();
    assert!(
        page.contains(&format!("<script nonce=\"{nonce}\">")),
        "the page's script carries the nonce"
    );
    // A fresh nonce for each answer.
    let again = ureq::get(&format!("{}/t/{token}", s.url)).call().unwrap();
    assert!(!again.header("content-security-policy").unwrap().contains(&nonce));
}

#[test]
fn a_token_typed_on_the_command_line_is_warned_about_and_a_token_file_serves_instead() {
    let t = demo_ledger();
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let s = Served::start(&t.db);
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(["--server", &s.url])
            .args(args)
            .env_remove("BANGBAN_TOKEN")
            .env_remove("BANGBAN_TOKEN_FILE")
            .env_remove("BANGBAN_DB")
            .output()
            .unwrap()
    };
    let typed = run(&["--token", &kiosk, "items"]);
    assert!(typed.status.success(), "{}", stderr(&typed));
    assert!(
        stderr(&typed).contains("--token on the command line can be read by every user"),
        "{}",
        stderr(&typed)
    );
    let file = t.dir.path().join("kiosk.token");
    std::fs::write(&file, format!("{kiosk}\n")).unwrap();
    let from_file = run(&["--token-file", file.to_str().unwrap(), "items"]);
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert!(!stderr(&from_file).contains("warning"), "{}", stderr(&from_file));
    std::fs::write(&file, "\n").unwrap();
    let empty = run(&["--token-file", file.to_str().unwrap(), "items"]);
    assert_eq!(empty.status.code(), Some(2), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("line 1: no device token"), "{}", stderr(&empty));
}

fn sign_in_code(url: &str, token: &str, staff: &str, pin: &str, window: u32) -> (u16, String) {
    http(
        "POST",
        &format!("{url}/api/v1/sign-in"),
        Some(token),
        Some(serde_json::json!({"staff": staff, "pin": pin, "window": window})),
    )
}

#[test]
fn a_flood_of_wrong_pins_is_refused_unhashed_and_does_not_hold_up_another_sign_in() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101", "S102"]);
    let flooder = enrol(&t.db, "counter-1", "counter");
    let colleague = enrol(&t.db, "counter-2", "counter");
    let s = Served::start(&t.db);
    let started = std::time::Instant::now();
    let flood: Vec<_> = (0..200)
        .map(|_| {
            let (url, token) = (s.url.clone(), flooder.clone());
            thread::spawn(move || sign_in_code(&url, &token, "S101", "000001", 1).0)
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    let t0 = std::time::Instant::now();
    let (code, body) = sign_in_code(&s.url, &colleague, "S102", TEST_PIN, 2);
    let colleague_took = t0.elapsed();
    assert_eq!(code, 200, "{body}");
    let codes: Vec<u16> = flood.into_iter().map(|h| h.join().unwrap()).collect();
    let flood_took = started.elapsed();
    assert!(codes.iter().all(|&c| c == 403), "{codes:?}");
    // Five wrong tries are checked; the lockout refuses the rest without hashing them (before,
    // all 200 were hashed: a minute of both cores, and the colleague waited most of it).
    assert!(
        colleague_took < Duration::from_secs(1),
        "the colleague's sign-in took {colleague_took:?}"
    );
    assert!(
        flood_took < Duration::from_secs(10),
        "the flood took {flood_took:?} to answer"
    );
}

#[test]
fn a_counter_bound_to_its_window_signs_in_there_only() {
    let t = demo_ledger();
    set_pins(&t.db, &["S601"]);
    let out = cli(
        &t.db,
        &["device", "add", "counter-12", "--role", "counter", "--window", "12"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_string();
    let kiosk = cli(&t.db, &["device", "add", "kiosk-9", "--role", "kiosk", "--window", "3"]);
    assert!(!kiosk.status.success());
    assert!(
        stderr(&kiosk).contains("binds a counter to its window"),
        "{}",
        stderr(&kiosk)
    );
    let mut s = Served::start(&t.db);
    // The same department's next window (13) on window 12's token: refused.
    let (code, body) = sign_in_code(&s.url, &token, "S601", TEST_PIN, 13);
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("bound to window 12"), "{body}");
    let (code, body) = sign_in_code(&s.url, &token, "S601", TEST_PIN, 12);
    assert_eq!(code, 200, "{body}");
    assert!(s.stop().success());
    assert!(cli(&t.db, &["verify"]).status.success());
    // The binding is the log's: unbinding the row behind its back is found.
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    conn.execute("UPDATE devices SET window = NULL WHERE name = 'counter-12'", [])
        .unwrap();
    let j = json(&cli(&t.db, &["--json", "verify"]));
    assert_eq!(
        (j["finding"]["table"].as_str(), j["finding"]["field"].as_str()),
        (Some("devices"), Some("window")),
        "{j}"
    );
}
