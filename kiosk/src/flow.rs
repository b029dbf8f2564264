//! The visitor's path, one controller per adapter: welcome → department → item → confirm →
//! ticket, plus the idle timeout, language and large-text switches, and worker replies.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bangban::api::Issue;
use bangban::{Channel, Hall, Mode, Ticket};
use bangban_printer::PrinterTarget;
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

use crate::worker::{IssueFailure, Job, Reply};
use crate::{
    Config, ConfirmAdapter, DepartmentAdapter, DepartmentTile, ItemAdapter, ItemRow, KioskAdapter, KioskScreen,
    KioskWindow, Notice, PrintState, PriorityChoice, Theme, TicketAdapter, WelcomeAdapter,
};

/// How often a kiosk on the hall server checks that the server answers.
pub const HEALTH_CHECK: Duration = Duration::from_secs(2);

/// Items per page on the item screen: big rows, no scrolling (no gestures beyond a tap).
pub const ITEMS_PER_PAGE: usize = 6;

/// What the visitor has chosen so far.
#[derive(Default, Clone, Debug)]
pub struct Selection {
    pub department: Option<String>,
    pub item: Option<String>,
    pub priority: Option<String>,
    pub mode: Option<Mode>,
    pub page: usize,
}

pub struct Inner {
    pub config: Config,
    pub hall: Arc<Hall>,
    pub printer: PrinterTarget,
    pub selection: Selection,
    pub counts: HashMap<String, i32>,
    /// The case whose print outcome the ticket screen shows.
    pub ticket_case: Option<i64>,
    jobs: Sender<Job>,
    replies: Receiver<Reply>,
    worker: Option<JoinHandle<()>>,
    idle: Timer,
    countdown: Timer,
    clock: Timer,
    health: Timer,
}

impl Inner {
    pub fn new(
        config: Config,
        hall: Arc<Hall>,
        printer: PrinterTarget,
        jobs: Sender<Job>,
        replies: Receiver<Reply>,
        worker: JoinHandle<()>,
    ) -> Inner {
        Inner {
            config,
            hall,
            printer,
            selection: Selection::default(),
            counts: HashMap::new(),
            ticket_case: None,
            jobs,
            replies,
            worker: Some(worker),
            idle: Timer::default(),
            countdown: Timer::default(),
            clock: Timer::default(),
            health: Timer::default(),
        }
    }

    fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::error!("the kiosk's IO thread has stopped");
        }
    }

    pub fn stop(&mut self) {
        let _ = self.jobs.send(Job::Stop);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }

    /// The item for 「不知道办什么？」.
    fn consult_item(&self) -> Option<String> {
        match &self.config.consult_item {
            Some(code) => self.hall.item(code).map(|i| i.code.clone()),
            None => self
                .hall
                .items
                .iter()
                .find(|i| i.main.contains("咨询"))
                .map(|i| i.code.clone()),
        }
    }
}

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(v))
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

