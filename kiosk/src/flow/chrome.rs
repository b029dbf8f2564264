//! The controller of `KioskAdapter`, the chrome around every screen: hall name and clock,
//! the idle timeout, 返回首页, the language and large-text switches, notices, and the
//! paused-tickets state of a kiosk whose server does not answer.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bangban::{ErrorKind, Hall};
use bangban_headless::bind;
use slint::{ComponentHandle, SharedString, TimerMode};

use super::{en, s, Inner, Selection, HEALTH_CHECK};
use crate::worker::{IssueFailure, Job};
use crate::{ConfirmAdapter, KioskAdapter, KioskScreen, KioskWindow, Notice, Theme};

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let hall = inner.borrow().hall.clone();
    let k = ui.global::<KioskAdapter>();
    k.set_hall_name(s(&hall.name));
    k.set_hall_name_en(en(&hall.name_en, &hall.name));
    k.set_hours(if hall.open.is_empty() || hall.close.is_empty() {
        SharedString::default()
    } else {
        s(&format!("{}–{}", hall.open, hall.close))
    });
    k.set_last_ticket(if hall.last_ticket.is_empty() || hall.last_ticket == hall.close {
        SharedString::default()
    } else {
        s(&hall.last_ticket)
    });
    update_clock(ui, &hall, &*inner.borrow().now);
    {
        let weak = ui.as_weak();
        let now = inner.borrow().now.clone();
        inner
            .borrow()
            .clock
            .start(TimerMode::Repeated, Duration::from_secs(15), move || {
                if let Some(ui) = weak.upgrade() {
                    update_clock(&ui, &hall, &*now);
                }
            });
    }
    // A kiosk on the hall server asks every two seconds whether the server is there, so a
    // visitor learns within five seconds that tickets are paused, and the kiosk resumes by
    // itself once the server answers again.
    if inner.borrow().config.server.is_some() {
        let i = Rc::downgrade(inner);
        inner.borrow().health.start(TimerMode::Repeated, HEALTH_CHECK, move || {
            if let Some(inner) = i.upgrade() {
                inner.borrow().send(Job::Check);
            }
        });
    }
    // Every tap restarts the idle timer.
    bind!(ui, inner, KioskAdapter, on_touched, |ui, inner| touched(ui, inner));
    bind!(ui, inner, KioskAdapter, on_go_home, |ui, inner| go_home(ui, inner));
    bind!(ui, (), KioskAdapter, on_set_english, |ui, en| set_english(ui, en));
    bind!(ui, inner, KioskAdapter, on_set_large_text, |ui, inner, on| {
        set_large_text(ui, inner, on)
    });
    {
        let k = ui.global::<KioskAdapter>();
        let inn = inner.borrow();
        k.set_has_voice(inn.voice.is_some());
        k.set_voice(inn.voice.is_some() && (inn.config.voice || hall_voice(&inn)));
    }
    bind!(ui, inner, KioskAdapter, on_set_voice, |ui, inner, on| {
        ui.global::<KioskAdapter>().set_voice(on);
        // Turned on: say at once where the visitor is.
        speak(ui, &inner.borrow());
    });
    bind!(ui, inner, KioskAdapter, on_id_key, |ui, inner, key| id_key(
        ui, inner, &key
    ));
    bind!(ui, (), KioskAdapter, on_dismiss_notice, |ui| {
        let k = ui.global::<KioskAdapter>();
        k.set_notice(Notice::None);
    });
}

fn update_clock(ui: &KioskWindow, hall: &Hall, clock: &dyn bangban::clock::Clock) {
    let now = clock.now().with_timezone(&hall.tz());
    ui.global::<KioskAdapter>()
        .set_clock_text(s(&now.format("%Y-%m-%d %H:%M").to_string()));
}

pub fn set_english(ui: &KioskWindow, en: bool) {
    if let Err(e) = slint::select_bundled_translation(if en { "en" } else { "" }) {
        tracing::warn!("cannot switch language: {e}");
    }
    ui.global::<KioskAdapter>().set_english(en);
}

/// Any tap: restart the idle timer that takes the kiosk back to the welcome screen.
pub fn touched(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let secs = inner.borrow().config.idle_seconds;
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    inner
        .borrow()
        .idle
        .start(TimerMode::SingleShot, Duration::from_secs(secs), move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                let k = ui.global::<KioskAdapter>();
                // An issue in flight finishes first: its ticket must be shown, never dropped.
                if k.get_busy() {
                    touched(&ui, &inner);
                } else if k.get_screen() != KioskScreen::Ticket {
                    reset(&ui, &inner);
                }
            }
        });
}

