//! Booking from the phone (`/book` in headless Chromium) and checking in at the kiosk: the
//! phone is proved by a code sent through the hall's hook, the check-in code arrives the same
//! way, and the kiosk's ticket carries the appointment priority. A Saturday, a full slot and a
//! second booking from the same phone within a minute are refused.

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use headless_chrome::{Browser, LaunchOptions, Tab};
use kiosk::{KioskScreen, TicketAdapter};
use slint::ComponentHandle;

use crate::support::*;

/// Monday 7 December 2026, 09:40 in the hall: the 10:00 slot checks in from 09:30.
const NOW: &str = "2026-12-07T01:40:00Z";
const PHONE: &str = "13912345678";

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

fn serve_at(db: &Path, now: &str) -> Server {
    let bin = Path::new(env!("CARGO_BIN_EXE_kiosk")).with_file_name("bangban");
    let mut child = Command::new(bin)
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("BANGBAN_NOW", now)
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
        .expect("listening")
        .to_string();
    Server { child, url }
}

fn chromium() -> Browser {
    let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Debian's chromium (scripts/setup installs it)");
    let profile = tempfile::tempdir().unwrap().keep();
    Browser::new(
        LaunchOptions::default_builder()
            .path(Some(path))
            .sandbox(false)
            .headless(true)
            .window_size(Some((390, 844)))
            .user_data_dir(Some(profile))
            .args(
                [
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-sync",
                ]
                .iter()
                .map(OsStr::new)
                .collect(),
            )
            .idle_browser_timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
    )
    .expect("start headless chromium")
}

