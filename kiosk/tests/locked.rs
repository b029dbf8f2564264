//! A ledger locked by another process: the kiosk shows a wait state, stays responsive, and
//! then issues the ticket or says plainly that it could not.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiosk::{KioskAdapter, KioskScreen, Notice};
use slint::ComponentHandle;

use crate::support::*;

/// Hold the ledger's write lock from another process for `secs` seconds.
fn lock_from_another_process(db: &std::path::Path, secs: u32) -> std::process::Child {
    let script = format!(
        "import sqlite3,time\nc=sqlite3.connect({:?},isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked',flush=True)\ntime.sleep({secs})\nc.execute('ROLLBACK')\n",
        db.display().to_string()
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the lock holder");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

fn to_confirm(k: &Kiosk) {
    let ui = &k.state.ui;
    tap(ui, "我要办事");
    tap(ui, "公安局户政出入境");
    tap(ui, "居民身份证");
}

#[test]
fn a_ten_second_lock_shows_a_wait_state_then_issues() {
    let k = kiosk_with(|c| c.busy_timeout_ms = 20_000);
    to_confirm(&k);
    let mut holder = lock_from_another_process(&k.db, 10);
    let ui = &k.state.ui;
    let start = Instant::now();
    tap(ui, "确认取号");
    assert!(ui.global::<KioskAdapter>().get_busy(), "the wait state shows at once");
    assert!(visible(ui, "正在出号，请稍候…"));
    // The screen answers while the ledger is locked: the language switch works at once.
    tap(ui, "English");
    assert!(ui.global::<KioskAdapter>().get_english());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the UI thread was not blocked"
    );
    assert!(
        k.state
            .wait_for(Duration::from_secs(25), |ui| screen(ui) == KioskScreen::Ticket),
        "issued after the lock"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(8),
        "it really waited for the lock"
    );
    assert!(!ui.global::<KioskAdapter>().get_busy());
    holder.wait().unwrap();
    assert_eq!(ledger(&k.db).find_case("B001").unwrap().item, "B01");
}

#[test]
fn a_lock_longer_than_the_timeout_says_plainly_that_it_could_not() {
    let k = kiosk_with(|c| c.busy_timeout_ms = 2_000);
    to_confirm(&k);
    let mut holder = lock_from_another_process(&k.db, 10);
    let ui = &k.state.ui;
    tap(ui, "确认取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(8), |ui| ui.global::<KioskAdapter>().get_notice()
            == Notice::LedgerBusy));
    assert!(visible(
        ui,
        "系统繁忙，暂时无法出号。请稍后再试，或到服务台请工作人员帮您取号。"
    ));
    assert!(!ui.global::<KioskAdapter>().get_busy());
    assert_eq!(screen(ui), KioskScreen::Confirm, "the visitor can try again");
    holder.kill().ok();
    holder.wait().ok();
    tap(ui, "知道了");
    tap(ui, "确认取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
    assert_eq!(
        ledger(&k.db).find_case("B001").unwrap().number,
        "B001",
        "the failed attempt used no number"
    );
}
