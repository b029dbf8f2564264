//! Tickets to a real network printer on 127.0.0.1: decoded content, status checks, failures.

use std::time::{Duration, Instant};

use kiosk::{KioskScreen, PrintState, TicketAdapter};
use slint::ComponentHandle;

use crate::support::*;

fn get_ticket(k: &Kiosk) {
    let ui = &k.state.ui;
    tap(ui, "市场监督管理局");
    tap(ui, "企业变更登记");
    tap(ui, "残疾人");
    tap(ui, "确认取号");
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket),
        "no ticket screen"
    );
}

fn print_state(k: &Kiosk) -> PrintState {
    k.state.ui.global::<TicketAdapter>().get_print_state()
}

fn print_events(k: &Kiosk, number: &str) -> Vec<String> {
    let mut l = ledger(&k.db);
    let case = l.find_case(number).unwrap();
    l.case_events(case.id).unwrap().into_iter().map(|e| e.kind).collect()
}

#[test]
fn a_ticket_prints_on_a_network_printer_with_gb18030_text_and_the_token_as_qr() {
    let (port, got) = fake_printer(Behaviour::Healthy);
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://127.0.0.1:{port}")));
    get_ticket(&k);
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |_| print_state(&k) == PrintState::Printed),
        "print state {:?}",
        print_state(&k)
    );
    let r = got
        .recv_timeout(Duration::from_secs(10))
        .expect("the printer got a job");
    let case = ledger(&k.db).find_case("A001").unwrap();
    assert_eq!(
        r.printout.qr_codes(),
        vec![case.token.as_str()],
        "the QR payload is the case token"
    );
    let text = r.printout.text();
    assert!(text.contains("A001"), "{text}");
    assert!(text.contains("市场监督管理局"), "{text}");
    assert!(text.contains("请到 1、2、3 号窗口办理"), "{text}");
    assert!(text.contains("请留意叫号屏，以叫号为准"), "{text}");
    assert!(text.contains("★ 优先办理：残疾人"), "{text}");
    assert!(text.contains("本服务免费"), "{text}");
    assert!(text.contains("□ 修改后的公司章程"), "the materials checklist: {text}");
    assert_eq!(r.printout.cuts(), 1);
    // The department name went out in GB18030, not UTF-8.
    let (gb, _, _) = encoding_rs::GB18030.encode("市场监督管理局");
    assert!(r.bytes.windows(gb.len()).any(|w| w == &gb[..]));
    assert!(
        !r.bytes.windows("市场".len()).any(|w| w == "市场".as_bytes()),
        "no UTF-8 text on the wire"
    );
    // The number is printed large.
    let number = r.printout.lines().find(|l| l.text == "A001").expect("number line");
    assert_eq!(number.size, (3, 3));
    assert!(print_events(&k, "A001").contains(&"ticket_printed".to_string()));
}

fn fails_within_five_seconds(printer: String) {
    let k = kiosk_with(|c| c.printer = Some(printer));
    get_ticket(&k);
    let start = Instant::now();
    assert!(
        k.state
            .wait_for(Duration::from_secs(5), |_| print_state(&k) == PrintState::Failed),
        "no failure screen within 5 s: {:?}",
        print_state(&k)
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    let ui = &k.state.ui;
    assert!(visible(ui, "打印机暂时无法出票，请拍照保存您的号码，或到服务台补打"));
    assert!(visible(ui, "号票二维码"), "the QR code stays on screen");
    assert!(
        ui.global::<kiosk::TicketAdapter>().get_seconds_left() >= 119,
        "the number stays two minutes to be photographed"
    );
    assert!(k.state.wait_for(Duration::from_secs(3), |_| print_events(&k, "A001")
        .contains(&"print_failed".to_string())));
    // The ticket stays valid: the case waits in the queue and can be called.
    let mut l = ledger(&k.db);
    assert_eq!(l.waiting(&[]).unwrap().len(), 1);
    let called = l
        .call(&bangban::CallRequest {
            window: 2,
            staff: "S102".into(),
            number: None,
        })
        .unwrap();
    assert_eq!(called.number, "A001");
}

#[test]
fn a_refused_connection_shows_the_failure_screen_and_records_it() {
    fails_within_five_seconds(format!("tcp://127.0.0.1:{}", refused_port()));
}

#[test]
fn a_printer_that_accepts_and_never_answers_is_a_failure() {
    let (port, _got) = fake_printer(Behaviour::Silent);
    fails_within_five_seconds(format!("tcp://127.0.0.1:{port}"));
}

fn refuses_to_print(b: Behaviour, why: &str) {
    let (port, got) = fake_printer(b);
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://127.0.0.1:{port}")));
    get_ticket(&k);
    assert!(k
        .state
        .wait_for(Duration::from_secs(5), |_| print_state(&k) == PrintState::Failed));
    let mut l = ledger(&k.db);
    let case = l.find_case("A001").unwrap();
    let failed = l
        .case_events(case.id)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "print_failed")
        .expect("a print_failed event");
    // The event keeps the failure's code; the printer's words are a note of the case.
    let payload: serde_json::Value = serde_json::from_str(&failed.payload).unwrap();
    assert_eq!(payload["error"], "offline", "{payload}");
    assert!(!failed.payload.contains(why), "no printer text in the event: {payload}");
    let words = l.note(payload["detail"]["note"].as_i64().unwrap()).unwrap().body;
    assert!(words.contains(why), "{words}");
    drop(k);
    let r = got.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        r.printout.qr_codes().is_empty(),
        "no ticket was sent to a printer that cannot print"
    );
}

