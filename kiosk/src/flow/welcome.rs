//! The controller of `WelcomeAdapter`: the hall's featured matters (one tap to the confirm
//! screen), the departments (one tap to their items), 搜索事项, 不知道办什么 (straight to the
//! consultation item), 预约签到 (the code keypad) and 评价·吐槽 (ratings and complaints).

use std::cell::RefCell;
use std::rc::Rc;

use bangban::Hall;
use bangban_headless::bind;
use slint::ComponentHandle;

use super::{checkin, confirm, departments, feedback, items, model, s, search, Inner};
use crate::{ItemRow, KioskWindow, WelcomeAdapter};

/// How many matters the welcome screen offers directly.
pub const FEATURED: usize = 6;

/// The featured matters shown: six, or four larger ones in 大字.
pub fn featured_room(large: bool) -> usize {
    if large {
        4
    } else {
        FEATURED
    }
}

/// How many department tiles fit on the welcome screen (twelve, six in 大字); a hall with more
/// shows as many less one, and 「全部部门」.
pub fn departments_room(large: bool) -> usize {
    if large {
        6
    } else {
        12
    }
}

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let hall = inner.borrow().hall.clone();
    let w = ui.global::<WelcomeAdapter>();
    w.set_notice(s(&hall.notice));
    w.set_notice_lines(s(&super::balanced(&hall.notice)));
    publish_featured(ui, &inner.borrow());
    // The waiting counts on the department tiles, and today's most issued matters.
    inner.borrow().send(crate::worker::Job::WaitingCounts);
    bind!(ui, inner, WelcomeAdapter, on_choose_item, |ui, inner, code| {
        {
            let mut inn = inner.borrow_mut();
            inn.selection.department = None;
            inn.selection.page = 0;
        }
        confirm::choose_item(ui, inner, &code)
    });
    bind!(ui, inner, WelcomeAdapter, on_choose_department, |ui, inner, code| {
        items::choose_department(ui, inner, &code)
    });
    bind!(ui, inner, WelcomeAdapter, on_search, |ui, inner| search::show(
        ui, inner
    ));
    bind!(ui, inner, WelcomeAdapter, on_start, |ui, inner| departments::show(
        ui, inner
    ));
    bind!(ui, inner, WelcomeAdapter, on_not_sure, |ui, inner| choose_consultation(
        ui, inner
    ));
    bind!(ui, inner, WelcomeAdapter, on_appointment, |ui, inner| checkin::show(
        ui, inner
    ));
    bind!(ui, inner, WelcomeAdapter, on_feedback, |ui, inner| feedback::show(
        ui, inner, "rate"
    ));
}

/// The matters offered on the welcome screen, at most `FEATURED`: the hall file's `featured`
/// items; else today's most issued (`issued`: item code and count), then the first item of each
/// department (the consultation item aside) until the row is full.
pub fn featured<'h>(hall: &'h Hall, issued: &[(String, u32)]) -> Vec<&'h bangban::hall::Item> {
    let chosen: Vec<_> = hall.featured.iter().filter_map(|c| hall.item(c)).collect();
    if !chosen.is_empty() {
        return chosen.into_iter().take(FEATURED).collect();
    }
    let mut by_count: Vec<&(String, u32)> = issued.iter().filter(|(_, n)| *n > 0).collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let firsts = hall.departments.iter().filter_map(|d| {
        hall.items
            .iter()
            .find(|i| i.department == d.code && !i.main.contains("咨询"))
    });
    let mut out: Vec<&bangban::hall::Item> = Vec::new();
    for item in by_count.iter().filter_map(|(c, _)| hall.item(c)).chain(firsts) {
        if out.len() < FEATURED && !out.iter().any(|o| o.code == item.code) {
            out.push(item);
        }
    }
    out
}

/// Today's tickets arrived: a hall that names no featured matters offers the most issued.
pub fn update_featured(ui: &KioskWindow, inner: &Inner) {
    if inner.hall.featured.is_empty() {
        publish_featured(ui, inner);
    }
}

/// The featured row, as many as the text size leaves room for.
pub fn publish_featured(ui: &KioskWindow, inner: &Inner) {
    let room = featured_room(super::large(ui));
    let rows = featured(&inner.hall, &inner.issued)
        .into_iter()
        .take(room)
        .map(item_row);
    ui.global::<WelcomeAdapter>().set_featured(model(rows.collect()));
}

/// An item as a row of the item lists and tiles.
pub fn item_row(i: &bangban::hall::Item) -> ItemRow {
    ItemRow {
        code: s(&i.code),
        main: s(&i.main),
        main_lines: s(&super::balanced(&i.main)),
        sub: s(&i.sub),
        name_en: s(&i.name_en),
        window: i.window as i32,
        whole_chain: i.is_whole_chain(),
    }
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
