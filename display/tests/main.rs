//! Display tests: the headless board as a child process announcing calls made elsewhere, and
//! the counter console driven through the Slint testing backend.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bangban::{CallRequest, CaseAction, Channel, IssueRequest, Ledger, LedgerOptions};
use display::CounterAdapter;
use i_slint_backend_testing::ElementHandle;
use slint::{ComponentHandle, Model};

fn demo_ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite3");
    bangban::open_or_demo(&db, LedgerOptions::default(), "test").unwrap();
    (dir, db)
}

fn ledger(db: &Path) -> Ledger {
    Ledger::open(db, LedgerOptions::default()).unwrap()
}

fn issue(l: &mut Ledger, item: &str) -> String {
    l.issue(&IssueRequest {
        item: item.into(),
        priority: None,
        mode: None,
        channel: Channel::Kiosk,
        actor: "kiosk-1".into(),
    })
    .unwrap()
    .number
}

/// Start `display board --headless` and wait until it follows the ledger.
fn headless_board(db: &Path) -> (Child, mpsc::Receiver<serde_json::Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_display"))
        .args(["board", "--headless", "--no-voice", "--db"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("following"), "{line}");
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&l).expect("a JSON line"));
        }
    });
    (child, rx)
}

#[test]
fn the_headless_board_announces_calls_made_by_another_process() {
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "A01");
    issue(&mut l, "A01");
    issue(&mut l, "F01");
    let (mut child, lines) = headless_board(&db);
    let c = l
        .call(&CallRequest {
            window: 3,
            staff: "S101".into(),
            number: None,
        })
        .unwrap();
    let f = l
        .call(&CallRequest {
            window: 12,
            staff: "S602".into(),
            number: None,
        })
        .unwrap();
    l.act(&f.number, 12, "S602", &CaseAction::Recall).unwrap();
    let got: Vec<serde_json::Value> = (0..3)
        .map(|_| lines.recv_timeout(Duration::from_secs(5)).expect("an announcement"))
        .collect();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(c.number, "A001");
    assert_eq!(got[0]["text"], "请A001号到3号窗口办理");
    assert_eq!(got[0]["number"], "A001");
    assert_eq!(got[0]["window"], 3);
    assert_eq!(got[0]["department"], "市场监督管理局");
    assert_eq!(got[0]["recall"], false);
    assert_eq!(got[1]["text"], "请F001号到12号窗口办理");
    assert_eq!(got[2]["text"], "重呼：请F001号到12号窗口办理");
    assert_eq!(got[2]["recall"], true);
    assert!(got.iter().all(|g| g["at"].as_str().is_some_and(|a| a.ends_with('Z'))));
}

#[test]
fn calls_made_before_the_board_started_are_not_announced_again() {
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "B01");
    issue(&mut l, "B01");
    l.call(&CallRequest {
        window: 4,
        staff: "S202".into(),
        number: None,
    })
    .unwrap();
    let (mut child, lines) = headless_board(&db);
    l.call(&CallRequest {
        window: 5,
        staff: "S201".into(),
        number: None,
    })
    .unwrap();
    let first = lines.recv_timeout(Duration::from_secs(5)).unwrap();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(first["text"], "请B002号到5号窗口办理");
}

// ---- the counter console ----

fn console(db: &Path, window: u32) -> display::counter::Counter {
    let c = display::counter::counter(db, window, Duration::from_secs(5)).unwrap();
    c.ui.show().unwrap();
    c
}

/// Tap like a specialist, then wait for the console's IO thread to answer.
#[track_caller]
fn tap(c: &display::counter::Counter, label: &str) {
    ElementHandle::find_by_accessible_label(&c.ui, label)
        .next()
        .unwrap_or_else(|| panic!("nothing labelled {label:?}"))
        .invoke_accessible_default_action();
    assert!(
        c.settle(Duration::from_secs(10)),
        "the console did not answer {label:?}"
    );
}

#[track_caller]
fn type_into(c: &display::counter::Counter, label: &str, text: &str) {
    ElementHandle::find_by_accessible_label(&c.ui, label)
        .next()
        .unwrap_or_else(|| panic!("no field labelled {label:?}"))
        .set_accessible_value(text);
}

fn message(c: &display::counter::Counter) -> String {
    c.ui.global::<CounterAdapter>().get_message().to_string()
}

fn login(c: &display::counter::Counter, staff: &str, pin: &str) {
    type_into(c, "工号", staff);
    type_into(c, "PIN", pin);
    tap(c, "登录");
}

