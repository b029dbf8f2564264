//! The counter console's UI: one controller module per adapter (`sign_in`, `queue`,
//! `case_panel`) over the desk (`crate::desk`), which does the IO on its own thread. The UI
//! sends `Cmd`s and shows the `View`s that come back.

mod case_panel;
mod queue;
mod sign_in;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use slint::{ComponentHandle, SharedString, Timer};

pub use crate::desk::Source;
use crate::desk::{Cmd, Desk, View};
use crate::{CounterWindow, SignInAdapter};

/// The UI side: the channel to the desk's thread, and the checklist ticks (which are the
/// specialist's work in progress, not ledger state).
pub struct Inner {
    jobs: Sender<Cmd>,
    views: Receiver<View>,
    worker: Option<JoinHandle<()>>,
    /// Commands sent whose view has not come back yet.
    pending: usize,
    case_number: String,
    /// The item's materials and how the specialist marked each (0 not yet, 1 已交, 2 缺少).
    materials: Vec<(String, u8)>,
    /// The codes of the window's items, in the order of the panel's item list.
    items: Vec<String>,
    /// The window's departments as the header names them, in Chinese and in English.
    departments: (String, String),
    refresh: Timer,
}

pub struct Counter {
    pub ui: CounterWindow,
    pub inner: Rc<RefCell<Inner>>,
}

thread_local! {
    static PUMP: RefCell<Option<Box<dyn Fn()>>> = RefCell::new(None);
}

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

/// Build the console for a window on a ledger file (the embedded default).
pub fn counter(db: &Path, window: u32, busy: Duration) -> anyhow::Result<Counter> {
    counter_on(Source::Ledger(db.to_path_buf(), busy), window)
}

/// Build the console for a window on either source.
pub fn counter_on(source: Source, window: u32) -> anyhow::Result<Counter> {
    counter_printing(source, window, None)
}

/// Build the console for a window with the counter's own printer, on which the one-time
/// notification slip (一次性告知书) prints after each 告知缺少材料.
pub fn counter_printing(
    source: Source,
    window: u32,
    printer: Option<bangban_printer::PrinterTarget>,
) -> anyhow::Result<Counter> {
    counter_with(source, window, printer, None)
}

/// Build the console with the counter's slip printer and the hall's A4 printer for the forms
/// (委托书 …: `lp:PRINTER`, or `dir:PATH` to save them).
pub fn counter_with(
    source: Source,
    window: u32,
    printer: Option<bangban_printer::PrinterTarget>,
    a4: Option<crate::desk::A4Target>,
) -> anyhow::Result<Counter> {
    let (mut desk, hall) = Desk::open(source, window).map_err(|e| match e {
        bangban::LedgerError::UnknownWindow(w) => {
            anyhow::anyhow!("window {w} belongs to no department in the hall configuration")
        }
        e => e.into(),
    })?;
    let has_printer = printer
        .as_ref()
        .is_some_and(|p| *p != bangban_printer::PrinterTarget::None);
    desk.set_printer(printer);
    let has_a4 = a4.is_some();
    desk.set_a4(a4);
    let ui = CounterWindow::new()?;
    ui.global::<crate::CasePanelAdapter>().set_has_printer(has_printer);
    ui.global::<crate::CasePanelAdapter>().set_has_a4(has_a4);
    set_language("");
    sign_in::setup(&ui, &hall, window);
    ui.global::<crate::CasePanelAdapter>()
        .set_items(slint::ModelRc::new(slint::VecModel::from(
            window_items(&hall, window)
                .into_iter()
                .map(|(code, name)| s(&format!("{code} {name}")))
                .collect::<Vec<_>>(),
        )));
    // 转办's choices: every other department of the hall, by name.
    {
        let own: Vec<String> = hall
            .departments_at_window(window)
            .iter()
            .map(|d| d.code.clone())
            .collect();
        let others: Vec<&bangban::hall::Department> =
            hall.departments.iter().filter(|d| !own.contains(&d.code)).collect();
        let names = std::iter::once(s("请选择转办部门 · choose a department"))
            .chain(others.iter().map(|d| s(&format!("{} {}", d.code, d.name))))
            .collect::<Vec<_>>();
        let codes = std::iter::once(s(""))
            .chain(others.iter().map(|d| s(&d.code)))
            .collect::<Vec<_>>();
        let a = ui.global::<crate::CasePanelAdapter>();
        a.set_departments(slint::ModelRc::new(slint::VecModel::from(names)));
        a.set_department_codes(slint::ModelRc::new(slint::VecModel::from(codes)));
    }
    // Without an event loop (UI tests) waking fails; the tests settle by hand.
    let thread = crate::desk::spawn(desk, || {
        let _ = slint::invoke_from_event_loop(|| PUMP.with(|p| p.borrow().as_ref().map(|f| f())).unwrap_or(()));
    })?;
    let inner = Rc::new(RefCell::new(Inner {
        jobs: thread.jobs,
        views: thread.views,
        worker: Some(thread.handle),
        pending: 0,
        case_number: String::new(),
        materials: vec![],
        items: window_items(&hall, window).into_iter().map(|(c, _)| c).collect(),
        departments: {
            let depts = hall.departments_at_window(window);
            let names = |en: bool| {
                depts
                    .iter()
                    .map(|d| if en { d.english_name() } else { d.name.clone() })
                    .collect::<Vec<_>>()
                    .join(if en { ", " } else { "、" })
            };
            (names(false), names(true))
        },
        refresh: Timer::default(),
    }));
    sign_in::wire(&ui, &inner);
    queue::wire(&ui, &inner);
    case_panel::wire(&ui, &inner);
    let counter = Counter { ui, inner };
    let (w, i) = (counter.ui.as_weak(), Rc::downgrade(&counter.inner));
    PUMP.with(|p| {
        *p.borrow_mut() = Some(Box::new(move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                pump(&ui, &inner);
            }
        }))
    });
    send(&counter.inner, Cmd::Refresh);
    counter.settle(Duration::from_secs(10));
    Ok(counter)
}

