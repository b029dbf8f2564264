//! The controller of `PhoneAdapter`: 短信提醒 — after the ticket, a mobile number on a digit
//! keypad, sent to the hall with the ticket; the ticket screen comes back saying where the
//! reminder will go (masked). The number is kept in this module only until it is sent.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::{ComponentHandle, SharedString};

use super::{chrome, s, Inner};
use crate::worker::Job;
use crate::{KioskAdapter, KioskScreen, KioskWindow, PhoneAdapter, TicketAdapter};

const PHONE_LEN: usize = 11;

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, (), PhoneAdapter, on_key, |ui, key| {
        let mut number = ui.global::<PhoneAdapter>().get_number().to_string();
        if number.chars().count() < PHONE_LEN && key.chars().all(|c| c.is_ascii_digit()) {
            number.push_str(&key);
        }
        set_number(ui, &number);
    });
    bind!(ui, (), PhoneAdapter, on_backspace, |ui| {
        let mut number = ui.global::<PhoneAdapter>().get_number().to_string();
        number.pop();
        set_number(ui, &number);
    });
    bind!(ui, (), PhoneAdapter, on_clear, |ui| set_number(ui, ""));
    bind!(ui, inner, PhoneAdapter, on_submit, |ui, inner| submit(ui, inner));
    bind!(ui, inner, PhoneAdapter, on_back, |ui, inner| back(ui, inner));
    bind!(ui, inner, TicketAdapter, on_remind, |ui, inner| show(ui, inner));
}

/// Open the keypad from the ticket screen: the ticket's countdown waits meanwhile.
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    set_number(ui, "");
    inner.borrow().countdown.stop();
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Phone);
}

/// Back to the ticket, its countdown started again.
fn back(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    set_number(ui, "");
    more_time(ui);
    super::ticket::resume(ui, inner);
}

/// Back on the ticket, the visitor has time to read it again before it goes.
fn more_time(ui: &KioskWindow) {
    let t = ui.global::<TicketAdapter>();
    t.set_seconds_left(t.get_seconds_left().max(15));
}

/// The number typed so far (grouped 139 1234 5678 on screen); typing clears a refusal.
fn set_number(ui: &KioskWindow, number: &str) {
    let a = ui.global::<PhoneAdapter>();
    a.set_number(s(number));
    let mut shown = String::new();
    for (i, c) in number.chars().enumerate() {
        if i == 3 || i == 7 {
            shown.push(' ');
        }
        shown.push(c);
    }
    a.set_shown(s(&shown));
    a.set_refusal(SharedString::default());
}

fn submit(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let k = ui.global::<KioskAdapter>();
    let number = ui.global::<PhoneAdapter>().get_number().to_string();
    if k.get_busy() || number.chars().count() != PHONE_LEN {
        return;
    }
    if !number.starts_with('1') {
        ui.global::<PhoneAdapter>().set_refusal(s("invalid"));
        return;
    }
    let Some(ticket) = inner.borrow().ticket_token.clone() else {
        return;
    };
    k.set_busy(true);
    inner.borrow().send(Job::LeavePhone { ticket, phone: number });
}

/// The hall's answer: back to the ticket saying where the reminder goes, or why not.
pub fn answered(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, result: Result<(), (bangban::ErrorKind, String)>) {
    ui.global::<KioskAdapter>().set_busy(false);
    let a = ui.global::<PhoneAdapter>();
    match result {
        Ok(()) => {
            let number = a.get_number().to_string();
            ui.global::<TicketAdapter>()
                .set_reminder(s(&bangban::mask_phone(&number)));
            set_number(ui, "");
            more_time(ui);
            super::ticket::resume(ui, inner);
        }
        Err((kind, detail)) => {
            // The ledger's words go to the log without the number; the screen says its own.
            tracing::info!("a reminder was not taken: {detail}");
            a.set_refusal(s(match kind {
                bangban::ErrorKind::Invalid if detail.contains("11 digits") => "invalid",
                bangban::ErrorKind::Invalid => "late",
                _ => "failed",
            }));
        }
    }
}