/// A key from the ID card reader: digits and X gather; Enter (or the 18th character) reads
/// the number. A valid card of someone aged 60 or more chooses 老年人 for them; an unreadable
/// one is said in plain words. The number is dropped once read: it reaches no log, event or
/// table.
fn id_key(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, key: &str) {
    let done = {
        let mut inn = inner.borrow_mut();
        match key {
            "\n" | "\r" => true,
            k if k.len() == 1 && (k.as_bytes()[0].is_ascii_digit() || k.eq_ignore_ascii_case("x")) => {
                inn.id_keys.push_str(k);
                inn.id_keys.len() >= 18
            }
            // Anything else is not a card being read.
            _ => {
                inn.id_keys.clear();
                false
            }
        }
    };
    if !done {
        return;
    }
    let number = std::mem::take(&mut inner.borrow_mut().id_keys);
    if number.is_empty() {
        return;
    }
    touched(ui, inner);
    let today = {
        let inn = inner.borrow();
        bangban::clock::business_day(inn.now.now(), inn.hall.tz())
    };
    match crate::idcard::age(&number, today) {
        Ok(age) if age >= 60 => {
            inner.borrow_mut().selection.id_elderly = true;
            ui.global::<KioskAdapter>().set_id_elderly(true);
            super::confirm::preselect_elderly(ui, inner);
        }
        Ok(_) => {}
        Err(e) => {
            // The kind only: the digits stay out of the log.
            tracing::info!("an ID card number could not be read ({e:?})");
            ui.global::<KioskAdapter>().set_notice(Notice::IdUnreadable);
        }
    }
}

/// Ready for the next visitor: the welcome screen in Chinese, normal text, the voice as the
/// hall set it, nothing chosen.
pub fn reset(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    if ui.global::<KioskAdapter>().get_busy() {
        return;
    }
    {
        let inn = inner.borrow();
        ui.global::<KioskAdapter>()
            .set_voice(inn.voice.is_some() && (inn.config.voice || hall_voice(&inn)));
    }
    let k = ui.global::<KioskAdapter>();
    k.set_notice(Notice::None);
    go_to_welcome(ui, inner);
    set_large_text(ui, inner, false);
    set_english(ui, false);
}

/// 大字 on or off: every list offers fewer, larger tiles (or more, smaller ones), so the
/// welcome screen and the list on screen are laid out again, the visitor's page kept.
pub fn set_large_text(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, on: bool) {
    ui.global::<Theme>().set_large_text(on);
    let inn = inner.borrow();
    super::departments::update(ui, &inn);
    super::welcome::publish_featured(ui, &inn);
    match ui.global::<KioskAdapter>().get_screen() {
        KioskScreen::Items => super::items::publish(ui, &inn),
        KioskScreen::Search => super::search::update(ui, &inn),
        _ => {}
    }
}

fn hall_voice(inner: &Inner) -> bool {
    inner.hall.voice
}

/// Show a screen and, with the voice on, say what it asks of the visitor.
pub fn show_screen(ui: &KioskWindow, inner: &Inner, screen: KioskScreen) {
    ui.global::<KioskAdapter>().set_screen(screen);
    speak(ui, inner);
}

/// Say the prompt of the screen now showing (when the visitor has the voice on), in the
/// language on screen; the ticket is read out with its digits one by one.
pub fn speak(ui: &KioskWindow, inner: &Inner) {
    let k = ui.global::<KioskAdapter>();
    let (Some(voice), true) = (&inner.voice, k.get_voice()) else {
        return;
    };
    voice.say(prompt(ui, k.get_english()));
}