/// Connect every adapter callback to its controller.
pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let hall = inner.borrow().hall.clone();
    let k = ui.global::<KioskAdapter>();
    k.set_hall_name(s(&hall.name));
    k.set_hall_name_en(s(if hall.name_en.is_empty() {
        &hall.name
    } else {
        &hall.name_en
    }));
    ui.global::<WelcomeAdapter>().set_notice(s(&hall.notice));
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
    update_departments(ui, &inner.borrow());
    update_clock(ui, &hall);
    {
        let weak = ui.as_weak();
        let hall = hall.clone();
        inner
            .borrow()
            .clock
            .start(TimerMode::Repeated, Duration::from_secs(15), move || {
                if let Some(ui) = weak.upgrade() {
                    update_clock(&ui, &hall);
                }
            });
    }

    // A kiosk on the hall server asks every two seconds whether the server is there, so a
    // visitor learns within five seconds that tickets are paused, and the kiosk resumes by
    // itself once the server answers again.
    if inner.borrow().config.server.is_some() {
        let i = Rc::downgrade(inner);
        inner.borrow().health.start(TimerMode::Repeated, HEALTH_CHECK, move || {
            if let Some(inner) = i.upgrade() {
                inner.borrow().send(Job::Check);
            }
        });
    }

    // Chrome: every tap restarts the idle timer.
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    k.on_touched(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            touched(&ui, &inner);
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    k.on_go_home(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            go_home(&ui, &inner);
        }
    });
    let w = ui.as_weak();
    k.on_set_english(move |en| {
        if let Some(ui) = w.upgrade() {
            set_english(&ui, en);
        }
    });
    let w = ui.as_weak();
    k.on_set_large_text(move |on| {
        if let Some(ui) = w.upgrade() {
            ui.global::<Theme>().set_large_text(on);
        }
    });
    let w = ui.as_weak();
    k.on_dismiss_notice(move || {
        if let Some(ui) = w.upgrade() {
            let k = ui.global::<KioskAdapter>();
            k.set_notice(Notice::None);
            k.set_notice_detail(SharedString::default());
        }
    });

    // Welcome.
    let welcome = ui.global::<WelcomeAdapter>();
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    welcome.on_start(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            show_departments(&ui, &inner);
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    welcome.on_not_sure(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            choose_consultation(&ui, &inner);
        }
    });
    let w = ui.as_weak();
    welcome.on_appointment(move || {
        if let Some(ui) = w.upgrade() {
            // Appointments are not in the ledger yet: say so, and point to the way that works.
            ui.global::<KioskAdapter>().set_notice(Notice::AppointmentUnavailable);
        }
    });

    // Departments.
    let d = ui.global::<DepartmentAdapter>();
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    d.on_choose(move |code| {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            {
                let mut inn = inner.borrow_mut();
                inn.selection.department = Some(code.to_string());
                inn.selection.page = 0;
            }
            show_items(&ui, &inner.borrow());
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    d.on_not_sure(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            choose_consultation(&ui, &inner);
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    d.on_back(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            go_home(&ui, &inner);
        }
    });

    // Items.
    let it = ui.global::<ItemAdapter>();
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    it.on_choose(move |code| {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            choose_item(&ui, &inner, &code);
        }
    });
    for step in [-1i64, 1] {
        let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
        let turn = move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                {
                    let mut inn = inner.borrow_mut();
                    inn.selection.page = (inn.selection.page as i64 + step).max(0) as usize;
                }
                show_items(&ui, &inner.borrow());
            }
        };
        if step < 0 {
            it.on_page_prev(turn);
        } else {
            it.on_page_next(turn);
        }
    }
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    it.on_back(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            show_departments(&ui, &inner);
        }
    });

    // Confirm.
    let c = ui.global::<ConfirmAdapter>();
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    c.on_choose_priority(move |code| {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
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
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    c.on_choose_mode(move |mode| {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            if let Some(m) = Mode::parse(&mode) {
                inner.borrow_mut().selection.mode = Some(m);
                ui.global::<ConfirmAdapter>().set_mode(mode);
            }
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    c.on_confirm(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            confirm(&ui, &inner);
        }
    });
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    c.on_back(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            let has_dept = inner.borrow().selection.department.is_some();
            if has_dept {
                show_items(&ui, &inner.borrow());
            } else {
                show_departments(&ui, &inner);
            }
        }
    });

    // Ticket.
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    ui.global::<TicketAdapter>().on_done(move || {
        if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
            reset(&ui, &inner);
        }
    });

    touched(ui, inner);
}

fn update_clock(ui: &KioskWindow, hall: &Hall) {
    let now = chrono::Utc::now().with_timezone(&hall.tz());
    ui.global::<KioskAdapter>()
        .set_clock_text(s(&now.format("%Y-%m-%d %H:%M").to_string()));
}

pub fn set_english(ui: &KioskWindow, en: bool) {
    if let Err(e) = slint::select_bundled_translation(if en { "en" } else { "" }) {
        tracing::warn!("cannot switch language: {e}");
    }
    ui.global::<KioskAdapter>().set_english(en);
}

/// Any tap: restart the idle timer that takes the kiosk back to the welcome screen.
fn touched(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let secs = inner.borrow().config.idle_seconds;
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    inner
        .borrow()
        .idle
        .start(TimerMode::SingleShot, Duration::from_secs(secs), move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                let k = ui.global::<KioskAdapter>();
                // An issue in flight finishes first: its ticket must be shown, never dropped.
                if k.get_busy() {
                    touched(&ui, &inner);
                } else if k.get_screen() != KioskScreen::Ticket {
                    reset(&ui, &inner);
                }
            }
        });
}

/// Ready for the next visitor: the welcome screen in Chinese, normal text, nothing chosen.
pub fn reset(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    if ui.global::<KioskAdapter>().get_busy() {
        return;
    }
    go_home(ui, inner);
    ui.global::<Theme>().set_large_text(false);
    set_english(ui, false);
}

