//! The controller of `FeedbackAdapter`: 评价 (好差评, by the ticket's number on the keypad or
//! its QR code on the scanner, five levels, once per visit) and 找茬吐槽 (a category and, if the
//! visitor wants, the window); both go to the hall and end on a thank-you with what follows.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::{ComponentHandle, SharedString};

use super::{chrome, model, s, Inner};
use crate::worker::Job;
use crate::{FeedbackAdapter, FeedbackChoice, KioskAdapter, KioskScreen, KioskWindow};
use bangban::ErrorKind;

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let hall = inner.borrow().hall.clone();
    let f = ui.global::<FeedbackAdapter>();
    f.set_keys(model(rating_keys(&hall, "")));
    let english = [
        "Waited too long",
        "Staff attitude",
        "Unclear directions",
        "Slow service",
        "Materials asked again and again",
        "Facilities",
        "Other",
    ];
    f.set_categories(model(
        bangban::FEEDBACK_CATEGORIES
            .iter()
            .zip(english)
            .map(|((code, name), en)| FeedbackChoice {
                code: s(code),
                name: s(name),
                name_en: s(en),
            })
            .collect(),
    ));
    bind!(ui, inner, FeedbackAdapter, on_key, |ui, inner, key| {
        let f = ui.global::<FeedbackAdapter>();
        if f.get_mode() == "rate" {
            let t = format!("{}{}", f.get_ticket(), key);
            set_ticket(ui, &inner.borrow().hall, t.chars().take(8).collect());
        } else {
            let w = format!("{}{}", f.get_window(), key);
            f.set_window(s(&w.chars().take(3).collect::<String>()));
        }
        f.set_refusal(SharedString::default());
    });
    bind!(ui, inner, FeedbackAdapter, on_backspace, |ui, inner| {
        let f = ui.global::<FeedbackAdapter>();
        if f.get_mode() == "rate" {
            let mut t = f.get_ticket().to_string();
            t.pop();
            set_ticket(ui, &inner.borrow().hall, t);
        } else {
            let mut w = f.get_window().to_string();
            w.pop();
            f.set_window(s(&w));
        }
    });
    bind!(ui, inner, FeedbackAdapter, on_clear, |ui, inner| {
        let f = ui.global::<FeedbackAdapter>();
        if f.get_mode() == "rate" {
            set_ticket(ui, &inner.borrow().hall, String::new());
        } else {
            f.set_window(SharedString::default());
        }
    });
    // The scanner types the QR code's token (or a visitor a number on a keyboard), then Enter.
    bind!(ui, inner, FeedbackAdapter, on_scanned, |ui, inner, text| {
        let f = ui.global::<FeedbackAdapter>();
        let text = text.trim().to_string();
        if f.get_mode() == "rate" {
            // A status-page address carries the token at its end.
            let token = text.rsplit('/').next().unwrap_or_default().to_string();
            set_ticket(ui, &inner.borrow().hall, token);
        } else {
            f.set_window(s(&text
                .chars()
                .filter(|c| c.is_ascii_digit())
                .take(3)
                .collect::<String>()));
        }
    });
    // Switching between 评价 and 找茬吐槽 starts that form afresh (also after a thank-you).
    bind!(ui, inner, FeedbackAdapter, on_set_mode, |ui, inner, mode| {
        clear(ui, &mode);
        set_ticket(ui, &inner.borrow().hall, String::new());
    });
    bind!(ui, (), FeedbackAdapter, on_set_level, |ui, level| ui
        .global::<FeedbackAdapter>()
        .set_level(level));
    bind!(ui, (), FeedbackAdapter, on_set_category, |ui, code| ui
        .global::<FeedbackAdapter>()
        .set_category(code));
    bind!(ui, inner, FeedbackAdapter, on_submit, |ui, inner| submit(ui, inner));
    bind!(ui, inner, FeedbackAdapter, on_back, |ui, inner| chrome::go_home(
        ui, inner
    ));
}

/// The keys of the ticket-number keypad: the hall's queue prefixes and the digits together;
/// in a hall of many departments, whose letters and digits would not fit as keys a finger can
/// hit, the letters first and the digits once a prefix is typed.
fn rating_keys(hall: &bangban::Hall, ticket: &str) -> Vec<SharedString> {
    let letters: Vec<SharedString> = hall.departments.iter().map(|d| s(&d.prefix)).collect();
    let digits = (1..=9).chain([0]).map(|d| s(&d.to_string()));
    if letters.len() <= 6 {
        letters.into_iter().chain(digits).collect()
    } else if hall.departments.iter().any(|d| ticket.starts_with(d.prefix.as_str())) {
        digits.collect()
    } else {
        letters
    }
}