#[test]
fn a_specialist_walks_a_case_through_all_four_stages_at_the_console() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", "246813", "admin").unwrap();
    let number = issue(&mut l, "F01");
    let c = console(&db, 12);
    let ui = &c.ui;
    login(&c, "S602", "246813");
    assert!(ui.global::<CounterAdapter>().get_logged_in(), "{}", message(&c));
    assert_eq!(ui.global::<CounterAdapter>().get_waiting().row_count(), 1);
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{number}号到12号窗口办理"));
    tap(&c, "开始办理");
    type_into(&c, "咨询问题", "二手房过户需要哪些材料");
    type_into(&c, "答复内容", "已按一次性告知单说明");
    tap(&c, "记录（已答复）");
    // One-time notification: tick what is missing.
    tap(&c, "完税凭证");
    tap(&c, "告知缺少材料");
    assert_eq!(
        ui.global::<CounterAdapter>().get_case_state(),
        "awaiting_materials",
        "{}",
        message(&c)
    );
    tap(&c, "材料已补齐");
    // Acceptance: tick what was handed over, and the power of attorney.
    tap(&c, "不动产权证书");
    tap(&c, "已签署委托书");
    tap(&c, "受理（勾选为已交材料）");
    assert_eq!(
        ui.global::<CounterAdapter>().get_case_state(),
        "accepted",
        "{}",
        message(&c)
    );
    tap(&c, "开始代办");
    tap(&c, "办结待交付");
    type_into(&c, "邮寄单号", "SF1234567890");
    tap(&c, "邮寄");
    assert_eq!(
        ui.global::<CounterAdapter>().get_case_state(),
        "mailed",
        "{}",
        message(&c)
    );
    tap(&c, "确认签收");
    type_into(&c, "移交与归档说明", "档案盒 F-2026-11");
    tap(&c, "归档");
    assert_eq!(
        ui.global::<CounterAdapter>().get_case_state(),
        "archived",
        "{}",
        message(&c)
    );
    let case = l.find_case(&number).unwrap();
    let kinds: Vec<(String, String)> = l
        .case_events(case.id)
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|e| (e.kind, e.actor))
        .collect();
    let expected = [
        "case_called",
        "case_started",
        "consultation_recorded",
        "materials_missing",
        "materials_returned",
        "case_accepted",
        "work_started",
        "result_ready",
        "mailed",
        "receipt_confirmed",
        "archived",
    ];
    assert_eq!(kinds.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(), expected);
    assert!(
        kinds.iter().all(|k| k.1 == "S602"),
        "every stage is attributed to the specialist: {kinds:?}"
    );
    assert!(l.verify().unwrap().ok);
}

#[test]
fn five_wrong_pins_lock_the_login() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    ledger(&db).set_pin("S101", "135792", "admin").unwrap();
    let c = console(&db, 1);
    let ui = &c.ui;
    for _ in 0..4 {
        login(&c, "S101", "0000");
        assert!(message(&c).contains("wrong PIN"), "{}", message(&c));
    }
    login(&c, "S101", "0000");
    assert!(message(&c).contains("locked"), "{}", message(&c));
    login(&c, "S101", "135792");
    assert!(
        message(&c).contains("locked"),
        "the right PIN does not open a locked login: {}",
        message(&c)
    );
    assert!(!ui.global::<CounterAdapter>().get_logged_in());
}

#[test]
fn two_consoles_calling_at_once_never_get_the_same_case() {
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S101", "318529", "admin").unwrap();
    l.set_pin("S102", "720416", "admin").unwrap();
    for _ in 0..40 {
        issue(&mut l, "A02");
    }
    let handles: Vec<_> = [(1u32, "S101", "318529"), (2, "S102", "720416")]
        .into_iter()
        .map(|(window, staff, pin)| {
            let db = db.clone();
            std::thread::spawn(move || {
                i_slint_backend_testing::init_no_event_loop();
                let c = console(&db, window);
                login(&c, staff, pin);
                let mut got = Vec::new();
                loop {
                    tap(&c, "叫下一位");
                    let m = message(&c);
                    if m.contains("nobody is waiting") {
                        break;
                    }
                    assert!(m.starts_with("请A"), "{m}");
                    got.push(c.ui.global::<CounterAdapter>().get_case_number().to_string());
                }
                got
            })
        })
        .collect();
    let results: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut all: Vec<&String> = results.iter().flatten().collect();
    assert_eq!(all.len(), 40);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 40, "a case was called by both consoles");
    assert!(results.iter().all(|r| !r.is_empty()), "both consoles called");
}

// ---- renders ----

/// White pixels in a region of a PNG (white text on the blue header).
fn white_pixels(path: &Path, x0: usize, x1: usize, y0: usize, y1: usize) -> usize {
    let mut reader = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = (y * info.width as usize + x) * ch;
            if buf[i] > 230 && buf[i + 1] > 230 && buf[i + 2] > 230 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn board_and_console_render_chinese_without_system_cjk_fonts() {
    let (dir, db) = demo_ledger();
    let conf = bangban_headless::cjk_free_fontconfig(dir.path()).unwrap();
    let render = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_display"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("FONTCONFIG_FILE", &conf)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let board = dir.path().join("board.png");
    render(&["board", "--render", board.to_str().unwrap()]);
    // 枣庄市民中心 in white on the blue header.
    assert!(
        white_pixels(&board, 20, 340, 20, 90) > 800,
        "the hall name is not drawn"
    );
    let counter = dir.path().join("counter.png");
    render(&["counter", "--window", "1", "--render", counter.to_str().unwrap()]);
    let console = dir.path().join("counter-console.png");
    assert!(console.exists());
    // 1 号窗口 · 市场监督管理局 in white on the console's header.
    assert!(
        white_pixels(&console, 10, 400, 8, 48) > 500,
        "the console header is not drawn"
    );
}

#[test]
fn a_locked_ledger_does_not_freeze_the_console() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S202", "864209", "admin").unwrap();
    issue(&mut l, "B01");
    let c = console(&db, 4);
    login(&c, "S202", "864209");
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let start = std::time::Instant::now();
    ElementHandle::find_by_accessible_label(&c.ui, "叫下一位")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "the tap returned at once while the ledger is locked"
    );
    // The console still answers: the checklist and fields work while the call waits.
    assert!(
        !c.settle(Duration::from_millis(300)),
        "the call is still waiting for the lock"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    assert!(c.settle(Duration::from_secs(10)));
    assert_eq!(message(&c), "请B001号到4号窗口办理");
}

#[test]
fn the_board_and_console_refuse_a_missing_or_empty_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.sqlite3");
    for db in [&empty, &missing] {
        for args in [vec!["board", "--headless", "--no-voice"], vec!["counter", "--window", "1"]] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_display"))
                .arg("--db")
                .arg(db)
                .args(&args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains("no ledger at"), "{err}");
            assert_eq!(std::fs::metadata(db).map(|m| m.len()).unwrap_or(0), 0, "{} was written", db.display());
        }
    }
    assert!(!missing.exists());
}
