//! The visitor's path through the real screens, checked in the ledger.

use std::time::Duration;

use bangban::{CaseState, Mode};
use kiosk::{ConfirmAdapter, DepartmentAdapter, KioskAdapter, KioskScreen, Theme, TicketAdapter, WelcomeAdapter};
use slint::{ComponentHandle, Model};

use crate::support::*;

#[test]
fn four_taps_from_welcome_to_a_ticket_with_priority_and_mode_in_the_ledger() {
    let k = kiosk();
    let ui = &k.state.ui;
    assert_eq!(screen(ui), KioskScreen::Welcome);
    tap(ui, "不动产登记中心");
    assert_eq!(screen(ui), KioskScreen::Items);
    tap(ui, "不动产转移登记");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    // Declaring a priority group is optional and on the same screen.
    tap(ui, "老年人");
    assert_eq!(ui.global::<ConfirmAdapter>().get_priority(), "elderly");
    tap(ui, "确认取号");
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket),
        "no ticket screen"
    );
    let t = ui.global::<TicketAdapter>();
    assert_eq!(t.get_number(), "F001");
    assert_eq!(t.get_window(), 12);
    let mut l = ledger(&k.db);
    let case = l.find_case("F001").expect("case in the ledger");
    assert_eq!(case.item, "F01");
    assert_eq!(case.priority.as_deref(), Some("elderly"));
    assert_eq!(case.mode, Mode::Onsite);
    assert_eq!(case.state, CaseState::Waiting);
    assert!(visible(ui, "您的号码 F001"), "the number is on screen");
    // Any of the property department's three windows may call it: the ticket says so.
    assert_eq!(t.get_windows_text(), "12、13、14");
    assert!(t.get_several_windows());
    assert!(
        visible(ui, "本机不打印号票，请拍照保存您的号码"),
        "no printer configured: the screen says so"
    );
}

#[test]
fn whole_chain_items_default_to_full_process_and_the_visitor_can_change_it() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "住房和城乡建设局");
    tap(ui, "重点项目全程代办");
    assert_eq!(ui.global::<ConfirmAdapter>().get_mode(), "fullprocess");
    tap(ui, "现场帮办");
    take_ticket(&k);
    let case = ledger(&k.db).find_case("J001").unwrap();
    assert_eq!(
        (case.item.as_str(), case.mode, case.priority),
        ("J03", Mode::Onsite, None)
    );
}

#[test]
fn not_sure_goes_to_the_consultation_queue() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "不知道办什么？");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    take_ticket(&k);
    assert_eq!(ledger(&k.db).find_case("Z001").unwrap().item, "Z01");
}

#[test]
fn idle_for_sixty_seconds_returns_to_welcome_with_nothing_issued() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "税务局");
    tap(ui, "个人所得税");
    tap(ui, "军人");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    i_slint_backend_testing::testing_backend::mock_elapsed_time(59_000);
    assert_eq!(screen(ui), KioskScreen::Confirm, "not yet");
    i_slint_backend_testing::testing_backend::mock_elapsed_time(2_000);
    assert_eq!(screen(ui), KioskScreen::Welcome);
    assert_eq!(
        ui.global::<ConfirmAdapter>().get_priority(),
        "",
        "the half-made choice is forgotten"
    );
    assert!(ledger(&k.db).waiting(&[]).unwrap().is_empty(), "nothing half-issued");
}

#[test]
fn the_ticket_screen_counts_down_and_returns_to_welcome() {
    let k = kiosk_with(|c| c.ticket_seconds = 20);
    let ui = &k.state.ui;
    tap(ui, "医疗保障局");
    tap(ui, "异地就医");
    take_ticket(&k);
    // The countdown ticks once a second.
    for _ in 0..10 {
        i_slint_backend_testing::testing_backend::mock_elapsed_time(1_000);
    }
    assert_eq!(ui.global::<TicketAdapter>().get_seconds_left(), 10);
    assert_eq!(screen(ui), KioskScreen::Ticket);
    for _ in 0..10 {
        i_slint_backend_testing::testing_backend::mock_elapsed_time(1_000);
    }
    assert_eq!(screen(ui), KioskScreen::Welcome);
}

