//! The counter's rating pad (`display rate --window N`, 评价器): the controller of
//! `PadAdapter`. An IO thread owns the hall client and asks every second what the window
//! shows the visitor; when a visit there ends, the pad offers the five faces for ten seconds,
//! then the reasons of a bad rating, and sends one rating bound to its window.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bangban::api::{HallClient, Rated};
use bangban::ops::{PadRate, PadShow};
use bangban::{LedgerError, PadView, RATING_REASONS};
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

pub use crate::desk::Source;
use crate::{PadAdapter, PadWindow, ReasonRow};

/// How long the faces, and then the reasons, wait for the visitor.
pub const CHOOSE_FOR_S: i32 = 10;
/// How long the thanks stay on the screen.
pub const THANKS_FOR_S: i32 = 4;

enum Job {
    Show { following: Option<i64> },
    Rate { case: i64, level: u8, reasons: Vec<String> },
    Stop,
}

enum Reply {
    View(Result<PadView, LedgerError>),
    Rated(Result<Rated, LedgerError>),
}

/// What the screen is doing, which the hall's answers do not change while the visitor chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Showing what the hall says (idle or serving).
    Follow,
    Faces,
    Reasons,
    Thanks,
}

pub struct Inner {
    jobs: Sender<Job>,
    replies: Receiver<Reply>,
    worker: Option<JoinHandle<()>>,
    pending: usize,
    mode: Mode,
    seconds: i32,
    /// The case on the pad, and the ones already offered the faces (each is asked once).
    case: Option<i64>,
    asked: HashSet<i64>,
    level: u8,
    picked: Vec<bool>,
    english: bool,
    tick: Timer,
    pump: Timer,
}

pub struct Pad {
    pub ui: PadWindow,
    pub inner: Rc<RefCell<Inner>>,
}

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

/// Open the pad of `window` on either source: the hall must have the window.
pub fn pad(source: Source, window: u32) -> anyhow::Result<Pad> {
    let mut client = bangban::connect::connect(source.door(format!("pad-{window}")))?;
    if !client.hall()?.all_windows().contains(&window) {
        return Err(LedgerError::UnknownWindow(window).into());
    }
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let (reply_tx, replies) = mpsc::channel::<Reply>();
    let worker = std::thread::Builder::new()
        .name(format!("bangban-pad-{window}"))
        .spawn(move || work(client, window, job_rx, reply_tx))?;
    let ui = PadWindow::new()?;
    let a = ui.global::<PadAdapter>();
    a.set_window(window as i32);
    a.set_state(s("idle"));
    a.set_problem(s(""));
    a.set_staff_name(s(""));
    a.set_badge(s(""));
    a.set_initial(s(""));
    let inner = Rc::new(RefCell::new(Inner {
        jobs,
        replies,
        worker: Some(worker),
        pending: 0,
        mode: Mode::Follow,
        seconds: 0,
        case: None,
        asked: HashSet::new(),
        level: 0,
        picked: vec![false; RATING_REASONS.len()],
        english: false,
        tick: Timer::default(),
        pump: Timer::default(),
    }));
    let p = Pad { ui, inner };
    p.set_language("zh");
    p.bind();
    p.ask();
    Ok(p)
}

fn work(mut client: Box<dyn HallClient>, window: u32, jobs: Receiver<Job>, replies: Sender<Reply>) {
    while let Ok(job) = jobs.recv() {
        let reply = match job {
            Job::Stop => break,
            Job::Show { following } => Reply::View(client.send(PadShow { window, following })),
            Job::Rate { case, level, reasons } => Reply::Rated(client.send(PadRate {
                window,
                case,
                level,
                reasons,
            })),
        };
        if replies.send(reply).is_err() {
            break;
        }
    }
}

