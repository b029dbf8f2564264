//! The controller of `DepartmentAdapter`: the department tiles with their waiting counts, a
//! page at a time, and the departments of the welcome screen.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::ComponentHandle;

use super::{chrome, en, items, model, s, welcome, Inner};
use crate::worker::Job;
use crate::{DepartmentAdapter, DepartmentTile, KioskScreen, KioskWindow};

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    update(ui, &inner.borrow());
    bind!(ui, inner, DepartmentAdapter, on_choose, |ui, inner, code| {
        items::choose_department(ui, inner, &code);
        inner.borrow_mut().selection.via_departments = true;
    });
    bind!(ui, inner, DepartmentAdapter, on_page_prev, |ui, inner| turn(
        ui, inner, -1
    ));
    bind!(ui, inner, DepartmentAdapter, on_page_next, |ui, inner| turn(
        ui, inner, 1
    ));
    bind!(ui, inner, DepartmentAdapter, on_not_sure, |ui, inner| {
        welcome::choose_consultation(ui, inner)
    });
    bind!(ui, inner, DepartmentAdapter, on_back, |ui, inner| chrome::go_home(
        ui, inner
    ));
}

/// Department tiles per page on the department screen: twelve, six larger ones in 大字.
pub fn per_page(large: bool) -> usize {
    if large {
        6
    } else {
        12
    }
}

fn turn(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, step: i64) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection.dept_page = (inn.selection.dept_page as i64 + step).max(0) as usize;
    }
    update(ui, &inner.borrow());
}

/// The tiles, with the latest waiting counts the worker reported: the welcome screen's, and
/// the department screen's page.
pub fn update(ui: &KioskWindow, inner: &Inner) {
    let tiles: Vec<DepartmentTile> = inner
        .hall
        .departments
        .iter()
        .map(|d| DepartmentTile {
            code: s(&d.code),
            name: s(&d.name),
            name_lines: s(&super::balanced(&d.name)),
            name_en: en(&d.name_en, &d.name),
            prefix: s(&d.prefix),
            waiting: inner.counts.get(&d.code).copied().unwrap_or(0),
        })
        .collect();
    let large = super::large(ui);
    let room = welcome::departments_room(large);
    let w = ui.global::<crate::WelcomeAdapter>();
    w.set_more_departments(tiles.len() > room);
    let on_welcome = if tiles.len() > room { room - 1 } else { tiles.len() };
    w.set_departments(model(tiles[..on_welcome].to_vec()));
    let per = per_page(large);
    let pages = tiles.len().div_ceil(per).max(1);
    let page = inner.selection.dept_page.min(pages - 1);
    let a = ui.global::<DepartmentAdapter>();
    a.set_departments(model(tiles.into_iter().skip(page * per).take(per).collect()));
    a.set_page(page as i32 + 1);
    a.set_pages(pages as i32);
}

/// Show the departments and ask the worker for fresh waiting counts.
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    inner.borrow().send(Job::WaitingCounts);
    update(ui, &inner.borrow());
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Departments);
}
