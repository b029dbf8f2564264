//! Display tests: the headless board as a child process announcing calls made elsewhere, and
//! the counter console driven through the Slint testing backend.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bangban::{CallRequest, CaseAction, Channel, IssueRequest, Ledger, LedgerOptions};
use display::{CasePanelAdapter, ConsoleWords, QueueAdapter, SignInAdapter};
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

/// Start `display board --headless` on a ledger file and wait until it follows it.
fn headless_board(db: &Path) -> (Child, mpsc::Receiver<serde_json::Value>) {
    headless_board_on(&["--db".as_ref(), db.as_os_str()], None)
}

/// Start `display board --headless` with these source flags (`--db …` or `--server …`, the
/// device token from the environment as a hall sets it) and wait until it follows the hall;
/// its JSON lines arrive on the receiver.
fn headless_board_on(source: &[&std::ffi::OsStr], token: Option<&str>) -> (Child, mpsc::Receiver<serde_json::Value>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_display"));
    cmd.env_remove("BANGBAN_TOKEN").env_remove("BANGBAN_TOKEN_FILE");
    if let Some(t) = token {
        cmd.env("BANGBAN_TOKEN", t);
    }
    let mut child = cmd
        .args(["board", "--headless", "--no-voice"])
        .args(source)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("following"), "{line}");
    // Keep reading stderr: a closed pipe would kill the board at its next log line.
    std::thread::spawn(move || for _ in err.lines().map_while(Result::ok) {});
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
fn a_zone_board_announces_and_counts_only_its_departments() {
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "A01");
    issue(&mut l, "F01");
    issue(&mut l, "F01");
    let (mut child, lines) = headless_board_on(
        &[
            "--db".as_ref(),
            db.as_os_str(),
            "--departments".as_ref(),
            "BDC".as_ref(),
        ],
        None,
    );
    // 市场监督's call is another zone's; 不动产's is this board's.
    for (window, staff) in [(3, "S101"), (12, "S602")] {
        l.call(&CallRequest {
            window,
            staff: staff.into(),
            number: None,
        })
        .unwrap();
    }
    let got = lines.recv_timeout(Duration::from_secs(5)).expect("an announcement");
    assert_eq!(got["text"], "请F001号到12号窗口办理");
    assert!(
        lines.recv_timeout(Duration::from_millis(500)).is_err(),
        "a call of another zone was announced"
    );
    child.kill().ok();
    child.wait().ok();
    // The rendered board counts only its departments' queues.
    i_slint_backend_testing::init_no_event_loop();
    let b = display::board(display::Feed::open(&db).unwrap().only(vec!["BDC".into()]), None).unwrap();
    let queues: Vec<String> =
        b.ui.global::<display::BoardAdapter>()
            .get_queues()
            .iter()
            .map(|q| q.name.to_string())
            .collect();
    assert_eq!(queues, ["不动产登记中心"]);
    // A code the hall does not have is refused, naming it and the hall's codes.
    let out = Command::new(env!("CARGO_BIN_EXE_display"))
        .args(["board", "--headless", "--no-voice", "--departments", "BDC,XYZ"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("\"XYZ\"") && err.contains("BDC"),
        "{err}"
    );
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
    c.ui.global::<SignInAdapter>().get_message_text().to_string()
}

/// The kind of error the status line shows ("" when the last action went through).
fn failure(c: &display::counter::Counter) -> String {
    c.ui.global::<SignInAdapter>().get_message().error.to_string()
}

fn login(c: &display::counter::Counter, staff: &str, pin: &str) {
    type_into(c, "工号", staff);
    type_into(c, "PIN", pin);
    tap(c, "登录");
}

/// 纸质签署 at the console: on the forms tab, the number read off the signed paper form, then
/// back to the four stages.
#[track_caller]
fn signed_on_paper(c: &display::counter::Counter, form_number: &str) {
    let a = c.ui.global::<CasePanelAdapter>();
    a.set_tab(3);
    type_into(c, "纸质表单编号", form_number);
    tap(c, "记录纸质签署");
    assert_eq!(failure(c), "", "{}", message(c));
    a.set_tab(0);
}

#[test]
fn a_visitor_at_the_wrong_desk_is_transferred_to_a_department_picked_from_the_halls() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S301", "246813", "admin").unwrap();
    let number = issue(&mut l, "C01");
    let c = console(&db, 6);
    let ui = &c.ui;
    login(&c, "S301", "246813");
    tap(&c, "叫下一位");
    let choices: Vec<String> = ui
        .global::<CasePanelAdapter>()
        .get_departments()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(choices.contains(&"YBJ 医疗保障局".to_string()), "{choices:?}");
    assert!(
        !choices.iter().any(|d| d.starts_with("RSJ")),
        "its own department: {choices:?}"
    );
    let button = || ElementHandle::find_by_accessible_label(ui, "转办").next().unwrap();
    assert_eq!(button().accessible_enabled(), Some(false), "nothing picked yet");
    let picker = ElementHandle::find_by_accessible_label(ui, "转办部门").next().unwrap();
    picker.invoke_accessible_expand_action();
    ElementHandle::find_by_accessible_label(ui, "YBJ 医疗保障局")
        .next()
        .expect("the department in the open list")
        .mock_single_click(slint::platform::PointerEventButton::Left);
    assert_eq!(picker.accessible_value().as_deref(), Some("YBJ 医疗保障局"));
    assert_eq!(button().accessible_enabled(), Some(true));
    tap(&c, "转办");
    let case = l.find_case(&number).unwrap();
    assert_eq!(
        (case.state, case.department.as_str()),
        (bangban::CaseState::Transferred, "YBJ"),
        "{}",
        message(&c)
    );
}

#[test]
fn a_console_in_english_lists_the_queue_by_the_hall_files_english_names() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", "246813", "admin").unwrap();
    l.issue(&IssueRequest {
        item: "F01".into(),
        priority: Some("elderly".into()),
        mode: None,
        channel: Channel::Kiosk,
        actor: "kiosk-1".into(),
    })
    .unwrap();
    let c = console(&db, 12);
    login(&c, "S602", "246813");
    c.set_language("en");
    assert_eq!(
        c.ui.global::<SignInAdapter>().get_departments(),
        "Real Estate Registration"
    );
    let rows: Vec<(String, String)> =
        c.ui.global::<QueueAdapter>()
            .get_waiting()
            .iter()
            .map(|w| (w.item.to_string(), w.priority.to_string()))
            .collect();
    tap(&c, "Call next");
    let case = c.ui.global::<CasePanelAdapter>().get_case();
    display::counter::set_language("zh");
    assert_eq!(rows, [("Property transfer (resale)".to_string(), "Senior".to_string())]);
    assert_eq!(
        (case.item.as_str(), case.priority.as_str()),
        ("Property transfer (resale)", "Senior")
    );
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
    assert!(ui.global::<SignInAdapter>().get_logged_in(), "{}", message(&c));
    assert_eq!(ui.global::<QueueAdapter>().get_waiting().row_count(), 1);
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{number}号到12号窗口办理"));
    tap(&c, "开始办理");
    type_into(&c, "咨询问题", "二手房过户需要哪些材料");
    type_into(&c, "答复内容", "已按一次性告知单说明");
    tap(&c, "记录（已答复）");
    // One-time notification: mark what is missing.
    tap(&c, "完税凭证：缺少");
    tap(&c, "告知缺少材料（标为缺少的）");
    assert_eq!(
        ui.global::<CasePanelAdapter>().get_case().state,
        "awaiting_materials",
        "{}",
        message(&c)
    );
    tap(&c, "材料已补齐");
    // Acceptance: mark what was handed over, and the power of attorney.
    for m in [
        "不动产权证书",
        "买卖双方身份证",
        "婚姻状况证明",
        "存量房买卖合同",
        "完税凭证",
    ] {
        tap(&c, &format!("{m}：已交"));
    }
    let poa = l.form_number(bangban::forms::FormKind::Poa, &number).unwrap();
    signed_on_paper(&c, &poa);
    tap(&c, "受理（标为已交的）");
    assert_eq!(
        ui.global::<CasePanelAdapter>().get_case().state,
        "accepted",
        "{}",
        message(&c)
    );
    tap(&c, "开始代办");
    tap(&c, "办结待交付");
    type_into(&c, "邮寄单号", "SF1234567890");
    type_into(&c, "快递公司", "EMS");
    type_into(&c, "收件人", "王芳");
    tap(&c, "邮寄");
    assert_eq!(
        ui.global::<CasePanelAdapter>().get_case().state,
        "mailed",
        "{}",
        message(&c)
    );
    tap(&c, "确认签收");
    type_into(&c, "移交与归档说明", "档案盒 F-2026-11");
    type_into(&c, "接收人", "档案室 刘芳");
    tap(&c, "归档");
    assert_eq!(
        ui.global::<CasePanelAdapter>().get_case().state,
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
        "form_signed",
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
        assert!(
            failure(&c) == "wrong_pin" && message(&c).contains("PIN 不对"),
            "{}",
            message(&c)
        );
    }
    login(&c, "S101", "0000");
    assert_eq!(failure(&c), "login_locked", "{}", message(&c));
    assert!(message(&c).contains("锁定"), "{}", message(&c));
    login(&c, "S101", "135792");
    assert!(
        failure(&c) == "login_locked",
        "the right PIN does not open a locked login: {}",
        message(&c)
    );
    assert!(!ui.global::<SignInAdapter>().get_logged_in());
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
                    if failure(&c) == "nobody_waiting" {
                        assert_eq!(m, "没有等候的号码");
                        break;
                    }
                    assert!(m.starts_with("请A"), "{m}");
                    got.push(c.ui.global::<CasePanelAdapter>().get_case().number.to_string());
                    // One visitor at a time: settle this one before the next call.
                    tap(&c, "暂挂");
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

/// The start of this minute (RFC 3339), for `BANGBAN_NOW`: renders made with it draw the
/// same clock in their header, and today's calls on the board.
fn this_minute() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:00Z").to_string()
}

/// `display --db DB ARGS…` (a `--render`) with fontconfig pointed at `conf`, which names no
/// CJK font: only the bundled one can draw Chinese; its clock stands at `now`.
fn render_without_system_fonts(db: &Path, conf: &Path, now: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_display"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("FONTCONFIG_FILE", conf)
        .env("BANGBAN_NOW", now)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn board_and_console_render_chinese_without_system_cjk_fonts() {
    let (dir, db) = demo_ledger();
    let conf = bangban_headless::cjk_free_fontconfig(dir.path()).unwrap();
    let now = this_minute();
    let render = |args: &[&str]| render_without_system_fonts(&db, &conf, &now, args);
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
        for args in [
            vec!["board", "--headless", "--no-voice"],
            vec!["counter", "--window", "1"],
        ] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_display"))
                .arg("--db")
                .arg(db)
                .args(&args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains("no ledger at"), "{err}");
            assert_eq!(
                std::fs::metadata(db).map(|m| m.len()).unwrap_or(0),
                0,
                "{} was written",
                db.display()
            );
        }
    }
    assert!(!missing.exists());
}

// ---- against a served ledger (`bangban serve`) ----

/// The `bangban` binary beside this package's `display` (built by `cargo test --workspace`).
fn bangban_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_display")).with_file_name("bangban");
    assert!(
        p.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        p.display()
    );
    p
}

struct Server {
    child: Child,
    url: String,
}

/// `bangban serve` on `listen` (127.0.0.1:0 for a free port); returns once it listens.
fn serve(db: &Path, listen: &str) -> Server {
    serve_with(db, &["--listen", listen])
}

