//! The visitor's status page (`/t/{token}`) in a real headless Chromium: the number, the
//! queue, the live switch to 「请到 N 号窗口」 when called, the stages, the English switch,
//! and a screenshot with real Chinese glyphs (the page falls back to the served font).

use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::Browser;

use crate::support::*;

fn chromium() -> Browser {
    chromium_with((390, 844), false)
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
    // A phone: 390 × 844 CSS pixels.
    let tab = phone_tab(&browser);
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

    // The page at a phone's size, with the page's own font.
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
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

#[test]
fn on_a_busy_morning_the_status_page_counts_everyone_ahead_and_offers_the_rating_once_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.sqlite3");
    let hall = bangban::demo_day::hall().unwrap();
    let day = bangban::clock::business_day(chrono::Utc::now(), hall.tz());
    let busy = bangban::demo_day::build(&db, day).unwrap();
    let now = bangban::clock::Clock::now(&busy.clock);
    let mut l = busy.ledger;
    // The last of 市场监督's 29 in calling order, and a visitor served and gone.
    let line = l.waiting(&["SCJG".to_string()]).unwrap();
    let last = line.last().unwrap();
    let ahead = line.len() - 1;
    let waiting_token = l.find_case(&last.number).unwrap().token;
    let served_token = l.find_case("A001").unwrap().token;
    drop(l);
    let s = Served::start_at(&db, &now.to_rfc3339());
    let browser = chromium();
    let tab = phone_tab(&browser);
    let shots = crate::support::repo().join("target/screens");
    std::fs::create_dir_all(&shots).unwrap();

    tab.navigate_to(&format!("{}/t/{waiting_token}", s.url)).unwrap();
    tab.wait_until_navigated().unwrap();
    assert_eq!(text_when(&tab, "number", 10, |t| t == last.number), last.number);
    let big = text_when(&tab, "big", 10, |t| !t.is_empty());
    assert!(
        big.contains("前面") && big.contains(&ahead.to_string()),
        "{ahead} ahead of {}: {big}",
        last.number
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("status-page.png"), &png).unwrap();

    // Served and delivered: the rating comes first, in the visitor's language.
    tab.navigate_to(&format!("{}/t/{served_token}", s.url)).unwrap();
    tab.wait_until_navigated().unwrap();
    let offered = text_when(&tab, "rateTitle", 10, |t| !t.is_empty());
    assert!(offered.contains("评价"), "{offered}");
    tab.find_element("#lang").unwrap().click().unwrap();
    let offered = text_when(&tab, "rateTitle", 10, |t| t.contains("How was"));
    assert_eq!(offered, "How was the assisted service?");
    // In English, the hall file's English names.
    let what = text_when(&tab, "what", 5, |t| t.starts_with("Market Supervision"));
    assert!(what.starts_with("Market Supervision · "), "{what}");
    tab.find_element("#rate").unwrap().scroll_into_view().unwrap();
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("status-page-rating.png"), &png).unwrap();
}

/// A phone-sized tab (390 × 844, as the test above).
fn phone_tab(browser: &Browser) -> std::sync::Arc<headless_chrome::Tab> {
    tab_sized(browser, 390, 844, true)
}

