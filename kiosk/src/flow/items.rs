//! The controller of `ItemAdapter`: the chosen department's items, a page at a time.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::ComponentHandle;

use super::{confirm, departments, en, model, s, Inner};
use crate::{ItemAdapter, ItemRow, KioskScreen, KioskWindow};

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, ItemAdapter, on_choose, |ui, inner, code| {
        confirm::choose_item(ui, inner, &code)
    });
    bind!(ui, inner, ItemAdapter, on_page_prev, |ui, inner| turn(ui, inner, -1));
    bind!(ui, inner, ItemAdapter, on_page_next, |ui, inner| turn(ui, inner, 1));
    bind!(ui, inner, ItemAdapter, on_back, |ui, inner| back(ui, inner));
}

/// A department was chosen (on the welcome screen or the full list): its items, page one.
pub fn choose_department(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, code: &str) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection.department = Some(code.to_string());
        inn.selection.page = 0;
        inn.selection.via_departments = false;
    }
    show(ui, &inner.borrow());
}

/// Back from the items: to where the department was chosen, the full list or the welcome
/// screen.
pub fn back(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    if inner.borrow().selection.via_departments {
        departments::show(ui, inner)
    } else {
        super::chrome::go_home(ui, inner)
    }
}

fn turn(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, step: i64) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection.page = (inn.selection.page as i64 + step).max(0) as usize;
    }
    show(ui, &inner.borrow());
}

/// Show the selected department's items on the selected page.
pub fn show(ui: &KioskWindow, inner: &Inner) {
    publish(ui, inner);
    super::chrome::show_screen(ui, inner, KioskScreen::Items);
}

/// The selected department's items on the selected page, as many as the text size holds.
pub fn publish(ui: &KioskWindow, inner: &Inner) {
    let Some(code) = inner.selection.department.as_deref() else {
        return;
    };
    let Some(dept) = inner.hall.department(code) else {
        return;
    };
    let items: Vec<_> = inner.hall.items.iter().filter(|i| i.department == code).collect();
    let per = super::items_per_page(super::large(ui));
    let pages = items.len().div_ceil(per).max(1);
    let page = inner.selection.page.min(pages - 1);
    let rows: Vec<ItemRow> = items
        .iter()
        .skip(page * per)
        .take(per)
        .map(|i| super::welcome::item_row(i))
        .collect();
    let a = ui.global::<ItemAdapter>();
    a.set_department_name(s(&dept.name));
    a.set_department_name_en(en(&dept.name_en, &dept.name));
    a.set_items(model(rows));
    a.set_page(page as i32 + 1);
    a.set_pages(pages as i32);
}