/// The messages the hook was given, one JSON object per line.
fn sent(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("sent.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The latest message of a kind to the visitor's phone: the hall's other bookings are sent
/// their codes by the same notifier, in any order.
#[track_caller]
fn message(dir: &Path, kind: &str) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(m) = sent(dir)
            .into_iter()
            .rev()
            .find(|m| m["kind"] == kind && m["phone"] == PHONE)
        {
            return m;
        }
        assert!(Instant::now() < end, "no {kind} message: {:?}", sent(dir));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The six digits after `words` in a message.
fn digits_after(text: &str, words: &str) -> String {
    let at = text.find(words).unwrap_or_else(|| panic!("{words:?} not in {text:?}")) + words.len();
    text[at..].trim_start().chars().take(6).collect()
}

fn click(tab: &Tab, selector: &str) {
    tab.wait_for_element_with_custom_timeout(selector, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .unwrap();
}

fn text_when(tab: &Tab, selector: &str, pred: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = tab
            .find_element(selector)
            .and_then(|e| e.get_inner_text())
            .unwrap_or_default();
        if pred(&text) || Instant::now() > end {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `fetch` from the page itself: (status, body).
fn post(tab: &Tab, path: &str, body: serde_json::Value) -> (u16, String) {
    let js = format!(
        "fetch({path:?}, {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({body})}}).then(async r => r.status + ' ' + await r.text())"
    );
    let out = tab.evaluate(&js, true).unwrap().value.unwrap();
    let out = out.as_str().unwrap().to_string();
    let (status, rest) = out.split_once(' ').unwrap();
    (status.parse().unwrap(), rest.to_string())
}

#[test]
fn a_visit_booked_on_the_phone_checks_in_at_the_kiosk_with_the_code_from_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite3");
    let d = dir.path().display();
    let mut toml = bangban::DEMO_HALL.to_string();
    toml.push_str(&format!(
        "\n[notify]\ncommand = \"cat >> '{d}/sent.jsonl'; echo >> '{d}/sent.jsonl'\"\nretry_seconds = 1\n"
    ));
    let hall = bangban::Hall::from_toml(&toml, "hall.toml").unwrap();
    let clock = Arc::new(bangban::clock::ManualClock::new(NOW.parse().unwrap()));
    let kiosk_token = {
        let mut l = bangban::Ledger::open(
            &db,
            bangban::LedgerOptions {
                clock: clock.clone(),
                ..Default::default()
            },
        )
        .unwrap();
        l.configure(&hall, "test", "hall.toml").unwrap();
        // The 10:30 slot of 市场监督 is taken (four a slot), by phone.
        for n in 0..4 {
            l.book_appointment("A03", "2026-12-07 10:35", &format!("1380000000{n}"), "S101", "phone")
                .unwrap();
        }
        l.add_device("kiosk-1", bangban::access::DeviceRole::Kiosk, "admin")
            .unwrap()
    };
    let server = serve_at(&db, NOW);
    let browser = chromium();
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("{}/book", server.url)).unwrap();
    tab.wait_until_navigated().unwrap();

    click(&tab, "#depts button[data-code=SCJG]");
    click(&tab, "#items button[data-code=A03]");
    // Materials from the hall file, the weekend not offered.
    let mats = text_when(&tab, "#mats", |t| !t.is_empty());
    assert!(mats.contains("股东会决议"), "{mats}");
    let days = text_when(&tab, "#days", |t| !t.is_empty());
    assert!(days.contains("12-07") && days.contains("12-11"), "{days}");
    assert!(
        !days.contains("12-12") && !days.contains("12-13"),
        "a Saturday and a Sunday are not offered: {days}"
    );
    click(&tab, "#days button[data-date='2026-12-07']");
    // The full slot is shown full and cannot be picked.
    let full = tab.wait_for_element("#slots button[data-time='10:30']").unwrap();
    assert!(full.get_inner_text().unwrap().contains("已满"));
    assert_eq!(
        full.call_js_fn("function() { return this.disabled; }", vec![], false)
            .unwrap()
            .value,
        Some(serde_json::Value::Bool(true))
    );
    click(&tab, "#slots button[data-time='10:00']");
    tab.find_element("#phone-input").unwrap().type_into(PHONE).unwrap();
    click(&tab, "#getCode");
    let verify = message(dir.path(), "verify");
    assert_eq!(verify["phone"], PHONE);
    let vcode = digits_after(verify["text"].as_str().unwrap(), "验证码");
    assert_eq!(
        text_when(&tab, "#codeMsg", |t| !t.is_empty()),
        "验证码已发送到 139****5678"
    );
    tab.find_element("#vcode").unwrap().type_into(&vcode).unwrap();
    let shot = tab
        .capture_screenshot(
            headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption::Png,
            None,
            None,
            true,
        )
        .unwrap();
    click(&tab, "#book");
    let code = text_when(&tab, "#resultCode", |t| t.len() == 6);
    assert_eq!(code.len(), 6, "the check-in code is on the screen");
    let booked = message(dir.path(), "booked");
    assert_eq!(
        digits_after(booked["text"].as_str().unwrap(), "签到码"),
        code,
        "and in the message"
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screens");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("book-page.png"), &shot).unwrap();
    let done = tab
        .capture_screenshot(
            headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption::Png,
            None,
            None,
            true,
        )
        .unwrap();
    std::fs::write(shots.join("book-page-done.png"), &done).unwrap();

    // A second booking from the same phone within the minute: refused, whatever the code.
    let (status, _) = post(
        &tab,
        "/book/new",
        serde_json::json!({"item": "A03", "date": "2026-12-08", "time": "10:00", "phone": PHONE, "code": vcode}),
    );
    assert_eq!(status, 429);
    // A Saturday and the full slot, asked for directly with a good code: refused by the ledger.
    let other = "13700001111";
    let (status, _) = post(&tab, "/book/code", serde_json::json!({"phone": other}));
    assert_eq!(status, 200);
    let code2 = {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = sent(dir.path()).into_iter().find(|m| m["phone"] == other) {
                break digits_after(m["text"].as_str().unwrap(), "验证码");
            }
            assert!(Instant::now() < end);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (status, body) = post(
        &tab,
        "/book/new",
        serde_json::json!({"item": "A03", "date": "2026-12-12", "time": "10:00", "phone": other, "code": code2}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("closed that day"), "{body}");
    let (status, body) = post(
        &tab,
        "/book/new",
        serde_json::json!({"item": "A03", "date": "2026-12-07", "time": "10:30", "phone": other, "code": code2}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is full"), "{body}");

    // At the kiosk: 预约签到, the six digits, and the ticket is an appointment's.
    let k = kiosk_with(|c| {
        c.server = Some(server.url.clone());
        c.token = Some(kiosk_token.clone());
        c.demo = false;
    });
    let ui = &k.state.ui;
    tap(ui, "预约签到");
    assert_eq!(screen(ui), KioskScreen::Checkin);
    for c in code.chars() {
        tap(ui, &c.to_string());
    }
    tap(ui, "签到取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
    let t = ui.global::<TicketAdapter>();
    assert_eq!(t.get_priority_name(), "预约");
    assert!(t.get_number().starts_with('A'), "{}", t.get_number());
}
