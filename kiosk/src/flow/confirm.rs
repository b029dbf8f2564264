//! The controller of `ConfirmAdapter`: the chosen item, an optional priority group, the
//! service mode, and 确认取号, which hands the issue to the worker.

use std::cell::RefCell;
use std::rc::Rc;

use bangban::api::Issue;
use bangban::{Channel, Mode};
use bangban_headless::bind;
use slint::{ComponentHandle, SharedString};

use super::{en, items, model, s, Inner};
use crate::worker::Job;
use crate::{ConfirmAdapter, KioskAdapter, KioskScreen, KioskWindow, PriorityChoice};

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let hall = inner.borrow().hall.clone();
    ui.global::<ConfirmAdapter>().set_priorities(model(
        hall.priority_classes
            .iter()
            .map(|p| PriorityChoice {
                code: s(&p.code),
                name: s(&p.name),
                name_en: s(&p.name_en),
                badge: s(&badge(&p.code, &p.name)),
            })
            .collect(),
    ));
    bind!(ui, inner, ConfirmAdapter, on_choose_priority, |ui, inner, code| {
        let mut inn = inner.borrow_mut();
        // A second tap on the chosen group clears it: declaring is optional.
        let next = if inn.selection.priority.as_deref() == Some(code.as_str()) {
            None
        } else {
            Some(code.to_string())
        };
        ui.global::<ConfirmAdapter>()
            .set_priority(s(next.as_deref().unwrap_or("")));
        inn.selection.priority = next;
    });
    bind!(ui, inner, ConfirmAdapter, on_choose_mode, |ui, inner, mode| {
        if let Some(m) = Mode::parse(&mode) {
            inner.borrow_mut().selection.mode = Some(m);
            ui.global::<ConfirmAdapter>().set_mode(mode);
        }
    });
    bind!(ui, inner, ConfirmAdapter, on_confirm, |ui, inner| confirm(ui, inner));
    bind!(ui, inner, ConfirmAdapter, on_back, |ui, inner| {
        let has_dept = inner.borrow().selection.department.is_some();
        if has_dept {
            items::show(ui, &inner.borrow());
        } else {
            // From a featured tile, the search or 不知道办什么: back where the visitor began.
            super::chrome::go_home(ui, inner);
        }
    });
}

/// The characters drawn as priority icons: one bold hanzi in a circle, as on hall signage.
fn badge(code: &str, name: &str) -> String {
    match code {
        "elderly" => "老".into(),
        "disabled" => "残".into(),
        "pregnant" => "孕".into(),
        "sick" => "病".into(),
        "mobility" => "行".into(),
        "military" => "军".into(),
        "talent" => "才".into(),
        "keyproject" => "重".into(),
        _ => name.chars().next().map(String::from).unwrap_or_default(),
    }
}

/// Show the confirm screen for an item (from the item list or 「不知道办什么？」).
pub fn choose_item(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, code: &str) {
    let hall = inner.borrow().hall.clone();
    let Some(item) = hall.item(code) else { return };
    let Some(dept) = hall.department(&item.department) else {
        return;
    };
    let mode = item.default_mode();
    // 不知道办什么: the visitor comes to be told what to do, not to have it done.
    let consultation =
        inner.borrow().consult_item().as_deref() == Some(item.code.as_str()) || item.main.contains("咨询");
    {
        let mut inn = inner.borrow_mut();
        inn.selection.item = Some(item.code.clone());
        inn.selection.priority = None;
        inn.selection.mode = (!consultation).then_some(mode);
    }
    let waiting = inner.borrow().counts.get(&dept.code).copied().unwrap_or(0);
    let c = ui.global::<ConfirmAdapter>();
    c.set_department_name(s(&dept.name));
    c.set_department_name_en(en(&dept.name_en, &dept.name));
    let name = item.display_name();
    c.set_item_name(s(&name));
    c.set_item_name_en(en(&item.name_en, &name));
    c.set_window(item.window as i32);
    c.set_waiting(waiting);
    c.set_whole_chain(item.is_whole_chain());
    c.set_consultation(consultation);
    c.set_materials(model(item.materials.iter().map(|m| s(m)).collect()));
    // 办事指南: the promised time limit and the fees (the rest is on the phone's status page).
    let limit = item.time_limit(&inner.borrow().hall.deadlines);
    c.set_time_limit(if consultation { 0 } else { limit as i32 });
    c.set_fees(s(&item.fees));
    c.set_priority(SharedString::default());
    c.set_mode(s(mode.as_str()));
    super::chrome::show_screen(ui, &inner.borrow(), KioskScreen::Confirm);
    preselect_elderly(ui, inner);
}

/// The visitor's ID card said 60 or more: 老年人 is chosen (a tap clears it, as any choice).
pub fn preselect_elderly(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let mut inn = inner.borrow_mut();
    if !inn.selection.id_elderly || inn.selection.item.is_none() || inn.hall.priority(ELDERLY).is_none() {
        return;
    }
    inn.selection.priority = Some(ELDERLY.to_string());
    ui.global::<ConfirmAdapter>().set_priority(s(ELDERLY));
}

/// The priority group of visitors aged 60 and over.
const ELDERLY: &str = "elderly";

/// 确认取号: one issue at a time, none while tickets are paused.
fn confirm(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let k = ui.global::<KioskAdapter>();
    if k.get_busy() || k.get_paused() {
        return;
    }
    let inn = inner.borrow();
    let Some(item) = inn.selection.item.clone() else { return };
    let req = Issue {
        item,
        priority: inn.selection.priority.clone(),
        mode: inn.selection.mode,
        channel: Channel::Kiosk,
    };
    k.set_busy(true);
    inn.send(Job::Issue(req));
}