/// The ticket number typed so far, and the keys that may come next.
fn set_ticket(ui: &KioskWindow, hall: &bangban::Hall, ticket: String) {
    let f = ui.global::<FeedbackAdapter>();
    let keys = rating_keys(hall, &ticket);
    if !slint::Model::iter(&f.get_keys()).eq(keys.iter().cloned()) {
        f.set_keys(model(keys));
    }
    f.set_ticket(s(&ticket));
}

/// Open the screen on 服务评价 (or 找茬吐槽) with nothing chosen.
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, mode: &str) {
    clear(ui, mode);
    set_ticket(ui, &inner.borrow().hall, String::new());
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Feedback);
}

/// The form of `mode` with nothing chosen.
fn clear(ui: &KioskWindow, mode: &str) {
    let f = ui.global::<FeedbackAdapter>();
    f.set_mode(s(mode));
    f.set_ticket(SharedString::default());
    f.set_window(SharedString::default());
    f.set_level(0);
    f.set_category(SharedString::default());
    f.set_sent(false);
    f.set_follow_up(false);
    f.set_refusal(SharedString::default());
}

fn submit(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let k = ui.global::<KioskAdapter>();
    let f = ui.global::<FeedbackAdapter>();
    if k.get_busy() || k.get_paused() {
        return;
    }
    let job = if f.get_mode() == "rate" {
        let ticket = f.get_ticket().to_string();
        if ticket.is_empty() || !(1..=5).contains(&f.get_level()) {
            return;
        }
        Job::Rate(bangban::api::Rate {
            ticket,
            level: f.get_level() as u8,
        })
    } else {
        if f.get_category().is_empty() {
            return;
        }
        Job::Feedback(bangban::NewFeedback {
            kind: bangban::FeedbackKind::Complaint,
            category: f.get_category().to_string(),
            department: None,
            window: f.get_window().parse().ok(),
            channel: "kiosk".into(),
            text: None,
        })
    };
    k.set_busy(true);
    inner.borrow().send(job);
}

/// The hall answered a rating.
pub fn rated(ui: &KioskWindow, inner: &Inner, result: Result<bangban::api::Rated, (ErrorKind, String)>) {
    ui.global::<KioskAdapter>().set_busy(false);
    let f = ui.global::<FeedbackAdapter>();
    match result {
        Ok(r) => {
            f.set_follow_up(r.follow_up);
            let now = inner.now.now();
            let due = bangban::add_working_days(
                now,
                inner.hall.deadlines.rating_reply_days,
                inner.hall.tz(),
                &inner.hall.calendar,
            );
            set_due(&f, inner, due);
            f.set_sent(true);
        }
        Err((kind, detail)) => {
            // The ledger says which: rated already, not served yet, no such ticket.
            let refusal = match kind {
                ErrorKind::UnknownCase => "unknown_ticket",
                ErrorKind::AlreadyRated => "rated_already",
                ErrorKind::NotServed => "not_served",
                _ => "failed",
            };
            tracing::warn!("rating refused: {detail}");
            f.set_refusal(s(refusal));
        }
    }
}

/// The hall took a complaint.
pub fn sent(ui: &KioskWindow, inner: &Inner, result: Result<bangban::api::FeedbackReceipt, (ErrorKind, String)>) {
    ui.global::<KioskAdapter>().set_busy(false);
    let f = ui.global::<FeedbackAdapter>();
    match result {
        Ok(r) => {
            match bangban::clock::parse_stamp(&r.due) {
                Some(due) => set_due(&f, inner, due),
                None => {
                    tracing::warn!("the complaint's reply date {:?} is not a time", r.due);
                    f.set_due(SharedString::default());
                    f.set_due_en(SharedString::default());
                }
            }
            f.set_sent(true);
        }
        Err((_, detail)) => {
            tracing::warn!("complaint not recorded: {detail}");
            f.set_refusal(s("failed"));
        }
    }
}

/// The day a reply is due, as the visitor reads it: 「12月09日」, 「9 Dec」.
fn set_due(f: &FeedbackAdapter<'_>, inner: &Inner, due: chrono::DateTime<chrono::Utc>) {
    let local = due.with_timezone(&inner.hall.tz());
    f.set_due(s(&local.format("%m月%d日").to_string()));
    f.set_due_en(s(&local.format("%-d %b").to_string()));
}