/// `bangban serve` with these flags; returns once it listens.
fn serve_with(db: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(bangban_bin())
        .arg("--db")
        .arg(db)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    Server { child, url }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

const PIN: &str = "246813";

/// A served demo ledger with a board, a kiosk and a counter enrolled and S101's PIN set.
fn served_hall() -> (tempfile::TempDir, PathBuf, Server, [String; 3]) {
    let (dir, db, tokens) = enrolled_hall();
    let server = serve(&db, "127.0.0.1:0");
    (dir, db, server, tokens)
}

/// A demo ledger with a board, a kiosk and a counter enrolled (their tokens in that order)
/// and the PINs of S101 and S602 set.
fn enrolled_hall() -> (tempfile::TempDir, PathBuf, [String; 3]) {
    let (dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S101", PIN, "admin").unwrap();
    l.set_pin("S602", PIN, "admin").unwrap();
    let board = l
        .add_device("board-1", bangban::access::DeviceRole::Board, "admin")
        .unwrap();
    let kiosk = l
        .add_device("kiosk-1", bangban::access::DeviceRole::Kiosk, "admin")
        .unwrap();
    let counter = l
        .add_device("counter-1", bangban::access::DeviceRole::Counter, "admin")
        .unwrap();
    drop(l);
    (dir, db, [board, kiosk, counter])
}

fn remote(url: &str, token: &str) -> bangban::remote::RemoteClient {
    bangban::remote::RemoteClient::new(url, token).unwrap()
}

/// Issue one ticket for `item` through the server, as a kiosk; its number.
fn issue_through(url: &str, kiosk: &str, item: &str) -> String {
    use bangban::api::HallClient;
    remote(url, kiosk)
        .issue(&bangban::api::Issue {
            item: item.into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap()
        .number
}

/// Issue one A01 ticket and call it at window 1 as S101, through the server.
fn issue_and_call(url: &str, kiosk: &str, counter: &str) -> String {
    use bangban::api::HallClient;
    let number = issue_through(url, kiosk, "A01");
    let mut c = remote(url, counter);
    c.sign_in(&bangban::api::SignIn {
        staff: "S101".into(),
        pin: PIN.into(),
        window: 1,
    })
    .unwrap();
    c.call(&bangban::api::Call {
        number: Some(number.clone()),
    })
    .unwrap();
    // The window settles the visitor (on hold) before it calls the next.
    c.act(&bangban::api::Act {
        case: number.clone(),
        action: CaseAction::Hold,
    })
    .unwrap();
    number
}

#[test]
fn a_headless_board_on_the_server_announces_every_call_once_across_a_server_restart() {
    let (_dir, db, mut server, [board, kiosk, counter]) = served_hall();
    let url = server.url.clone();
    let port = url.rsplit(':').next().unwrap().to_string();
    let (mut child, rx) = headless_board_on(&["--server".as_ref(), url.as_ref()], Some(&board));
    let mut called = Vec::new();
    for _ in 0..3 {
        called.push(issue_and_call(&url, &kiosk, &counter));
    }
    let mut heard = Vec::new();
    for _ in 0..3 {
        heard.push(rx.recv_timeout(Duration::from_secs(10)).expect("announced"));
    }
    // The server dies (SIGKILL: no goodbye) and comes back on the same address.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let server2 = serve(&db, &format!("127.0.0.1:{port}"));
    assert_eq!(server2.url, url);
    for _ in 0..3 {
        called.push(issue_and_call(&url, &kiosk, &counter));
    }
    for _ in 0..3 {
        heard.push(
            rx.recv_timeout(Duration::from_secs(15))
                .expect("announced after the restart"),
        );
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "nothing is announced twice"
    );
    child.kill().ok();
    child.wait().ok();
    let numbers: Vec<String> = heard
        .iter()
        .map(|h| h["number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(numbers, called, "every call once, in order");
    let seqs: Vec<i64> = heard.iter().map(|h| h["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(heard[0]["text"], format!("请{}号到1号窗口办理", called[0]));
}

#[test]
fn the_board_keeps_its_calls_and_marks_a_lost_connection() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, _db, mut server, [board, kiosk, counter]) = served_hall();
    let url = server.url.clone();
    let number = issue_and_call(&url, &kiosk, &counter);
    let feed = display::Feed::connect(&url, &board, || {}).unwrap();
    let b = display::board(feed, None).unwrap();
    b.ui.show().unwrap();
    let a = b.ui.global::<display::BoardAdapter>();
    assert_eq!(a.get_current().number, number.as_str());
    assert!(!a.get_offline());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while !a.get_offline() && std::time::Instant::now() < end {
        // The board's poll timer runs on the testing backend's mocked clock.
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(a.get_offline(), "the board marks the lost connection");
    assert!(ElementHandle::find_by_accessible_label(&b.ui, "连接中断")
        .next()
        .is_some());
    assert_eq!(a.get_current().number, number.as_str(), "the last call stays on screen");
    assert_eq!(a.get_recent().row_count(), 1);
}

#[test]
fn a_specialist_walks_a_case_at_a_console_on_the_server() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db, server, [_board, kiosk, counter]) = served_hall();
    let number = issue_through(&server.url, &kiosk, "F01");
    let c = display::counter::counter_on(
        display::counter::Source::Server {
            url: server.url.clone(),
            token: counter.clone(),
            ca: None,
        },
        12,
    )
    .unwrap();
    c.ui.show().unwrap();
    let ui = &c.ui;
    login(&c, "S602", PIN);
    assert!(ui.global::<SignInAdapter>().get_logged_in(), "{}", message(&c));
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{number}号到12号窗口办理"));
    tap(&c, "开始办理");
    for m in [
        "不动产权证书",
        "买卖双方身份证",
        "婚姻状况证明",
        "存量房买卖合同",
        "完税凭证",
    ] {
        tap(&c, &format!("{m}：已交"));
    }
    // The 委托书's number as the console lists it (and prints it on the form).
    let poa = ui
        .global::<CasePanelAdapter>()
        .get_forms()
        .iter()
        .find(|f| f.kind == "poa")
        .map(|f| f.number.to_string())
        .expect("the console lists the case's forms");
    assert!(poa.starts_with("WT-"), "{poa}");
    signed_on_paper(&c, &poa);
    tap(&c, "受理（标为已交的）");
    assert_eq!(
        ui.global::<CasePanelAdapter>().get_case().state,
        "accepted",
        "{}",
        message(&c)
    );
    drop(c);
    drop(server);
    let mut l = ledger(&db);
    let case = l.find_case(&number).unwrap();
    let events = l.case_events(case.id).unwrap();
    let kinds: Vec<&str> = events.iter().skip(1).map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["case_called", "case_started", "form_signed", "case_accepted"]);
    assert!(events.iter().skip(1).all(|e| e.actor == "S602"));
    assert!(l.verify().unwrap().ok);
}

#[test]
fn the_console_keeps_what_was_typed_while_the_server_is_away() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, _db, mut server, [_board, _kiosk, counter]) = served_hall();
    let c = display::counter::counter_on(
        display::counter::Source::Server {
            url: server.url.clone(),
            token: counter,
            ca: None,
        },
        1,
    )
    .unwrap();
    c.ui.show().unwrap();
    login(&c, "S101", PIN);
    assert!(c.ui.global::<SignInAdapter>().get_logged_in(), "{}", message(&c));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    type_into(&c, "号码或扫码", "A009");
    tap(&c, "按号呼叫");
    let a = c.ui.global::<SignInAdapter>();
    assert!(a.get_offline(), "the console says it is reconnecting: {}", message(&c));
    assert!(
        ElementHandle::find_by_accessible_label(&c.ui, "连接中断，正在重新连接…")
            .next()
            .is_some()
    );
    let field = ElementHandle::find_by_accessible_label(&c.ui, "号码或扫码")
        .next()
        .unwrap();
    assert_eq!(
        field.accessible_value().unwrap_or_default(),
        "A009",
        "the typed number is kept"
    );
    assert!(a.get_logged_in(), "still signed in on screen");
}

#[test]
fn a_transfer_after_a_call_leaves_the_boards_row_as_it_was_announced() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    let number = issue(&mut l, "F01");
    let called = l
        .call(&CallRequest {
            window: 12,
            staff: "S602".into(),
            number: None,
        })
        .unwrap();
    assert_eq!(called.department_name, "不动产登记中心");
    l.act(
        &number,
        12,
        "S602",
        &CaseAction::Transfer {
            department: "SWJ".into(),
            window: None,
            note: None,
        },
    )
    .unwrap();
    // The ledger's own view of the call is unchanged by the transfer…
    let recent = l.recent_calls(8).unwrap();
    assert_eq!(
        (
            recent[0].number.as_str(),
            recent[0].department.as_str(),
            recent[0].window
        ),
        (number.as_str(), "BDC", 12)
    );
    assert_eq!(recent[0].text, format!("请{number}号到12号窗口办理"));
    // …and so is the board's row.
    let b = display::board(display::Feed::open(&db).unwrap(), None).unwrap();
    let a = b.ui.global::<display::BoardAdapter>();
    let row = a.get_recent().row_data(0).unwrap();
    assert_eq!(
        (row.number.as_str(), row.department.as_str(), row.window),
        (number.as_str(), "不动产登记中心", 12)
    );
    assert_eq!(a.get_current().department.as_str(), "不动产登记中心");
}

#[test]
fn a_recall_says_the_same_words_on_the_board_in_json_and_aloud() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    let number = issue(&mut l, "A01");
    l.call(&CallRequest {
        window: 2,
        staff: "S101".into(),
        number: None,
    })
    .unwrap();
    let recall = l.recall(&number, 2, "S101").unwrap();
    let expected = format!("重呼：请{number}号到2号窗口办理");
    // JSON line for LED signs.
    let json = serde_json::to_value(display::Announcement::from(&recall)).unwrap();
    assert_eq!(json["text"], expected.as_str());
    // On the board, the current call card says the same words.
    let b = display::board(display::Feed::open(&db).unwrap(), None).unwrap();
    b.ui.show().unwrap();
    assert_eq!(
        b.ui.global::<display::BoardAdapter>().get_current().text.as_str(),
        expected
    );
    assert!(ElementHandle::find_by_accessible_label(&b.ui, &expected)
        .next()
        .is_some());
    // Aloud: the same announcement, the number's digits spelled out.
    let spoken = display::voice::spoken_text(&recall);
    let digits: String = number
        .chars()
        .skip(1)
        .map(|c| {
            "零一二三四五六七八九"
                .chars()
                .nth(c.to_digit(10).unwrap() as usize)
                .unwrap()
        })
        .collect();
    assert_eq!(spoken, expected.replace(&number, &format!("A{digits}")));
}