#[test]
fn english_and_large_text_switch_on_every_screen_and_reset_for_the_next_visitor() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "English");
    assert!(ui.global::<KioskAdapter>().get_english());
    let labels: Vec<String> = i_slint_backend_testing::ElementHandle::find_by_element_type_name(ui, "BigButton")
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect();
    assert!(
        visible(ui, "Search matters") && visible(ui, "Real Estate Registration"),
        "the welcome screen speaks English: {labels:?}"
    );
    tap(ui, "Real Estate Registration");
    tap(ui, "Large text");
    assert!(ui.global::<Theme>().get_large_text());
    tap(ui, "Back");
    assert_eq!(screen(ui), KioskScreen::Welcome);
    tap(ui, "Search matters");
    i_slint_backend_testing::testing_backend::mock_elapsed_time(61_000);
    assert_eq!(screen(ui), KioskScreen::Welcome);
    assert!(
        !ui.global::<KioskAdapter>().get_english(),
        "the next visitor starts in Chinese"
    );
    assert!(!ui.global::<Theme>().get_large_text());
    assert!(visible(ui, "搜索事项"));
}

/// A keyboard-wedge ID card reader: the number's characters as key presses, then Enter.
fn swipe_id_card(ui: &kiosk::KioskWindow, number: &str) {
    use slint::platform::{Key, WindowEvent};
    let keys = number.chars().map(|c| slint::SharedString::from(c.to_string()));
    for text in keys.chain([slint::SharedString::from(Key::Return)]) {
        ui.window()
            .dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        ui.window().dispatch_event(WindowEvent::KeyReleased { text });
    }
}

#[test]
fn an_id_card_of_a_visitor_aged_sixty_five_chooses_the_elderly_priority_and_is_kept_nowhere() {
    let k = kiosk();
    let ui = &k.state.ui;
    // Born 15 March 1961: 65 today, and 60 or more for every year this test will run.
    let number = "110101196103150015";
    swipe_id_card(ui, number);
    assert_eq!(ui.global::<KioskAdapter>().get_notice(), kiosk::Notice::None);
    tap(ui, "不动产登记中心");
    tap(ui, "不动产转移登记");
    assert_eq!(
        ui.global::<ConfirmAdapter>().get_priority(),
        "elderly",
        "老年人 chosen for them"
    );
    take_ticket(&k);
    assert_eq!(ui.global::<TicketAdapter>().get_priority_name(), "老年人");
    let case = ledger(&k.db).find_case("F001").unwrap();
    assert_eq!(case.priority.as_deref(), Some("elderly"));
    // The number is in no table and no event: not in the ledger file, nor its write-ahead log.
    drop(case);
    for file in [k.db.clone(), k.db.with_extension("sqlite3-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                !hay.contains(number) && !hay.contains("19610315"),
                "{} holds the ID number",
                file.display()
            );
        }
    }
    // The next visitor starts with no card read.
    tap(ui, "完成");
    assert!(!ui.global::<KioskAdapter>().get_id_elderly());
}

#[test]
fn a_misread_id_card_is_refused_in_plain_words_and_chooses_nothing() {
    let k = kiosk();
    let ui = &k.state.ui;
    swipe_id_card(ui, "110101196103150016");
    assert_eq!(ui.global::<KioskAdapter>().get_notice(), kiosk::Notice::IdUnreadable);
    assert!(visible(
        ui,
        "没能读出身份证号码，请把身份证重新放到读卡区；也可以直接点选要办的事。"
    ));
    tap(ui, "知道了");
    tap(ui, "不动产登记中心");
    tap(ui, "不动产转移登记");
    assert_eq!(ui.global::<ConfirmAdapter>().get_priority(), "");
    // A card of someone younger than 60 chooses nothing either.
    tap(ui, "返回");
    swipe_id_card(ui, "370402200012310044");
    tap(ui, "不动产转移登记");
    assert_eq!(ui.global::<ConfirmAdapter>().get_priority(), "");
}

#[test]
fn not_sure_what_to_do_asks_no_service_mode() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "不知道办什么？");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    assert!(ui.global::<ConfirmAdapter>().get_consultation());
    assert!(
        !visible(ui, "现场帮办") && !visible(ui, "全程代办"),
        "a visitor who does not know the matter is not asked how to have it done"
    );
    // A matter asks it.
    tap(ui, "返回");
    tap(ui, "不动产登记中心");
    tap(ui, "不动产转移登记");
    assert!(visible(ui, "现场帮办") && visible(ui, "全程代办"));
}