impl Pad {
    fn bind(&self) {
        let a = self.ui.global::<PadAdapter>();
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_rate(move |level| {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                choose(&ui, &inner, level as u8);
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_toggle_reason(move |n| {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                if let Some(p) = inner.borrow_mut().picked.get_mut(n as usize) {
                    *p = !*p;
                }
                inner.borrow_mut().seconds = CHOOSE_FOR_S;
                show_reasons(&ui, &inner.borrow());
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_submit(move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                send_rating(&ui, &inner);
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_switch_language(move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                let english = !inner.borrow().english;
                set_language(&ui, &inner, english);
            }
        });
        // Every second: the countdown, and the hall asked again. Every 50 ms: answers shown.
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        self.inner
            .borrow()
            .tick
            .start(TimerMode::Repeated, Duration::from_secs(1), move || {
                if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                    second(&ui, &inner);
                }
            });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        self.inner
            .borrow()
            .pump
            .start(TimerMode::Repeated, Duration::from_millis(50), move || {
                if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                    pump(&ui, &inner);
                }
            });
    }

    /// The pad's language: "en" or Chinese (the source).
    pub fn set_language(&self, lang: &str) {
        set_language(&self.ui, &self.inner, lang == "en");
    }

    /// Ask the hall what the window shows now.
    pub fn ask(&self) {
        ask(&self.inner);
    }

    /// The case the pad shows (its id), if any.
    pub fn case(&self) -> Option<i64> {
        self.inner.borrow().case
    }

    /// One second passes (the timer's work; tests call it to step the clock).
    pub fn second(&self) {
        second(&self.ui, &self.inner);
    }

    /// Show the answers that came back, until none is outstanding (or `timeout`).
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

impl Drop for Pad {
    fn drop(&mut self) {
        let mut inn = self.inner.borrow_mut();
        inn.tick.stop();
        inn.pump.stop();
        let _ = inn.jobs.send(Job::Stop);
        if let Some(w) = inn.worker.take() {
            let _ = w.join();
        }
    }
}

fn ask(inner: &Rc<RefCell<Inner>>) {
    let mut inn = inner.borrow_mut();
    // One question at a time: a slow hall is not asked again before it answered.
    if inn.pending > 0 {
        return;
    }
    let following = inn.case;
    if inn.jobs.send(Job::Show { following }).is_ok() {
        inn.pending += 1;
    }
}

fn set_language(ui: &PadWindow, inner: &Rc<RefCell<Inner>>, english: bool) {
    inner.borrow_mut().english = english;
    let _ = slint::select_bundled_translation(if english { "en" } else { "" });
    let a = ui.global::<PadAdapter>();
    a.set_english(english);
    show_reasons(ui, &inner.borrow());
}

fn show_reasons(ui: &PadWindow, inn: &Inner) {
    let rows: Vec<ReasonRow> = RATING_REASONS
        .iter()
        .zip(&inn.picked)
        .map(|((code, zh, en), picked)| ReasonRow {
            code: s(code),
            label: s(if inn.english { en } else { zh }),
            picked: *picked,
        })
        .collect();
    let a = ui.global::<PadAdapter>();
    a.set_reasons(ModelRc::new(VecModel::from(rows)));
    a.set_seconds_left(inn.seconds);
}

fn second(ui: &PadWindow, inner: &Rc<RefCell<Inner>>) {
    let mode = {
        let mut inn = inner.borrow_mut();
        if inn.mode != Mode::Follow {
            inn.seconds -= 1;
        }
        ui.global::<PadAdapter>().set_seconds_left(inn.seconds.max(0));
        (inn.mode, inn.seconds)
    };
    match mode {
        // Nobody chose: the visit stays unrated (it may still be rated at the kiosk).
        (Mode::Faces, s) if s <= 0 => follow(ui, inner),
        // A bad rating was chosen: it is sent with the reasons ticked so far.
        (Mode::Reasons, s) if s <= 0 => send_rating(ui, inner),
        (Mode::Thanks, s) if s <= 0 => follow(ui, inner),
        _ => {}
    }
    ask(inner);
}

fn follow(ui: &PadWindow, inner: &Rc<RefCell<Inner>>) {
    inner.borrow_mut().mode = Mode::Follow;
    ui.global::<PadAdapter>().set_state(s("idle"));
}

fn choose(ui: &PadWindow, inner: &Rc<RefCell<Inner>>, level: u8) {
    {
        let mut inn = inner.borrow_mut();
        if inn.mode != Mode::Faces {
            return;
        }
        inn.level = level;
        ui.global::<PadAdapter>().set_level(level as i32);
    }
    if level <= 2 {
        let mut inn = inner.borrow_mut();
        inn.mode = Mode::Reasons;
        inn.seconds = CHOOSE_FOR_S;
        inn.picked = vec![false; RATING_REASONS.len()];
        ui.global::<PadAdapter>().set_state(s("reasons"));
        show_reasons(ui, &inn);
    } else {
        send_rating(ui, inner);
    }
}

fn send_rating(ui: &PadWindow, inner: &Rc<RefCell<Inner>>) {
    let mut inn = inner.borrow_mut();
    let Some(case) = inn.case else { return };
    let reasons: Vec<String> = RATING_REASONS
        .iter()
        .zip(&inn.picked)
        .filter(|(_, p)| **p)
        .map(|((code, ..), _)| code.to_string())
        .collect();
    let level = inn.level;
    if inn.jobs.send(Job::Rate { case, level, reasons }).is_ok() {
        inn.pending += 1;
    }
    inn.mode = Mode::Thanks;
    inn.seconds = THANKS_FOR_S;
    let a = ui.global::<PadAdapter>();
    a.set_state(s("thanks"));
    a.set_seconds_left(THANKS_FOR_S);
}

/// Show what came back from the IO thread.
fn pump(ui: &PadWindow, inner: &Rc<RefCell<Inner>>) {
    loop {
        let reply = {
            let inn = inner.borrow();
            match inn.replies.try_recv() {
                Ok(r) => r,
                Err(_) => return,
            }
        };
        inner.borrow_mut().pending -= 1;
        let a = ui.global::<PadAdapter>();
        match reply {
            Reply::View(Ok(v)) => {
                a.set_problem(s(""));
                let mut inn = inner.borrow_mut();
                // While the visitor chooses, the screen stays theirs.
                if inn.mode != Mode::Follow {
                    continue;
                }
                inn.case = v.case;
                a.set_number(s(&v.number));
                a.set_item_name(s(&v.item_name));
                a.set_staff_name(s(&v.staff_name));
                a.set_badge(s(&v.badge));
                a.set_initial(s(&v.staff_name.chars().next().map(String::from).unwrap_or_default()));
                let fresh = v.case.is_some_and(|c| !inn.asked.contains(&c));
                let state = match v.state.as_str() {
                    "rate" if fresh => {
                        inn.asked.insert(v.case.unwrap_or_default());
                        inn.mode = Mode::Faces;
                        inn.seconds = CHOOSE_FOR_S;
                        a.set_seconds_left(CHOOSE_FOR_S);
                        "rate"
                    }
                    "serving" => "serving",
                    _ => "idle",
                };
                a.set_state(s(state));
            }
            Reply::View(Err(e)) => {
                tracing::warn!("the rating pad cannot read its window: {e}");
                a.set_problem(s(&problem(&e, inner.borrow().english)));
            }
            Reply::Rated(Ok(_)) => a.set_problem(s("")),
            Reply::Rated(Err(e)) => {
                tracing::warn!("a rating was not recorded: {e}");
                let text = match e.kind() {
                    bangban::ErrorKind::AlreadyRated => {
                        if inner.borrow().english {
                            "This visit has been rated already. Thank you!".to_string()
                        } else {
                            "本次服务已经评价过，谢谢！".to_string()
                        }
                    }
                    _ => problem(&e, inner.borrow().english),
                };
                a.set_problem(s(&text));
            }
        }
    }
}

/// A failure in the visitor's words: the pad is not the place for the server's English.
fn problem(e: &LedgerError, english: bool) -> String {
    let unreachable = matches!(e.kind(), bangban::ErrorKind::Unreachable | bangban::ErrorKind::Busy);
    match (unreachable, english) {
        (true, false) => "评价器暂时连不上系统，可在自助机或手机上评价".into(),
        (true, true) => "The pad cannot reach the hall just now: rate at the kiosk or on your phone".into(),
        (false, false) => "评价未能记录，请到自助机或在手机上评价".into(),
        (false, true) => "The rating was not recorded: please rate at the kiosk or on your phone".into(),
    }
}

/// The pad on a ledger file: `--db`.
pub fn pad_on_file(db: PathBuf, window: u32) -> anyhow::Result<Pad> {
    pad(Source::Ledger(db, Duration::from_secs(3)), window)
}

/// Put the pad in `state` for a rendering (`display rate --render --state`), keeping what the
/// hall said about the window; a window with nobody at it shows the hall's first specialist
/// there, so the picture is the pad as a visitor meets it.
pub fn preview(p: &Pad, state: &str) {
    let a = p.ui.global::<PadAdapter>();
    if a.get_number().is_empty() {
        a.set_number(s("A012"));
    }
    {
        let mut inn = p.inner.borrow_mut();
        inn.mode = match state {
            "rate" => Mode::Faces,
            "reasons" => Mode::Reasons,
            "thanks" => Mode::Thanks,
            _ => Mode::Follow,
        };
        inn.seconds = CHOOSE_FOR_S;
        if state == "reasons" {
            inn.level = 2;
            inn.picked = RATING_REASONS.iter().map(|r| r.0 == "wait").collect();
        }
        a.set_level(inn.level as i32);
    }
    a.set_state(s(state));
    show_reasons(&p.ui, &p.inner.borrow());
}
