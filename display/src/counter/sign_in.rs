//! The controller of `SignInAdapter`: sign-in and sign-out, who is signed in, and the
//! console's status line (what the last action did, or why it did not).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bangban::Hall;
use bangban_headless::bind;
use slint::{ComponentHandle, TimerMode};

use super::{s, send, Inner};
use crate::desk::{Cmd, Message, View};
use crate::{ConsoleMessage, CounterWindow, MessageKind, SignInAdapter};

/// The hall's name and the window's departments, before anyone signs in.
pub fn setup(ui: &CounterWindow, hall: &Hall, window: u32) {
    let a = ui.global::<SignInAdapter>();
    a.set_window(window as i32);
    a.set_hall_name(s(&hall.name));
    let depts = hall.departments_at_window(window);
    a.set_departments(s(&depts.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join("、")));
    a.set_logged_in(false);
    a.set_message(ConsoleMessage::default());
}

pub fn wire(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, SignInAdapter, on_login, |_ui, inner, staff, pin| {
        send(
            inner,
            Cmd::Login {
                staff: staff.to_string(),
                pin: pin.to_string(),
            },
        );
        // The queue changes as kiosks issue tickets; keep it current while signed in.
        let i = Rc::downgrade(inner);
        inner
            .borrow()
            .refresh
            .start(TimerMode::Repeated, Duration::from_secs(2), move || {
                if let Some(inner) = i.upgrade() {
                    if inner.borrow().pending == 0 {
                        send(&inner, Cmd::Refresh);
                    }
                }
            });
    });
    bind!(ui, inner, SignInAdapter, on_logout, |_ui, inner| {
        inner.borrow().refresh.stop();
        send(inner, Cmd::Logout);
    });
}

/// The desk's message as the adapter's data; the words are chosen in `.slint`.
fn message(m: &Message) -> ConsoleMessage {
    let mut out = ConsoleMessage::default();
    match m {
        Message::Clear => {}
        Message::Called(text) => {
            out.kind = MessageKind::Called;
            out.text = s(text);
        }
        Message::Moved { number, state } => {
            out.kind = MessageKind::Moved;
            out.text = s(number);
            out.state = s(state.as_str());
        }
        Message::Returned(number) => {
            out.kind = MessageKind::Returned;
            out.text = s(number);
        }
        Message::SlipPrinted(number) => {
            out.kind = MessageKind::SlipPrinted;
            out.text = s(number);
        }
        Message::Booked { time, code, phone } => {
            out.kind = MessageKind::Booked;
            out.text = s(code);
            out.state = s(time);
            out.detail = s(phone);
        }
        Message::SignAsked(title) => {
            out.kind = MessageKind::SignAsked;
            out.text = s(title);
        }
        Message::FormPrinted { title, to } => {
            out.kind = MessageKind::FormPrinted;
            out.text = s(title);
            out.detail = s(to);
        }
        Message::PrincipalSaved(number) => {
            out.kind = MessageKind::PrincipalSaved;
            out.text = s(number);
        }
        Message::WindowPaused(true) => out.kind = MessageKind::WindowPaused,
        Message::WindowPaused(false) => out.kind = MessageKind::WindowResumed,
        Message::Failed { kind, detail } => {
            out.kind = MessageKind::Failed;
            out.error = s(kind.code());
            out.detail = s(detail);
        }
    }
    out
}

/// Show the session part of a view. Returns false when the server is out of reach, so the
/// rest of the screen stays as it was.
pub fn show(ui: &CounterWindow, v: &View) -> bool {
    let a = ui.global::<SignInAdapter>();
    a.set_offline(v.offline);
    if let Some(m) = &v.message {
        a.set_message(message(m));
    }
    if v.offline {
        return false;
    }
    a.set_logged_in(v.logged_in);
    a.set_staff_name(s(&v.staff_name));
    ui.global::<crate::CasePanelAdapter>().set_office(v.office);
    if v.message.as_ref().is_some_and(|m| !m.is_failure()) {
        a.set_cleared(a.get_cleared() + 1);
    }
    true
}
