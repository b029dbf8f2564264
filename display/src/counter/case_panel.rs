//! The controller of `CasePanelAdapter`: the case at this window and every action on it
//! through the rules' four stages, with the materials checklist the specialist ticks.

use std::cell::RefCell;
use std::rc::Rc;

use bangban::CaseAction;
use bangban_headless::bind;
use slint::{ComponentHandle, ModelRc, VecModel};

use super::{s, send, Inner};
use crate::desk::{Cmd, PanelCase};
use crate::{CaseInfo, CasePanelAdapter, CounterWindow, MaterialRow};

/// Bind each callback that sends one action built from its arguments.
macro_rules! act {
    ($ui:expr, $inner:expr, $state:ident; $($setter:ident($($arg:ident),*) => $action:expr;)*) => {$(
        bind!($ui, $inner, CasePanelAdapter, $setter, |_ui, $state $(, $arg)*| send($state, Cmd::Act($action)));
    )*};
}

pub fn wire(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    act!(ui, inner, state;
        on_recall() => CaseAction::Recall;
        on_no_show() => CaseAction::NoShow;
        on_start() => CaseAction::Start;
        on_hold() => CaseAction::Hold;
        on_resume() => CaseAction::Resume;
        on_transfer(dept, note) => CaseAction::Transfer {
            department: dept.trim().to_uppercase(),
            window: None,
            note: Some(note.to_string()),
        };
        on_consult(q, a, resolved) => CaseAction::Consult {
            question: q.to_string(),
            answer: Some(a.to_string()),
            resolved,
        };
        on_answer(a) => CaseAction::Answer { answer: a.to_string() };
        on_notify_missing() => CaseAction::NotifyMissing { missing: marked(state, MISSING) };
        on_returned() => CaseAction::MaterialsReturned;
        on_accept(poa) => CaseAction::Accept {
            materials: marked(state, HANDED_OVER),
            power_of_attorney: poa,
        };
        on_start_work() => CaseAction::StartWork;
        on_ready() => CaseAction::Ready;
        on_deliver(signed) => CaseAction::DeliverInPerson { completion_slip_signed: signed };
        on_mail(tracking) => CaseAction::Mail { tracking: tracking.to_string() };
        on_confirm_receipt() => CaseAction::ConfirmReceipt;
        on_archive(handover) => CaseAction::Archive { handover: Some(handover.to_string()) };
        on_cancel(reason) => CaseAction::Cancel { reason: reason.to_string() };
    );
    bind!(ui, inner, CasePanelAdapter, on_set_mode, |_ui, inner, mode| {
        if let Some(mode) = bangban::Mode::parse(&mode) {
            send(inner, Cmd::Act(CaseAction::SetMode { mode }))
        }
    });
    bind!(ui, inner, CasePanelAdapter, on_print_slip, |_ui, inner| send(
        inner,
        Cmd::PrintSlip
    ));
    bind!(
        ui,
        inner,
        CasePanelAdapter,
        on_set_material,
        |ui, inner, index, mark| {
            let mut inn = inner.borrow_mut();
            if let Some(m) = inn.materials.get_mut(index as usize) {
                m.1 = mark.clamp(0, MISSING as i32) as u8;
            }
            ui.global::<CasePanelAdapter>().set_materials(material_rows(&inn));
        }
    );
}

/// A material marked handed over (已交), or missing (缺少); 0 is not checked yet.
const HANDED_OVER: u8 = 1;
const MISSING: u8 = 2;

/// The materials the specialist marked so.
fn marked(inner: &Rc<RefCell<Inner>>, mark: u8) -> Vec<String> {
    inner
        .borrow()
        .materials
        .iter()
        .filter(|m| m.1 == mark)
        .map(|m| m.0.clone())
        .collect()
}

/// The materials checklist as the panel shows it.
fn material_rows(inner: &Inner) -> ModelRc<MaterialRow> {
    let rows: Vec<MaterialRow> = inner
        .materials
        .iter()
        .map(|(n, mark)| MaterialRow {
            name: s(n),
            state: *mark as i32,
        })
        .collect();
    ModelRc::new(VecModel::from(rows))
}

pub fn show(ui: &CounterWindow, inner: &mut Inner, case: Option<PanelCase>) {
    let a = ui.global::<CasePanelAdapter>();
    a.set_has_case(case.is_some());
    let c = case.unwrap_or_default();
    a.set_case(CaseInfo {
        number: s(&c.number),
        item: s(&c.item),
        state: s(&c.state),
        priority: s(&c.priority),
        recalls: c.recalls as i32,
        open_question: c.open_question,
        mode: s(&c.mode),
    });
    // A new case starts with a clean checklist; the same case keeps the specialist's ticks.
    if c.number != inner.case_number || inner.materials.iter().map(|m| &m.0).ne(c.materials.iter()) {
        inner.case_number = c.number.clone();
        inner.materials = c.materials.into_iter().map(|m| (m, 0)).collect();
    }
    a.set_materials(material_rows(inner));
}
