//! The kiosk on a served ledger (`bangban serve`): tickets go through the server, print
//! outcomes are recorded there, and a server out of reach pauses tickets within five seconds
//! and resumes them by itself.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiosk::{KioskAdapter, KioskScreen, PrintState, TicketAdapter};
use slint::ComponentHandle;

use crate::support::*;

fn bangban_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_kiosk")).with_file_name("bangban");
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

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

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
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    Server { child, url }
}

/// A demo ledger served on loopback, and a kiosk on it enrolled as kiosk-1.
fn served_kiosk(printer: Option<String>) -> (tempfile::TempDir, PathBuf, Server, kiosk::State) {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite3");
    let mut l = bangban::open_or_demo(&db, bangban::LedgerOptions::default(), "test").unwrap();
    let token = l
        .add_device("kiosk-1", bangban::access::DeviceRole::Kiosk, "admin")
        .unwrap();
    drop(l);
    let server = serve(&db, "127.0.0.1:0");
    let mut config = kiosk::Config::for_ledger(db.clone());
    config.db = None;
    config.demo = false;
    config.server = Some(server.url.clone());
    config.token = Some(token);
    config.printer = printer.or(Some("none".into()));
    let state = kiosk::init(config).expect("a kiosk on the server starts");
    state.ui.show().unwrap();
    (dir, db, server, state)
}

/// A visitor takes an 企业变更登记 ticket; the kiosk shows it and its printer printed it.
fn take_a_printed_ticket(state: &kiosk::State) {
    let ui = &state.ui;
    tap(ui, "市场监督管理局");
    tap(ui, "企业变更登记");
    tap(ui, "确认取号");
    assert!(state.wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
    assert!(state.wait_for(Duration::from_secs(10), |ui| {
        ui.global::<TicketAdapter>().get_print_state() == PrintState::Printed
    }));
}

#[test]
fn a_kiosk_on_the_server_issues_and_the_print_is_recorded_there() {
    let (port, got) = fake_printer(Behaviour::Healthy);
    let (_dir, db, server, state) = served_kiosk(Some(format!("tcp://127.0.0.1:{port}")));
    take_a_printed_ticket(&state);
    let printed = got.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(printed.printout.text().contains("A001"));
    drop(state);
    drop(server);
    let mut l = ledger(&db);
    let case = l.find_case("A001").unwrap();
    let events = l.case_events(case.id).unwrap();
    assert_eq!(
        events[0].actor, "kiosk-1",
        "the server attributes the ticket to the kiosk"
    );
    let printed = events
        .iter()
        .find(|e| e.kind == "ticket_printed")
        .expect("recorded through the server");
    assert!(printed.actor.starts_with("kiosk-1/printer:tcp://"), "{}", printed.actor);
}

#[test]
fn a_server_out_of_reach_pauses_tickets_within_five_seconds_and_they_resume() {
    let (_dir, db, mut server, state) = served_kiosk(None);
    let ui = &state.ui;
    let port = server.url.rsplit(':').next().unwrap().to_string();
    assert!(!ui.global::<KioskAdapter>().get_paused());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let start = Instant::now();
    let paused = |ui: &kiosk::KioskWindow| ui.global::<KioskAdapter>().get_paused();
    while !paused(ui) && start.elapsed() < Duration::from_secs(8) {
        // The health check runs on the kiosk's timer (mocked time), the answer on real time.
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(500));
        state.wait_for(Duration::from_millis(500), paused);
    }
    assert!(paused(ui), "tickets were not paused");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert!(visible(ui, "暂停出号"));
    assert!(visible(
        ui,
        "网络连接中断，暂时无法取号。请到服务台，工作人员会帮您办理。"
    ));
    // The server comes back on the same address: the kiosk resumes by itself.
    let _server2 = serve(&db, &format!("127.0.0.1:{port}"));
    let start = Instant::now();
    while paused(ui) && start.elapsed() < Duration::from_secs(10) {
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(500));
        state.wait_for(Duration::from_millis(500), |ui| !paused(ui));
    }
    assert!(!paused(ui), "the kiosk did not resume");
    tap(ui, "公安局户政出入境");
    tap(ui, "居民身份证");
    tap(ui, "确认取号");
    assert!(state.wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
}

/// A demo ledger served over HTTPS with its own hall CA (`--tls auto`); the CA's file.
fn served_over_tls(dir: &Path, name: &str) -> (PathBuf, Server, PathBuf, String) {
    let db = dir.join(format!("{name}.sqlite3"));
    let mut l = bangban::open_or_demo(&db, bangban::LedgerOptions::default(), "test").unwrap();
    let token = l
        .add_device("kiosk-1", bangban::access::DeviceRole::Kiosk, "admin")
        .unwrap();
    drop(l);
    let tls = dir.join(format!("{name}-tls"));
    let server = serve_with(
        &db,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "auto",
            "--tls-dir",
            tls.to_str().unwrap(),
        ],
    );
    (db, server, tls.join("ca.pem"), token)
}

#[test]
fn a_kiosk_issues_and_prints_over_https_trusting_only_its_hall_ca() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().unwrap();
    let (db, server, ca, token) = served_over_tls(dir.path(), "hall");
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let (_other_db, _other, other_ca, _) = served_over_tls(dir.path(), "another-hall");
    let config = |ca: &Path| {
        let mut config = kiosk::Config::for_ledger(db.clone());
        config.db = None;
        config.demo = false;
        config.server = Some(server.url.clone());
        config.token = Some(token.clone());
        config.ca = Some(ca.to_path_buf());
        config
    };

    // A kiosk given another hall's CA does not start: it cannot tell this server from an
    // impostor, and says what to do.
    let refused = kiosk::init(config(&other_ca)).err().expect("another CA is refused");
    let why = format!("{refused:#}");
    assert!(
        why.contains("does not trust the server's certificate") && why.contains("bangban ca export"),
        "{why}"
    );

    let (port, got) = fake_printer(Behaviour::Healthy);
    let mut trusting = config(&ca);
    trusting.printer = Some(format!("tcp://127.0.0.1:{port}"));
    let state = kiosk::init(trusting).expect("a kiosk trusting the hall CA starts");
    state.ui.show().unwrap();
    take_a_printed_ticket(&state);
    assert!(got
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .printout
        .text()
        .contains("A001"));
    drop(state);
    drop(server);
    let mut l = ledger(&db);
    let case = l.find_case("A001").unwrap();
    let kinds: Vec<String> = l.case_events(case.id).unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().any(|k| k == "ticket_printed"), "{kinds:?}");
}