/// The desk (the console's IO side) is driven without any UI: commands in, plain views out.
#[test]
fn the_counter_desk_answers_commands_without_a_ui() {
    use display::desk::{Cmd, Desk, Message, Refusal, Source};
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S101", "135792", "admin").unwrap();
    let number = issue(&mut l, "A01");
    let (mut desk, hall) = Desk::open(Source::Ledger(db.clone(), Duration::from_secs(5)), 1).unwrap();
    assert_eq!(hall.name, l.hall().unwrap().name);
    let failed = |v: &display::desk::View| match &v.message {
        Some(Message::Failed { kind, .. }) => *kind,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(failed(&desk.handle(Cmd::CallNext)), Refusal::SignInFirst);
    let v = desk.handle(Cmd::Login {
        staff: "S101".into(),
        pin: "000000".into(),
    });
    assert_eq!(failed(&v), Refusal::Ledger(bangban::ErrorKind::WrongPin));
    assert!(!v.logged_in);
    let v = desk.handle(Cmd::Login {
        staff: "S101".into(),
        pin: "135792".into(),
    });
    assert!(v.logged_in, "{:?}", v.message);
    assert_eq!(v.waiting.len(), 1);
    assert_eq!(failed(&desk.handle(Cmd::Act(CaseAction::Start))), Refusal::NoCase);
    let v = desk.handle(Cmd::CallNext);
    assert_eq!(v.message, Some(Message::Called(format!("请{number}号到1号窗口办理"))));
    assert_eq!(v.case.as_ref().map(|c| c.state.as_str()), Some("called"));
    let v = desk.handle(Cmd::Act(CaseAction::Start));
    assert_eq!(
        v.message,
        Some(Message::Moved {
            number: number.clone(),
            state: bangban::CaseState::Serving
        })
    );
    let v = desk.handle(Cmd::TogglePause);
    assert_eq!(v.message, Some(Message::WindowPaused(true)));
    assert!(v.paused);
    assert_eq!(failed(&desk.handle(Cmd::CallNumber("  ".into()))), Refusal::NoNumber);
    // A window no department serves is refused when the desk opens.
    let e = Desk::open(Source::Ledger(db.clone(), Duration::from_secs(5)), 99)
        .err()
        .unwrap();
    assert_eq!(e.kind(), bangban::ErrorKind::UnknownWindow);
}

/// systemd stops the board with SIGTERM: it finishes what it was doing, closes the ledger and
/// exits 0, and no `-wal` file is left beside the ledger (a kill mid-write would leave one).
#[test]
fn sigterm_stops_the_headless_board_cleanly_and_leaves_no_wal() {
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "A01");
    drop(l);
    let (mut child, lines) = headless_board(&db);
    // A call while it runs, so it has read the ledger since it started.
    let mut l = ledger(&db);
    l.call(&CallRequest {
        window: 1,
        staff: "S101".into(),
        number: None,
    })
    .unwrap();
    drop(l);
    lines
        .recv_timeout(Duration::from_secs(10))
        .expect("the call is announced");
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "the board ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(!wal.exists(), "a -wal file was left behind");
}

#[test]
fn after_the_daily_close_the_board_shows_only_todays_numbers() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let (clock, opts, mut l) = clocked(&db, "2026-11-26T10:00:00+08:00");
    let old = l
        .issue(&IssueRequest {
            item: "F01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap();
    let call = |l: &mut Ledger| {
        l.call(&CallRequest {
            window: 12,
            staff: "S602".into(),
            number: None,
        })
        .unwrap()
    };
    call(&mut l);
    let b = display::board(display::Feed::open_with(&db, opts).unwrap(), None).unwrap();
    let a = b.ui.global::<display::BoardAdapter>();
    assert_eq!(a.get_current().number, "F001");
    // Overnight: the board is left on, the day is closed, and the visitor comes back.
    clock.set(at("2026-11-26T18:00:00+08:00"));
    assert_eq!(l.close_day("2026-11-26".parse().unwrap(), "office").unwrap().expired, 1);
    clock.set(at("2026-11-27T09:00:00+08:00"));
    b.tick();
    assert!(!a.get_has_current(), "yesterday's F001 left the board");
    assert_eq!(a.get_recent().row_count(), 0);
    issue(&mut l, "F01");
    let back = l.act(&old.token, 12, "S602", &CaseAction::Return).unwrap();
    assert_eq!((back.id, back.number.as_str()), (old.case_id, "F002"));
    let first = call(&mut l);
    l.act(&first.number, 12, "S602", &CaseAction::Hold).unwrap();
    let called = call(&mut l);
    assert_eq!((called.case_id, called.number.as_str()), (old.case_id, "F002"));
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while a.get_current().number != "F002" && std::time::Instant::now() < end {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    let shown: Vec<String> = a.get_recent().iter().map(|r| r.number.to_string()).collect();
    assert_eq!(
        shown,
        ["F002", "F001"],
        "today's two calls, the returned case under its new number"
    );
    assert_eq!(a.get_current().text, "请F002号到12号窗口办理");
}

#[test]
fn the_board_and_the_console_keep_witness_files_of_the_chain_heads_they_saw() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "A01");
    let (mut child, _lines) = headless_board(&db);
    let board_file = PathBuf::from(format!("{}.witness-board", db.display()));
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while !board_file.exists() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    child.wait().ok();
    let seen = bangban::witness::read(&board_file).expect("the board's witness file");
    let head = l.chain_head().unwrap();
    assert_eq!((seen[0].seq, seen[0].hash.as_str()), (head.seq, head.hash.as_str()));
    // The console writes its own, after its first command.
    let c = console(&db, 3);
    login(&c, "S101", "246813");
    let counter_file = PathBuf::from(format!("{}.witness-counter", db.display()));
    let seen = bangban::witness::read(&counter_file).expect("the console's witness file");
    assert!(seen.last().unwrap().seq >= head.seq);
}

#[test]
fn a_past_days_visitor_is_put_back_in_line_from_the_console() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // Yesterday's ticket, never served, expired by the daily close.
    let clock = bangban::clock::ManualClock::new(at("2026-11-26T10:00:00+08:00"));
    let opts = LedgerOptions {
        clock: std::sync::Arc::new(clock.clone()),
        ..LedgerOptions::default()
    };
    let mut l = Ledger::open(&db, opts).unwrap();
    let old = l
        .issue(&IssueRequest {
            item: "A01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap();
    clock.set(at("2026-11-26T18:00:00+08:00"));
    l.close_day("2026-11-26".parse().unwrap(), "office").unwrap();
    drop(l);
    // Today, at window 1: the visitor hands over yesterday's ticket.
    let mut l = ledger(&db);
    l.set_pin("S101", "246813", "admin").unwrap();
    issue(&mut l, "A01");
    let c = console(&db, 1);
    login(&c, "S101", "246813");
    type_into(&c, "号码或扫码", &old.token);
    tap(&c, "按号呼叫");
    assert_eq!(failure(&c), "past_day");
    assert!(message(&c).contains("重新排队"), "{}", message(&c));
    tap(&c, "重新排队");
    assert_eq!(failure(&c), "");
    assert_eq!(message(&c), "已重新排队：今天的号码是 A002");
    let back = l.find_case("A002").unwrap();
    assert_eq!((back.id, back.state), (old.case_id, bangban::CaseState::Waiting));
    let queue: Vec<String> =
        c.ui.global::<display::QueueAdapter>()
            .get_waiting()
            .iter()
            .map(|w| w.number.to_string())
            .collect();
    assert_eq!(queue, ["A001", "A002"], "in line after today's earlier ticket");
}

#[test]
fn the_board_names_the_specialist_serving_at_the_called_window_with_their_badge_number() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    issue(&mut l, "A01");
    let called = l
        .call(&CallRequest {
            window: 1,
            staff: "S101".into(),
            number: None,
        })
        .unwrap();
    assert_eq!(called.staff_name, "王丽");
    let b = display::board(display::Feed::open_with(&db, LedgerOptions::default()).unwrap(), None).unwrap();
    // The recent calls show as many rows as the screen holds.
    b.ui.window().set_size(slint::PhysicalSize::new(1920, 1080));
    let a = b.ui.global::<display::BoardAdapter>();
    assert_eq!(a.get_current().staff_name, "王丽");
    assert!(
        ElementHandle::find_by_accessible_label(&b.ui, "市场监督管理局 · 帮办专员 王丽（工号 ZZ0101）")
            .next()
            .is_some(),
        "the current call names the specialist and their badge number"
    );
    assert!(
        ElementHandle::find_by_accessible_label(&b.ui, "专员 王丽")
            .next()
            .is_some(),
        "the recent calls name the specialist"
    );
}

#[test]
fn the_console_prints_the_one_time_notification_slip_on_the_counters_printer() {
    i_slint_backend_testing::init_no_event_loop();
    let (dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", "246813", "admin").unwrap();
    let number = issue(&mut l, "F01");
    // The counter's printer as a device file: every byte the console sends lands here.
    let printed = dir.path().join("counter-12-printer.bin");
    let c = display::counter::counter_printing(
        display::counter::Source::Ledger(db.clone(), Duration::from_secs(5)),
        12,
        Some(bangban_printer::PrinterTarget::File(printed.display().to_string())),
    )
    .unwrap();
    c.ui.show().unwrap();
    login(&c, "S602", "246813");
    tap(&c, "叫下一位");
    tap(&c, "开始办理");
    tap(&c, "完税凭证：缺少");
    tap(&c, "婚姻状况证明：缺少");
    tap(&c, "告知缺少材料（标为缺少的）");
    assert_eq!(message(&c), format!("{number} 待补材料：一次性告知书已打印"));
    let slip = bangban_printer::decode::decode(&std::fs::read(&printed).unwrap()).text();
    for line in [
        "一次性告知书".to_string(),
        format!("号码 {number}"),
        "□ 婚姻状况证明".into(),
        "□ 完税凭证".into(),
        "  获取：本中心税务局15、16号窗口".into(),
        "补齐后请带本告知书回到 12 号窗口".into(),
        "帮办专员 褚伟".into(),
    ] {
        assert!(slip.lines().any(|l| l == line), "missing {line:?} in\n{slip}");
    }
    // A second copy while the case awaits the materials: nothing is written to the ledger.
    let head = l.chain_head().unwrap().seq;
    tap(&c, "补打告知书");
    assert_eq!(failure(&c), "");
    let twice = bangban_printer::decode::decode(&std::fs::read(&printed).unwrap()).text();
    assert_eq!(twice.matches("一次性告知书").count(), 2);
    assert_eq!(l.chain_head().unwrap().seq, head, "a reprint records nothing");
}

#[test]
fn a_window_settles_its_visitor_before_the_console_calls_the_next() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", "246813", "admin").unwrap();
    let first = issue(&mut l, "F01");
    let second = issue(&mut l, "F01");
    let c = console(&db, 12);
    login(&c, "S602", "246813");
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{first}号到12号窗口办理"));
    // Called and not yet settled: the next call is refused, the panel keeps the visitor.
    tap(&c, "叫下一位");
    assert_eq!(failure(&c), "window_busy");
    assert_eq!(
        message(&c),
        "本窗口的号码还没有处理完：请先办理、重呼后过号、暂挂或转办，再叫下一位"
    );
    assert_eq!(c.ui.global::<CasePanelAdapter>().get_case().number, first.as_str());
    assert_eq!(l.find_case(&second).unwrap().state, bangban::CaseState::Waiting);
    // Served and finished: then the next visitor.
    tap(&c, "开始办理");
    tap(&c, "叫下一位");
    assert_eq!(
        failure(&c),
        "window_busy",
        "a visitor being served is not settled either"
    );
    tap(&c, "暂挂");
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{second}号到12号窗口办理"));
}

