//! When the ledger cannot issue — locked by another process, or the day closed — the kiosk
//! shows a wait state, stays responsive, and then issues the ticket or says plainly why not.

use std::time::{Duration, Instant};

use kiosk::{KioskAdapter, KioskScreen, Notice};
use slint::ComponentHandle;

use crate::support::*;

/// Another program holding the ledger's write lock for `secs` seconds: a second SQLite
/// connection on its own thread (SQLite locks the file, so to the kiosk's connection this is
/// the same as another process). Returns once the lock is held.
fn lock_from_another_process(db: &std::path::Path, secs: u32) -> LockHolder {
    let db = db.to_path_buf();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).expect("open the ledger for the lock holder");
        conn.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
        held_tx.send(()).unwrap();
        // Hold until the time is up, or until the test lets go early.
        let _ = release_rx.recv_timeout(Duration::from_secs(secs as u64));
        conn.execute_batch("ROLLBACK").expect("release the write lock");
    });
    held_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the lock holder took the lock");
    LockHolder {
        release: release_tx,
        thread: Some(thread),
    }
}

struct LockHolder {
    release: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LockHolder {
    /// Wait until the holder has released the lock by itself.
    fn wait(&mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
    /// Release the lock now.
    fn kill(&mut self) {
        let _ = self.release.send(());
        self.wait();
    }
}

fn to_confirm(k: &Kiosk) {
    let ui = &k.state.ui;
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
    holder.wait();
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
    // The visitor's words only: nothing of the ledger's own error text.
    let developer: Vec<String> = i_slint_backend_testing::ElementQuery::from_root(ui)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .filter(|l| {
            ["ledger", "sqlite", "database", "busy", "locked"]
                .iter()
                .any(|w| l.to_lowercase().contains(w))
        })
        .collect();
    assert!(developer.is_empty(), "developer text on the kiosk: {developer:?}");
    assert!(!ui.global::<KioskAdapter>().get_busy());
    assert_eq!(screen(ui), KioskScreen::Confirm, "the visitor can try again");
    holder.kill();
    tap(ui, "知道了");
    take_ticket(&k);
    assert_eq!(
        ledger(&k.db).find_case("B001").unwrap().number,
        "B001",
        "the failed attempt used no number"
    );
}

#[test]
fn after_the_daily_close_the_kiosk_says_tickets_have_ended_for_today() {
    let k = kiosk();
    // The office closes today (日结) while this kiosk is still on: a clock at 23:00 of the
    // kiosk's business day, after the hall's closing time.
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    let today = bangban::clock::business_day(chrono::Utc::now(), tz);
    let late = today
        .and_hms_opt(23, 0, 0)
        .unwrap()
        .and_local_timezone(tz)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut office = bangban::Ledger::open(
        &k.db,
        bangban::LedgerOptions {
            clock: std::sync::Arc::new(bangban::clock::ManualClock::new(late)),
            ..Default::default()
        },
    )
    .unwrap();
    office.close_day(today, "office").unwrap();
    to_confirm(&k);
    let ui = &k.state.ui;
    tap(ui, "确认取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(8), |ui| ui.global::<KioskAdapter>().get_notice()
            == Notice::DayClosed));
    assert!(visible(
        ui,
        "今天的取号已经结束。请明天再来；如有急事，请到服务台找工作人员。"
    ));
    let hall = bangban::Hall::from_toml(bangban::DEMO_HALL, "demo").unwrap();
    assert!(
        visible(ui, &format!("办理时间：每个工作日 {}–{}", hall.open, hall.close)),
        "the visitor learns when to come back"
    );
    assert!(
        office.find_case("B001").is_err(),
        "no number was issued on the closed day"
    );
}

#[test]
fn outside_the_halls_hours_the_kiosk_says_no_ticket_now_and_when_to_come() {
    // A hall that issues only in its hours, last ticket 16:30; Sunday 6 December, 03:00.
    let files = tempfile::tempdir().unwrap();
    let hall_file = files.path().join("hall.toml");
    std::fs::write(
        &hall_file,
        bangban::DEMO_HALL.replacen(
            "[hall]\n",
            "[hall]\nissue_only_in_hours = true\nlast_ticket = \"16:30\"\n",
            1,
        ),
    )
    .unwrap();
    let night = chrono::DateTime::parse_from_rfc3339("2026-12-06T03:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let k = kiosk_on(std::sync::Arc::new(bangban::clock::ManualClock::new(night)), |c| {
        c.hall = Some(hall_file.clone())
    });
    to_confirm(&k);
    let ui = &k.state.ui;
    tap(ui, "确认取号");
    assert!(
        k.state
            .wait_for(Duration::from_secs(8), |ui| ui.global::<KioskAdapter>().get_notice()
                == Notice::OutsideHours),
        "{:?} on {:?}",
        ui.global::<KioskAdapter>().get_notice(),
        screen(ui)
    );
    assert!(visible(ui, "现在不是取号时间，请在办理时间内来取号。"));
    assert!(
        visible(ui, "办理时间：每个工作日 09:00–17:00，16:30 停止取号"),
        "the visitor learns when to come back"
    );
    assert!(ledger(&k.db).cases().unwrap().is_empty(), "no number was issued");
}