#[test]
fn large_text_offers_fewer_larger_choices_and_pages_the_departments() {
    let k = kiosk();
    let ui = &k.state.ui;
    let (w, d) = (ui.global::<WelcomeAdapter>(), ui.global::<DepartmentAdapter>());
    // The demo hall: ten departments and six featured matters all on the welcome screen.
    assert_eq!((w.get_featured().row_count(), w.get_departments().row_count()), (6, 10));
    assert!(!w.get_more_departments());
    tap(ui, "大字");
    assert_eq!(w.get_featured().row_count(), 4, "four larger featured tiles");
    assert_eq!(w.get_departments().row_count(), 5, "five departments and 全部部门");
    tap(ui, "全部部门");
    assert_eq!(screen(ui), KioskScreen::Departments);
    assert_eq!(
        (d.get_page(), d.get_pages(), d.get_departments().row_count()),
        (1, 2, 6)
    );
    tap(ui, "下一页");
    assert_eq!((d.get_page(), d.get_departments().row_count()), (2, 4));
    tap(ui, "综合咨询");
    assert_eq!(screen(ui), KioskScreen::Items);
    tap(ui, "返回");
    assert_eq!(
        screen(ui),
        KioskScreen::Departments,
        "back to the list it was chosen from"
    );
    assert_eq!(d.get_page(), 2, "on the page it was chosen from");
    // Normal text again: one page holds them all.
    tap(ui, "标准字");
    assert_eq!(
        (d.get_page(), d.get_pages(), d.get_departments().row_count()),
        (1, 1, 10)
    );
    tap(ui, "返回");
    assert_eq!((w.get_featured().row_count(), w.get_departments().row_count()), (6, 10));
}

#[test]
fn a_hall_of_twenty_five_departments_takes_a_rating_number_letter_first_then_digits() {
    let k = big_hall_kiosk();
    let ui = &k.state.ui;
    let f = ui.global::<kiosk::FeedbackAdapter>();
    let keys = || f.get_keys().iter().map(|k| k.to_string()).collect::<Vec<_>>().join("");
    tap(ui, "评价·吐槽");
    assert_eq!(keys(), "ABCDEFGHIJKLMNOPQRSTUVWXY", "the prefixes first");
    tap(ui, "C");
    assert_eq!(keys(), "1234567890", "then the digits");
    for d in ["0", "0", "1"] {
        tap(ui, d);
    }
    assert_eq!(f.get_ticket(), "C001");
    for _ in 0..4 {
        tap(ui, "删除");
    }
    assert_eq!(
        keys(),
        "ABCDEFGHIJKLMNOPQRSTUVWXY",
        "the letters again once the prefix is deleted"
    );
}

/// The demo hall open around the clock, so an appointment can be booked near the real time
/// the kiosk runs on.
fn open_all_day(db: &std::path::Path) {
    let toml = bangban::DEMO_HALL
        .replace("open = \"09:00\"", "open = \"00:00\"")
        .replace("close = \"17:00\"", "close = \"23:59\"");
    let hall = bangban::Hall::from_toml(&toml, "hall.toml").expect("hall");
    ledger(db).configure(&hall, "test", "hall.toml").expect("configure");
}

#[track_caller]
fn type_keys(ui: &kiosk::KioskWindow, keys: &str) {
    for c in keys.chars() {
        tap(ui, &c.to_string());
    }
}