/// Back to the welcome screen, forgetting the half-made choice; the same visitor keeps the
/// language and text size they chose.
pub fn go_home(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    if ui.global::<KioskAdapter>().get_busy() {
        return;
    }
    {
        let mut inn = inner.borrow_mut();
        inn.selection = Selection::default();
        inn.countdown.stop();
        inn.ticket_case = None;
    }
    let k = ui.global::<KioskAdapter>();
    k.set_screen(KioskScreen::Welcome);
    k.set_notice(Notice::None);
    k.set_notice_detail(SharedString::default());
    ui.global::<ConfirmAdapter>().set_priority(SharedString::default());
}

fn update_departments(ui: &KioskWindow, inner: &Inner) {
    let tiles: Vec<DepartmentTile> = inner
        .hall
        .departments
        .iter()
        .map(|d| DepartmentTile {
            code: s(&d.code),
            name: s(&d.name),
            name_en: s(if d.name_en.is_empty() { &d.name } else { &d.name_en }),
            prefix: s(&d.prefix),
            waiting: inner.counts.get(&d.code).copied().unwrap_or(0),
        })
        .collect();
    ui.global::<DepartmentAdapter>().set_departments(model(tiles));
}

fn show_departments(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    inner.borrow().send(Job::WaitingCounts);
    ui.global::<KioskAdapter>().set_screen(KioskScreen::Departments);
}

fn show_items(ui: &KioskWindow, inner: &Inner) {
    let Some(code) = inner.selection.department.as_deref() else {
        return;
    };
    let Some(dept) = inner.hall.department(code) else {
        return;
    };
    let items: Vec<_> = inner.hall.items.iter().filter(|i| i.department == code).collect();
    let pages = items.len().div_ceil(ITEMS_PER_PAGE).max(1);
    let page = inner.selection.page.min(pages - 1);
    let rows: Vec<ItemRow> = items
        .iter()
        .skip(page * ITEMS_PER_PAGE)
        .take(ITEMS_PER_PAGE)
        .map(|i| ItemRow {
            code: s(&i.code),
            main: s(&i.main),
            sub: s(&i.sub),
            name_en: s(&i.name_en),
            window: i.window as i32,
            whole_chain: i.is_whole_chain(),
        })
        .collect();
    let a = ui.global::<ItemAdapter>();
    a.set_department_name(s(&dept.name));
    a.set_department_name_en(s(if dept.name_en.is_empty() {
        &dept.name
    } else {
        &dept.name_en
    }));
    a.set_items(model(rows));
    a.set_page(page as i32 + 1);
    a.set_pages(pages as i32);
    ui.global::<KioskAdapter>().set_screen(KioskScreen::Items);
}

fn choose_consultation(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let item = inner.borrow().consult_item();
    match item {
        Some(code) => {
            inner.borrow_mut().selection.department = None;
            choose_item(ui, inner, &code);
        }
        None => show_departments(ui, inner),
    }
}

fn choose_item(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, code: &str) {
    let hall = inner.borrow().hall.clone();
    let Some(item) = hall.item(code) else { return };
    let Some(dept) = hall.department(&item.department) else {
        return;
    };
    // Whole-chain matters default to full-process service (rule 5); others to on-site help.
    let mode = if item.is_whole_chain() {
        Mode::Fullprocess
    } else {
        Mode::Onsite
    };
    {
        let mut inn = inner.borrow_mut();
        inn.selection.item = Some(item.code.clone());
        inn.selection.priority = None;
        inn.selection.mode = Some(mode);
    }
    let waiting = inner.borrow().counts.get(&dept.code).copied().unwrap_or(0);
    let c = ui.global::<ConfirmAdapter>();
    c.set_department_name(s(&dept.name));
    c.set_department_name_en(s(if dept.name_en.is_empty() {
        &dept.name
    } else {
        &dept.name_en
    }));
    let name = item.display_name();
    c.set_item_name(s(&name));
    c.set_item_name_en(s(if item.name_en.is_empty() { &name } else { &item.name_en }));
    c.set_window(item.window as i32);
    c.set_waiting(waiting);
    c.set_whole_chain(item.is_whole_chain());
    c.set_materials(model(item.materials.iter().map(|m| s(m)).collect()));
    c.set_priority(SharedString::default());
    c.set_mode(s(mode.as_str()));
    ui.global::<KioskAdapter>().set_screen(KioskScreen::Confirm);
}