#[test]
fn cover_open_is_a_failure_and_nothing_is_printed() {
    refuses_to_print(Behaviour::CoverOpen, "cover open");
}

#[test]
fn paper_out_is_a_failure_and_nothing_is_printed() {
    refuses_to_print(Behaviour::PaperOut, "out of paper");
}

/// Start the printer simulator on a free port; returns the port once it accepts connections.
fn simulator(dir: &std::path::Path, condition: bangban_printer::sim::Condition) -> u16 {
    let port = refused_port();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || bangban_printer::sim::run(&format!("127.0.0.1:{port}"), &dir, condition, |_, _| {}));
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(5), "the simulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    port
}

#[test]
fn the_printer_simulator_previews_a_real_kiosk_ticket_with_a_readable_qr() {
    let out = tempfile::tempdir().unwrap();
    let port = simulator(out.path(), Default::default());
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://127.0.0.1:{port}")));
    get_ticket(&k);
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |_| print_state(&k) == PrintState::Printed));
    let png = out.path().join("ticket-001.png");
    let txt = out.path().join("ticket-001.txt");
    let start = Instant::now();
    while !png.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "no preview written");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(
        text.contains("市场监督管理局") && text.contains("A001") && text.contains("切纸"),
        "{text}"
    );
    let token = ledger(&k.db).find_case("A001").unwrap().token;
    let zbar = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&png)
        .output()
        .expect("zbarimg (Debian zbar-tools)");
    assert_eq!(
        String::from_utf8_lossy(&zbar.stdout).trim(),
        token,
        "the preview's QR decodes to the case token"
    );
}

#[test]
fn the_simulator_switches_make_the_kiosk_show_its_failure_screen() {
    let out = tempfile::tempdir().unwrap();
    let port = simulator(
        out.path(),
        bangban_printer::sim::Condition {
            paper_out: true,
            ..Default::default()
        },
    );
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://127.0.0.1:{port}")));
    get_ticket(&k);
    assert!(k
        .state
        .wait_for(Duration::from_secs(5), |_| print_state(&k) == PrintState::Failed));
    assert!(visible(
        &k.state.ui,
        "打印机暂时无法出票，请拍照保存您的号码，或到服务台补打"
    ));
}

/// A printer that takes the status request and then fails mid-ticket: the visitor sees the
/// failure screen (with the number to photograph) and the ledger says `print_failed`.
fn dies_mid_ticket(condition: bangban_printer::sim::Condition) {
    let out = tempfile::tempdir().unwrap();
    let port = simulator(out.path(), condition);
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://127.0.0.1:{port}")));
    get_ticket(&k);
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |_| print_state(&k) == PrintState::Failed),
        "{condition:?}: the kiosk did not report the failed print"
    );
    assert!(visible(
        &k.state.ui,
        "打印机暂时无法出票，请拍照保存您的号码，或到服务台补打"
    ));
    let events = print_events(&k, "A001");
    assert!(events.contains(&"print_failed".to_string()), "{events:?}");
    assert!(!events.contains(&"ticket_printed".to_string()), "{events:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no ticket came out");
}

#[test]
fn a_printer_that_dies_after_200_bytes_shows_the_failure_screen() {
    dies_mid_ticket(bangban_printer::sim::Condition {
        die_after_bytes: Some(200),
        ..Default::default()
    });
}

#[test]
fn a_printer_that_closes_after_the_status_answer_shows_the_failure_screen() {
    dies_mid_ticket(bangban_printer::sim::Condition {
        close_after_status: true,
        ..Default::default()
    });
}

#[test]
fn a_ticket_prints_on_a_printer_named_by_host_name() {
    let out = tempfile::tempdir().unwrap();
    let port = simulator(out.path(), Default::default());
    let k = kiosk_with(|c| c.printer = Some(format!("tcp://localhost:{port}")));
    get_ticket(&k);
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |_| print_state(&k) == PrintState::Printed));
    assert!(print_events(&k, "A001").contains(&"ticket_printed".to_string()));
}
