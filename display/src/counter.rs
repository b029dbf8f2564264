//! The counter console: sign-in with staff id and PIN, calling, and every case action, each
//! attributed to the signed-in specialist and this window. The hall client (the ledger file
//! or the hall server) lives on an IO thread, so a locked database or a slow network never
//! freezes the console; the UI sends `Cmd`s and shows `View`s.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bangban::api::{Act, Call, HallClient, PauseWindow, SignIn};
use bangban::local::LocalClient;
use bangban::remote::RemoteClient;
use bangban::{CaseAction, LedgerError, LedgerOptions};
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

use crate::{CounterAdapter, CounterWindow, MaterialRow, WaitingRow};

/// What the console asks of the ledger.
pub enum Cmd {
    Login {
        staff: String,
        pin: String,
    },
    Logout,
    CallNext,
    CallNumber(String),
    Act(CaseAction),
    TogglePause,
    Refresh,
    /// Show this case on the panel without calling it (None: the window's own case, else the
    /// first in line — for renders).
    Show(Option<String>),
    Stop,
}

/// The case on the panel, as plain data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseView {
    pub number: String,
    pub item: String,
    pub state: String,
    pub state_label: String,
    pub priority: String,
    pub recalls: u32,
    pub open_question: bool,
    pub materials: Vec<String>,
}

/// Everything the console shows, produced by the IO thread after each command.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub logged_in: bool,
    pub staff_name: String,
    /// `None` leaves the message line as it is (background refreshes).
    pub message: Option<(String, bool)>,
    pub paused: bool,
    pub waiting: Vec<(String, String, i64, String)>,
    pub case: Option<CaseView>,
    /// The hall server could not be reached on the last try; the console keeps retrying.
    pub offline: bool,
}

/// The IO thread's state: the hall client, who is signed in, which case is on the panel.
struct Desk {
    client: Box<dyn HallClient>,
    offline: bool,
    window: u32,
    depts: Vec<String>,
    staff: Option<String>,
    current: Option<String>,
}

impl Desk {
    fn handle(&mut self, cmd: Cmd) -> View {
        let message = match cmd {
            Cmd::Login { staff, pin } => match self.client.sign_in(&SignIn {
                staff: staff.trim().to_string(),
                pin,
                window: self.window,
            }) {
                Ok(signed) => {
                    self.staff = Some(signed.staff);
                    Some((String::new(), false))
                }
                Err(e) => Some((self.say(e), true)),
            },
            Cmd::Logout => {
                if let Err(e) = self.client.sign_out() {
                    tracing::warn!("sign-out: {e}");
                }
                self.staff = None;
                self.current = None;
                Some((String::new(), false))
            }
            Cmd::Refresh | Cmd::Stop => None,
            Cmd::Show(number) => {
                // None: the case this window is working on, else the first in line.
                self.current = number.or_else(|| {
                    let at = self
                        .client
                        .at_window(self.window)
                        .ok()
                        .and_then(|v| v.last().map(|c| c.number.clone()));
                    at.or_else(|| {
                        self.client
                            .waiting(&self.depts)
                            .ok()
                            .and_then(|w| w.first().map(|w| w.number.clone()))
                    })
                });
                None
            }
            other => Some(match self.as_staff(other) {
                Ok(m) => {
                    self.offline = false;
                    (m, false)
                }
                Err(e) => (self.say(e), true),
            }),
        };
        self.view(message)
    }