/// The words for the screen now showing.
pub fn prompt(ui: &KioskWindow, english: bool) -> String {
    use crate::{ConfirmAdapter, ItemAdapter, TicketAdapter};
    let k = ui.global::<KioskAdapter>();
    match (k.get_screen(), english) {
        (KioskScreen::Welcome, false) => "请点选常办事项，或按部门办理；也可以点搜索事项。".into(),
        (KioskScreen::Welcome, true) => "Tap a common matter, or choose a department. You can also search.".into(),
        (KioskScreen::Departments, false) => "请选择办事部门。".into(),
        (KioskScreen::Departments, true) => "Please choose a department.".into(),
        (KioskScreen::Items, false) => {
            format!(
                "{}。请选择要办理的事项。",
                ui.global::<ItemAdapter>().get_department_name()
            )
        }
        (KioskScreen::Items, true) => format!(
            "{}. Please choose your matter.",
            ui.global::<ItemAdapter>().get_department_name_en()
        ),
        (KioskScreen::Confirm, false) => {
            let c = ui.global::<ConfirmAdapter>();
            format!(
                "{}，{}号窗口。属于优先人群请点选，然后点确认取号。",
                c.get_item_name(),
                c.get_window()
            )
        }
        (KioskScreen::Confirm, true) => {
            let c = ui.global::<ConfirmAdapter>();
            format!(
                "{}, window {}. Choose a priority group if one applies, then tap Confirm and get ticket.",
                c.get_item_name_en(),
                c.get_window()
            )
        }
        (KioskScreen::Ticket, false) => {
            let t = ui.global::<TicketAdapter>();
            let number = bangban_headless::voice::spell_digits(&t.get_number());
            let go = if t.get_several_windows() {
                format!("请留意叫号屏，到{}号窗口办理", t.get_windows_text())
            } else {
                format!("请到{}号窗口办理", t.get_window())
            };
            if t.get_ahead() == 0 {
                format!("您的号码是{number}，{go}，前面没有人等候")
            } else {
                format!("您的号码是{number}，{go}，前面还有{}人", t.get_ahead())
            }
        }
        (KioskScreen::Ticket, true) => {
            let t = ui.global::<TicketAdapter>();
            let number: String = t.get_number().chars().map(|c| format!("{c} ")).collect();
            format!(
                "Your number is {}. Please go to window {}. {} ahead of you.",
                number.trim_end(),
                t.get_windows_text_en(),
                t.get_ahead()
            )
        }
        (KioskScreen::Search, false) => "请用字母键输入事项名称的拼音首字母。".into(),
        (KioskScreen::Search, true) => "Type the pinyin initials of the matter on the letter keys.".into(),
        (KioskScreen::Phone, false) => "请输入您的十一位手机号，再点确认提醒。".into(),
        (KioskScreen::Phone, true) => "Type your eleven-digit mobile number, then tap Text me.".into(),
        (KioskScreen::Checkin, false) => "请输入预约短信里的六位签到码，或预约用的手机号，再点签到取号。".into(),
        (KioskScreen::Checkin, true) => "Type the six-digit code from your booking message, or the mobile number you booked with, then tap Check in.".into(),
        (KioskScreen::Feedback, false) => "请输入小票号码并选择满意程度；也可以点找茬吐槽提意见。".into(),
        (KioskScreen::Feedback, true) => {
            "Type your ticket number and choose how satisfied you are, or tap Complaints to tell us what went wrong."
                .into()
        }
    }
}

/// Back to the welcome screen, forgetting the half-made choice; the same visitor keeps the
/// language, text size and voice they chose (and hears the welcome prompt again).
pub fn go_home(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    if ui.global::<KioskAdapter>().get_busy() {
        return;
    }
    go_to_welcome(ui, inner);
    speak(ui, &inner.borrow());
}

fn go_to_welcome(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection = Selection::default();
        inn.countdown.stop();
        inn.ticket_case = None;
    }
    let k = ui.global::<KioskAdapter>();
    k.set_screen(KioskScreen::Welcome);
    k.set_notice(Notice::None);
    k.set_id_elderly(false);
    inner.borrow_mut().id_keys.clear();
    ui.global::<ConfirmAdapter>().set_priority(SharedString::default());
}

/// A ticket could not be issued: say why, or pause tickets while the server is away.
pub fn issue_failed(ui: &KioskWindow, failure: IssueFailure) {
    let k = ui.global::<KioskAdapter>();
    k.set_busy(false);
    let (notice, detail) = match failure {
        IssueFailure::Busy(d) => (Notice::LedgerBusy, d),
        IssueFailure::Unreachable(d) => {
            // Nothing was issued; tickets pause until the server answers again.
            k.set_paused(true);
            tracing::error!("cannot reach the hall server: {d}");
            return;
        }
        IssueFailure::DayClosed(d) => (Notice::DayClosed, d),
        IssueFailure::Refused(ErrorKind::OutsideHours, d) => (Notice::OutsideHours, d),
        IssueFailure::Refused(ErrorKind::QuotaReached, d) => (Notice::QuotaReached, d),
        IssueFailure::Refused(_, d) => (Notice::IssueFailed, d),
        IssueFailure::Other(d) => (Notice::IssueFailed, d),
    };
    // The cause is for the log; the visitor reads the notice's own words.
    tracing::error!("cannot issue a ticket: {detail}");
    k.set_notice(notice);
}

/// The server's health check answered (or did not): resume or pause tickets.
pub fn reachable(ui: &KioskWindow, up: bool) {
    let k = ui.global::<KioskAdapter>();
    if k.get_paused() != !up {
        if up {
            tracing::info!("the hall server answers again: tickets resume");
        } else {
            tracing::warn!("the hall server does not answer: tickets are paused");
        }
    }
    k.set_paused(!up);
}
