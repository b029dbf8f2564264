//! The management office in a real headless Chromium (`/office/`): sign-in with staff id and
//! PIN, the live dashboard following the hall without a reload, a complaint answered, a
//! coordinator's department only, the lockout, a forged CSRF token refused, the wall screen,
//! and nothing fetched from outside the hall (every other host is unresolvable).

use std::time::{Duration, Instant};

use bangban::api::{Call, HallClient, Issue, SignIn};
use bangban::Channel;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, Tab};

use crate::support::*;

/// Chromium that can reach 127.0.0.1 only.
fn chromium_offline(size: (u32, u32)) -> Browser {
    chromium_with(size, true)
}

/// Evaluate `js` in the page (awaiting a promise) and return its value.
fn eval(tab: &Tab, js: &str) -> serde_json::Value {
    tab.evaluate(js, true).unwrap().value.unwrap_or(serde_json::Value::Null)
}

/// Wait until `js` is true in the page (within `secs`); whether it became true. A page still
/// navigating (after a sign-in's click) answers nothing yet: asked again.
fn until(tab: &Tab, js: &str, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = tab.evaluate(js, true).ok().and_then(|r| r.value);
        if now == Some(serde_json::Value::Bool(true)) {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sign in on the sign-in page as a person with the test PIN (or `pin`).
fn sign_in(tab: &Tab, url: &str, staff: &str, pin: &str) {
    tab.navigate_to(&format!("{url}/office/")).unwrap();
    tab.wait_until_navigated().unwrap();
    tab.wait_for_element("#staff").unwrap().type_into(staff).unwrap();
    tab.find_element("#pin").unwrap().type_into(pin).unwrap();
    tab.find_element("#go").unwrap().click().unwrap();
}

/// POST from the page itself: (status, body).
fn post(tab: &Tab, path: &str, body: serde_json::Value, csrf: &str) -> (u64, String) {
    let js = format!(
        "fetch({path:?}, {{method: 'POST', headers: {{'content-type': 'application/json', 'x-csrf-token': {csrf:?}}}, body: JSON.stringify({body})}}).then(async r => r.status + ' ' + await r.text())"
    );
    let v = eval(tab, &js);
    let (status, body) = v.as_str().unwrap_or("0 ").split_once(' ').unwrap_or(("0", ""));
    (status.parse().unwrap(), body.to_string())
}

#[test]
fn the_office_follows_the_hall_live_answers_a_complaint_records_a_meeting_exports_a_register_and_refuses_forged_writes()
{
    let t = demo_ledger();
    set_pins(&t.db, &["S900", "S201", "S101", "S102"]);
    let kiosk = enrol(&t.db, "kiosk-1", "kiosk");
    let counter = enrol(&t.db, "counter-1", "counter");
    let s = Served::start(&t.db);
    let mut k: Box<dyn HallClient> = Box::new(bangban::remote::RemoteClient::new(&s.url, &kiosk).unwrap());
    // Two complaints handed in at the kiosk about 公安局.
    for category in ["wait", "attitude"] {
        k.feedback(&bangban::NewFeedback {
            kind: bangban::FeedbackKind::Complaint,
            category: category.into(),
            department: Some("GAJ".into()),
            window: Some(4),
            channel: "kiosk".into(),
            text: None,
        })
        .unwrap();
    }

    let browser = chromium_offline((1600, 1000));
    let tab = browser.new_tab().unwrap();
    sign_in(&tab, &s.url, "S900", TEST_PIN);
    assert!(
        until(&tab, "!!document.getElementById('kpi-issued')", 10),
        "the dashboard came"
    );
    assert!(until(
        &tab,
        "document.querySelector('#kpi-issued .v').textContent === '0'",
        5
    ));
    assert_eq!(
        eval(&tab, "document.querySelectorAll('#deptRows tr').length"),
        10,
        "the office sees every department"
    );
    // Nothing from outside the hall: the charts' library came from the hall server.
    assert!(
        until(
            &tab,
            "!!window.echarts && !!document.querySelector('#perHour canvas')",
            10
        ),
        "the charts are drawn"
    );
    let outside = eval(
        &tab,
        "performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length",
    );
    assert_eq!(outside, 0);

    // A ticket issued and called through the API is on the dashboard within 2 s, no reload.
    let number = k
        .issue(&Issue {
            item: "A02".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
        })
        .unwrap()
        .number;
    let mut c: Box<dyn HallClient> = Box::new(bangban::remote::RemoteClient::new(&s.url, &counter).unwrap());
    c.sign_in(&SignIn {
        staff: "S101".into(),
        pin: TEST_PIN.into(),
        window: 1,
    })
    .unwrap();
    eval(&tab, "window.NOT_RELOADED = true");
    let called_at = Instant::now();
    c.call(&Call { number: None }).unwrap();
    assert!(
        until(
            &tab,
            &format!(
                "document.querySelector('#kpi-issued .v').textContent === '1' && document.querySelector('.win[data-window=\"1\"]').className.includes('called') && document.querySelector('.win[data-window=\"1\"]').textContent.includes('{number}')"
            ),
            2
        ),
        "the call was not on the dashboard within 2 s ({:?})",
        called_at.elapsed()
    );
    assert_eq!(eval(&tab, "window.NOT_RELOADED === true"), true, "without a reload");

    // The visitor's case is stuck: 王丽 escalates it to the office with the reason.
    use bangban::api::Act;
    use bangban::CaseAction;
    for action in [
        CaseAction::Start,
        CaseAction::Consult {
            question: "餐饮店经营范围能否加预包装食品".into(),
            answer: None,
            resolved: false,
        },
        CaseAction::Escalate {
            reason: "经营范围涉及前置审批，需市场监管、卫健联合确认".into(),
        },
    ] {
        c.act(&Act {
            case: number.clone(),
            action,
        })
        .unwrap();
    }
    // The office records the meeting with a follow-up date: it is an alert until the outcome.
    tab.find_element("#tab-coord").unwrap().click().unwrap();
    assert!(
        until(
            &tab,
            "document.getElementById('coord').textContent.includes('联合确认')",
            10
        ),
        "the escalation and its reason"
    );
    let key = eval(
        &tab,
        "document.querySelector('#coord .fb').dataset.case.replace('/', '-')",
    );
    let key = key.as_str().unwrap().to_string();
    let today = bangban::clock::business_day(chrono::Utc::now(), bangban::demo_day::hall().unwrap().tz());
    let follow = today + chrono::Duration::days(3);
    for (field, value) in [
        ("held", format!("{today} 09:00")),
        ("who", "S900, S101".to_string()),
        ("minutes", "两部门同意并联审批".to_string()),
        ("decision", "三个工作日内出具意见".to_string()),
        ("follow", follow.to_string()),
    ] {
        tab.find_element(&format!("#{field}-{key}"))
            .unwrap()
            .type_into(&value)
            .unwrap();
    }
    tab.find_element(&format!("#meet-{key}")).unwrap().click().unwrap();
    assert!(
        until(
            &tab,
            "document.getElementById('coord').textContent.includes('两部门同意并联审批')",
            10
        ),
        "the meeting is listed"
    );
    tab.find_element("#tab-dash").unwrap().click().unwrap();
    let due = follow.format("%m-%d").to_string();
    assert!(
        until(
            &tab,
            &format!("[...document.querySelectorAll('#alertList li')].some(li => li.textContent.includes('{number}') && li.textContent.includes('待协调会商') && li.textContent.includes('{due}'))"),
            5
        ),
        "the follow-up date is an alert: {}",
        eval(&tab, "document.getElementById('alertList').textContent")
    );

    // A register, exported as the office files it, read back from the downloaded workbook.
    tab.find_element("#tab-records").unwrap().click().unwrap();
    assert!(until(
        &tab,
        "document.getElementById('recKind').options.length === 12",
        5
    ));
    eval(
        &tab,
        "document.getElementById('recKind').value = 'consultations'; loadRecords()",
    );
    // The browser's download, as hex (the page's own fetch of the link it offers).
    let hex = eval(
        &tab,
        "fetch(document.getElementById('recXlsx').href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b), x => x.toString(16).padStart(2, '0')).join(''))",
    );
    let hex = hex.as_str().unwrap();
    let xlsx: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    {
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("接待咨询记录").unwrap();
        let title = sheet.get((0, 0)).unwrap().to_string();
        assert!(
            title.starts_with("接待咨询记录") && title.contains("共 1 条"),
            "{title}"
        );
        assert!(sheet.get((1, 2)).unwrap().to_string().starts_with("号码"));
        assert_eq!(sheet.get((2, 2)).unwrap().to_string(), number);
        assert!(sheet.get((2, 9)).unwrap().to_string().contains("预包装食品"));
    }
    let shots = repo().join("target/screens");
    std::fs::create_dir_all(&shots).unwrap();

    // Reply to a complaint on the complaints tab.
    tab.find_element("#tab-feedback").unwrap().click().unwrap();
    tab.wait_for_element("#reply-1")
        .unwrap()
        .type_into("已约谈窗口，增开一个窗口")
        .unwrap();
    tab.find_element("#send-1").unwrap().click().unwrap();
    assert!(until(&tab, "!document.getElementById('reply-1') && document.querySelector('.fb[data-id=\"1\"]').textContent.includes('已约谈窗口')", 10));
    // A write with a forged CSRF token changes nothing.
    let (status, body) = post(
        &tab,
        "/office/api/feedback/2/reply",
        serde_json::json!({"reply": "forged"}),
        "forged-token",
    );
    assert_eq!(status, 403, "{body}");
    let (status, _) = post(
        &tab,
        "/office/api/feedback/2/reply",
        serde_json::json!({"reply": "forged"}),
        "",
    );
    assert_eq!(status, 403);
    let mut l = bangban::Ledger::open(&t.db, bangban::LedgerOptions::default()).unwrap();
    assert_eq!(
        l.feedback(1).unwrap().replied_by.as_deref(),
        Some("S900"),
        "attributed to the office's specialist"
    );
    assert_eq!(
        l.feedback(2).unwrap().replied_at,
        None,
        "the forged reply changed nothing"
    );
    drop(l);

    // 预约: booked for a caller on the next working day, listed, then cancelled.
    tab.find_element("#tab-appts").unwrap().click().unwrap();
    assert!(until(
        &tab,
        "document.getElementById('apptItem').options.length > 10",
        10
    ));
    let mut day = today.succ_opt().unwrap();
    while matches!(
        chrono::Datelike::weekday(&day),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    ) {
        day = day.succ_opt().unwrap();
    }
    eval(&tab, "document.getElementById('apptItem').value = 'F01'");
    tab.find_element("#apptAt")
        .unwrap()
        .type_into(&format!("{day} 10:00"))
        .unwrap();
    tab.find_element("#apptPhone")
        .unwrap()
        .type_into("13912345678")
        .unwrap();
    tab.find_element("#apptBook").unwrap().click().unwrap();
    assert!(
        until(
            &tab,
            "document.getElementById('apptMsg').textContent.includes('签到码')",
            10
        ),
        "{}",
        eval(&tab, "document.getElementById('apptMsg').textContent")
    );
    assert!(until(&tab, "document.querySelectorAll('#apptRows tr[data-code]').length === 1 && document.getElementById('apptRows').textContent.includes('139****5678') && document.getElementById('apptRows').textContent.includes('已预约')", 10));
    eval(
        &tab,
        "window.confirm = () => true; document.querySelector('#apptRows tr[data-code] button').click()",
    );
    assert!(
        until(
            &tab,
            "document.getElementById('apptRows').textContent.includes('已取消')",
            10
        ),
        "cancelled"
    );
    // 考核: every department's and specialist's figures of the day.
    tab.find_element("#tab-scores").unwrap().click().unwrap();
    assert!(until(&tab, "document.querySelectorAll('#scoreDepts tr').length === 10 && document.querySelector('#scoreStaff tr[data-code=\"S101\"]') !== null", 10));

    // A coordinator sees their department only.
    let coord = browser.new_tab().unwrap();
    eval(
        &tab,
        "fetch('/office/sign-out', {method: 'POST', headers: {'x-csrf-token': CSRF}}).then(r => r.status)",
    );
    sign_in(&coord, &s.url, "S201", TEST_PIN);
    assert!(until(
        &coord,
        "document.querySelectorAll('#deptRows tr').length === 1",
        10
    ));
    assert_eq!(
        eval(&coord, "document.querySelector('#deptRows tr').dataset.code"),
        "GAJ"
    );
    assert_eq!(
        eval(&coord, "!!document.getElementById('closeDay')"),
        false,
        "only the office closes the day"
    );
    coord.find_element("#tab-scores").unwrap().click().unwrap();
    assert!(until(&coord, "document.querySelectorAll('#scoreDepts tr').length === 1 && [...document.querySelectorAll('#scoreStaff tr')].every(tr => tr.dataset.code.startsWith('S2'))", 10));
    assert!(until(
        &coord,
        "[...document.querySelectorAll('.win')].every(w => ['4','5'].includes(w.dataset.window))",
        5
    ));
    // Nor another department's case page.
    assert_eq!(
        eval(
            &coord,
            &format!("fetch('/office/api/case?ref={number}').then(r => r.status)")
        ),
        403
    );
    // A handler may not sign in at all.
    let (status, body) = post(
        &coord,
        "/office/sign-in",
        serde_json::json!({"staff": "S102", "pin": TEST_PIN}),
        "",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("handler"), "{body}");

    // Five wrong PINs lock the login; the right one is then refused too.
    let lock = browser.new_tab().unwrap();
    lock.navigate_to(&format!("{}/office/", s.url)).unwrap();
    lock.wait_until_navigated().unwrap();
    for n in 0..5 {
        let (status, body) = post(
            &lock,
            "/office/sign-in",
            serde_json::json!({"staff": "S900", "pin": "000000"}),
            "",
        );
        assert_eq!(status, 403, "try {n}: {body}");
    }
    let (status, body) = post(
        &lock,
        "/office/sign-in",
        serde_json::json!({"staff": "S900", "pin": TEST_PIN}),
        "",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("login_locked"), "{body}");
}

#[test]
fn on_a_busy_morning_the_dashboard_and_the_wall_show_the_hall_and_render_for_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.sqlite3");
    let hall = bangban::demo_day::hall().unwrap();
    let day = bangban::clock::business_day(chrono::Utc::now(), hall.tz());
    let busy = bangban::demo_day::build(&db, day).unwrap();
    let now = bangban::clock::Clock::now(&busy.clock);
    let mut l = busy.ledger;
    l.set_pin("S900", TEST_PIN, "admin").unwrap();
    let wall = l
        .add_device("wall-1", bangban::access::DeviceRole::Board, "admin")
        .unwrap();
    let waiting = l.waiting(&[]).unwrap().len();
    drop(l);
    let s = Served::start_at(&db, &now.to_rfc3339());
    let shots = repo().join("target/screens");
    std::fs::create_dir_all(&shots).unwrap();

    // Tall enough for the whole desk page in one picture.
    let browser = chromium_offline((1600, 1000));
    let tab = tab_sized(&browser, 1600, 1560, false);
    sign_in(&tab, &s.url, "S900", TEST_PIN);
    assert!(until(&tab, &format!("document.querySelector('#kpi-waiting .v') && document.querySelector('#kpi-waiting .v').textContent === '{waiting}'"), 10));
    assert!(
        until(&tab, "document.querySelectorAll('#alertList li.late').length > 0", 5),
        "the overdue priority visitors are alerts"
    );
    assert!(
        until(
            &tab,
            "document.getElementById('badList').textContent.includes('等候时间长')",
            5
        ),
        "the bad rating and its reason"
    );
    assert!(until(
        &tab,
        "!!document.querySelector('#perHour canvas') && !!document.querySelector('#waits canvas')",
        5
    ));
    std::thread::sleep(Duration::from_millis(300));
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("office-dashboard.png"), png).unwrap();

    // The escalations and a register, as the office works them.
    tab.find_element("#tab-coord").unwrap().click().unwrap();
    assert!(
        until(&tab, "document.querySelectorAll('#coord .fb').length > 0", 10),
        "the busy morning's escalation"
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("office-coordination.png"), png).unwrap();
    // The escalated case's page: every event in words, with its notes' texts.
    eval(&tab, "document.querySelector('#coord .fb button.link').click()");
    assert!(
        until(&tab, "!!document.getElementById('caseLines') && document.getElementById('caseLines').textContent.includes('提请协调会商') && document.getElementById('caseLines').textContent.includes('计税价格')", 10),
        "the case page: {}",
        eval(&tab, "document.getElementById('caseBox').textContent")
    );
    assert!(until(&tab, "document.getElementById('caseLines').textContent.includes('叫号') && document.getElementById('caseLines').textContent.includes('取号')", 5));
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("office-case.png"), png).unwrap();
    // The case's forms, from its page: a 委托书 as a PDF.
    assert_eq!(
        eval(&tab, "fetch(document.querySelector('#caseForms a[data-kind=poa]').href).then(async r => r.headers.get('content-type') + ' ' + String.fromCharCode(...new Uint8Array(await r.arrayBuffer()).slice(0, 5)))"),
        "application/pdf %PDF-"
    );
    tab.find_element("#tab-records").unwrap().click().unwrap();
    assert!(until(
        &tab,
        "document.getElementById('recKind').options.length === 12",
        5
    ));
    eval(
        &tab,
        "document.getElementById('recKind').value = 'acceptances'; loadRecords()",
    );
    assert!(
        until(&tab, "document.querySelectorAll('#recRows tr').length === 10", 10),
        "the morning's ten acceptances"
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("office-register.png"), png).unwrap();

    // The wall: opened once with a board's token, read-only, 1920×1080.
    // A browser of its own: the wall PC has no office desk's cookie.
    let big = chromium_offline((1920, 1080));
    let w = tab_sized(&big, 1920, 1080, false);
    w.navigate_to(&format!("{}/office/wall", s.url)).unwrap();
    w.wait_until_navigated().unwrap();
    w.wait_for_element("#token").unwrap().type_into(&wall).unwrap();
    w.find_element("#go").unwrap().click().unwrap();
    assert!(until(&w, &format!("!!document.querySelector('#kpi-waiting .v') && document.querySelector('#kpi-waiting .v').textContent === '{waiting}'"), 10));
    assert!(until(&w, "!!document.querySelector('#perHour canvas')", 5));
    assert_eq!(
        eval(&w, "document.querySelectorAll('textarea, #out').length"),
        0,
        "the wall has nothing to press"
    );

    // The wall's cookie does not open the office's desk.
    assert_eq!(eval(&w, "fetch('/office/api/feedback').then(r => r.status)"), 401);
    std::thread::sleep(Duration::from_millis(300));
    let png = w
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(shots.join("office-wall.png"), png).unwrap();
    // One screen: nothing below the fold.
    assert_eq!(
        eval(&w, "document.documentElement.scrollHeight <= window.innerHeight"),
        true,
        "the wall scrolls: {}",
        eval(&w, "document.documentElement.scrollHeight + ' > ' + window.innerHeight")
    );
}