    fn as_staff(&mut self, cmd: Cmd) -> Result<String, LedgerError> {
        let staff = self
            .staff
            .clone()
            .ok_or_else(|| LedgerError::Invalid("sign in first".into()))?;
        match cmd {
            Cmd::CallNext | Cmd::CallNumber(_) => {
                let number = match cmd {
                    Cmd::CallNumber(n) if n.trim().is_empty() => {
                        return Err(LedgerError::Invalid("type or scan a number first".into()))
                    }
                    Cmd::CallNumber(n) => Some(n.trim().to_string()),
                    _ => None,
                };
                let _ = staff;
                let c = self.client.call(&Call { number })?;
                self.current = Some(c.number.clone());
                Ok(c.text)
            }
            Cmd::Act(action) => {
                let number = self
                    .current
                    .clone()
                    .ok_or_else(|| LedgerError::Invalid("no case on the panel: call a number first".into()))?;
                let _ = staff;
                let c = self.client.act(&Act { case: number, action })?;
                Ok(format!("{} {}", c.number, c.state.label_zh()))
            }
            Cmd::TogglePause => {
                let _ = staff;
                let paused = !self.client.window_paused(self.window)?;
                self.client.pause_window(&PauseWindow { paused })?;
                Ok(if paused {
                    "窗口已暂停".into()
                } else {
                    "窗口已恢复".into()
                })
            }
            _ => Ok(String::new()),
        }
    }

    /// The words for an error; a server out of reach marks the console as reconnecting.
    fn say(&mut self, e: LedgerError) -> String {
        if e.kind() == "unreachable" {
            self.offline = true;
        }
        e.to_string()
    }