/// A ticket for `item`, called by number at `window` by `staff`, then moved by `actions`;
/// its token.
fn ticket_at(l: &mut bangban::Ledger, item: &str, at: Option<(u32, &str)>, actions: &[bangban::CaseAction]) -> String {
    let t = l
        .issue(&bangban::IssueRequest {
            item: item.into(),
            priority: None,
            mode: None,
            channel: bangban::Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap();
    if let Some((window, staff)) = at {
        l.call(&bangban::CallRequest {
            window,
            staff: staff.into(),
            number: Some(t.number.clone()),
        })
        .unwrap();
        for a in actions {
            if *a == bangban::CaseAction::Recall {
                l.recall(&t.number, window, staff).unwrap();
            } else {
                act_signing(l, &t.number, window, staff, a)
                    .unwrap_or_else(|e| panic!("{item} at {window}: {a:?}: {e}"));
            }
        }
    }
    t.token
}

#[test]
fn every_state_of_a_ticket_tells_the_visitor_what_to_do_in_both_languages() {
    use bangban::CaseAction as A;
    let t = demo_ledger();
    let hall = bangban::Hall::from_path(&demo_hall_path()).unwrap();
    let materials = |item: &str| hall.item(item).unwrap().materials.clone();
    let accept = |item: &str| A::accept(materials(item));
    // Yesterday's ticket, never called: the day's close expires it.
    let now = chrono::Utc::now();
    let (mut l, clock) = clocked_ledger(&t.db, &(now - chrono::Duration::days(1)).to_rfc3339());
    let expired = ticket_at(&mut l, "H01", None, &[]);
    clock.set(now);
    l.close_day(
        bangban::clock::business_day(now - chrono::Duration::days(1), hall.tz()),
        "office",
    )
    .unwrap();
    let cases: Vec<(&str, String, &[&str], &[&str])> = vec![
        ("waiting", ticket_at(&mut l, "F01", None, &[]), &["前面"], &["ahead"]),
        (
            "called",
            ticket_at(&mut l, "B01", Some((4, "S201")), &[]),
            &["请到 4 号窗口办理", "正在叫您的号"],
            &["Please go to window 4"],
        ),
        (
            "serving",
            ticket_at(&mut l, "B01", Some((5, "S202")), &[A::Start]),
            &["正在 5 号窗口为您办理"],
            &["Being served at window 5"],
        ),
        (
            "on hold",
            ticket_at(&mut l, "C01", Some((6, "S301")), &[A::Start, A::Hold]),
            &["暂挂", "稍候"],
            &["On hold"],
        ),
        (
            "awaiting materials",
            ticket_at(
                &mut l,
                "F01",
                Some((12, "S601")),
                &[
                    A::Start,
                    A::NotifyMissing {
                        missing: vec!["婚姻状况证明".into()],
                    },
                ],
            ),
            &["还缺以下材料", "婚姻状况证明", "民政部门", "补齐后回 12 号窗口"],
            &["missing materials", "婚姻状况证明", "come back to window 12"],
        ),
        (
            "transferred",
            ticket_at(
                &mut l,
                "C01",
                Some((7, "S302")),
                &[A::Transfer {
                    department: "YBJ".into(),
                    window: None,
                    note: None,
                }],
            ),
            &["已转到医疗保障局"],
            &["Transferred to Medical Insurance"],
        ),
        (
            "coordinating",
            ticket_at(
                &mut l,
                "F01",
                Some((13, "S602")),
                &[
                    A::Start,
                    A::Escalate {
                        reason: "需会商".into(),
                    },
                ],
            ),
            &["正在协调相关部门"],
            &["coordinated with other offices"],
        ),
        (
            "accepted",
            ticket_at(
                &mut l,
                "D01",
                Some((8, "S401")),
                &[A::Start, accept("D01"), A::StartWork],
            ),
            &["已受理，正在为您代办"],
            &["Accepted"],
        ),
        (
            "ready",
            ticket_at(
                &mut l,
                "D01",
                Some((9, "S402")),
                &[A::Start, accept("D01"), A::StartWork, A::Ready],
            ),
            &["已办好，请到 9 号窗口领取"],
            &["collect it at window 9"],
        ),
        (
            "mailed",
            ticket_at(
                &mut l,
                "E01",
                Some((10, "S501")),
                &[
                    A::Start,
                    accept("E01"),
                    A::StartWork,
                    A::Ready,
                    A::mail("SF1234567890", "王芳", "EMS"),
                ],
            ),
            &["已邮寄"],
            &["Sent by post"],
        ),
        (
            "delivered and archived",
            ticket_at(
                &mut l,
                "E01",
                Some((11, "S502")),
                &[
                    A::Start,
                    accept("E01"),
                    A::StartWork,
                    A::Ready,
                    A::DeliverInPerson,
                    A::archive("资料一套（档案盒）", "档案室 刘芳"),
                ],
            ),
            &["已办结"],
            &["Done"],
        ),
        (
            "cancelled",
            ticket_at(
                &mut l,
                "G01",
                Some((15, "S701")),
                &[A::Cancel {
                    reason: "重复取号".into(),
                }],
            ),
            &["此号已取消"],
            &["cancelled"],
        ),
        (
            "no-show",
            ticket_at(&mut l, "G01", Some((16, "S702")), &[A::Recall, A::NoShow]),
            &["已过号"],
            &["Missed"],
        ),
        (
            "expired",
            expired,
            &["此号已过期", "换当天的号"],
            &["expired", "service desk"],
        ),
        (
            "whole chain",
            ticket_at(&mut l, "A01", Some((1, "S101")), &[A::Start, accept("A01")]),
            &["已受理", "全链条办理进度", "税务局", "办理中"],
            &["Accepted", "Progress across offices", "Taxation"],
        ),
    ];
    drop(l);
    let s = Served::start(&t.db);
    let browser = chromium();
    let tab = phone_tab(&browser);
    let mut failures = Vec::new();
    // What the page shows in one language, read in the page itself (one round trip): the
    // main column's text, its width, the stages ticked and the first card.
    const READ: &str = r#"(async (want) => {
        for (let i = 0; i < 100 && !document.getElementById("big").textContent; i++) await new Promise(r => setTimeout(r, 50));
        if (document.documentElement.lang !== want) document.getElementById("lang").click();
        await new Promise(r => setTimeout(r, 50));
        return JSON.stringify({
            text: document.querySelector("main").innerText,
            wide: document.documentElement.scrollWidth,
            ticks: document.querySelectorAll("ol.stages li.done").length,
            first: document.querySelector("main").firstElementChild.id,
        });
    })"#;
    for (state, token, zh, en) in &cases {
        tab.navigate_to(&format!("{}/t/{token}", s.url)).unwrap();
        tab.wait_until_navigated().unwrap();
        for (lang, words) in [("zh-CN", zh), ("en", en)] {
            let seen = tab
                .evaluate(&format!("{READ}({lang:?})"), true)
                .unwrap()
                .value
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let seen: serde_json::Value = serde_json::from_str(&seen).unwrap_or_default();
            let page = seen["text"].as_str().unwrap_or_default();
            for w in words.iter() {
                if !page.contains(w) {
                    failures.push(format!("{state} ({lang}): {w:?} not in {page:?}"));
                }
            }
            if seen["wide"].as_u64().unwrap_or(0) > 390 {
                failures.push(format!("{state} ({lang}): the page is {} px wide", seen["wide"]));
            }
            match *state {
                "delivered and archived" if seen["ticks"] != 4 => {
                    failures.push(format!("{state}: {} of the four stages ticked", seen["ticks"]));
                }
                // What the phone shows for the missing materials (README shows it).
                "awaiting materials" if lang == "zh-CN" => {
                    let png = tab
                        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
                        .unwrap();
                    let dir = crate::support::repo().join("target/screens");
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(dir.join("status-page-materials.png"), &png).unwrap();
                }
                // Once the visit at the counter is over, the rating card comes first; while
                // something is asked of the visitor, that comes first.
                "accepted" if seen["first"] != "rate" => {
                    failures.push(format!("{state}: the first card is {}, not the rating", seen["first"]));
                }
                "awaiting materials" | "serving" if seen["first"] == "rate" => {
                    failures.push(format!("{state}: the rating comes before what to do"));
                }
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
