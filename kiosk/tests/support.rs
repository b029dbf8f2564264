//! Helpers: a kiosk on a scratch ledger, taps by accessible label, a fake network printer.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use i_slint_backend_testing::ElementHandle;
use kiosk::{Config, KioskAdapter, KioskScreen, KioskWindow, State};
use slint::ComponentHandle;

pub struct Kiosk {
    pub state: State,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

/// A kiosk on a fresh demo ledger, under the testing backend (one per test thread).
pub fn kiosk_with(adjust: impl FnOnce(&mut Config)) -> Kiosk {
    kiosk_on(bangban::clock::from_env(), adjust)
}

/// A kiosk whose ledger (and clock) say it is `clock`'s time.
pub fn kiosk_on(clock: std::sync::Arc<dyn bangban::clock::Clock>, adjust: impl FnOnce(&mut Config)) -> Kiosk {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ledger.sqlite3");
    let mut config = Config::for_ledger(db.clone());
    adjust(&mut config);
    let state = kiosk::init_with_clock(config, clock).expect("kiosk starts");
    state.ui.show().expect("show");
    Kiosk { state, db, _dir: dir }
}

pub fn kiosk() -> Kiosk {
    kiosk_with(|_| {})
}

/// Tap the first element with this accessible label, as a visitor would.
#[track_caller]
pub fn tap(ui: &KioskWindow, label: &str) {
    let el = ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("nothing labelled {label:?} on screen"));
    el.invoke_accessible_default_action();
}

pub fn visible(ui: &KioskWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, label).next().is_some()
}

pub fn screen(ui: &KioskWindow) -> KioskScreen {
    ui.global::<KioskAdapter>().get_screen()
}

pub fn ledger(db: &std::path::Path) -> bangban::Ledger {
    bangban::Ledger::open(db, bangban::LedgerOptions::default()).expect("open ledger")
}

/// What a fake network printer received, decoded, and how it answered.
pub struct Received {
    pub bytes: Vec<u8>,
    pub printout: bangban_printer::decode::Printout,
}

/// How the fake printer behaves.
#[derive(Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Answers every DLE EOT with "online, cover closed, paper present".
    Healthy,
    /// Accepts the connection and never says a word.
    Silent,
    /// Online bit off, cover open.
    CoverOpen,
    /// Paper end sensor says no paper.
    PaperOut,
}

/// Start a one-job fake printer; returns its port and a receiver for what it got.
pub fn fake_printer(behaviour: Behaviour) -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let got = serve(stream, behaviour);
        let _ = tx.send(got);
    });
    (port, rx)
}

fn serve(mut stream: TcpStream, behaviour: Behaviour) -> Received {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(8)));
    let mut decoder = bangban_printer::decode::Decoder::default();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        bytes.extend_from_slice(&buf[..n]);
        for req in decoder.feed(&buf[..n]) {
            let answer = match (behaviour, req) {
                (Behaviour::Silent, _) => continue,
                (Behaviour::CoverOpen, 1) => 0x1A,
                (Behaviour::CoverOpen, 2) => 0x16,
                (Behaviour::PaperOut, 4) => 0x7E,
                (_, 1) => 0x12,
                (_, _) => 0x12,
            };
            let _ = stream.write_all(&[answer]);
        }
    }
    Received {
        bytes,
        printout: decoder.finish(),
    }
}

/// A port with nothing listening: connections are refused.
pub fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

/// A ticket issued straight into the ledger, as another kiosk would.
pub fn issue(db: &std::path::Path, item: &str) -> String {
    ledger(db)
        .issue(&bangban::IssueRequest {
            item: item.into(),
            priority: None,
            mode: None,
            channel: bangban::Channel::Kiosk,
            actor: "kiosk-2".into(),
        })
        .expect("issue")
        .number
}

/// 「确认取号」, then the ticket screen within ten seconds (the worker issues it).
#[track_caller]
pub fn take_ticket(k: &Kiosk) {
    tap(&k.state.ui, "确认取号");
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket),
        "no ticket screen"
    );
}

/// A kiosk on the busy morning's ledger (80 waiting, the longest names, rare characters) at its
/// half past ten, under the testing backend with the software renderer, so a test can look at
/// the pixels (`ui.window().take_snapshot()`). One per test thread.
pub fn busy_kiosk_drawn() -> Kiosk {
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        },
    )))
    .expect("a fresh test thread");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("busy.sqlite3");
    let hall = bangban::demo_day::hall().unwrap();
    let day = bangban::clock::business_day(chrono::Utc::now(), hall.tz());
    let busy = bangban::demo_day::build(&db, day).expect("the busy day");
    let clock: std::sync::Arc<dyn bangban::clock::Clock> = std::sync::Arc::new(busy.clock.clone());
    drop(busy.ledger);
    let mut config = Config::for_ledger(db.clone());
    config.demo = false;
    let state = kiosk::init_with_clock(config, clock).expect("kiosk starts");
    state.ui.show().expect("show");
    Kiosk { state, db, _dir: dir }
}

/// A kiosk on the loadtest's hall of 25 departments (three items each, three visitors waiting
/// in each department), under the testing backend: more departments than any screen holds.
pub fn big_hall_kiosk() -> Kiosk {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("big.sqlite3");
    let hall = bangban::Hall::from_toml(&bangban::demo_day::big_hall_toml(), "big.toml").unwrap();
    let mut l = bangban::Ledger::open(&db, bangban::LedgerOptions::default()).expect("open ledger");
    l.configure(&hall, "test", "big.toml").expect("configure");
    for item in hall.items.iter() {
        l.issue(&bangban::IssueRequest {
            item: item.code.clone(),
            priority: None,
            mode: None,
            channel: bangban::Channel::Kiosk,
            actor: "kiosk-2".into(),
        })
        .expect("issue");
    }
    drop(l);
    let mut config = Config::for_ledger(db.clone());
    config.demo = false;
    let state = kiosk::init(config).expect("kiosk starts");
    state.ui.show().expect("show");
    Kiosk { state, db, _dir: dir }
}