impl Counter {
    /// Speak `lang` ("en" or Chinese): the words, and the names the console shows (its header's
    /// departments, the queue's items and priority groups) in the hall file's English.
    pub fn set_language(&self, lang: &str) {
        set_language(lang);
        let (zh, en) = self.inner.borrow().departments.clone();
        self.ui
            .global::<crate::SignInAdapter>()
            .set_departments(s(if english() { &en } else { &zh }));
        self.refresh();
        self.settle(Duration::from_secs(10));
    }

    /// Read the queue, the case and the alerts again now (after a language switch, say).
    pub fn refresh(&self) {
        send(&self.inner, Cmd::Refresh);
    }

    /// Wait until every command sent has been answered and shown (tests, renders).
    pub fn settle(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            pump(&self.ui, &self.inner);
            if self.inner.borrow().pending == 0 {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        PUMP.with(|p| *p.borrow_mut() = None);
        let mut inn = self.inner.borrow_mut();
        let _ = inn.jobs.send(Cmd::Stop);
        if let Some(w) = inn.worker.take() {
            let _ = w.join();
        }
    }
}

/// The console's language: "en" for English, anything else for Chinese (the source).
pub fn set_language(lang: &str) {
    ENGLISH.with(|e| e.set(lang == "en"));
    let _ = slint::select_bundled_translation(if lang == "en" { "en" } else { "" });
}

thread_local! {
    /// Whether the console on this thread speaks English: the names the desk reads (items,
    /// priority groups) are then shown in the hall file's English.
    static ENGLISH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the console on this thread speaks English (`set_language`).
pub fn english() -> bool {
    ENGLISH.with(|e| e.get())
}

/// For `--render`: the console on the ledger's real queue, showing the case the window is
/// working on (or the first in line, or `case`), without a PIN; `staff` previews as that
/// specialist (their department's parts).
pub fn show_for_render(c: &Counter, case: Option<String>, staff: Option<String>) {
    if let Some(staff) = staff {
        send(&c.inner, Cmd::Preview(staff));
    }
    send(&c.inner, Cmd::Show(case));
    c.settle(Duration::from_secs(10));
    let a = c.ui.global::<SignInAdapter>();
    a.set_logged_in(true);
    // As that specialist (their name and id, read by the desk), or a preview of nobody.
    if a.get_staff_name().is_empty() {
        a.set_staff_name(s("（预览）"));
    }
}

/// The items of the departments at a window: (code, name).
fn window_items(hall: &bangban::Hall, window: u32) -> Vec<(String, String)> {
    let depts: Vec<&str> = hall
        .departments_at_window(window)
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    hall.items
        .iter()
        .filter(|i| depts.contains(&i.department.as_str()))
        .map(|i| (i.code.clone(), i.display_name()))
        .collect()
}

fn send(inner: &Rc<RefCell<Inner>>, cmd: Cmd) {
    let mut inn = inner.borrow_mut();
    if inn.jobs.send(cmd).is_ok() {
        inn.pending += 1;
    } else {
        tracing::error!("the console's IO thread has stopped");
    }
}

/// Show every view the desk has produced, each part through its adapter's controller.
fn pump(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    loop {
        let view = match inner.borrow().views.try_recv() {
            Ok(v) => v,
            Err(_) => return,
        };
        inner.borrow_mut().pending -= 1;
        // The server is out of reach: keep the queue, the case and everything typed on screen
        // as it was; only the status line says what happened.
        if sign_in::show(ui, &view) {
            queue::show(ui, &view);
            case_panel::show(ui, &mut inner.borrow_mut(), view.case);
        }
    }
}