    fn view(&mut self, message: Option<(String, bool)>) -> View {
        let hall = match self.client.hall() {
            Ok(h) => {
                self.offline = false;
                Some(h)
            }
            Err(e) => {
                if e.kind() == "unreachable" {
                    self.offline = true;
                }
                None
            }
        };
        let staff_name = match (&self.staff, &hall) {
            (Some(id), Some(h)) => format!("{}（{id}）", h.specialist(id).map(|s| s.name.as_str()).unwrap_or("")),
            _ => String::new(),
        };
        let waiting = self
            .client
            .waiting(&self.depts)
            .map(|list| {
                list.into_iter()
                    .map(|w| (w.number, w.item_name, w.waited_min, w.priority_name.unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let case = self
            .current
            .clone()
            .and_then(|n| self.client.case(&n).ok())
            .map(|v| v.case)
            .map(|c| {
                let item = hall.as_ref().and_then(|h| h.item(&c.item));
                CaseView {
                    number: c.number.clone(),
                    item: item.map(|i| i.display_name()).unwrap_or_else(|| c.item.clone()),
                    state: c.state.as_str().into(),
                    state_label: c.state.label_zh().into(),
                    priority: c
                        .priority
                        .as_deref()
                        .and_then(|p| hall.as_ref()?.priority(p))
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    recalls: c.recalls,
                    open_question: c.open_question,
                    materials: item.map(|i| i.materials.clone()).unwrap_or_default(),
                }
            });
        View {
            logged_in: self.staff.is_some(),
            staff_name,
            message,
            paused: self.client.window_paused(self.window).unwrap_or(false),
            waiting,
            case,
            offline: self.offline,
        }
    }
}

/// The UI side: the window, the channel to the IO thread, and the checklist ticks (which
/// are the specialist's work in progress, not ledger state).
pub struct Inner {
    jobs: Sender<Cmd>,
    views: Receiver<View>,
    worker: Option<JoinHandle<()>>,
    /// Commands sent whose view has not come back yet.
    pending: usize,
    case_number: String,
    materials: Vec<(String, bool)>,
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

/// Where the console's hall client comes from.
pub enum Source {
    /// The ledger file on this machine; writes wait at most this long for a locked ledger.
    Ledger(std::path::PathBuf, Duration),
    /// The hall server, as the counter device owning the token.
    Server { url: String, token: String },
}

/// Build the console for a window on a ledger file (the embedded default).
pub fn counter(db: &Path, window: u32, busy: Duration) -> anyhow::Result<Counter> {
    counter_on(Source::Ledger(db.to_path_buf(), busy), window)
}

/// Build the console for a window on either source.
pub fn counter_on(source: Source, window: u32) -> anyhow::Result<Counter> {
    let mut client: Box<dyn HallClient> = match source {
        Source::Ledger(db, busy) => {
            let ledger = bangban::open_existing(
                &db,
                LedgerOptions {
                    busy_timeout: busy,
                    ..LedgerOptions::default()
                },
            )?;
            Box::new(LocalClient::new(ledger, &format!("counter-{window}")))
        }
        Source::Server { url, token } => Box::new(RemoteClient::new(&url, &token)?),
    };
    let hall = client.hall()?;
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
    let mut desk = Desk {
        depts: depts.iter().map(|d| d.code.clone()).collect(),
        client,
        offline: false,
        window,
        staff: None,
        current: None,
    };

    let (job_tx, job_rx) = mpsc::channel::<Cmd>();
    let (view_tx, view_rx) = mpsc::channel::<View>();
    let worker = std::thread::Builder::new().name("counter-io".into()).spawn(move || {
        for cmd in job_rx {
            if matches!(cmd, Cmd::Stop) {
                break;
            }
            if view_tx.send(desk.handle(cmd)).is_err() {
                break;
            }
            // Without an event loop (UI tests) this fails; the tests settle by hand.
            let _ = slint::invoke_from_event_loop(|| PUMP.with(|p| p.borrow().as_ref().map(|f| f())).unwrap_or(()));
        }
    })?;
    let inner = Rc::new(RefCell::new(Inner {
        jobs: job_tx,
        views: view_rx,
        worker: Some(worker),
        pending: 0,
        case_number: String::new(),
        materials: vec![],
        refresh: Timer::default(),
    }));
    wire(&ui, &inner);
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

/// For `--render`: the console on the ledger's real queue, showing the case the window is
/// working on (or the first in line), without a PIN.
pub fn show_for_render(c: &Counter) {
    send(&c.inner, Cmd::Show(None));
    c.settle(Duration::from_secs(10));
    let a = c.ui.global::<CounterAdapter>();
    a.set_logged_in(true);
    a.set_staff_name(s("（预览）"));
}

fn send(inner: &Rc<RefCell<Inner>>, cmd: Cmd) {
    let mut inn = inner.borrow_mut();
    if inn.jobs.send(cmd).is_ok() {
        inn.pending += 1;
    } else {
        tracing::error!("the console's IO thread has stopped");
    }
}

/// Show every view the IO thread has produced.
fn pump(ui: &CounterWindow, inner: &Rc<RefCell<Inner>>) {
    loop {
        let view = match inner.borrow().views.try_recv() {
            Ok(v) => v,
            Err(_) => return,
        };
        inner.borrow_mut().pending -= 1;
        apply(ui, &mut inner.borrow_mut(), view);
    }
}

fn apply(ui: &CounterWindow, inner: &mut Inner, v: View) {
    let a = ui.global::<CounterAdapter>();
    a.set_offline(v.offline);
    if v.offline {
        // The server is out of reach: keep the queue, the case and everything typed on screen
        // as it was; only the message line says what happened.
        if let Some((text, error)) = v.message {
            a.set_message(s(&text));
            a.set_message_is_error(error);
        }
        return;
    }
    a.set_logged_in(v.logged_in);
    a.set_staff_name(s(&v.staff_name));
    if let Some((text, error)) = v.message {
        a.set_message(s(&text));
        a.set_message_is_error(error);
        if !error {
            a.set_cleared(a.get_cleared() + 1);
        }
    }
    a.set_paused(v.paused);
    let rows: Vec<WaitingRow> = v
        .waiting
        .iter()
        .map(|(number, item, waited, priority)| WaitingRow {
            number: s(number),
            item: s(item),
            waited: *waited as i32,
            priority: s(priority),
        })
        .collect();
    a.set_waiting(ModelRc::new(VecModel::from(rows)));
    a.set_has_case(v.case.is_some());
    let c = v.case.unwrap_or_default();
    a.set_case_number(s(&c.number));
    a.set_case_item(s(&c.item));
    a.set_case_state(s(&c.state));
    a.set_case_state_label(s(&c.state_label));
    a.set_case_priority(s(&c.priority));
    a.set_case_recalls(c.recalls as i32);
    a.set_case_open_question(c.open_question);
    // A new case starts with a clean checklist; the same case keeps the specialist's ticks.
    if c.number != inner.case_number || inner.materials.iter().map(|m| &m.0).ne(c.materials.iter()) {
        inner.case_number = c.number.clone();
        inner.materials = c.materials.into_iter().map(|m| (m, false)).collect();
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
    on!(ui, inner, on_login, |_ui, inner, staff, pin| {
        send(
            inner,
            Cmd::Login {
                staff: staff.to_string(),
                pin: pin.to_string(),
            },
        );
        // The queue changes as kiosks issue tickets; keep it current while signed in.
        let i = Rc::downgrade(inner);
        inner
            .borrow()
            .refresh
            .start(TimerMode::Repeated, Duration::from_secs(2), move || {
                if let Some(inner) = i.upgrade() {
                    if inner.borrow().pending == 0 {
                        send(&inner, Cmd::Refresh);
                    }
                }
            });
    });
    on!(ui, inner, on_logout, |_ui, inner| {
        inner.borrow().refresh.stop();
        send(inner, Cmd::Logout);
    });
    on!(ui, inner, on_call_next, |_ui, inner| send(inner, Cmd::CallNext));
    on!(ui, inner, on_call_number, |_ui, inner, number| send(
        inner,
        Cmd::CallNumber(number.to_string())
    ));
    on!(ui, inner, on_recall, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::Recall)
    ));
    on!(ui, inner, on_no_show, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::NoShow)
    ));
    on!(ui, inner, on_start, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::Start)
    ));
    on!(ui, inner, on_hold, |_ui, inner| send(inner, Cmd::Act(CaseAction::Hold)));
    on!(ui, inner, on_resume, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::Resume)
    ));
    on!(ui, inner, on_toggle_pause, |_ui, inner| send(inner, Cmd::TogglePause));
    on!(ui, inner, on_transfer, |_ui, inner, dept, note| send(
        inner,
        Cmd::Act(CaseAction::Transfer {
            department: dept.trim().to_uppercase(),
            window: None,
            note: Some(note.to_string())
        })
    ));
    on!(ui, inner, on_consult, |_ui, inner, q, a, resolved| send(
        inner,
        Cmd::Act(CaseAction::Consult {
            question: q.to_string(),
            answer: Some(a.to_string()),
            resolved
        })
    ));
    on!(ui, inner, on_answer, |_ui, inner, a| send(
        inner,
        Cmd::Act(CaseAction::Answer { answer: a.to_string() })
    ));
    on!(ui, inner, on_notify_missing, |_ui, inner| {
        let missing = checked(inner);
        send(inner, Cmd::Act(CaseAction::NotifyMissing { missing }))
    });
    on!(ui, inner, on_returned, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::MaterialsReturned)
    ));
    on!(ui, inner, on_accept, |_ui, inner, poa| {
        let materials = checked(inner);
        send(
            inner,
            Cmd::Act(CaseAction::Accept {
                materials,
                power_of_attorney: poa,
            }),
        )
    });
    on!(ui, inner, on_start_work, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::StartWork)
    ));
    on!(ui, inner, on_ready, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::Ready)
    ));
    on!(ui, inner, on_deliver, |_ui, inner, signed| send(
        inner,
        Cmd::Act(CaseAction::DeliverInPerson {
            completion_slip_signed: signed
        })
    ));
    on!(ui, inner, on_mail, |_ui, inner, tracking| send(
        inner,
        Cmd::Act(CaseAction::Mail {
            tracking: tracking.to_string()
        })
    ));
    on!(ui, inner, on_confirm_receipt, |_ui, inner| send(
        inner,
        Cmd::Act(CaseAction::ConfirmReceipt)
    ));
    on!(ui, inner, on_archive, |_ui, inner, handover| send(
        inner,
        Cmd::Act(CaseAction::Archive {
            handover: Some(handover.to_string())
        })
    ));
    on!(ui, inner, on_toggle_material, |ui, inner, index| {
        let mut inn = inner.borrow_mut();
        if let Some(m) = inn.materials.get_mut(index as usize) {
            m.1 = !m.1;
        }
        ui.global::<CounterAdapter>().set_materials(material_rows(&inn));
    });
    on!(ui, inner, on_select_case, |_ui, inner, number| send(
        inner,
        Cmd::Show(Some(number.to_string()))
    ));
}
