//! The controller of `TicketAdapter`: the issued ticket on screen, its print outcome, and the
//! countdown back to the welcome screen.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bangban::Ticket;
use bangban_headless::bind;
use bangban_printer::PrinterTarget;
use slint::{ComponentHandle, TimerMode};

use super::{chrome, en, model, s, Inner};
use crate::{KioskAdapter, KioskScreen, KioskWindow, PrintState, TicketAdapter};

/// How long a ticket that did not print stays on screen, at least.
pub const PRINT_FAILED_SECONDS: i32 = 120;

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, TicketAdapter, on_done, |ui, inner| chrome::reset(ui, inner));
}

/// The worker's print outcome, shown if that ticket is still on screen.
pub fn printed(ui: &KioskWindow, inner: &Inner, case_id: i64, ok: bool) {
    if inner.ticket_case == Some(case_id) {
        let a = ui.global::<TicketAdapter>();
        a.set_print_state(if ok { PrintState::Printed } else { PrintState::Failed });
        // No slip: the visitor needs time to photograph the number (or go to the desk).
        if !ok {
            a.set_seconds_left(a.get_seconds_left().max(PRINT_FAILED_SECONDS));
        }
    }
}

pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, t: Ticket) {
    let hall = inner.borrow().hall.clone();
    let has_printer = inner.borrow().printer != PrinterTarget::None;
    let item = hall.item(&t.item);
    let dept = hall.department(&t.department);
    let a = ui.global::<TicketAdapter>();
    a.set_number(s(&t.number));
    a.set_department_name(s(&t.department_name));
    a.set_department_name_en(en(dept.map(|d| d.name_en.as_str()).unwrap_or(""), &t.department_name));
    a.set_item_name(s(&t.item_name));
    a.set_item_name_en(en(item.map(|i| i.name_en.as_str()).unwrap_or(""), &t.item_name));
    a.set_window(t.window as i32);
    let windows = t.windows_text();
    a.set_windows_text(s(&windows));
    a.set_windows_text_en(s(&windows.replace('、', ", ")));
    a.set_several_windows(t.windows.len() > 1);
    a.set_ahead(t.ahead as i32);
    a.set_wait_min(t.estimated_wait_min as i32);
    a.set_priority_name(s(t.priority_name.as_deref().unwrap_or("")));
    let prio = t.priority.as_deref().and_then(|p| hall.priority(p));
    a.set_priority_name_en(prio.map(|p| en(&p.name_en, &p.name)).unwrap_or_default());
    a.set_mode(s(t.mode.as_str()));
    a.set_qr(crate::qr::image(&t.qr_payload, 8));
    a.set_materials(model(t.materials.iter().map(|m| s(m)).collect()));
    a.set_print_state(if has_printer {
        PrintState::Printing
    } else {
        PrintState::None
    });
    let seconds = inner.borrow().config.ticket_seconds;
    a.set_seconds_left(seconds as i32);
    // 短信提醒 is offered when the hall sends messages and the ticket stands in a queue.
    a.set_can_remind(hall.notify.enabled() && t.ahead > 0);
    a.set_reminder(s(""));
    // The worker prints it straight after issuing; its outcome arrives as `Printed`.
    {
        let mut inn = inner.borrow_mut();
        inn.ticket_case = Some(t.case_id);
        inn.ticket_token = Some(t.token.clone());
    }
    let k = ui.global::<KioskAdapter>();
    k.set_busy(false);
    resume(ui, inner);
}

/// Show the ticket screen and count down to the welcome screen for the next visitor (again,
/// after 短信提醒).
pub fn resume(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Ticket);
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    inner
        .borrow()
        .countdown
        .start(TimerMode::Repeated, Duration::from_secs(1), move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                let a = ui.global::<TicketAdapter>();
                let left = a.get_seconds_left() - 1;
                a.set_seconds_left(left.max(0));
                if left <= 0 {
                    chrome::reset(&ui, &inner);
                }
            }
        });
}