#[test]
fn an_appointment_checks_in_on_the_keypad_ahead_of_the_walk_ins_and_only_once() {
    let k = kiosk();
    let ui = &k.state.ui;
    open_all_day(&k.db);
    let at = chrono::Utc::now() + chrono::Duration::minutes(1);
    let booked = ledger(&k.db)
        .book_appointment("F01", &at.to_rfc3339(), "13812345678", "S601", "phone")
        .expect("book");
    issue(&k.db, "F01");
    issue(&k.db, "F01");
    tap(ui, "预约签到");
    assert_eq!(screen(ui), KioskScreen::Checkin);
    // A mistyped code is refused on the keypad screen, plainly.
    let wrong = if booked.code == "999999" { "999998" } else { "999999" };
    type_keys(ui, wrong);
    assert_eq!(ui.global::<kiosk::CheckInAdapter>().get_code(), wrong);
    tap(ui, "签到取号");
    assert!(k.state.wait_for(Duration::from_secs(10), |ui| visible(
        ui,
        "没有找到这个签到码，请核对短信里的 6 位数字。"
    )));
    assert_eq!(screen(ui), KioskScreen::Checkin);
    tap(ui, "清空");
    type_keys(ui, &booked.code);
    tap(ui, "签到取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
    let t = ui.global::<TicketAdapter>();
    assert_eq!(t.get_number(), "F003");
    assert_eq!(t.get_ahead(), 0, "ahead of the two walk-ins");
    assert_eq!(t.get_priority_name(), "预约");
    // The counter calls it first.
    let called = ledger(&k.db)
        .call(&bangban::CallRequest {
            window: 12,
            staff: "S601".into(),
            number: None,
        })
        .expect("call");
    assert_eq!(called.number, "F003");
    // The same code again: used.
    kiosk::flow::go_home(ui, &k.state.inner);
    tap(ui, "预约签到");
    type_keys(ui, &booked.code);
    tap(ui, "签到取号");
    assert!(k.state.wait_for(Duration::from_secs(10), |ui| visible(
        ui,
        "这个签到码已经用过了：每个预约只能取一个号。如有疑问请到服务台。"
    )));
}

#[test]
fn a_visit_is_rated_once_on_the_kiosk_and_a_complaint_is_handed_in() {
    let k = kiosk();
    let ui = &k.state.ui;
    let number = issue(&k.db, "A02");
    {
        let mut l = ledger(&k.db);
        l.call(&bangban::CallRequest {
            window: 1,
            staff: "S101".into(),
            number: None,
        })
        .expect("call");
        l.act(&number, 1, "S101", &bangban::CaseAction::Start).expect("start");
    }
    let rate = |level: &str| {
        tap(ui, "评价·吐槽");
        assert_eq!(screen(ui), KioskScreen::Feedback);
        type_keys(ui, &number);
        tap(ui, level);
        tap(ui, "提交评价");
    };
    rate("不满意");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| visible(ui, "谢谢您的评价！")));
    let case = ledger(&k.db).find_case(&number).expect("case");
    assert_eq!(case.rating, Some(2));
    assert!(case.follow_up_open, "a bad rating opens the coordinator's follow-up");
    tap(ui, "返回首页");
    rate("非常满意");
    assert!(k.state.wait_for(Duration::from_secs(10), |ui| visible(
        ui,
        "这次办事已经评价过了：每次办事只能评价一次。"
    )));
    assert_eq!(
        ledger(&k.db).find_case(&number).unwrap().rating,
        Some(2),
        "the first rating stands"
    );
    // 找茬吐槽: a category and the window, no name.
    tap(ui, "找茬吐槽");
    tap(ui, "等候时间太长");
    type_keys(ui, "12");
    tap(ui, "提交意见");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| visible(ui, "谢谢您的意见！")));
    let list = ledger(&k.db).feedback_list(true, Some("BDC")).expect("feedback");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].category.as_str(), list[0].window, list[0].channel.as_str()),
        ("wait", Some(12), "kiosk")
    );
}

#[test]
fn tapping_the_chosen_group_again_clears_it() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "税务局");
    tap(ui, "发票业务");
    tap(ui, "孕妇");
    tap(ui, "孕妇");
    assert_eq!(ui.global::<ConfirmAdapter>().get_priority(), "");
    take_ticket(&k);
    assert_eq!(ledger(&k.db).find_case("G001").unwrap().priority, None);
}

#[test]
fn the_kiosk_refuses_a_missing_or_empty_ledger_unless_asked_for_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.sqlite3");
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, b"").unwrap();
    for db in [&missing, &empty] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .arg("--db")
            .arg(db)
            .arg("--windowed")
            .env_remove("BANGBAN_NOW")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("no ledger at") && err.contains("bangban init"), "{err}");
        assert_eq!(
            std::fs::metadata(db).map(|m| m.len()).unwrap_or(0),
            0,
            "{} was written",
            db.display()
        );
    }
    assert!(!missing.exists(), "no ledger file was created");
    // The demo asks explicitly, and gets a demo ledger.
    let mut config = kiosk::Config::for_ledger(missing.clone());
    config.demo = true;
    i_slint_backend_testing::init_no_event_loop();
    let state = kiosk::init(config).expect("a demo kiosk starts");
    drop(state);
    assert!(missing.exists());
}

