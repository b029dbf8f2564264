//! The counter console's controller: login with staff id and PIN, calling, and every case
//! action, each attributed to the logged-in specialist and this window.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use bangban::{CallRequest, Case, CaseAction, Ledger, LedgerError, LedgerOptions};
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

use crate::{CounterAdapter, CounterWindow, MaterialRow, WaitingRow};

pub struct Inner {
    pub ledger: Ledger,
    pub window: u32,
    pub staff: Option<String>,
    /// The case on the panel (today's number).
    pub current: Option<String>,
    pub materials: Vec<(String, bool)>,
    refresh: Timer,
}

pub struct Counter {
    pub ui: CounterWindow,
    pub inner: Rc<RefCell<Inner>>,
}

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

/// Build the console for a window. Writes wait at most `busy` for a locked ledger, then say so.
pub fn counter(db: &Path, window: u32, busy: Duration) -> anyhow::Result<Counter> {
    let opts = LedgerOptions {
        busy_timeout: busy,
        ..LedgerOptions::default()
    };
    let mut ledger = Ledger::open(db, opts)?;
    let hall = ledger.hall()?;
    let depts = hall.departments_at_window(window);
    if depts.is_empty() {
        anyhow::bail!("window {window} belongs to no department in the hall configuration");
    }
    let ui = CounterWindow::new()?;
    let _ = slint::select_bundled_translation("");
    let a = ui.global::<CounterAdapter>();
    a.set_window(window as i32);
    a.set_hall_name(s(&hall.name));
    a.set_departments(s(&depts.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join("、")));
    a.set_logged_in(false);
    a.set_message(SharedString::default());
    let inner = Rc::new(RefCell::new(Inner {
        ledger,
        window,
        staff: None,
        current: None,
        materials: vec![],
        refresh: Timer::default(),
    }));
    wire(&ui, &inner);
    refresh(&ui, &mut inner.borrow_mut());
    Ok(Counter { ui, inner })
}

/// For `--render`: the logged-in console on the ledger's real queue, showing the case the
/// window is working on (or the first in line), without a PIN.
pub fn show_for_render(c: &Counter) {
    let mut inn = c.inner.borrow_mut();
    let window = inn.window;
    let current = inn
        .ledger
        .at_window(window)
        .ok()
        .and_then(|v| v.last().map(|c| c.number.clone()));
    let first = inn.ledger.hall().ok().and_then(|h| {
        let depts: Vec<String> = h.departments_at_window(window).iter().map(|d| d.code.clone()).collect();
        inn.ledger
            .waiting(&depts)
            .ok()
            .and_then(|w| w.first().map(|w| w.number.clone()))
    });
    inn.current = current.or(first);
    let a = c.ui.global::<CounterAdapter>();
    a.set_logged_in(true);
    a.set_staff_name(s("（预览）"));
    refresh(&c.ui, &mut inn);
}

fn say(ui: &CounterWindow, text: &str, error: bool) {
    let a = ui.global::<CounterAdapter>();
    a.set_message(s(text));
    a.set_message_is_error(error);
}

/// Redraw the queue and the case panel from the ledger.
pub fn refresh(ui: &CounterWindow, inner: &mut Inner) {
    let a = ui.global::<CounterAdapter>();
    let Ok(hall) = inner.ledger.hall() else { return };
    let depts: Vec<String> = hall
        .departments_at_window(inner.window)
        .iter()
        .map(|d| d.code.clone())
        .collect();
    if let Ok(list) = inner.ledger.waiting(&depts) {
        let rows: Vec<WaitingRow> = list
            .iter()
            .map(|w| WaitingRow {
                number: s(&w.number),
                item: s(&w.item_name),
                waited: w.waited_min as i32,
                priority: s(w.priority_name.as_deref().unwrap_or("")),
            })
            .collect();
        a.set_waiting(ModelRc::new(VecModel::from(rows)));
    }
    a.set_paused(inner.ledger.window_paused(inner.window).unwrap_or(false));
    let case = inner.current.clone().and_then(|n| inner.ledger.find_case(&n).ok());
    a.set_has_case(case.is_some());
    match case {
        Some(c) => show_case(ui, inner, &c),
        None => {
            a.set_case_number(SharedString::default());
            a.set_case_item(SharedString::default());
            a.set_case_state(SharedString::default());
            a.set_case_state_label(SharedString::default());
            a.set_case_priority(SharedString::default());
            a.set_case_open_question(false);
            a.set_materials(ModelRc::new(VecModel::from(Vec::<MaterialRow>::new())));
        }
    }
}