#[test]
fn the_checklist_marks_each_material_handed_over_or_missing_and_each_action_takes_its_own() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, _db, mut l, number, c) = property_counter();
    tap(&c, "叫下一位");
    tap(&c, "开始办理");
    tap(&c, "不动产权证书：已交");
    tap(&c, "完税凭证：缺少");
    let marks: Vec<(String, i32)> =
        c.ui.global::<CasePanelAdapter>()
            .get_materials()
            .iter()
            .map(|m| (m.name.to_string(), m.state))
            .collect();
    assert_eq!(marks[0], ("不动产权证书".into(), 1));
    assert_eq!(marks[4], ("完税凭证".into(), 2));
    // 告知缺少材料 sends only what is marked missing.
    tap(&c, "告知缺少材料（标为缺少的）");
    assert_eq!(l.find_case(&number).unwrap().missing, ["完税凭证"]);
    // The visitor brings it: the same material is now marked handed over, and 受理 takes
    // only the handed-over ones.
    tap(&c, "材料已补齐");
    tap(&c, "完税凭证：已交");
    let poa = l.form_number(bangban::forms::FormKind::Poa, &number).unwrap();
    signed_on_paper(&c, &poa);
    // Three materials neither marked: 受理 is refused, naming the first; nothing written.
    tap(&c, "受理（标为已交的）");
    assert_eq!(l.find_case(&number).unwrap().state, bangban::CaseState::Serving);
    assert!(message(&c).contains("买卖双方身份证"), "{}", message(&c));
    // Two handed over, 存量房买卖合同 missing: accepted without it (容缺), due on the day typed.
    tap(&c, "买卖双方身份证：已交");
    tap(&c, "婚姻状况证明：已交");
    tap(&c, "存量房买卖合同：缺少");
    type_into(&c, "容缺受理补齐日期", "2099-01-05");
    tap(&c, "受理（标为已交的）");
    let case = l.find_case(&number).unwrap();
    assert_eq!(case.state, bangban::CaseState::Accepted, "{}", message(&c));
    assert_eq!(
        case.materials,
        ["不动产权证书", "买卖双方身份证", "婚姻状况证明", "完税凭证"]
    );
    assert_eq!(
        case.accepted_without
            .iter()
            .map(|m| (m.material.as_str(), m.supply_by.as_str()))
            .collect::<Vec<_>>(),
        [("存量房买卖合同", "2099-01-05")]
    );
}

#[test]
fn the_console_changes_the_service_mode_and_cancels_with_a_reason() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, _db, mut l, number, c) = property_counter();
    tap(&c, "叫下一位");
    assert_eq!(l.find_case(&number).unwrap().mode, bangban::Mode::Onsite);
    tap(&c, "服务方式：全程代办");
    assert_eq!(failure(&c), "", "{}", message(&c));
    assert_eq!(l.find_case(&number).unwrap().mode, bangban::Mode::Fullprocess);
    assert_eq!(c.ui.global::<CasePanelAdapter>().get_case().mode, "fullprocess");
    // The visitor cannot stay: cancelled, with the reason kept in the notes.
    type_into(&c, "取消原因", "来访者改日再来");
    tap(&c, "取消案件");
    let case = l.find_case(&number).unwrap();
    assert_eq!(case.state, bangban::CaseState::Cancelled, "{}", message(&c));
    let events = l.case_events(case.id).unwrap();
    let cancel = events.iter().find(|e| e.kind == "case_cancelled").unwrap();
    assert!(
        !cancel.payload.contains("来访者改日再来"),
        "typed text stays out of the log"
    );
}

/// A demo ledger with one F01 ticket and the console of window 12 with S602 signed in.
fn property_counter() -> (tempfile::TempDir, PathBuf, Ledger, String, display::counter::Counter) {
    let (dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", "246813", "admin").unwrap();
    let number = issue(&mut l, "F01");
    let c = console(&db, 12);
    login(&c, "S602", "246813");
    (dir, db, l, number, c)
}

#[test]
fn the_board_flags_a_priority_visitor_who_has_waited_past_the_deadline() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let (clock, opts, mut l) = clocked(&db, "2026-11-27T10:00:00+08:00");
    l.issue(&IssueRequest {
        item: "B01".into(),
        priority: Some("elderly".into()),
        mode: None,
        channel: Channel::Kiosk,
        actor: "kiosk-1".into(),
    })
    .unwrap();
    clock.set(at("2026-11-27T10:09:00+08:00"));
    let b = display::board(display::Feed::open_with(&db, opts).unwrap(), None).unwrap();
    let a = b.ui.global::<display::BoardAdapter>();
    assert_eq!(a.get_overdue_priority(), "", "nine minutes is within the deadline");
    // Past the hall's ten minutes: the board names the number (never the visitor).
    clock.set(at("2026-11-27T10:11:00+08:00"));
    b.tick();
    assert_eq!(a.get_overdue_priority(), "B001");
    assert!(
        ElementHandle::find_by_accessible_label(&b.ui, "优先群体等候较久：B001，工作人员将主动为您服务")
            .next()
            .is_some()
    );
}

/// A UTC time from RFC 3339 text.
fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// The ledger on a hand-set clock starting at `start`, with the options that share it.
fn clocked(db: &Path, start: &str) -> (bangban::clock::ManualClock, LedgerOptions, Ledger) {
    let clock = bangban::clock::ManualClock::new(at(start));
    let opts = LedgerOptions {
        clock: std::sync::Arc::new(clock.clone()),
        ..LedgerOptions::default()
    };
    let l = Ledger::open(db, opts.clone()).unwrap();
    (clock, opts, l)
}

#[test]
fn a_part_to_claim_is_an_alert_that_opens_the_case_where_the_department_claims_works_and_escalates_it() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S301", "246813", "admin").unwrap();
    // 市场监督 (the lead) accepts 企业开办 in 全程 mode: a part opens for 人社 among others.
    let number = issue(&mut l, "A01");
    l.call(&CallRequest {
        window: 1,
        staff: "S101".into(),
        number: None,
    })
    .unwrap();
    l.act(&number, 1, "S101", &CaseAction::Start).unwrap();
    let poa = l.form_number(bangban::forms::FormKind::Poa, &number).unwrap();
    l.act(
        &number,
        1,
        "S101",
        &CaseAction::SignedOnPaper {
            form: "poa".into(),
            number: poa,
        },
    )
    .unwrap();
    l.act(
        &number,
        1,
        "S101",
        &CaseAction::accept(
            bangban::demo_day::hall()
                .unwrap()
                .item("A01")
                .unwrap()
                .materials
                .clone(),
        ),
    )
    .unwrap();
    let c = console(&db, 6);
    login(&c, "S301", "246813");
    let alerts = c.ui.global::<QueueAdapter>().get_alerts();
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "part_unclaimed" && a.number == number.as_str()),
        "人社's console lists the part to claim"
    );
    // The alert opens the case on the parts tab, the department's own part to claim.
    tap(&c, &format!("提醒：{number} 分项待认领"));
    let panel = c.ui.global::<CasePanelAdapter>();
    assert_eq!(panel.get_case().number, number.as_str());
    assert_eq!(panel.get_tab(), 1, "another department's case opens on its parts");
    assert_eq!(panel.get_my_part(), "open");
    let part = |l: &mut Ledger| {
        let c = l.find_case(&number).unwrap();
        let p = c.parts.iter().find(|p| p.department == "RSJ").unwrap().clone();
        (p.state.as_str().to_string(), p.owner)
    };
    tap(&c, "认领本部门分项");
    assert_eq!(part(&mut l), ("claimed".into(), Some("S301".into())));
    assert!(
        !c.ui
            .global::<QueueAdapter>()
            .get_alerts()
            .iter()
            .any(|a| a.kind == "part_unclaimed"),
        "claimed: no longer an alert"
    );
    tap(&c, "分项受理");
    tap(&c, "分项办结");
    assert_eq!(part(&mut l).0, "done");
    // The case is stuck elsewhere: the part's owner escalates it from the console.
    type_into(&c, "提请协调的原因", "税务与公积金口径不一致");
    tap(&c, "提请协调");
    assert!(l.find_case(&number).unwrap().under_coordination);
    assert!(c.ui.global::<CasePanelAdapter>().get_case().under_coordination);
    assert!(ElementHandle::find_by_accessible_label(
        &c.ui,
        "协调中：已提请管理办公室协调，记录协调结果后继续办理；其间可暂挂或转办，窗口继续叫号"
    )
    .next()
    .is_some());
}

#[test]
fn a_phone_consultation_is_recorded_at_the_console_without_a_ticket() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S101", "246813", "admin").unwrap();
    let c = console(&db, 1);
    login(&c, "S101", "246813");
    c.ui.global::<CasePanelAdapter>().set_tab(2);
    type_into(&c, "来电咨询的问题", "企业开办需要哪些材料？");
    type_into(&c, "来电答复内容", "见一次性告知单");
    tap(&c, "记录来电咨询");
    let panel = c.ui.global::<CasePanelAdapter>().get_case();
    assert_eq!(panel.state, "consulted", "{}", message(&c));
    let case = l.find_case(panel.number.as_str()).unwrap();
    assert_eq!(
        (case.channel, case.owner.as_deref(), case.item.as_str()),
        (Channel::Phone, Some("S101"), "A01")
    );
    // No ticket was taken: the window calls its queue as before.
    let next = issue(&mut l, "A02");
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{next}号到1号窗口办理"));
}

#[test]
fn the_management_office_records_the_coordination_meeting_and_its_outcome_at_its_console() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S900", "246813", "admin").unwrap();
    let number = issue(&mut l, "F01");
    l.call(&CallRequest {
        window: 12,
        staff: "S601".into(),
        number: None,
    })
    .unwrap();
    l.act(&number, 12, "S601", &CaseAction::Start).unwrap();
    l.act(
        &number,
        12,
        "S601",
        &CaseAction::Escalate {
            reason: "产权人意见不一致".into(),
        },
    )
    .unwrap();
    // The office's console (window 21) opens the case and sees the meeting form.
    let c = console(&db, 21);
    login(&c, "S900", "246813");
    assert!(c.ui.global::<CasePanelAdapter>().get_office());
    // The escalation is an alert at the office's console, whichever department it came from.
    assert!(c.settle(Duration::from_secs(10)));
    let alerts: Vec<(String, String)> =
        c.ui.global::<QueueAdapter>()
            .get_alerts()
            .iter()
            .map(|a| (a.kind.to_string(), a.number.to_string()))
            .collect();
    assert!(
        alerts.contains(&("coordination".to_string(), number.clone())),
        "{alerts:?}"
    );
    c.ui.global::<QueueAdapter>().invoke_select_case(number.as_str().into());
    assert!(c.settle(Duration::from_secs(10)));
    assert!(c.ui.global::<CasePanelAdapter>().get_case().under_coordination);
    type_into(&c, "会议时间", "2026-11-27 15:00");
    type_into(&c, "参会专员", "S601，s001");
    type_into(&c, "会议纪要", "双方同意补充公证材料");
    type_into(&c, "会议决定", "公证后继续办理");
    tap(&c, "记录协调会议");
    let id = l.find_case(&number).unwrap().id;
    let kinds: Vec<String> = l.case_events(id).unwrap().iter().map(|e| e.kind.clone()).collect();
    assert!(
        kinds.contains(&"coordination_meeting".to_string()),
        "{kinds:?}: {}",
        message(&c)
    );
    type_into(&c, "会议决定", "已公证，恢复办理");
    tap(&c, "记录协调结果");
    assert!(!l.find_case(&number).unwrap().under_coordination, "{}", message(&c));
}

/// Draw one frame of the board as a wall screen would (timers, then the software renderer),
/// and say how long it took.
fn frame(
    window: &slint::platform::software_renderer::MinimalSoftwareWindow,
    buf: &mut [slint::Rgb8Pixel],
    w: usize,
) -> Duration {
    let start = std::time::Instant::now();
    slint::platform::update_timers_and_animations();
    window.request_redraw();
    window.draw_if_needed(|r| {
        r.render(buf, w);
    });
    start.elapsed()
}