#[test]
fn with_close_automatically_the_server_closes_the_day_itself_once_the_hall_has_closed() {
    let t = temp_ledger();
    let hall = t.dir.path().join("hall.toml");
    let text = std::fs::read_to_string(demo_hall_path()).unwrap().replacen(
        "[hall]\n",
        "[hall]\nclose_automatically = true\n",
        1,
    );
    std::fs::write(&hall, text).unwrap();
    // A visitor took a ticket at 10:00 on Monday and was never called.
    let (mut l, _clock) = clocked_ledger(&t.db, "2026-12-07T02:00:00Z");
    let hall = bangban::Hall::from_path(&hall).unwrap();
    assert!(hall.close_automatically);
    l.configure(&hall, "test", "hall.toml").unwrap();
    let number = l
        .issue(&bangban::IssueRequest {
            item: "A02".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "kiosk-1".into(),
        })
        .unwrap()
        .number;
    drop(l);
    // The server comes up at 17:20, after the hall's 17:00 close: it closes the day itself.
    let s = Served::start_at(&t.db, "2026-12-07T09:20:00Z");
    let end = Instant::now() + Duration::from_secs(15);
    let closed = loop {
        let out = cli_env(
            &t.db,
            &["--json", "case", &format!("2026-12-07/{number}"), "show"],
            &[("BANGBAN_NOW", "2026-12-07T09:20:00Z")],
        );
        let state = json(&out)["case"]["state"].as_str().unwrap_or("").to_string();
        if state == "expired" || Instant::now() > end {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(closed, "expired", "the unserved ticket was expired by the close");
    drop(s);
    let conn = rusqlite::Connection::open(&t.db).unwrap();
    let actor: String = conn
        .query_row("SELECT actor FROM events WHERE kind = 'day_closed'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        actor, "auto-close",
        "recorded like the office's own close, by its own name"
    );
    let out = cli(&t.db, &["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}
