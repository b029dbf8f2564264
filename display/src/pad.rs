//! The counter's rating pad (`display rate --window N`, 评价器): the controller of
//! `PadAdapter`. An IO thread owns the hall client and asks every second what the window
//! shows the visitor; when a visit there ends, the pad offers the five faces for ten seconds,
//! then the reasons of a bad rating, and sends one rating bound to its window. When the
//! window's console asks for the visitor's signature on a form, the pad shows a canvas
//! (「请在此签名」) and sends the strokes; `display sign` is the same pad for signatures only.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bangban::api::{HallClient, Rated};
use bangban::ops::{PadRate, PadShow, PadSign};
use bangban::signature::Stroke;
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
    Sign { case: i64, strokes: Vec<Stroke> },
    Stop,
}

enum Reply {
    View(Result<PadView, LedgerError>),
    Rated(Result<Rated, LedgerError>),
    Signed(Result<bangban::Case, LedgerError>),
}

/// What the screen is doing, which the hall's answers do not change while the visitor chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Showing what the hall says (idle or serving).
    Follow,
    Faces,
    Reasons,
    Thanks,
    /// The canvas, until the visitor confirms (no countdown: a signature takes its time).
    Sign,
    /// 签名已确认, for a few seconds.
    Signed,
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
    /// `display sign`: signatures only, no faces.
    signing_only: bool,
    /// The case and form the pad is asked to sign, and the strokes drawn so far.
    sign_case: Option<i64>,
    strokes: Vec<Stroke>,
    drawing: bool,
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
    a.set_sign_path(s(""));
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
        signing_only: false,
        sign_case: None,
        strokes: Vec::new(),
        drawing: false,
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
            Job::Sign { case, strokes } => Reply::Signed(client.send(PadSign { window, case, strokes })),
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
        let i = Rc::downgrade(&self.inner);
        let w = self.ui.as_weak();
        a.on_stroke_begin(move |x, y| {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                draw(&ui, &inner, x, y, true);
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_stroke_move(move |x, y| {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                draw(&ui, &inner, x, y, false);
            }
        });
        let i = Rc::downgrade(&self.inner);
        a.on_stroke_end(move || {
            if let Some(inner) = i.upgrade() {
                inner.borrow_mut().drawing = false;
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_clear_signature(move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                inner.borrow_mut().strokes.clear();
                ui.global::<PadAdapter>().set_sign_path(s(""));
            }
        });
        let (w, i) = (self.ui.as_weak(), Rc::downgrade(&self.inner));
        a.on_confirm_signature(move || {
            if let (Some(ui), Some(inner)) = (w.upgrade(), i.upgrade()) {
                send_signature(&ui, &inner);
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

    /// `display sign`: the pad takes signatures only (no faces to rate the visit).
    pub fn set_signing_only(&self, on: bool) {
        self.inner.borrow_mut().signing_only = on;
        self.ui.global::<PadAdapter>().set_signing_only(on);
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
        if !matches!(inn.mode, Mode::Follow | Mode::Sign) {
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
        (Mode::Thanks | Mode::Signed, s) if s <= 0 => follow(ui, inner),
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
                // A signature asked for takes the screen (unless the visitor is rating); one
                // withdrawn or answered elsewhere gives it back.
                match (&v.sign, inn.mode) {
                    // A new request (or the first while following) starts a clean canvas.
                    (Some(ask), Mode::Follow | Mode::Thanks | Mode::Signed | Mode::Sign)
                        if inn.sign_case != Some(ask.case) || inn.mode == Mode::Follow =>
                    {
                        inn.mode = Mode::Sign;
                        inn.sign_case = Some(ask.case);
                        inn.strokes.clear();
                        a.set_form_title(s(&ask.title));
                        a.set_number(s(&ask.number));
                        a.set_sign_path(s(""));
                        a.set_state(s("sign"));
                        continue;
                    }
                    (None, Mode::Sign) => {
                        inn.mode = Mode::Follow;
                        inn.sign_case = None;
                    }
                    _ => {}
                }
                // While the visitor chooses or signs, the screen stays theirs.
                if inn.mode != Mode::Follow {
                    continue;
                }
                inn.case = v.case;
                a.set_number(s(&v.number));
                a.set_item_name(s(&v.item_name));
                a.set_staff_name(s(&v.staff_name));
                a.set_badge(s(&v.badge));
                a.set_initial(s(&v.staff_name.chars().next().map(String::from).unwrap_or_default()));
                let fresh = v.case.is_some_and(|c| !inn.asked.contains(&c)) && !inn.signing_only;
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
            Reply::Signed(Ok(_)) => a.set_problem(s("")),
            Reply::Signed(Err(e)) => {
                tracing::warn!("a signature was not recorded: {e}");
                let english = inner.borrow().english;
                let text = match (e.kind(), english) {
                    (bangban::ErrorKind::Conflict, false) => "签名请求已撤回或已完成，请听工作人员指引".to_string(),
                    (bangban::ErrorKind::Conflict, true) => {
                        "The signature was withdrawn or given already: please ask the specialist".to_string()
                    }
                    (_, false) => "签名未能保存，请重新签名或在纸质表单上签字".to_string(),
                    (_, true) => "The signature was not saved: sign again, or sign the printed form".to_string(),
                };
                // Back to the canvas with the strokes kept, to send again.
                let mut inn = inner.borrow_mut();
                if inn.sign_case.is_some() && e.kind() != bangban::ErrorKind::Conflict {
                    inn.mode = Mode::Sign;
                    a.set_state(s("sign"));
                }
                a.set_problem(s(&text));
            }
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

/// A finger down (a new stroke) or moving on the canvas, in canvas units.
fn draw(ui: &PadWindow, inner: &Rc<RefCell<Inner>>, x: f32, y: f32, begin: bool) {
    let mut inn = inner.borrow_mut();
    if inn.mode != Mode::Sign {
        return;
    }
    let p = (
        x.clamp(0.0, bangban::signature::WIDTH as f32),
        y.clamp(0.0, bangban::signature::HEIGHT as f32),
    );
    if begin {
        inn.strokes.push(Stroke(vec![p]));
        inn.drawing = true;
    } else if inn.drawing {
        // A move repeating the last point adds nothing.
        match inn.strokes.last_mut() {
            Some(st) if st.0.last() != Some(&p) => st.0.push(p),
            _ => return,
        }
    } else {
        return;
    }
    ui.global::<PadAdapter>().set_sign_path(s(&path_of(&inn.strokes)));
}

/// The strokes as path commands (`M x y L x y …`), as the canvas draws them.
fn path_of(strokes: &[Stroke]) -> String {
    let mut out = String::new();
    for st in strokes {
        for (i, (x, y)) in st.0.iter().enumerate() {
            let c = if i == 0 { 'M' } else { 'L' };
            out.push_str(&format!("{c} {x:.1} {y:.1} "));
        }
        if st.0.len() == 1 {
            // A dot: a short line, so it shows.
            let (x, y) = st.0[0];
            out.push_str(&format!("L {:.1} {y:.1} ", x + 0.8));
        }
    }
    out
}

fn send_signature(ui: &PadWindow, inner: &Rc<RefCell<Inner>>) {
    let mut inn = inner.borrow_mut();
    let (Mode::Sign, Some(case)) = (inn.mode, inn.sign_case) else {
        return;
    };
    let a = ui.global::<PadAdapter>();
    let points: usize = inn.strokes.iter().map(|st| st.0.len()).sum();
    if points < 2 {
        a.set_problem(s(if inn.english {
            "Please sign in the white box first"
        } else {
            "请先在白框内签名"
        }));
        return;
    }
    let strokes = inn.strokes.clone();
    if inn.jobs.send(Job::Sign { case, strokes }).is_ok() {
        inn.pending += 1;
    }
    inn.mode = Mode::Signed;
    inn.seconds = THANKS_FOR_S;
    a.set_problem(s(""));
    a.set_state(s("signed"));
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

/// A signature as a rendering shows it (许喆, in a few strokes).
const PREVIEW_SIGNATURE: &str = "M 60 170 C 90 60 130 60 140 150 S 190 210 230 120 L 260 80 M 300 140 C 330 90 380 90 400 150 C 420 190 470 160 520 110";

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
            "sign" => Mode::Sign,
            "signed" => Mode::Signed,
            _ => Mode::Follow,
        };
        inn.seconds = CHOOSE_FOR_S;
        if state == "sign" || state == "signed" {
            // A signature half drawn, on the form the console asks for.
            inn.sign_case = inn.sign_case.or(Some(0));
            a.set_sign_path(s(PREVIEW_SIGNATURE));
        }
        if state == "reasons" {
            inn.level = 2;
            inn.picked = RATING_REASONS.iter().map(|r| r.0 == "wait").collect();
        }
        a.set_level(inn.level as i32);
    }
    a.set_state(s(state));
    show_reasons(&p.ui, &p.inner.borrow());
}