/// Tap through to the ticket screen and return the ticket's number.
fn ticket_after(k: &Kiosk, taps: &[&str]) -> String {
    let ui = &k.state.ui;
    assert_eq!(screen(ui), KioskScreen::Welcome);
    for t in taps {
        tap(ui, t);
    }
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket),
        "no ticket after {taps:?}"
    );
    ui.global::<TicketAdapter>().get_number().to_string()
}

#[test]
fn a_featured_matter_takes_two_taps_and_any_matter_three() {
    let k = kiosk();
    // The hall file's featured items are on the welcome screen: item, then 确认取号.
    assert_eq!(ticket_after(&k, &["不动产转移登记", "确认取号"]), "F001");
    assert_eq!(ledger(&k.db).find_case("F001").unwrap().item, "F01");
    tap(&k.state.ui, "完成");
    // Any other matter: department, item, 确认取号.
    assert_eq!(ticket_after(&k, &["医疗保障局", "门诊慢特病", "确认取号"]), "D001");
    assert_eq!(ledger(&k.db).find_case("D001").unwrap().item, "D02");
}

#[test]
fn pinyin_initials_on_the_keypad_find_the_matter() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "搜索事项");
    assert_eq!(screen(ui), KioskScreen::Search);
    for key in ["Q", "Y", "K", "B"] {
        tap(ui, key);
    }
    assert!(visible(ui, "找到 3 项"));
    let first = ui.global::<kiosk::SearchAdapter>().get_results().row_data(0).unwrap();
    assert_eq!(
        (first.main.as_str(), first.sub.as_str()),
        ("企业开办", "有限责任公司设立登记")
    );
    tap(ui, "清空");
    for key in ["B", "D", "C", "Z", "Y"] {
        tap(ui, key);
    }
    let found: Vec<String> = ui
        .global::<kiosk::SearchAdapter>()
        .get_results()
        .iter()
        .map(|r| r.main.to_string())
        .collect();
    // 抵 also reads zhǐ, so 不动产抵押登记 matches too, after the exact reading.
    assert_eq!(found[0], "不动产转移登记", "{found:?}");
    tap(ui, "删除");
    assert_eq!(ui.global::<kiosk::SearchAdapter>().get_query(), "BDCZ");
    tap(ui, "Y");
    tap(ui, "不动产转移登记");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    take_ticket(&k);
    assert_eq!(ledger(&k.db).find_case("F001").unwrap().item, "F01");
}

#[test]
fn hanzi_typed_on_a_keyboard_narrow_the_search_too() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "搜索事项");
    i_slint_backend_testing::ElementHandle::find_by_accessible_label(ui, "搜索内容")
        .next()
        .unwrap()
        .set_accessible_value("公积金");
    let found: Vec<String> = ui
        .global::<kiosk::SearchAdapter>()
        .get_results()
        .iter()
        .map(|r| r.main.to_string())
        .collect();
    assert_eq!(found[0], "公积金提取", "{found:?}");
    assert!(found.iter().all(|m| m.contains("公积金")), "{found:?}");
}

#[test]
fn without_featured_items_in_the_hall_file_the_welcome_screen_offers_todays_most_issued() {
    let dir = tempfile::tempdir().unwrap();
    let hall = dir.path().join("hall.toml");
    let src = bangban::DEMO_HALL
        .lines()
        .filter(|l| !l.starts_with("featured ="))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&hall, src).unwrap();
    let db = dir.path().join("ledger.sqlite3");
    bangban::open_or_demo(&db, bangban::LedgerOptions::default(), "test").unwrap();
    let mut l = bangban::Ledger::open(&db, bangban::LedgerOptions::default()).unwrap();
    l.configure(&bangban::Hall::from_path(&hall).unwrap(), "office", "hall.toml")
        .unwrap();
    drop(l);
    for (item, n) in [("C02", 3), ("B03", 2), ("H01", 1)] {
        for _ in 0..n {
            issue(&db, item);
        }
    }
    let k = kiosk_with(|c| c.db = Some(db.clone()));
    let featured = |ui: &kiosk::KioskWindow| -> Vec<String> {
        ui.global::<kiosk::WelcomeAdapter>()
            .get_featured()
            .iter()
            .map(|i| i.code.to_string())
            .collect()
    };
    assert!(
        k.state
            .wait_for(Duration::from_secs(5), |ui| featured(ui).first().map(String::as_str)
                == Some("C02")),
        "{:?}",
        featured(&k.state.ui)
    );
    let shown = featured(&k.state.ui);
    assert_eq!(&shown[..3], ["C02", "B03", "H01"], "most issued first");
    assert_eq!(
        shown.len(),
        6,
        "filled up with each department's first matter: {shown:?}"
    );
    tap(&k.state.ui, "养老保险");
    assert_eq!(screen(&k.state.ui), KioskScreen::Confirm);
}

