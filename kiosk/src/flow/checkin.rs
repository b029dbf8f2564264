//! The controller of `CheckInAdapter`: 预约签到 — the six-digit code (or the eleven-digit
//! phone the visit was booked with) on a digit keypad, sent to the hall; the ticket comes back like any other (ticket screen, printer), a refused code
//! stays on this screen with the reason.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::{ComponentHandle, SharedString};

use super::{chrome, model, s, Inner};
use crate::worker::Job;
use crate::{CheckInAdapter, KioskAdapter, KioskScreen, KioskWindow};

const CODE_LEN: usize = 6;
/// Or the mobile number the visit was booked with.
const PHONE_LEN: usize = 11;

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, CheckInAdapter, on_key, |ui, inner, key| {
        let mut code = ui.global::<CheckInAdapter>().get_code().to_string();
        if code.chars().count() < PHONE_LEN && key.chars().all(|c| c.is_ascii_digit()) {
            code.push_str(&key);
        }
        set_code(ui, &code);
        let _ = inner;
    });
    bind!(ui, (), CheckInAdapter, on_backspace, |ui| {
        let mut code = ui.global::<CheckInAdapter>().get_code().to_string();
        code.pop();
        set_code(ui, &code);
    });
    bind!(ui, (), CheckInAdapter, on_clear, |ui| set_code(ui, ""));
    bind!(ui, inner, CheckInAdapter, on_submit, |ui, inner| submit(ui, inner));
    bind!(ui, inner, CheckInAdapter, on_back, |ui, inner| chrome::go_home(
        ui, inner
    ));
}

/// Open the keypad with no code typed.
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    set_code(ui, "");
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Checkin);
}

/// The code typed so far; typing again clears the last refusal.
fn set_code(ui: &KioskWindow, code: &str) {
    let a = ui.global::<CheckInAdapter>();
    a.set_code(s(code));
    let mut boxes: Vec<SharedString> = code.chars().take(CODE_LEN).map(|c| s(&c.to_string())).collect();
    boxes.resize(CODE_LEN, SharedString::default());
    a.set_digits(model(boxes));
    let mut shown = String::new();
    if code.chars().count() > CODE_LEN {
        for (i, c) in code.chars().enumerate() {
            if i == 3 || i == 7 {
                shown.push(' ');
            }
            shown.push(c);
        }
    }
    a.set_phone_shown(s(&shown));
    a.set_refusal(SharedString::default());
}

fn submit(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let k = ui.global::<KioskAdapter>();
    let code = ui.global::<CheckInAdapter>().get_code().to_string();
    if k.get_busy() || k.get_paused() || ![CODE_LEN, PHONE_LEN].contains(&code.chars().count()) {
        return;
    }
    k.set_busy(true);
    inner.borrow().send(Job::CheckIn(code));
}

/// The hall refused the code: say why on the keypad screen, code kept for a correction.
pub fn refused(ui: &KioskWindow, kind: bangban::ErrorKind, detail: &str) {
    ui.global::<KioskAdapter>().set_busy(false);
    let a = ui.global::<CheckInAdapter>();
    // The screen's refusal texts are keyed by the kind's wire name (`code_used` …).
    a.set_refusal(s(kind.as_str()));
    // The ledger's words are for the log: the visitor reads the screen's own.
    tracing::info!("check-in refused: {detail}");
}
