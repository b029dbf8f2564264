//! The controller of `QueueAdapter`: the window's queue, calling next or by number, putting
//! a past day's visitor back in line, pausing the window, and the department's alerts (提醒:
//! overdue and due soon, parts to claim), each opening its case on the panel.

use std::cell::RefCell;
use std::rc::Rc;

use bangban_headless::bind;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{s, send, Inner};
use crate::desk::{Cmd, View};
use crate::{AlertRow, CounterWindow, QueueAdapter, WaitingRow};

pub fn wire(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, QueueAdapter, on_call_next, |_ui, inner| send(
        inner,
        Cmd::CallNext
    ));
    bind!(ui, inner, QueueAdapter, on_call_number, |_ui, inner, number| send(
        inner,
        Cmd::CallNumber(number.to_string())
    ));
    bind!(ui, inner, QueueAdapter, on_return_number, |_ui, inner, reference| send(
        inner,
        Cmd::Return(reference.to_string())
    ));
    bind!(ui, inner, QueueAdapter, on_toggle_pause, |_ui, inner| send(
        inner,
        Cmd::TogglePause
    ));
    bind!(ui, inner, QueueAdapter, on_select_case, |_ui, inner, number| send(
        inner,
        Cmd::Show(Some(number.to_string()))
    ));
}

pub fn show(ui: &CounterWindow, v: &View) {
    let a = ui.global::<QueueAdapter>();
    a.set_paused(v.paused);
    let rows: Vec<WaitingRow> = v
        .waiting
        .iter()
        .map(|w| {
            let english = super::english();
            WaitingRow {
                number: s(&w.number),
                item: s(if english { &w.item_en } else { &w.item }),
                waited: w.waited_min as i32,
                priority: s(if english { &w.priority_en } else { &w.priority }),
            }
        })
        .collect();
    a.set_waiting(ModelRc::new(VecModel::from(rows)));
    let alerts: Vec<AlertRow> = v
        .alerts
        .iter()
        .map(|x| AlertRow {
            kind: s(&x.kind),
            number: s(&x.number),
            reference: s(&x.reference),
            due: s(&x.due),
            overdue: x.overdue,
            material: s(&x.material),
            mine: x.mine,
        })
        .collect();
    a.set_alerts(ModelRc::new(VecModel::from(alerts)));
}
