//! The visitor's status page (`/t/{token}`) in a real headless Chromium: the number, the
//! queue, the live switch to 「请到 N 号窗口」 when called, the stages, the English switch,
//! and a screenshot with real Chinese glyphs (the page falls back to the served font).

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Emulation;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions};

use crate::support::*;

fn chromium() -> Browser {
    let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(std::path::PathBuf::from)
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
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
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

/// The text of `#id` once `pred` holds for it, within `secs`.
fn text_when(tab: &headless_chrome::Tab, id: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let text = tab
            .find_element(&format!("#{id}"))
            .and_then(|e| e.get_inner_text())
            .unwrap_or_default();
        if pred(&text) || Instant::now() > end {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_status_page_follows_a_ticket_live_in_a_real_browser() {
    let t = demo_ledger();
    set_pins(&t.db, &["S101"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let counter = enrol(&t.db, "counter-1", "counter");
    let s = Served::start(&t.db);
    assert!(remote(&s.url, &kiosk, &["issue", "--item", "A01"]).status.success());
    let out = remote(
        &s.url,
        &kiosk,
        &["--json", "issue", "--item", "A01", "--priority", "elderly"],
    );
    let ticket = json(&out);
    let (number, token) = (ticket["number"].as_str().unwrap(), ticket["token"].as_str().unwrap());

    let browser = chromium();
    let tab = browser.new_tab().unwrap();
    // A phone: 390 × 844 CSS pixels.
    tab.call_method(Emulation::SetDeviceMetricsOverride {
        width: 390,
        height: 844,
        device_scale_factor: 1.0,
        mobile: true,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .unwrap();
    tab.navigate_to(&format!("{}/t/{token}", s.url)).unwrap();
    tab.wait_until_navigated().unwrap();
    assert_eq!(text_when(&tab, "number", 10, |t| t == number), number);
    // A002 is elderly (priority), so nobody stands ahead of it.
    let big = text_when(&tab, "big", 10, |t| !t.is_empty());
    assert!(big.contains("前面"), "{big}");
    let what = text_when(&tab, "what", 5, |t| !t.is_empty());
    assert!(what.contains("市场监督管理局"), "{what}");

    // The counter calls it: the open page changes without a reload.
    let called = remote(
        &s.url,
        &counter,
        &["call", "--window", "1", "--staff", "S101", "--number", number],
    );
    assert!(called.status.success(), "{}", stderr(&called));
    let big = text_when(&tab, "big", 10, |t| t.contains("1 号窗口"));
    assert_eq!(big, "请到 1 号窗口办理");

    // The shot for the README, with the page's own font.
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let dir = crate::support::repo().join("target/screens");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("status-page.png"), &png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (390, 844));

    // English on a tap, and the stage list follows the case.
    tab.find_element("#lang").unwrap().click().unwrap();
    let big = text_when(&tab, "big", 5, |t| t.contains("window"));
    assert_eq!(big, "Please go to window 1");
    let started = remote(&s.url, &counter, &["case", number, "start", "--staff", "S101"]);
    assert!(started.status.success(), "{}", stderr(&started));
    let stages = text_when(&tab, "stages", 10, |_| false);
    assert!(stages.contains("Consultation"), "{stages}");
    let now = tab
        .find_element("ol.stages li.now")
        .and_then(|e| e.get_inner_text())
        .unwrap_or_default();
    assert!(
        now.contains("Consultation"),
        "the first stage is current once the visitor is at the counter: {now}"
    );

    // No personal data: the page never shows a phone number or a specialist's name.
    let body = tab.find_element("body").unwrap().get_inner_text().unwrap();
    assert!(!body.contains("138") && !body.contains("S101"), "{body}");

    // 好差评 on the phone once the visit has been served: one tap, once.
    let offered = text_when(&tab, "rateTitle", 10, |t| t.contains("How was"));
    assert_eq!(offered, "How was the assisted service?");
    tab.find_element("#rate").unwrap().scroll_into_view().unwrap();
    let rate_shot = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(dir.join("status-page-rating.png"), &rate_shot).unwrap();
    tab.find_element("#rate-4").unwrap().click().unwrap();
    let thanked = text_when(&tab, "rateTitle", 10, |t| t.contains("Thank you"));
    assert_eq!(thanked, "Thank you for your rating: satisfied");
    let shown = remote(&s.url, &counter, &["--json", "case", number, "show"]);
    assert_eq!(json(&shown)["case"]["rating"], 4, "{}", stderr(&shown));
    let again = ureq::post(&format!("{}/t/{token}/rate", s.url))
        .set("content-type", "application/json")
        .send_string(r#"{"level":1}"#);
    match again {
        Err(ureq::Error::Status(code, resp)) => {
            let body = resp.into_string().unwrap_or_default();
            assert!(code == 409 && body.contains("already_rated"), "{code} {body}");
        }
        other => panic!("a second rating of the same visit: {other:?}"),
    }
    let shown = remote(&s.url, &counter, &["--json", "case", number, "show"]);
    assert_eq!(json(&shown)["case"]["rating"], 4, "the first rating stands");
}
