//! The controller of `WelcomeAdapter`: 我要办事, 不知道办什么 (straight to the consultation
//! item) and 预约取号 (not offered yet: the notice says where to go instead).

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::ComponentHandle;

use super::{confirm, departments, s, Inner};
use crate::{KioskAdapter, KioskWindow, Notice, WelcomeAdapter};

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    ui.global::<WelcomeAdapter>().set_notice(s(&inner.borrow().hall.notice));
    bind!(ui, inner, WelcomeAdapter, on_start, |ui, inner| departments::show(
        ui, inner
    ));
    bind!(ui, inner, WelcomeAdapter, on_not_sure, |ui, inner| choose_consultation(
        ui, inner
    ));
    // Appointments are not in the ledger yet: say so, and point to the way that works.
    bind!(ui, (), WelcomeAdapter, on_appointment, |ui| ui
        .global::<KioskAdapter>()
        .set_notice(Notice::AppointmentUnavailable));
}

/// 「不知道办什么？」: the hall's consultation item, else the department list.
pub fn choose_consultation(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let item = inner.borrow().consult_item();
    match item {
        Some(code) => {
            inner.borrow_mut().selection.department = None;
            confirm::choose_item(ui, inner, &code);
        }
        None => departments::show(ui, inner),
    }
}
