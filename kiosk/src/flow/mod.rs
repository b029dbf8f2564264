//! The visitor's path, one controller module per adapter: `chrome` (KioskAdapter: idle
//! timeout, language, large text, notices), `welcome`, `departments`, `items`, `confirm`,
//! `ticket`, `phone` (短信提醒), `checkin` (预约签到), `feedback` (评价, 找茬吐槽). This module holds the state they share and routes the worker's replies.

mod checkin;
mod chrome;
mod confirm;
mod departments;
mod feedback;
mod items;
mod phone;
pub mod search;
mod ticket;
mod welcome;

pub use chrome::{go_home, reset, set_english, set_large_text};

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bangban::{Hall, Mode};
use bangban_printer::PrinterTarget;
use slint::{ModelRc, SharedString, Timer, VecModel};

use crate::worker::{Job, Reply};
use crate::{Config, KioskWindow};

/// How often a kiosk on the hall server checks that the server answers.
pub const HEALTH_CHECK: Duration = Duration::from_secs(2);

/// Items per page on the item screen: big rows, no scrolling (no gestures beyond a tap);
/// fewer and larger in 大字.
pub fn items_per_page(large: bool) -> usize {
    if large {
        4
    } else {
        6
    }
}

/// Whether the visitor has 大字 on: every list then offers fewer, larger tiles.
pub fn large(ui: &KioskWindow) -> bool {
    use slint::ComponentHandle;
    ui.global::<crate::Theme>().get_large_text()
}

pub use bangban_headless::balanced;

/// What the visitor has chosen so far.
#[derive(Default, Clone, Debug)]
pub struct Selection {
    pub department: Option<String>,
    pub item: Option<String>,
    pub priority: Option<String>,
    pub mode: Option<Mode>,
    pub page: usize,
    /// What the visitor typed on the search keypad, and the results page shown.
    pub query: String,
    pub search_page: usize,
    /// The page of the department screen.
    pub dept_page: usize,
    /// The department was chosen on the department screen (not the welcome screen): 返回
    /// from its items goes back there.
    pub via_departments: bool,
    /// The visitor's ID card says 60 or more: 老年人 is chosen on the confirm screen (the card's
    /// number itself is kept nowhere).
    pub id_elderly: bool,
}

pub struct Inner {
    pub config: Config,
    pub hall: Arc<Hall>,
    pub printer: PrinterTarget,
    pub selection: Selection,
    pub counts: HashMap<String, i32>,
    /// The IO thread has reported the waiting counts at least once.
    pub counts_known: bool,
    /// The case whose print outcome the ticket screen shows, and its token (for 短信提醒).
    pub ticket_case: Option<i64>,
    pub ticket_token: Option<String>,
    /// The spoken prompts (None: no TTS command on this machine), and whether the visitor
    /// has them on.
    pub voice: Option<bangban_headless::voice::Voice>,
    /// What an ID card reader has typed since its last Enter (cleared as soon as it is read).
    pub id_keys: String,
    /// Today's most issued matters (item code, count), for the welcome screen's featured row.
    pub issued: Vec<(String, u32)>,
    /// The time the header shows (the ledger's clock: `BANGBAN_NOW` in drills).
    pub now: Arc<dyn bangban::clock::Clock>,
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
        now: Arc<dyn bangban::clock::Clock>,
    ) -> Inner {
        // An empty --tts means silence; none given means espeak-ng's Mandarin voice if installed.
        let tts = match config.tts.as_deref() {
            Some(cmd) => bangban_headless::voice::parse_command(cmd),
            None => bangban_headless::voice::default_tts(),
        };
        let voice = tts.map(|cmd| bangban_headless::voice::Voice::start(Some(cmd), false));
        Inner {
            voice,
            now,
            issued: Vec::new(),
            id_keys: String::new(),
            config,
            hall,
            printer,
            selection: Selection::default(),
            counts: HashMap::new(),
            counts_known: false,
            ticket_case: None,
            ticket_token: None,
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

/// Connect every adapter to its controller.
pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    chrome::wire(ui, inner);
    welcome::wire(ui, inner);
    departments::wire(ui, inner);
    items::wire(ui, inner);
    confirm::wire(ui, inner);
    search::wire(ui, inner);
    checkin::wire(ui, inner);
    feedback::wire(ui, inner);
    ticket::wire(ui, inner);
    phone::wire(ui, inner);
    chrome::touched(ui, inner);
}

/// Apply the worker's replies on the UI thread, each through the controller it concerns.
pub fn pump(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    loop {
        let reply = match inner.borrow().replies.try_recv() {
            Ok(r) => r,
            Err(_) => return,
        };
        match reply {
            Reply::Issued(Ok(ticket)) => ticket::show(ui, inner, ticket),
            // A check-in code refused stays on the keypad; the hall's hours or an item's quota
            // are told like any ticket that could not be issued.
            Reply::Issued(Err(crate::worker::IssueFailure::Refused(kind, detail))) if kind.is_code_refusal() => {
                checkin::refused(ui, kind, &detail)
            }
            Reply::Issued(Err(failure)) => chrome::issue_failed(ui, failure),
            Reply::Rated(result) => feedback::rated(ui, &inner.borrow(), result),
            Reply::FeedbackSent(result) => feedback::sent(ui, &inner.borrow(), result),
            Reply::PhoneLeft(result) => phone::answered(ui, inner, result),
            Reply::Printed { case_id, result } => ticket::printed(ui, &inner.borrow(), case_id, result.is_ok()),
            Reply::WaitingCounts(counts, issued) => {
                {
                    let mut inn = inner.borrow_mut();
                    inn.counts = counts;
                    inn.counts_known = true;
                    inn.issued = issued;
                }
                departments::update(ui, &inner.borrow());
                welcome::update_featured(ui, &inner.borrow());
            }
            Reply::Reachable(up) => chrome::reachable(ui, up),
        }
    }
}

/// The English name shown in English mode: the hall file's `name_en`, else the Chinese name
/// (a visitor sees something rather than a blank).
fn en(name_en: &str, name: &str) -> SharedString {
    s(if name_en.is_empty() { name } else { name_en })
}