fn show_case(ui: &CounterWindow, inner: &mut Inner, c: &Case) {
    let a = ui.global::<CounterAdapter>();
    let Ok(hall) = inner.ledger.hall() else { return };
    let item = hall.item(&c.item);
    a.set_case_number(s(&c.number));
    a.set_case_item(s(&item.map(|i| i.display_name()).unwrap_or_else(|| c.item.clone())));
    a.set_case_state(s(c.state.as_str()));
    a.set_case_state_label(s(c.state.label_zh()));
    a.set_case_priority(s(c
        .priority
        .as_deref()
        .and_then(|p| hall.priority(p))
        .map(|p| p.name.as_str())
        .unwrap_or("")));
    a.set_case_recalls(c.recalls as i32);
    a.set_case_open_question(c.open_question);
    let names: Vec<String> = item.map(|i| i.materials.clone()).unwrap_or_default();
    if inner.materials.iter().map(|m| &m.0).ne(names.iter()) {
        inner.materials = names.into_iter().map(|n| (n, false)).collect();
    }
    a.set_materials(material_rows(inner));
}

/// The materials checklist as the panel shows it.
fn material_rows(inner: &Inner) -> ModelRc<MaterialRow> {
    let rows: Vec<MaterialRow> = inner
        .materials
        .iter()
        .map(|(n, c)| MaterialRow {
            name: s(n),
            checked: *c,
        })
        .collect();
    ModelRc::new(VecModel::from(rows))
}

/// Run one ledger operation as the logged-in specialist; errors become the message line.
fn with_staff(
    ui: &CounterWindow,
    inner: &Rc<RefCell<Inner>>,
    f: impl FnOnce(&mut Inner, &str) -> Result<String, LedgerError>,
) {
    let mut inn = inner.borrow_mut();
    let Some(staff) = inn.staff.clone() else {
        say(ui, "请先登录", true);
        return;
    };
    match f(&mut inn, &staff) {
        Ok(msg) => say(ui, &msg, false),
        Err(e) => say(ui, &e.to_string(), true),
    }
    refresh(ui, &mut inn);
}

/// A case action on the case on the panel.
fn act(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>, action: CaseAction) {
    with_staff(ui, inner, |inn, staff| {
        let number = inn
            .current
            .clone()
            .ok_or_else(|| LedgerError::Invalid("no case on the panel: call a number first".into()))?;
        let c = inn.ledger.act(&number, inn.window, staff, &action)?;
        Ok(format!("{} {}", c.number, c.state.label_zh()))
    });
}

fn checked(inner: &Rc<RefCell<Inner>>) -> Vec<String> {
    inner
        .borrow()
        .materials
        .iter()
        .filter(|m| m.1)
        .map(|m| m.0.clone())
        .collect()
}

macro_rules! on {
    ($ui:expr, $inner:expr, $setter:ident, |$u:ident, $i:ident $(, $arg:ident)*| $body:expr) => {{
        let (w, i) = ($ui.as_weak(), Rc::downgrade($inner));
        $ui.global::<CounterAdapter>().$setter(move |$($arg),*| {
            if let (Some($u), Some($i)) = (w.upgrade(), i.upgrade()) {
                let $u = &$u;
                let $i = &$i;
                $body
            }
        });
    }};
}