#[test]
fn a_visitor_leaves_a_mobile_number_on_the_ticket_screen_and_it_is_kept_only_as_a_note() {
    let hall_dir = tempfile::tempdir().unwrap();
    let hall = hall_dir.path().join("hall.toml");
    let mut toml = bangban::DEMO_HALL.to_string();
    toml.push_str("\n[notify]\ncommand = \"true\"\n");
    std::fs::write(&hall, toml).unwrap();
    let k = kiosk_with(|c| c.hall = Some(hall.clone()));
    let ui = &k.state.ui;
    issue(&k.db, "F01");
    tap(ui, "不动产登记中心");
    tap(ui, "不动产转移登记");
    take_ticket(&k);
    let t = ui.global::<TicketAdapter>();
    assert!(
        t.get_can_remind(),
        "one stands ahead and the hall texts: 短信提醒 is offered"
    );
    tap(ui, "短信提醒");
    assert_eq!(screen(ui), KioskScreen::Phone);
    // A number that is not a mobile is refused on the keypad screen, plainly.
    for c in "23912345678".chars() {
        tap(ui, &c.to_string());
    }
    tap(ui, "确认提醒");
    assert!(visible(ui, "请输入以 1 开头的 11 位手机号。"));
    tap(ui, "清空");
    for c in "13912345678".chars() {
        tap(ui, &c.to_string());
    }
    assert!(visible(ui, "手机号 13912345678"), "read back as typed");
    tap(ui, "确认提醒");
    assert!(
        k.state
            .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket),
        "back to the ticket"
    );
    assert_eq!(
        t.get_reminder(),
        "139****5678",
        "the ticket says where the reminder goes, masked"
    );
    assert!(visible(ui, "已设短信提醒"));
    let mut l = ledger(&k.db);
    let case = l.find_case(&t.get_number()).unwrap();
    let events = l.case_events(case.id).unwrap();
    assert!(events.iter().any(|e| e.kind == "phone_left"));
    assert!(
        events.iter().all(|e| !e.payload.contains("13912345678")),
        "the number is a note, never in an event"
    );
    assert!(l.verify().unwrap().ok);
}

#[test]
fn an_appointment_checks_in_with_the_phone_it_was_booked_with_instead_of_the_code() {
    let k = kiosk();
    let ui = &k.state.ui;
    open_all_day(&k.db);
    let at = chrono::Utc::now() + chrono::Duration::minutes(1);
    ledger(&k.db)
        .book_appointment("F01", &at.to_rfc3339(), "139-1234-5678", "S601", "phone")
        .expect("book");
    issue(&k.db, "F01");
    tap(ui, "预约签到");
    // Another number: refused in the visitor's words.
    type_keys(ui, "13700001111");
    tap(ui, "签到取号");
    assert!(k.state.wait_for(Duration::from_secs(10), |ui| visible(
        ui,
        "今天没有用这个手机号的预约：请核对号码，或输入短信里的签到码。"
    )));
    tap(ui, "清空");
    type_keys(ui, "13912345678");
    assert!(visible(ui, "预约手机号 13912345678"), "read back as typed");
    tap(ui, "签到取号");
    assert!(k
        .state
        .wait_for(Duration::from_secs(10), |ui| screen(ui) == KioskScreen::Ticket));
    let t = ui.global::<TicketAdapter>();
    assert_eq!(t.get_priority_name(), "预约");
    assert_eq!(t.get_ahead(), 0, "ahead of the walk-in");
}

#[test]
fn the_confirm_screen_tells_the_matters_promised_time_limit_and_fees() {
    let k = kiosk();
    let ui = &k.state.ui;
    tap(ui, "不动产登记中心");
    tap(ui, "不动产转移登记");
    assert_eq!(screen(ui), KioskScreen::Confirm);
    assert!(
        visible(ui, "承诺时限 10 个工作日 · 住宅登记费 80 元/件"),
        "the 办事指南's line on the confirm screen"
    );
}