fn confirm(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    let k = ui.global::<KioskAdapter>();
    if k.get_busy() {
        return;
    }
    if k.get_paused() {
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

/// Apply the worker's replies on the UI thread.
pub fn pump(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    loop {
        let reply = match inner.borrow().replies.try_recv() {
            Ok(r) => r,
            Err(_) => return,
        };
        match reply {
            Reply::Issued(Ok(ticket)) => show_ticket(ui, inner, ticket),
            Reply::Issued(Err(failure)) => {
                let k = ui.global::<KioskAdapter>();
                k.set_busy(false);
                let (notice, detail) = match failure {
                    IssueFailure::Busy(d) => (Notice::LedgerBusy, d),
                    IssueFailure::Unreachable(d) => {
                        // Nothing was issued; tickets pause until the server answers again.
                        k.set_paused(true);
                        tracing::error!("cannot reach the hall server: {d}");
                        continue;
                    }
                    IssueFailure::Other(d) => (Notice::IssueFailed, d),
                };
                tracing::error!("cannot issue a ticket: {detail}");
                k.set_notice(notice);
                k.set_notice_detail(s(&detail));
            }
            Reply::Printed { case_id, result } => {
                if inner.borrow().ticket_case == Some(case_id) {
                    ui.global::<TicketAdapter>().set_print_state(if result.is_ok() {
                        PrintState::Printed
                    } else {
                        PrintState::Failed
                    });
                }
            }
            Reply::WaitingCounts(counts) => {
                inner.borrow_mut().counts = counts;
                update_departments(ui, &inner.borrow());
            }
            Reply::Reachable(up) => {
                let k = ui.global::<KioskAdapter>();
                if k.get_paused() != !up {
                    if up {
                        tracing::info!("the hall server answers again: tickets resume");
                    } else {
                        tracing::warn!("the hall server does not answer: tickets are paused");
                    }
                }
                k.set_paused(!up);
            }
        }
    }
}

fn show_ticket(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, t: Ticket) {
    let hall = inner.borrow().hall.clone();
    let has_printer = inner.borrow().printer != PrinterTarget::None;
    let item = hall.item(&t.item);
    let dept = hall.department(&t.department);
    let a = ui.global::<TicketAdapter>();
    a.set_number(s(&t.number));
    a.set_department_name(s(&t.department_name));
    a.set_department_name_en(s(dept
        .map(|d| d.name_en.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(&t.department_name)));
    a.set_item_name(s(&t.item_name));
    a.set_item_name_en(s(item
        .map(|i| i.name_en.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(&t.item_name)));
    a.set_window(t.window as i32);
    a.set_ahead(t.ahead as i32);
    a.set_wait_min(t.estimated_wait_min as i32);
    a.set_priority_name(s(t.priority_name.as_deref().unwrap_or("")));
    let prio_en = t.priority.as_deref().and_then(|p| hall.priority(p)).map(|p| {
        if p.name_en.is_empty() {
            p.name.clone()
        } else {
            p.name_en.clone()
        }
    });
    a.set_priority_name_en(s(prio_en.as_deref().unwrap_or("")));
    a.set_mode(s(t.mode.as_str()));
    a.set_qr(crate::qr::image(&t.qr_payload, 8));
    a.set_materials(model(t.materials.iter().map(|m| s(m)).collect()));
    a.set_print_state(if has_printer {
        PrintState::Printing
    } else {
        PrintState::None
    });
    let seconds = inner.borrow().config.ticket_seconds;
    a.set_seconds_left(seconds as i32);
    {
        let mut inn = inner.borrow_mut();
        // The worker prints it straight after issuing; its outcome arrives as `Printed`.
        inn.ticket_case = Some(t.case_id);
    }
    let k = ui.global::<KioskAdapter>();
    k.set_busy(false);
    k.set_screen(KioskScreen::Ticket);
    // Count down on screen, then return to the welcome screen for the next visitor.
    let (w, i) = (ui.as_weak(), Rc::downgrade(inner));
    inner
        .borrow()
        .countdown
        .start(TimerMode::Repeated, Duration::from_secs(1), move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                let a = ui.global::<TicketAdapter>();
                let left = a.get_seconds_left() - 1;
                a.set_seconds_left(left.max(0));
                if left <= 0 {
                    reset(&ui, &inner);
                }
            }
        });
}