/// Send `signal` (STOP, CONT) to a process, as an operator's `kill -STOP` would.
fn signal(pid: u32, signal: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -{signal} {pid}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

#[test]
fn a_stopped_server_neither_freezes_the_board_nor_makes_it_repeat_a_call() {
    let window = bangban_headless::install().unwrap();
    let (w, h) = (960u32, 540u32);
    window.set_size(slint::PhysicalSize::new(w, h));
    let mut buf = vec![slint::Rgb8Pixel::default(); (w * h) as usize];
    let (_dir, _db, server, [board, kiosk, counter]) = served_hall();
    let url = server.url.clone();
    let first = issue_and_call(&url, &kiosk, &counter);
    let b = display::board(display::Feed::connect(&url, &board, || {}).unwrap(), None).unwrap();
    b.ui.show().unwrap();
    let a = b.ui.global::<display::BoardAdapter>();
    assert_eq!(a.get_current().number, first.as_str());
    frame(&window, &mut buf, w as usize);

    // The server hangs (SIGSTOP): its sockets stay open and answer nothing, the worst case
    // for a reader, since no error ever comes back by itself.
    signal(server.child.id(), "STOP");
    let stopped = std::time::Instant::now();
    let mut slowest = Duration::ZERO;
    // Past the moment the board notices, and past a clock tick whose queue read hangs.
    while (!a.get_offline() || stopped.elapsed() < display::TICK * 2) && stopped.elapsed() < Duration::from_secs(30) {
        slowest = slowest.max(frame(&window, &mut buf, w as usize));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(a.get_offline(), "the board says it lost the hall server");
    assert!(
        ElementHandle::find_by_accessible_label(&b.ui, "连接中断")
            .next()
            .is_some(),
        "连接中断 is on screen"
    );
    assert!(
        slowest < Duration::from_millis(200),
        "a frame took {slowest:?} while the server was stopped"
    );
    assert_eq!(a.get_current().number, first.as_str(), "the last call stays on screen");

    signal(server.child.id(), "CONT");
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while a.get_offline() && std::time::Instant::now() < end {
        frame(&window, &mut buf, w as usize);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!a.get_offline(), "the board is live again");
    let second = issue_and_call(&url, &kiosk, &counter);
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while a.get_current().number != second.as_str() && std::time::Instant::now() < end {
        frame(&window, &mut buf, w as usize);
        std::thread::sleep(Duration::from_millis(20));
    }
    // A little longer, so a repeated announcement would have arrived too.
    for _ in 0..25 {
        frame(&window, &mut buf, w as usize);
        std::thread::sleep(Duration::from_millis(20));
    }
    let shown: Vec<String> = a.get_recent().iter().map(|r| r.number.to_string()).collect();
    assert_eq!(
        shown,
        [second.clone(), first.clone()],
        "the new call once, the old one not again"
    );
    assert_eq!(a.get_current().number, second.as_str());
}

#[test]
fn a_console_over_the_network_reads_its_line_again_when_the_stream_says_it_moved() {
    let (_dir, _db, server, [_board, kiosk, counter]) = served_hall();
    let (mut desk, _) = display::desk::Desk::open(
        display::desk::Source::Server {
            url: server.url.clone(),
            token: counter,
            ca: None,
        },
        12,
    )
    .unwrap();
    assert!(desk.handle(display::desk::Cmd::Refresh).waiting.is_empty());
    let number = issue_through(&server.url, &kiosk, "F01");
    // The desk reads its line again only when stale (30 s) or when the stream says it moved:
    // the new ticket shows within seconds.
    let start = std::time::Instant::now();
    loop {
        let v = desk.handle(display::desk::Cmd::Refresh);
        if v.waiting.iter().any(|w| w.number == number) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{number} not shown after 5 s of refreshes: {:?}",
            v.waiting
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- over HTTPS with the hall's own CA ----

/// A TCP relay on loopback between devices and the server that keeps every byte it carries
/// both ways: what anyone on the hall's network could read.
struct Relay {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Relay {
    /// A relay to the server at `target` (`scheme://127.0.0.1:PORT`); its own URL is `url`.
    fn to(target: &str) -> Relay {
        use std::io::{Read, Write};
        let (scheme, host) = target.split_once("://").unwrap();
        let target: std::net::SocketAddr = host.trim_end_matches('/').parse().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let (Ok(client), Ok(server)) = (client, std::net::TcpStream::connect(target)) else {
                    continue;
                };
                let ways = [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ];
                for (mut from, mut to) in ways {
                    let kept = kept.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            kept.lock().unwrap().extend_from_slice(&buf[..n]);
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        to.shutdown(std::net::Shutdown::Write).ok();
                    });
                }
            }
        });
        Relay { url, seen }
    }

    fn carried(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `bangban serve --tls auto` on a new demo ledger; the server and its hall CA's file, as
/// `bangban ca export` writes it.
fn served_over_tls(db: &Path, dir: &Path) -> (Server, PathBuf) {
    let tls = dir.join("tls");
    let server = serve_with(
        db,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "auto",
            "--tls-dir",
            tls.to_str().unwrap(),
        ],
    );
    let ca = dir.join("hall-ca.pem");
    let out = Command::new(bangban_bin())
        .arg("--db")
        .arg(db)
        .args([
            "ca",
            "export",
            "--tls-dir",
            tls.to_str().unwrap(),
            "--out",
            ca.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (server, ca)
}

/// An F01 ticket issued as the kiosk through `url`, trusting the CA in `ca`; its number.
fn issue_trusting(url: &str, kiosk: &str, ca: &Path) -> bangban::Result<String> {
    use bangban::api::HallClient;
    let ticket = bangban::remote::RemoteClient::with_ca(url, kiosk, Some(ca))?.issue(&bangban::api::Issue {
        item: "F01".into(),
        priority: None,
        mode: None,
        channel: Channel::Kiosk,
    })?;
    Ok(ticket.number)
}

/// Window 12's console through `url`, trusting the CA in `ca`.
fn console_trusting(url: &str, counter: &str, ca: &Path) -> anyhow::Result<display::counter::Counter> {
    display::counter::counter_on(
        display::counter::Source::Server {
            url: url.into(),
            token: counter.into(),
            ca: Some(ca.to_path_buf()),
        },
        12,
    )
}

#[test]
fn a_kiosk_a_board_and_a_counter_work_over_https_and_no_pin_or_token_crosses_in_clear() {
    i_slint_backend_testing::init_no_event_loop();
    let (dir, db, [board, kiosk, counter]) = enrolled_hall();
    let (server, ca) = served_over_tls(&db, dir.path());
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let relay = Relay::to(&server.url);

    // The kiosk's ticket, the board following the calls, the counter's console: all through
    // the relay, each trusting the hall CA only.
    let number = issue_trusting(&relay.url, &kiosk, &ca).unwrap();
    let feed = display::Feed::connect_trusting(&relay.url, &board, Some(&ca), || {}).unwrap();
    let b = display::board(feed, None).unwrap();
    let c = console_trusting(&relay.url, &counter, &ca).unwrap();
    c.ui.show().unwrap();
    login(&c, "S602", PIN);
    assert!(c.ui.global::<SignInAdapter>().get_logged_in(), "{}", message(&c));
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{number}号到12号窗口办理"));
    let a = b.ui.global::<display::BoardAdapter>();
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while a.get_current().number != number.as_str() && std::time::Instant::now() < end {
        b.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(a.get_current().number, number.as_str(), "the board shows the call");
    assert!(!a.get_offline());

    // Devices given another hall's CA are refused, and say why.
    let (other_dir, other_db, _) = enrolled_hall();
    let (_other, other_ca) = served_over_tls(&other_db, other_dir.path());
    let refused = issue_trusting(&relay.url, &kiosk, &other_ca).unwrap_err().to_string();
    assert!(refused.contains("does not trust the server's certificate"), "{refused}");
    let board_refused = display::Feed::connect_trusting(&relay.url, &board, Some(&other_ca), || {})
        .err()
        .expect("a board with another CA is refused");
    assert!(
        format!("{board_refused:#}").contains("certificate"),
        "{board_refused:#}"
    );
    let counter_refused = console_trusting(&relay.url, &counter, &other_ca)
        .err()
        .expect("a console with another CA is refused");
    assert!(
        format!("{counter_refused:#}").contains("certificate"),
        "{counter_refused:#}"
    );

    // What crossed the wire: TLS records only, and none of the secrets.
    drop(c);
    drop(b);
    let wire = relay.carried();
    assert!(
        wire.len() > 4_000,
        "the relay carried the traffic ({} bytes)",
        wire.len()
    );
    assert_eq!(wire[0], 0x16, "the first byte is a TLS handshake record");
    for (what, secret) in [
        ("the PIN", PIN),
        ("the board's token", board.as_str()),
        ("the kiosk's token", kiosk.as_str()),
        ("the counter's token", counter.as_str()),
        ("the sign-in path", "/api/v1/sign-in"),
        ("the visitor's number", number.as_str()),
    ] {
        assert!(!contains(&wire, secret), "{what} crossed the network in clear");
    }
}

/// The board and the console (as S101) rendered by the `display` binary with no system CJK
/// font, after S101, renamed `name`, called an A01 ticket at window 3: their pixels.
fn rendered_with_specialist_named(name: &str, now: &str) -> (Vec<u8>, Vec<u8>) {
    let (dir, db) = demo_ledger();
    let mut l = ledger(&db);
    let src = bangban::DEMO_HALL.replacen("name = \"王丽\"", &format!("name = \"{name}\""), 1);
    let hall = bangban::Hall::from_toml(&src, "renamed.toml").unwrap();
    l.configure(&hall, "test", "renamed.toml").unwrap();
    issue(&mut l, "A01");
    l.call(&CallRequest {
        window: 3,
        staff: "S101".into(),
        number: None,
    })
    .unwrap();
    drop(l);
    let conf = bangban_headless::cjk_free_fontconfig(dir.path()).unwrap();
    let render = |args: &[&str]| render_without_system_fonts(&db, &conf, now, args);
    let pixels = |path: &Path| {
        let mut reader = png::Decoder::new(BufReader::new(std::fs::File::open(path).unwrap()))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        buf
    };
    let board = dir.path().join("board.png");
    render(&["board", "--render", board.to_str().unwrap()]);
    let counter = dir.path().join("counter.png");
    render(&[
        "counter",
        "--window",
        "3",
        "--staff",
        "S101",
        "--render",
        counter.to_str().unwrap(),
    ]);
    (pixels(&board), pixels(&dir.path().join("counter-console.png")))
}

#[test]
fn a_name_beyond_gb2312_is_drawn_whole_on_the_board_and_the_console() {
    // 许喆 against 许: were 喆 missing from the bundled font it would be dropped without even
    // a box, and both renders would be the same picture.
    let now = this_minute();
    let (board_xz, console_xz) = rendered_with_specialist_named("许喆", &now);
    let (board_x, console_x) = rendered_with_specialist_named("许", &now);
    let differ = |a: &[u8], b: &[u8]| a.iter().zip(b).filter(|(x, y)| x.abs_diff(**y) > 60).count();
    assert!(differ(&board_xz, &board_x) > 100, "the board draws 喆");
    assert!(differ(&console_xz, &console_x) > 100, "the console draws 喆");
}

/// How many pixels differ between two frames within a rectangle of a `w`-wide buffer.
fn changed_in(
    a: &[slint::Rgb8Pixel],
    b: &[slint::Rgb8Pixel],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> usize {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| y * w + x))
        .filter(|&i| a[i] != b[i])
        .count()
}

#[test]
fn the_board_clock_turns_every_minute_past_five_busy_minutes_and_a_new_call_is_redrawn() {
    // A screen that keeps its pixels between frames, as a real display's buffer does: the
    // software renderer draws only what changed (partial rendering), the way the board runs
    // for days on a hall's wall.
    let window =
        bangban_headless::install_with(slint::platform::software_renderer::RepaintBufferType::ReusedBuffer).unwrap();
    let (w, h) = (1280usize, 720usize);
    window.set_size(slint::PhysicalSize::new(w as u32, h as u32));
    let mut buf = vec![slint::Rgb8Pixel::default(); w * h];
    let (_dir, db) = demo_ledger();
    let clock = bangban::clock::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00+08:00")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let opts = LedgerOptions {
        clock: std::sync::Arc::new(clock.clone()),
        ..LedgerOptions::default()
    };
    let b = display::board(display::Feed::open_with(&db, opts.clone()).unwrap(), None).unwrap();
    b.ui.show().unwrap();
    frame(&window, &mut buf, w);
    // The header is the top tenth of the screen; the current call fills the left below it.
    let header = (0, 0, w, h / 10);
    let current = (0, h / 8, w / 2, h * 3 / 4);
    let mut minute_start = buf.clone();
    // A busy hall: a ticket every five seconds, so the waiting counts are drawn anew each
    // time. Slint's text cache is swept after 1,024 new texts, which once cut the clock off
    // from its text: it stopped at one minute while everything else went on.
    let mut kiosk = Ledger::open(&db, opts.clone()).unwrap();
    let items = ["A01", "B01", "C01", "D01", "E01", "F01", "G01", "H01", "J01"];
    for minute in 1..=7 {
        // Twelve ticks of five seconds: the clock turns once, at the minute.
        for t in 0..12 {
            clock.advance(chrono::Duration::seconds(5));
            issue(&mut kiosk, items[(minute * 12 + t) % items.len()]);
            b.tick();
            frame(&window, &mut buf, w);
        }
        let clock_text = b.ui.global::<display::BoardAdapter>().get_clock_text();
        assert!(
            clock_text.ends_with(&format!("09:{minute:02}")),
            "minute {minute}: {clock_text}"
        );
        assert!(
            changed_in(&minute_start, &buf, w, header) > 20,
            "minute {minute}: the header's clock was not drawn again ({clock_text})"
        );
        minute_start = buf.clone();
    }
    // A call after those minutes is drawn too.
    let before = buf.clone();
    let mut l = kiosk;
    let number = l
        .call(&CallRequest {
            window: 3,
            staff: "S101".into(),
            number: None,
        })
        .unwrap()
        .number;
    let a = b.ui.global::<display::BoardAdapter>();
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while a.get_current().number != number.as_str() && std::time::Instant::now() < end {
        b.tick();
        frame(&window, &mut buf, w);
    }
    frame(&window, &mut buf, w);
    assert_eq!(a.get_current().number, number.as_str());
    assert!(
        changed_in(&before, &buf, w, current) > 500,
        "the new call was not drawn"
    );
    // And what the kept buffer shows is what a full redraw shows: nothing stale anywhere
    // but the notice, which scrolls by the real clock (past the highlight's fade first).
    std::thread::sleep(Duration::from_millis(400));
    frame(&window, &mut buf, w);
    let mut full = vec![slint::Rgb8Pixel::default(); w * h];
    window.request_redraw();
    window.draw_if_needed(|r| {
        r.set_repaint_buffer_type(slint::platform::software_renderer::RepaintBufferType::NewBuffer);
        r.render(&mut full, w);
    });
    assert_eq!(changed_in(&buf, &full, w, header), 0, "the header on screen is stale");
    assert_eq!(
        changed_in(&buf, &full, w, current),
        0,
        "the current call on screen is stale"
    );
}

// ---- the board on a busy day ----

/// Where an element lies, in window pixels.
#[derive(Clone, Copy, Debug)]
struct Area {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Area {
    fn of(e: &ElementHandle) -> Area {
        let (p, s) = (e.absolute_position(), e.size());
        Area {
            x: p.x,
            y: p.y,
            w: s.width,
            h: s.height,
        }
    }
    /// Inside `outer`, allowing half a pixel for rounding.
    fn within(&self, outer: &Area) -> bool {
        self.x >= outer.x - 0.5
            && self.y >= outer.y - 0.5
            && self.x + self.w <= outer.x + outer.w + 0.5
            && self.y + self.h <= outer.y + outer.h + 0.5
    }
}

/// What on a window lies off the screen, or (for the components named in `cards`) outside
/// the card it belongs to, one line each.
fn misplaced(ui: &impl slint::ComponentHandle, (w, h): (u32, u32), cards: &[&str]) -> Vec<String> {
    use i_slint_backend_testing::ElementQuery;
    let screen = Area {
        x: 0.0,
        y: 0.0,
        w: w as f32,
        h: h as f32,
    };
    let mut out = Vec::new();
    for e in ElementQuery::from_root(ui).find_all() {
        let r = Area::of(&e);
        if r.w <= 0.0 || r.h <= 0.0 || e.computed_opacity() == 0.0 {
            continue;
        }
        let kind = e.type_name().unwrap_or_default();
        let name = e.accessible_label().unwrap_or_default();
        // The board's notice scrolls through its clipped strip by design.
        if kind == "Text" && r.w > screen.w {
            continue;
        }
        if !r.within(&screen) {
            out.push(format!("{kind} {name:?} at {r:?} is off the screen"));
        }
        if cards.contains(&kind.as_str()) {
            for t in e.query_descendants().match_type_name("Text").find_all() {
                let tr = Area::of(&t);
                if tr.w > 0.0 && tr.h > 0.0 && !tr.within(&r) {
                    out.push(format!(
                        "text {:?} at {tr:?} spills out of {kind} at {r:?}",
                        t.accessible_label().unwrap_or_default()
                    ));
                }
            }
        }
    }
    out
}

/// The departments whose waiting count the board shows now.
fn shown_departments(ui: &display::BoardWindow, hall: &bangban::Hall) -> Vec<String> {
    use i_slint_backend_testing::ElementQuery;
    let names: Vec<String> = ElementQuery::from_root(ui)
        .match_type_name("Queues")
        .find_all()
        .iter()
        .flat_map(|q| q.query_descendants().match_type_name("Text").find_all())
        .filter(|t| t.size().height > 0.0 && t.size().width > 0.0)
        // A long name is drawn on two lines.
        .filter_map(|t| t.accessible_label().map(|l| l.replace('\n', "")))
        .collect();
    hall.departments
        .iter()
        .filter(|d| names.contains(&d.name))
        .map(|d| d.code.clone())
        .collect()
}

/// A ledger of the loadtest's 25-department hall with two visitors waiting in each department
/// and a call in every fifth, its clock at `now`.
fn big_hall_ledger(dir: &Path, now: chrono::DateTime<chrono::Utc>) -> (PathBuf, LedgerOptions, bangban::Hall) {
    let db = dir.join("big.sqlite3");
    let clock = bangban::clock::ManualClock::new(now);
    let opts = LedgerOptions {
        clock: std::sync::Arc::new(clock),
        ..LedgerOptions::default()
    };
    let hall = bangban::Hall::from_toml(&bangban::demo_day::big_hall_toml(), "big.toml").unwrap();
    let mut l = Ledger::open(&db, opts.clone()).unwrap();
    l.configure(&hall, "test", "big.toml").unwrap();
    for d in 0..25 {
        issue(&mut l, &format!("I{d:02}0"));
        issue(&mut l, &format!("I{d:02}1"));
        issue(&mut l, &format!("I{d:02}2"));
        if d % 5 == 0 {
            l.call(&CallRequest {
                window: d * 13 + 1,
                staff: format!("S{d:02}00"),
                number: None,
            })
            .unwrap();
        }
    }
    (db, opts, hall)
}

#[test]
fn the_board_holds_a_busy_day_and_twenty_five_departments_in_both_orientations_and_languages() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let busy_db = dir.path().join("busy.sqlite3");
    let busy = bangban::demo_day::build(&busy_db, today).unwrap();
    let busy_opts = LedgerOptions {
        clock: std::sync::Arc::new(busy.clock.clone()),
        ..LedgerOptions::default()
    };
    drop(busy.ledger);
    let busy_hall = bangban::demo_day::hall().unwrap();
    let now = bangban::clock::Clock::now(&busy.clock);
    let (big_db, big_opts, big_hall) = big_hall_ledger(dir.path(), now);
    let mut failures = Vec::new();
    let mut boards = 0;
    for (label, db, opts, hall) in [
        ("busy day", &busy_db, &busy_opts, &busy_hall),
        ("25 departments", &big_db, &big_opts, &big_hall),
    ] {
        for lang in ["", "en"] {
            for size in [(1920u32, 1080u32), (1080, 1920)] {
                let b = display::board(display::Feed::open_with(db, opts.clone()).unwrap(), None).unwrap();
                slint::select_bundled_translation(lang).unwrap();
                b.ui.set_landscape(size.0 > size.1);
                b.ui.window().set_size(slint::PhysicalSize::new(size.0, size.1));
                b.ui.show().unwrap();
                let what = format!("{label}, {lang:?}, {}x{}", size.0, size.1);
                boards += 1;
                for m in misplaced(&b.ui, size, &["CurrentCall", "RecentCalls", "Queues"]) {
                    failures.push(format!("{what}: {m}"));
                }
                let shown = shown_departments(&b.ui, hall);
                // Landscape: two rows of five; portrait: five rows of two.
                let per_page = 10;
                if shown.len() != hall.departments.len().min(per_page) {
                    failures.push(format!("{what}: {} departments shown: {shown:?}", shown.len()));
                }
                if hall.departments.len() > per_page
                    && ElementHandle::find_by_accessible_label(
                        &b.ui,
                        if lang.is_empty() {
                            "第 1 / 3 页"
                        } else {
                            "page 1 of 3"
                        },
                    )
                    .next()
                    .is_none()
                {
                    failures.push(format!("{what}: no page mark for the departments that do not fit"));
                }
                let recent = b.ui.global::<display::BoardAdapter>().get_recent();
                let numbers: Vec<String> = recent.iter().map(|r| r.number.to_string()).collect();
                let mut unique = numbers.clone();
                unique.sort();
                unique.dedup();
                if unique.len() != numbers.len() {
                    failures.push(format!("{what}: a number has two rows: {numbers:?}"));
                }
                drop(b);
            }
        }
    }
    slint::select_bundled_translation("").unwrap();
    assert_eq!(boards, 8);
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- the console on a busy day ----

#[test]
fn the_console_holds_a_busy_day_and_twenty_five_departments_at_three_screen_sizes_and_both_languages() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let hall = bangban::demo_day::hall().unwrap();
    let today = bangban::clock::business_day(chrono::Utc::now(), hall.tz());
    let busy_db = dir.path().join("busy.sqlite3");
    drop(bangban::demo_day::build(&busy_db, today).unwrap());
    let (big_db, _, _) = big_hall_ledger(dir.path(), chrono::Utc::now());
    let mut failures = Vec::new();
    for (label, db, window, staff) in [
        ("busy day", &busy_db, 1, "S101"),
        ("25 departments", &big_db, 1, "S0000"),
    ] {
        for lang in ["zh", "en"] {
            for size in [(1280u32, 720u32), (1366, 768), (1920, 1080)] {
                let what = format!("{label}, {lang}, {}x{}", size.0, size.1);
                let c = display::counter::counter_on(
                    display::counter::Source::Ledger(db.to_path_buf(), Duration::from_secs(5)),
                    window,
                )
                .unwrap();
                display::counter::set_language(lang);
                c.ui.window().set_size(slint::PhysicalSize::new(size.0, size.1));
                c.ui.show().unwrap();
                display::counter::show_for_render(&c, None, Some(staff.into()));
                for m in misplaced(&c.ui, size, &[]) {
                    failures.push(format!("{what}: {m}"));
                }
                // The busy day's window is serving: calling the next is refused, and the
                // long reason stays on the screen below a long queue.
                if label == "busy day" {
                    let waiting = c.ui.global::<display::QueueAdapter>().get_waiting().row_count();
                    if waiting < 29 {
                        failures.push(format!("{what}: only {waiting} waiting"));
                    }
                    let call = if lang == "en" { "Call next" } else { "叫下一位" };
                    match ElementHandle::find_by_accessible_label(&c.ui, call).next() {
                        Some(b) => b.invoke_accessible_default_action(),
                        None => failures.push(format!("{what}: no {call:?} button")),
                    }
                    c.settle(Duration::from_secs(10));
                    let text = message(&c);
                    if text.is_empty() {
                        failures.push(format!("{what}: no message after a refused call"));
                    }
                    let shown = ElementHandle::find_by_accessible_label(&c.ui, &text).any(|e| {
                        Area::of(&e).within(&Area {
                            x: 0.0,
                            y: 0.0,
                            w: size.0 as f32,
                            h: size.1 as f32,
                        }) && e.size().height > 0.0
                    });
                    if !shown {
                        failures.push(format!("{what}: the message {text:?} is not on the screen"));
                    }
                    for m in misplaced(&c.ui, size, &[]) {
                        failures.push(format!("{what}, after the message: {m}"));
                    }
                }
                drop(c);
            }
        }
    }
    display::counter::set_language("zh");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_case_just_called_offers_only_the_steps_the_rules_allow_next() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S602", PIN, "admin").unwrap();
    let number = issue(&mut l, "F01");
    drop(l);
    let c_db = db.clone();
    let c = display::counter::counter_on(display::counter::Source::Ledger(db, Duration::from_secs(5)), 12).unwrap();
    c.ui.show().unwrap();
    login(&c, "S602", PIN);
    tap(&c, "叫下一位");
    assert_eq!(message(&c), format!("请{number}号到12号窗口办理"));
    let enabled = |label: &str| {
        ElementHandle::find_by_accessible_label(&c.ui, label)
            .next()
            .unwrap_or_else(|| panic!("nothing labelled {label:?}"))
            .accessible_enabled()
            .unwrap_or(true)
    };
    // Called, not yet at the counter: start, hold or send on (转办 once a department is
    // picked, see the transfer test); nothing of the later stages.
    for live in ["开始办理", "暂挂", "转办部门"] {
        assert!(enabled(live), "{live} is live for a case just called");
    }
    for later in [
        "受理（标为已交的）",
        "开始代办",
        "办结待交付",
        "当面交付",
        "邮寄",
        "确认签收",
        "归档",
        "材料已补齐",
    ] {
        assert!(!enabled(later), "{later} is live for a case just called");
    }
    tap(&c, "开始办理");
    assert!(!enabled("受理（标为已交的）"), "acceptance waits for the signed 委托书");
    let poa = ledger(&c_db)
        .form_number(bangban::forms::FormKind::Poa, &number)
        .unwrap();
    signed_on_paper(&c, &poa);
    assert!(
        enabled("受理（标为已交的）"),
        "acceptance is the next step once serving and the 委托书 is signed"
    );
    assert!(!enabled("当面交付"));
}

#[test]
fn a_past_days_number_among_the_alerts_carries_its_date() {
    use display::desk::{Cmd, Desk, Source};
    let (_dir, db) = demo_ledger();
    ledger(&db).set_pin("S201", PIN, "admin").unwrap();
    // A week ago a question at window 4 was left for a later answer (two working days): it is
    // overdue now.
    let now = chrono::Utc::now();
    let clock = bangban::clock::ManualClock::new(now - chrono::Duration::days(7));
    let mut l = Ledger::open(
        &db,
        LedgerOptions {
            clock: std::sync::Arc::new(clock.clone()),
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    let old = issue(&mut l, "B01");
    l.call(&CallRequest {
        window: 4,
        staff: "S201".into(),
        number: None,
    })
    .unwrap();
    l.act(&old, 4, "S201", &CaseAction::Start).unwrap();
    l.act(
        &old,
        4,
        "S201",
        &CaseAction::Consult {
            question: "户口迁入需要哪些证明".into(),
            answer: None,
            resolved: false,
        },
    )
    .unwrap();
    let day = bangban::clock::business_day(now - chrono::Duration::days(7), l.hall().unwrap().tz());
    drop(l);
    let (mut desk, _) = Desk::open(Source::Ledger(db, Duration::from_secs(5)), 4).unwrap();
    let v = desk.handle(Cmd::Login {
        staff: "S201".into(),
        pin: PIN.into(),
    });
    assert!(v.logged_in, "{:?}", v.message);
    let dated = format!("{} {old}", &day.to_string()[5..]);
    assert!(
        v.alerts.iter().any(|a| a.number == dated),
        "an alert numbered {dated:?} among {:?}",
        v.alerts.iter().map(|a| a.number.clone()).collect::<Vec<_>>()
    );
}

// ---- the counter's rating pad ----

/// The pad's screen state ("idle", "serving", "rate", "reasons", "thanks").
fn pad_state(p: &display::pad::Pad) -> String {
    p.ui.global::<display::PadAdapter>().get_state().to_string()
}

/// Let a second pass on the pad, and wait for its answer.
fn pad_second(p: &display::pad::Pad) {
    p.second();
    assert!(p.settle(Duration::from_secs(10)), "the pad did not hear from the hall");
}

#[test]
fn the_pad_offers_the_faces_once_the_visit_is_served_and_records_one_rating_for_its_own_window_only() {
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db, [_board, kiosk, counter]) = enrolled_hall();
    let (pad1, pad2) = {
        let mut l = ledger(&db);
        let one = l
            .add_device_at("pad-1", bangban::access::DeviceRole::Pad, Some(1), "admin")
            .unwrap();
        let two = l
            .add_device_at("pad-2", bangban::access::DeviceRole::Pad, Some(2), "admin")
            .unwrap();
        (one, two)
    };
    let server = serve(&db, "127.0.0.1:0");
    let open = |token: &str, window: u32| {
        let p = display::pad::pad(
            display::pad::Source::Server {
                url: server.url.clone(),
                token: token.into(),
                ca: None,
            },
            window,
        )
        .unwrap();
        p.ui.show().unwrap();
        assert!(p.settle(Duration::from_secs(10)));
        p
    };
    let p = open(&pad1, 1);
    assert_eq!(pad_state(&p), "idle", "nobody is at window 1 yet");

    use bangban::api::HallClient;
    let number = issue_through(&server.url, &kiosk, "A01");
    let mut c = remote(&server.url, &counter);
    c.sign_in(&bangban::api::SignIn {
        staff: "S101".into(),
        pin: PIN.into(),
        window: 1,
    })
    .unwrap();
    c.call(&bangban::api::Call {
        number: Some(number.clone()),
    })
    .unwrap();
    c.act(&bangban::api::Act {
        case: number.clone(),
        action: CaseAction::Start,
    })
    .unwrap();
    pad_second(&p);
    assert_eq!(pad_state(&p), "serving", "the pad shows who serves the visitor");
    let a = p.ui.global::<display::PadAdapter>();
    assert_eq!(a.get_staff_name(), "王丽");
    assert_eq!(
        a.get_badge(),
        "ZZ0101",
        "the specialist's badge number from the hall file"
    );
    assert!(
        ElementHandle::find_by_accessible_label(&p.ui, "满意").next().is_none(),
        "no faces while the visitor is still being served"
    );

    c.act(&bangban::api::Act {
        case: number.clone(),
        action: CaseAction::Consult {
            question: "营业执照变更需要什么材料".into(),
            answer: Some("带上股东会决议".into()),
            resolved: true,
        },
    })
    .unwrap();
    pad_second(&p);
    assert_eq!(pad_state(&p), "rate", "the visit is served: the faces are offered");
    for face in ["非常满意", "满意", "基本满意", "不满意", "非常不满意"] {
        assert!(
            ElementHandle::find_by_accessible_label(&p.ui, face).next().is_some(),
            "the face {face} is on the pad"
        );
    }

    // The pad of window 2 cannot rate a visit of window 1, whatever it sends.
    let case_id = p.case().expect("the pad follows the served case");
    let mut other: Box<dyn HallClient> = Box::new(remote(&server.url, &pad2));
    let refused = other
        .send(bangban::ops::PadRate {
            window: 1,
            case: case_id,
            level: 1,
            reasons: vec![],
        })
        .unwrap_err();
    assert_eq!(refused.kind(), bangban::ErrorKind::Forbidden, "{refused}");
    let refused = other
        .send(bangban::ops::PadRate {
            window: 2,
            case: case_id,
            level: 1,
            reasons: vec![],
        })
        .unwrap_err();
    assert_eq!(refused.kind(), bangban::ErrorKind::Forbidden, "{refused}");

    // 不满意 asks for the reasons, then sends one rating with them.
    ElementHandle::find_by_accessible_label(&p.ui, "不满意")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert_eq!(pad_state(&p), "reasons");
    ElementHandle::find_by_accessible_label(&p.ui, "等候时间长")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    ElementHandle::find_by_accessible_label(&p.ui, "提交评价")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert!(p.settle(Duration::from_secs(10)));
    assert_eq!(pad_state(&p), "thanks");
    assert_eq!(p.ui.global::<display::PadAdapter>().get_problem(), "");

    // A second rating of the same visit is refused: one per visit.
    let mut own: Box<dyn HallClient> = Box::new(remote(&server.url, &pad1));
    let again = own
        .send(bangban::ops::PadRate {
            window: 1,
            case: case_id,
            level: 5,
            reasons: vec![],
        })
        .unwrap_err();
    assert_eq!(again.kind(), bangban::ErrorKind::AlreadyRated, "{again}");
    // After the thanks the pad goes back to greeting, and does not offer the faces again.
    for _ in 0..display::pad::THANKS_FOR_S {
        pad_second(&p);
    }
    assert_eq!(pad_state(&p), "idle");
    drop(p);
    drop(server);

    let mut l = ledger(&db);
    let case = l.find_case(&number).unwrap();
    assert_eq!(case.rating, Some(2));
    assert!(case.follow_up_open, "a bad rating opens the department's follow-up");
    let rated: Vec<_> = l
        .case_events(case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "case_rated")
        .collect();
    assert_eq!(rated.len(), 1, "one rating per visit");
    assert_eq!(rated[0].actor, "pad-1");
    assert!(
        rated[0].payload.contains(r#""channel":"pad""#) && rated[0].payload.contains(r#""reasons":["wait"]"#),
        "{}",
        rated[0].payload
    );
    assert!(l.verify().unwrap().ok);
}

#[test]
fn a_specialist_books_a_visit_for_a_caller_and_reads_the_code_from_the_console() {
    use chrono::Datelike;
    i_slint_backend_testing::init_no_event_loop();
    let (_dir, db) = demo_ledger();
    ledger(&db).set_pin("S101", PIN, "admin").unwrap();
    let c = console(&db, 1);
    login(&c, "S101", PIN);
    // The tab of cases without a ticket (来电 · 网上 · 提前介入).
    c.ui.global::<CasePanelAdapter>().set_tab(2);
    // The next working day, 10:00 in the hall.
    let mut day = chrono::Utc::now().date_naive().succ_opt().unwrap();
    while matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        day = day.succ_opt().unwrap();
    }
    type_into(&c, "预约时间", &format!("{day} 10:00"));
    type_into(&c, "来电人手机号", "13912345678");
    tap(&c, "预约");
    let said =
        c.ui.global::<ConsoleWords>()
            .invoke_message_text(c.ui.global::<SignInAdapter>().get_message());
    assert!(said.starts_with(&format!("已预约 {day} 10:00，签到码 ")), "{said}");
    assert!(said.ends_with("请告知来电人（139****5678）"), "{said}");
    let booked = ledger(&db).appointments_on(day).unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].item, "A01", "the item picked on the panel");
    assert!(said.contains(&booked[0].code), "{said}");
    // A Saturday is refused, in the console's message line.
    let mut saturday = day;
    while saturday.weekday() != chrono::Weekday::Sat {
        saturday = saturday.succ_opt().unwrap();
    }
    type_into(&c, "预约时间", &format!("{saturday} 10:00"));
    type_into(&c, "来电人手机号", "13912345678");
    tap(&c, "预约");
    assert_eq!(failure(&c), "invalid");
    assert_eq!(ledger(&db).appointments_on(saturday).unwrap().len(), 0);
}

// ---- the signature pad ----

/// Draw one stroke on the pad's canvas through the window's pointer events, from `points` in
/// fractions of the canvas (0..1).
fn draw_on_canvas(p: &display::pad::Pad, points: &[(f32, f32)]) {
    use slint::platform::{PointerEventButton, WindowEvent};
    let canvas = ElementHandle::find_by_accessible_label(&p.ui, "签名区")
        .next()
        .expect("the canvas 签名区 is on the pad");
    let (origin, size) = (canvas.absolute_position(), canvas.size());
    let at =
        |(fx, fy): (f32, f32)| slint::LogicalPosition::new(origin.x + fx * size.width, origin.y + fy * size.height);
    let w = p.ui.window();
    w.dispatch_event(WindowEvent::PointerMoved {
        position: at(points[0]),
    });
    w.dispatch_event(WindowEvent::PointerPressed {
        position: at(points[0]),
        button: PointerEventButton::Left,
    });
    for pt in &points[1..] {
        w.dispatch_event(WindowEvent::PointerMoved { position: at(*pt) });
    }
    w.dispatch_event(WindowEvent::PointerReleased {
        position: at(*points.last().unwrap()),
        button: PointerEventButton::Left,
    });
}

#[test]
fn a_signature_drawn_on_the_pad_is_kept_as_a_png_recorded_by_its_hash_embedded_in_the_pdf_and_verified() {
    use base64::Engine as _;
    use sha2::Digest as _;
    i_slint_backend_testing::init_no_event_loop();
    let (dir, db) = demo_ledger();
    let number = {
        let mut l = ledger(&db);
        let number = issue(&mut l, "A01");
        l.call(&CallRequest {
            window: 1,
            staff: "S101".into(),
            number: Some(number.clone()),
        })
        .unwrap();
        l.act(&number, 1, "S101", &CaseAction::Start).unwrap();
        // The 委托书 is not asked for before the principal is known.
        let refused = l
            .act(&number, 1, "S101", &CaseAction::RequestSignature { form: "poa".into() })
            .unwrap_err();
        assert!(refused.to_string().contains("principal"), "{refused}");
        l.act(
            &number,
            1,
            "S101",
            &CaseAction::Principal {
                name: "许喆".into(),
                id_number: "11010519491231002X".into(),
                phone: Some("13812345678".into()),
            },
        )
        .unwrap();
        l.act(&number, 1, "S101", &CaseAction::RequestSignature { form: "poa".into() })
            .unwrap();
        number
    };

    let p = display::pad::pad_on_file(db.clone(), 1).unwrap();
    p.set_signing_only(true);
    p.ui.window().set_size(slint::PhysicalSize::new(1024, 600));
    p.ui.show().unwrap();
    p.ask();
    assert!(p.settle(Duration::from_secs(10)));
    assert_eq!(
        pad_state(&p),
        "sign",
        "the console's request puts the canvas on the pad"
    );
    let a = p.ui.global::<display::PadAdapter>();
    assert_eq!(a.get_form_title(), "帮办代办委托书");
    assert_eq!(a.get_number(), number.as_str());
    // Confirming an empty canvas sends nothing.
    ElementHandle::find_by_accessible_label(&p.ui, "确认签名")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert_eq!(pad_state(&p), "sign");
    assert_eq!(a.get_problem(), "请先在白框内签名");
    // Two strokes: 许 and 喆, roughly.
    draw_on_canvas(&p, &[(0.1, 0.7), (0.2, 0.3), (0.3, 0.6), (0.4, 0.4)]);
    draw_on_canvas(&p, &[(0.5, 0.5), (0.6, 0.3), (0.7, 0.7), (0.9, 0.4)]);
    assert!(
        a.get_sign_path().matches('M').count() == 2,
        "the canvas draws both strokes: {}",
        a.get_sign_path()
    );
    ElementHandle::find_by_accessible_label(&p.ui, "确认签名")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert_eq!(pad_state(&p), "signed");
    assert!(p.settle(Duration::from_secs(10)));
    assert_eq!(a.get_problem(), "", "the signature was recorded");
    drop(p);

    // The PNG is kept with the personal data; the event carries its SHA-256 only.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let payload: String = conn
        .query_row("SELECT payload FROM events WHERE kind = 'form_signed'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(event["form"], "poa");
    assert_eq!(event["window"], 1);
    let png_b64: String = conn
        .query_row(
            "SELECT body FROM notes WHERE id = ?1",
            [event["signature"]["note"].as_i64().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(png_b64).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the signature is a PNG");
    assert_eq!(
        event["signature_sha256"].as_str().unwrap(),
        hex(&sha2::Sha256::digest(&png)),
        "the event names the PNG by its SHA-256"
    );
    let ink = png::Decoder::new(std::io::Cursor::new(&png))
        .read_info()
        .map(|mut r| {
            let mut buf = vec![0; r.output_buffer_size()];
            let info = r.next_frame(&mut buf).unwrap();
            buf[..info.buffer_size()].chunks(4).filter(|px| px[0] < 128).count()
        })
        .unwrap();
    assert!(ink > 500, "the strokes are drawn in the PNG ({ink} dark pixels)");
    assert!(!payload.contains("许喆") && !payload.contains("13812345678"));
    // The request is answered: the pad goes back to waiting.
    let waiting: i64 = conn
        .query_row("SELECT count(*) FROM sign_requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(waiting, 0);
    drop(conn);

    // The signed 委托书: the signature embedded, and `form verify` accepts it byte for byte.
    let pdf = dir.path().join("poa-signed.pdf");
    let run = |args: &[&str]| {
        Command::new(bangban_bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["form", "poa", &number, "--out", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let images = Command::new("pdfimages").arg("-list").arg(&pdf).output().unwrap();
    let listed = String::from_utf8_lossy(&images.stdout);
    assert_eq!(
        listed.lines().skip(2).count(),
        1,
        "one image (the signature) in the signed PDF:\n{listed}"
    );
    let text = Command::new("pdftotext").arg(&pdf).arg("-").output().unwrap();
    let text: String = String::from_utf8_lossy(&text.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("电子签名"), "{text}");
    assert!(
        text.contains("许喆") && text.contains("1101**********002X") && text.contains("138****5678"),
        "{text}"
    );
    let ok = run(&["form", "verify", pdf.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("unaltered"));
    // One byte changed (in the page content, past the header): refused.
    let mut bytes = std::fs::read(&pdf).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    let forged = dir.path().join("poa-forged.pdf");
    std::fs::write(&forged, &bytes).unwrap();
    let bad = run(&["form", "verify", forged.to_str().unwrap()]);
    assert!(!bad.status.success(), "a changed PDF verified");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("altered"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // An unsigned form is no signed form.
    let plain = dir.path().join("acceptance.pdf");
    assert!(run(&["form", "acceptance", &number, "--out", plain.to_str().unwrap()])
        .status
        .success());
    let unsigned = run(&["form", "verify", plain.to_str().unwrap()]);
    assert!(!unsigned.status.success());
    assert!(String::from_utf8_lossy(&unsigned.stderr).contains("not a form signed"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn the_console_records_the_principal_asks_the_pad_to_sign_prints_the_signed_form_and_suspends_the_work() {
    i_slint_backend_testing::init_no_event_loop();
    let (dir, db) = demo_ledger();
    let mut l = ledger(&db);
    l.set_pin("S101", PIN, "admin").unwrap();
    let number = issue(&mut l, "A02");
    drop(l);
    let forms = dir.path().join("forms");
    let c = display::counter::counter_with(
        display::counter::Source::Ledger(db.clone(), Duration::from_secs(5)),
        1,
        None,
        Some(display::desk::A4Target::Dir(forms.clone())),
    )
    .unwrap();
    c.ui.show().unwrap();
    login(&c, "S101", PIN);
    tap(&c, "叫下一位");
    tap(&c, "开始办理");
    let a = c.ui.global::<CasePanelAdapter>();
    a.set_tab(3);
    // A mistyped ID number is refused; the typed details never stay on the screen.
    type_into(&c, "委托人姓名", "许喆");
    type_into(&c, "委托人身份证号", "110105194912310021");
    tap(&c, "保存委托人");
    assert!(message(&c).contains("check digit"), "{}", message(&c));
    type_into(&c, "委托人姓名", "许喆");
    type_into(&c, "委托人身份证号", "11010519491231002X");
    type_into(&c, "委托人手机号", "13912345678");
    tap(&c, "保存委托人");
    assert_eq!(failure(&c), "", "{}", message(&c));
    assert_eq!(a.get_principal(), "许喆 · 1101**********002X · 139****5678");
    // The pad is asked, the visitor signs, the console shows it signed.
    tap(&c, "帮办代办委托书：请在签名板签名");
    assert_eq!(message(&c), "帮办代办委托书：已请访客在签名板上签名");
    let p = display::pad::pad_on_file(db.clone(), 1).unwrap();
    p.set_signing_only(true);
    p.ui.window().set_size(slint::PhysicalSize::new(1024, 600));
    p.ui.show().unwrap();
    p.ask();
    assert!(p.settle(Duration::from_secs(10)));
    assert_eq!(pad_state(&p), "sign");
    draw_on_canvas(&p, &[(0.1, 0.5), (0.3, 0.2), (0.5, 0.7), (0.8, 0.3)]);
    ElementHandle::find_by_accessible_label(&p.ui, "确认签名")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert!(p.settle(Duration::from_secs(10)));
    drop(p);
    tap(&c, "帮办代办委托书：打印");
    assert_eq!(failure(&c), "", "{}", message(&c));
    assert!(a.get_poa_signed(), "the console sees the 委托书 signed");
    let saved: Vec<PathBuf> = std::fs::read_dir(&forms).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].file_name().unwrap().to_str().unwrap().starts_with("WT-"));
    let images = Command::new("pdfimages").arg("-list").arg(&saved[0]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&images.stdout).lines().skip(2).count(),
        1,
        "the printed 委托书 carries the signature"
    );
    // Accepted with the signed 委托书, then suspended and resumed from the same tab.
    a.set_tab(0);
    assert_eq!(a.get_case().number, number.as_str());
    let materials: Vec<String> = a.get_materials().iter().map(|m| m.name.to_string()).collect();
    for m in &materials {
        tap(&c, &format!("{m}：已交"));
    }
    tap(&c, "受理（标为已交的）");
    assert_eq!(a.get_case().state, "accepted", "{}", message(&c));
    a.set_tab(3);
    type_into(&c, "中止或终止的原因", "等待税务部门出具证明");
    type_into(&c, "预计恢复日期", "2099-01-04");
    tap(&c, "中止办理");
    assert_eq!(a.get_case().state, "suspended", "{}", message(&c));
    assert_eq!(a.get_stage_form(), "suspension", "the stage's form is the 中止告知单");
    tap(&c, "恢复办理");
    assert_eq!(a.get_case().state, "accepted", "{}", message(&c));
}
