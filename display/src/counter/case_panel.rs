//! The controller of `CasePanelAdapter`: the case at this window and every action on it
//! through the rules' four stages, with the materials checklist the specialist ticks.

use std::cell::RefCell;
use std::rc::Rc;

use bangban::CaseAction;
use bangban_headless::bind;
use slint::{ComponentHandle, Model, ModelRc, VecModel};

use super::{s, send, Inner};
use crate::desk::{Cmd, PanelCase};
use crate::{CaseInfo, CasePanelAdapter, CounterWindow, FormRow, MaterialRow, PartRow};

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
        on_accept(supply_by) => match Some(supply_by.trim().to_string()).filter(|d| !d.is_empty()) {
            // 容缺受理: what is marked 缺少 is accepted without, due on the day given.
            Some(day) => CaseAction::Accept {
                materials: marked(state, HANDED_OVER),
                missing: marked(state, MISSING),
                supply_by: Some(day),
            },
            None => CaseAction::accept(marked(state, HANDED_OVER)),
        };
        on_start_work() => CaseAction::StartWork;
        on_ready() => CaseAction::Ready;
        on_deliver() => CaseAction::DeliverInPerson;
        on_save_principal(name, id, phone) => CaseAction::Principal {
            name: name.trim().to_string(),
            id_number: id.trim().to_string(),
            phone: Some(phone.trim().to_string()).filter(|p| !p.is_empty()),
        };
        on_request_signature(form) => CaseAction::RequestSignature { form: form.to_string() };
        // The form's kind from the number's letters (WT-… is the 委托书), as printed on it.
        on_signed_on_paper(number) => CaseAction::SignedOnPaper {
            form: bangban::forms::FormKind::of_number(number.trim())
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            number: number.trim().to_uppercase(),
        };
        on_suspend(reason, until) => CaseAction::Suspend {
            reason: reason.to_string(),
            until: Some(until.trim().to_string()).filter(|u| !u.is_empty()),
        };
        on_resume_work() => CaseAction::ResumeWork;
        on_terminate(reason) => CaseAction::Terminate { reason: reason.to_string() };
        on_mail(tracking, recipient, courier) => CaseAction::mail(&tracking, &recipient, &courier);
        on_confirm_receipt() => CaseAction::ConfirmReceipt;
        on_archive(handover, receiver) => CaseAction::archive(&handover, &receiver);
        on_cancel(reason) => CaseAction::Cancel { reason: reason.to_string() };
        on_claim_part() => CaseAction::Claim;
        on_escalate(reason) => CaseAction::Escalate { reason: reason.to_string() };
        on_meeting(held, who, minutes, decision, follow) => CaseAction::Meeting {
            held_at: held.trim().to_string(),
            // Staff ids as typed: commas (either width), 、 or spaces between them.
            participants: who
                .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .map(|p| p.trim().to_uppercase())
                .collect(),
            minutes: minutes.to_string(),
            decision: decision.to_string(),
            follow_up: Some(follow.trim().to_string()).filter(|f| !f.is_empty()),
            // The office's own pages and `bangban case … meeting` record 首席代表 and outside
            // parties; the console's form has room for staff only.
            chiefs: None,
            outside: None,
        };
        on_resolve(outcome) => CaseAction::Resolve { outcome: outcome.to_string() };
    );
    // A case without a ticket, for the item chosen among the window's.
    bind!(
        ui,
        inner,
        CasePanelAdapter,
        on_open_case,
        |_ui, inner, channel, index, question, answer, project, phone| {
            let Some(channel) = bangban::Channel::ALL
                .into_iter()
                .find(|c| c.as_str() == channel.as_str())
            else {
                return;
            };
            let Some(item) = inner.borrow().items.get(index.max(0) as usize).cloned() else {
                return;
            };
            let text = |t: slint::SharedString| Some(t.to_string()).filter(|t| !t.trim().is_empty());
            send(
                inner,
                Cmd::Open(bangban::OpenCase {
                    item,
                    channel,
                    project: text(project),
                    question: text(question),
                    answer: text(answer),
                    caller_phone: text(phone),
                }),
            )
        }
    );
    // 预约 for a caller, on the item picked for cases without a ticket.
    bind!(ui, inner, CasePanelAdapter, on_book, |_ui, inner, index, at, phone| {
        let Some(item) = inner.borrow().items.get(index.max(0) as usize).cloned() else {
            return;
        };
        send(
            inner,
            Cmd::Book {
                item,
                at: at.trim().to_string(),
                phone: phone.trim().to_string(),
            },
        )
    });
    // A part moves on; accepted with a date is 容缺受理 of the materials marked 缺少.
    bind!(
        ui,
        inner,
        CasePanelAdapter,
        on_move_part,
        |_ui, inner, state, supply_by| {
            let Some(state) = bangban::model::PartState::parse(&state) else {
                return;
            };
            let supply_by = Some(supply_by.trim().to_string()).filter(|d| !d.is_empty());
            let missing = if supply_by.is_some() {
                marked(inner, MISSING)
            } else {
                vec![]
            };
            send(
                inner,
                Cmd::Act(CaseAction::Part {
                    state,
                    missing,
                    supply_by,
                }),
            )
        }
    );
    // Each material marked 已交 that the part was accepted without.
    bind!(ui, inner, CasePanelAdapter, on_supplied, |ui, inner| {
        let missing: Vec<String> = ui
            .global::<CasePanelAdapter>()
            .get_parts()
            .iter()
            .filter(|p| p.mine)
            .flat_map(|p| {
                p.missing
                    .split('、')
                    .map(|m| m.split('（').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        for material in marked(inner, HANDED_OVER).into_iter().filter(|m| missing.contains(m)) {
            send(inner, Cmd::Act(CaseAction::Supplied { material }));
        }
    });
    bind!(ui, inner, CasePanelAdapter, on_set_mode, |_ui, inner, mode| {
        if let Some(mode) = bangban::Mode::parse(&mode) {
            send(inner, Cmd::Act(CaseAction::SetMode { mode }))
        }
    });
    bind!(ui, inner, CasePanelAdapter, on_print_slip, |_ui, inner| send(
        inner,
        Cmd::PrintSlip
    ));
    bind!(ui, inner, CasePanelAdapter, on_print_form, |_ui, inner, kind| send(
        inner,
        Cmd::PrintForm(kind.to_string())
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
    let english = super::english();
    a.set_case(CaseInfo {
        number: s(&c.number),
        item: s(if english { &c.item_en } else { &c.item }),
        state: s(&c.state),
        priority: s(if english { &c.priority_en } else { &c.priority }),
        recalls: c.recalls as i32,
        open_question: c.open_question,
        mode: s(&c.mode),
        under_coordination: c.under_coordination,
    });
    a.set_my_part(s(&c.my_part));
    let parts: Vec<PartRow> = c
        .parts
        .iter()
        .map(|p| PartRow {
            department: s(&p.department),
            state: s(&p.state),
            owner: s(&p.owner),
            missing: s(&p.missing),
            mine: p.mine,
        })
        .collect();
    a.set_parts(ModelRc::new(VecModel::from(parts)));
    // A new case starts with a clean checklist; the same case keeps the specialist's ticks.
    if c.number != inner.case_number || inner.materials.iter().map(|m| &m.0).ne(c.materials.iter()) {
        // Another department's whole-chain case opens on its parts; any other on the stages.
        if c.number != inner.case_number {
            a.set_tab(if c.part_only { 1 } else { 0 });
        }
        inner.case_number = c.number.clone();
        inner.materials = c.materials.into_iter().map(|m| (m, 0)).collect();
    }
    a.set_materials(material_rows(inner));
    let forms: Vec<FormRow> = c
        .forms
        .iter()
        .map(|f| FormRow {
            kind: s(f.kind.as_str()),
            title: s(&f.title),
            number: s(&f.number),
            signed: s(f.signed.as_deref().unwrap_or("")),
        })
        .collect();
    a.set_forms(ModelRc::new(VecModel::from(forms)));
    a.set_stage_form(s(&c.stage_form));
    let signed = |k: &str| c.forms.iter().any(|f| f.kind.as_str() == k && f.signed.is_some());
    a.set_poa_signed(signed("poa"));
    a.set_completion_signed(signed("completion"));
    a.set_principal(s(&c.principal));
}
