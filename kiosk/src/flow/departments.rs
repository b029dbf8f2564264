//! The controller of `DepartmentAdapter`: the department tiles with their waiting counts.

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
        items::choose_department(ui, inner, &code)
    });
    bind!(ui, inner, DepartmentAdapter, on_not_sure, |ui, inner| {
        welcome::choose_consultation(ui, inner)
    });
    bind!(ui, inner, DepartmentAdapter, on_back, |ui, inner| chrome::go_home(
        ui, inner
    ));
}

/// The tiles, with the latest waiting counts the worker reported.
pub fn update(ui: &KioskWindow, inner: &Inner) {
    let tiles: Vec<DepartmentTile> = inner
        .hall
        .departments
        .iter()
        .map(|d| DepartmentTile {
            code: s(&d.code),
            name: s(&d.name),
            name_en: en(&d.name_en, &d.name),
            prefix: s(&d.prefix),
            waiting: inner.counts.get(&d.code).copied().unwrap_or(0),
        })
        .collect();
    let w = ui.global::<crate::WelcomeAdapter>();
    w.set_more_departments(tiles.len() > welcome::DEPARTMENTS);
    let on_welcome = if tiles.len() > welcome::DEPARTMENTS {
        welcome::DEPARTMENTS - 1
    } else {
        tiles.len()
    };
    w.set_departments(model(tiles[..on_welcome].to_vec()));
    ui.global::<DepartmentAdapter>().set_departments(model(tiles));
}

/// Show the departments and ask the worker for fresh waiting counts.
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    inner.borrow().send(Job::WaitingCounts);
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Departments);
}