fn wire(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    on!(ui, inner, on_login, |ui, inner, staff, pin| {
        let staff = staff.trim().to_string();
        let result = {
            let mut inn = inner.borrow_mut();
            let window = inn.window;
            inn.ledger.login(&staff, window, &pin)
        };
        match result {
            Ok(()) => {
                let name = inner
                    .borrow_mut()
                    .ledger
                    .hall()
                    .ok()
                    .and_then(|h| h.specialist(&staff).map(|s| s.name.clone()))
                    .unwrap_or_default();
                let a = ui.global::<CounterAdapter>();
                a.set_staff_name(s(&format!("{name}（{staff}）")));
                a.set_logged_in(true);
                inner.borrow_mut().staff = Some(staff);
                say(ui, "", false);
                let mut inn = inner.borrow_mut();
                refresh(ui, &mut inn);
                // The queue changes as kiosks issue tickets; keep it current.
                let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
                inn.refresh.start(TimerMode::Repeated, Duration::from_secs(2), move || {
                    if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                        if let Ok(mut inn) = inner.try_borrow_mut() {
                            refresh(&ui, &mut inn);
                        }
                    }
                });
            }
            Err(e) => say(ui, &e.to_string(), true),
        }
    });
    on!(ui, inner, on_logout, |ui, inner| {
        let mut inn = inner.borrow_mut();
        inn.staff = None;
        inn.current = None;
        inn.refresh.stop();
        let a = ui.global::<CounterAdapter>();
        a.set_logged_in(false);
        a.set_staff_name(SharedString::default());
        say(ui, "", false);
    });
    on!(ui, inner, on_call_next, |ui, inner| {
        with_staff(ui, inner, |inn, staff| {
            let c = inn.ledger.call(&CallRequest {
                window: inn.window,
                staff: staff.into(),
                number: None,
            })?;
            inn.current = Some(c.number.clone());
            Ok(c.text)
        })
    });
    on!(ui, inner, on_call_number, |ui, inner, number| {
        let number = number.trim().to_string();
        with_staff(ui, inner, |inn, staff| {
            if number.is_empty() {
                return Err(LedgerError::Invalid("type or scan a number first".into()));
            }
            let c = inn.ledger.call(&CallRequest {
                window: inn.window,
                staff: staff.into(),
                number: Some(number.clone()),
            })?;
            inn.current = Some(c.number.clone());
            Ok(c.text)
        })
    });
    on!(ui, inner, on_recall, |ui, inner| act(ui, inner, CaseAction::Recall));
    on!(ui, inner, on_no_show, |ui, inner| act(ui, inner, CaseAction::NoShow));
    on!(ui, inner, on_start, |ui, inner| act(ui, inner, CaseAction::Start));
    on!(ui, inner, on_hold, |ui, inner| act(ui, inner, CaseAction::Hold));
    on!(ui, inner, on_resume, |ui, inner| act(ui, inner, CaseAction::Resume));
    on!(ui, inner, on_toggle_pause, |ui, inner| {
        with_staff(ui, inner, |inn, staff| {
            let paused = !inn.ledger.window_paused(inn.window)?;
            inn.ledger.set_window_paused(inn.window, staff, paused)?;
            Ok(if paused {
                "窗口已暂停".into()
            } else {
                "窗口已恢复".into()
            })
        })
    });
    on!(ui, inner, on_transfer, |ui, inner, dept, note| act(
        ui,
        inner,
        CaseAction::Transfer {
            department: dept.trim().to_uppercase(),
            window: None,
            note: Some(note.to_string())
        }
    ));
    on!(ui, inner, on_consult, |ui, inner, q, a, resolved| act(
        ui,
        inner,
        CaseAction::Consult {
            question: q.to_string(),
            answer: Some(a.to_string()),
            resolved
        }
    ));
    on!(ui, inner, on_answer, |ui, inner, a| act(
        ui,
        inner,
        CaseAction::Answer { answer: a.to_string() }
    ));
    on!(ui, inner, on_notify_missing, |ui, inner| {
        let missing = checked(inner);
        act(ui, inner, CaseAction::NotifyMissing { missing })
    });
    on!(ui, inner, on_returned, |ui, inner| act(
        ui,
        inner,
        CaseAction::MaterialsReturned
    ));
    on!(ui, inner, on_accept, |ui, inner, poa| {
        let materials = checked(inner);
        act(
            ui,
            inner,
            CaseAction::Accept {
                materials,
                power_of_attorney: poa,
            },
        )
    });
    on!(ui, inner, on_start_work, |ui, inner| act(
        ui,
        inner,
        CaseAction::StartWork
    ));
    on!(ui, inner, on_ready, |ui, inner| act(ui, inner, CaseAction::Ready));
    on!(ui, inner, on_deliver, |ui, inner, signed| act(
        ui,
        inner,
        CaseAction::DeliverInPerson {
            completion_slip_signed: signed
        }
    ));
    on!(ui, inner, on_mail, |ui, inner, tracking| act(
        ui,
        inner,
        CaseAction::Mail {
            tracking: tracking.to_string()
        }
    ));
    on!(ui, inner, on_confirm_receipt, |ui, inner| act(
        ui,
        inner,
        CaseAction::ConfirmReceipt
    ));
    on!(ui, inner, on_archive, |ui, inner, handover| act(
        ui,
        inner,
        CaseAction::Archive {
            handover: Some(handover.to_string())
        }
    ));
    on!(ui, inner, on_toggle_material, |ui, inner, index| {
        let mut inn = inner.borrow_mut();
        if let Some(m) = inn.materials.get_mut(index as usize) {
            m.1 = !m.1;
        }
        ui.global::<CounterAdapter>().set_materials(material_rows(&inn));
    });
    on!(ui, inner, on_select_case, |ui, inner, number| {
        let mut inn = inner.borrow_mut();
        inn.current = Some(number.to_string());
        refresh(ui, &mut inn);
    });
}
