//! The waiting-area board and the specialists' counter console, over the shared ledger.
//! `board` follows calls committed by any process; `counter` moves cases through the stages.

slint::include_modules!();

pub mod counter;
pub mod desk;
pub mod pad;
pub mod voice;

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bangban::api::HallClient;
use bangban::connect::Door;
use bangban::remote::{Follower, Heard};
use bangban::{Called, LedgerOptions};
use serde::Serialize;
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};

/// One announcement, as `display board --headless` prints it (a JSON line) for LED window
/// signs and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Announcement {
    pub at: String,
    pub number: String,
    pub window: u32,
    pub department: String,
    pub department_code: String,
    pub text: String,
    pub recall: bool,
    pub seq: i64,
}

impl From<&Called> for Announcement {
    fn from(c: &Called) -> Self {
        Announcement {
            at: c.at.clone(),
            number: c.number.clone(),
            window: c.window,
            department: c.department_name.clone(),
            department_code: c.department.clone(),
            text: c.text.clone(),
            recall: c.recall,
            seq: c.seq,
        }
    }
}

/// Follows the hall's calls from a sequence number on, and reads what a board shows. It holds
/// the hall as a `Box<dyn HallClient>` (`bangban::connect`): the file and the server look
/// the same to it.
pub struct Feed {
    // The follower first: fields drop in order, and its reading connection must close before
    // the client's, so the last connection to close folds the write-ahead log away.
    follower: Follower,
    client: Box<dyn HallClient>,
    seq: i64,
    online: bool,
    /// The clock that says which business day the board shows (`BANGBAN_NOW` in drills).
    clock: Arc<dyn bangban::clock::Clock>,
    /// The chain heads this board saw, kept outside the ledger.
    witness: bangban::witness::Witness,
    /// A zone's board (`display board --departments`): only these departments' calls and
    /// queues; None for the whole hall.
    zone: Option<Vec<String>>,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct Polled {
    /// New calls, oldest first, each exactly once.
    pub calls: Vec<Called>,
    /// The stream (re)connected: read the queues again.
    pub changed: bool,
    /// The waiting counts as the stream last said them.
    pub queues: Option<Vec<bangban::api::QueueLine>>,
    /// The connection to the server broke (`Some(false)`) or came back (`Some(true)`).
    pub online: Option<bool>,
}

impl Feed {
    /// Follow the ledger file from now: calls already made are history, not announcements.
    pub fn open(db: &Path) -> anyhow::Result<Feed> {
        Feed::open_with(db, LedgerOptions::default())
    }

    /// `open` with the ledger's options (its clock among them).
    pub fn open_with(db: &Path, opts: LedgerOptions) -> anyhow::Result<Feed> {
        let clock = opts.clock.clone();
        Feed::on(
            Door::File {
                path: db.to_path_buf(),
                opts,
                actor: "board".into(),
                demo: false,
            },
            clock,
            || {},
        )
    }

    /// Follow the hall server from now. `wake` runs whenever something arrives.
    pub fn connect(url: &str, token: &str, wake: impl Fn() + Send + 'static) -> anyhow::Result<Feed> {
        Feed::connect_trusting(url, token, None, wake)
    }

    /// Follow the hall server from now, trusting the hall CA in `ca` for an `https://` URL.
    pub fn connect_trusting(
        url: &str,
        token: &str,
        ca: Option<&std::path::Path>,
        wake: impl Fn() + Send + 'static,
    ) -> anyhow::Result<Feed> {
        Feed::on(
            Door::Server {
                url: url.into(),
                token: token.into(),
                ca: ca.map(|p| p.to_path_buf()),
            },
            bangban::clock::from_env(),
            wake,
        )
    }

    /// Follow the hall behind `door` from now.
    pub fn on(
        door: Door,
        clock: Arc<dyn bangban::clock::Clock>,
        wake: impl Fn() + Send + 'static,
    ) -> anyhow::Result<Feed> {
        let (db, url) = door.witness_source();
        let witness = bangban::witness::for_program("board", db, url);
        let mut client = bangban::connect::connect(door)?;
        let seq = client.head_seq()?;
        let follower = client.follow(seq, Box::new(wake))?;
        Ok(Feed {
            follower,
            client,
            seq,
            online: true,
            zone: None,
            clock,
            witness,
        })
    }

    /// Write the chain head down in the board's witness file (at most every 30 s).
    pub fn keep_witness(&mut self) {
        bangban::witness::keep(&mut self.witness, self.client.as_mut());
    }

    /// The sequence number followed from.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn online(&self) -> bool {
        self.online
    }

    /// Reads (hall, recent calls, queues) go through the same door as everything else.
    pub fn client(&mut self) -> &mut dyn HallClient {
        self.client.as_mut()
    }

    /// What happened since the last poll.
    /// Show only these departments (a zone's board); an empty list is the whole hall.
    pub fn only(mut self, departments: Vec<String>) -> Feed {
        self.zone = (!departments.is_empty()).then_some(departments);
        self
    }

    fn in_zone(&self, department: &str) -> bool {
        self.zone.as_ref().is_none_or(|z| z.iter().any(|d| d == department))
    }

    /// Today's latest calls of the board's departments, newest first.
    pub fn recent_calls(&mut self, limit: usize) -> bangban::Result<Vec<bangban::ledger::Called>> {
        // A zone's calls are among the hall's: read enough of those to fill its rows.
        let read = if self.zone.is_some() { limit * 8 } else { limit };
        let calls = self.client.recent_calls(read)?;
        Ok(calls
            .into_iter()
            .filter(|c| self.in_zone(&c.department))
            .take(limit)
            .collect())
    }

    /// The waiting counts of the board's departments.
    pub fn queue_lines(&mut self) -> bangban::Result<Vec<bangban::api::QueueLine>> {
        let lines = self.client.queues()?;
        Ok(lines.into_iter().filter(|q| self.in_zone(&q.department)).collect())
    }

    pub fn poll(&mut self) -> anyhow::Result<Polled> {
        let mut out = Polled::default();
        while let Ok(h) = self.follower.heard.try_recv() {
            match h {
                Heard::Call(c) => {
                    self.seq = self.seq.max(c.seq);
                    if self.in_zone(&c.department) {
                        out.calls.push(c);
                    }
                    out.changed = true;
                }
                Heard::Head(h) => {
                    self.seq = self.seq.max(h);
                }
                Heard::Queues(q) => out.queues = Some(q.into_iter().filter(|l| self.in_zone(&l.department)).collect()),
                Heard::Lost(why) => {
                    if self.online {
                        tracing::warn!("lost the hall: {why}; reconnecting");
                    }
                    self.online = false;
                    out.online = Some(false);
                }
                Heard::Connected => {
                    // Back after a break: what changed meanwhile is read again. The first
                    // connection changes nothing (the board has just read everything).
                    if !self.online {
                        tracing::info!("the hall is back");
                        out.online = Some(true);
                        out.changed = true;
                    }
                    self.online = true;
                }
            }
        }
        Ok(out)
    }
}

/// How often the board looks for new calls; a call shows within about this long.
pub const POLL: Duration = Duration::from_millis(25);
/// How long the newest call stays highlighted.
pub const HIGHLIGHT: Duration = Duration::from_secs(10);
/// How many calls the board keeps, so a missed call can still be read (the screen shows as
/// many as its height holds).
pub const RECENT: usize = 12;
/// How often the board's clock turns and the hall is read again.
pub const TICK: Duration = Duration::from_secs(5);
/// A board reads the queue counts itself on a tick when the stream has not said them for this
/// long (a quiet hall; a priority visitor becomes overdue by the clock alone).
pub const QUEUES_QUIET: Duration = Duration::from_secs(30);

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

fn call_row(tz: chrono_tz::Tz, c: &Called) -> CallRow {
    let time = bangban::clock::parse_stamp(&c.at)
        .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
        .unwrap_or_default();
    CallRow {
        number: s(&c.number),
        window: c.window as i32,
        department: s(&c.department_name),
        staff_name: s(&c.staff_name),
        badge: s(&c.badge),
        recall: c.recall,
        time: s(&time),
        text: s(&c.text),
    }
}

/// What the board's reader thread tells the window. Plain data: the window's thread turns it
/// into rows, the reader never touches the UI.
#[derive(Debug)]
enum Seen {
    /// New calls, oldest first, each to be announced once.
    Calls(Vec<Called>),
    /// Today's latest calls, newest first: at a new business day the screen starts over.
    Today(Vec<Called>),
    /// Waiting counts per department (display name, waiting, priority) and the numbers of
    /// priority visitors waiting past the deadline.
    Queues {
        rows: Vec<(String, i32, i32)>,
        late: String,
    },
    /// The hall server went away (false) or came back (true).
    Online(bool),
    /// A `Ask::Tick` has been answered in full.
    Ticked,
}

/// What the window asks of the reader thread.
enum Ask {
    /// The clock timer's turn: a new business day? queue counts, the witness file.
    Tick,
}

/// The running wall board. Every read of the hall happens on the board's reader thread
/// (`bangban-board`), so the window repaints and its clock turns while the server is slow,
/// stopped or unreachable (invariant 9); the window's thread only applies what was read.
pub struct Board {
    pub ui: BoardWindow,
    ask: std::sync::mpsc::Sender<Ask>,
    seen: Rc<std::sync::mpsc::Receiver<Seen>>,
    apply: Rc<dyn Fn(Seen)>,
    tz: chrono_tz::Tz,
    hall_clock: Arc<dyn bangban::clock::Clock>,
    _drain: Timer,
    _clock: Timer,
    _highlight: Rc<Timer>,
}

/// Build the board on a ledger: recent calls, queues, clock; then follow new calls, announce
/// each one through `voice` (when given) and highlight it.
pub fn board(mut feed: Feed, voice: Option<voice::Voice>) -> anyhow::Result<Board> {
    let ui = BoardWindow::new()?;
    let _ = slint::select_bundled_translation("");
    // The first screen is read before the window shows: a board that cannot reach its hall at
    // start says so and exits (systemd restarts it) rather than showing an empty hall.
    let hall = feed.client().hall()?;
    let tz = hall.tz();
    let a = ui.global::<BoardAdapter>();
    a.set_hall_name(s(&hall.name));
    a.set_notice(s(&hall.notice));
    let day = bangban::clock::business_day(feed.clock.now(), tz);
    let highlight = Rc::new(Timer::default());
    let apply: Rc<dyn Fn(Seen)> = {
        let (weak, highlight) = (ui.as_weak(), highlight.clone());
        Rc::new(move |seen| {
            if let Some(ui) = weak.upgrade() {
                show(&ui, tz, voice.as_ref(), &highlight, seen);
            }
        })
    };
    apply(Seen::Today(feed.recent_calls(RECENT * 2)?));
    apply(queues(&mut feed, &hall).unwrap_or(Seen::Ticked));
    let hall_clock = feed.clock.clone();
    update_clock(&ui, tz, &*hall_clock);

    let (ask, asked) = std::sync::mpsc::channel();
    let (tell, seen) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("bangban-board".into()).spawn({
        let hall = hall.clone();
        move || read_for_board(feed, tz, day, hall, asked, tell)
    })?;
    let seen = Rc::new(seen);
    let drain = Timer::default();
    {
        let (seen, apply) = (seen.clone(), apply.clone());
        drain.start(TimerMode::Repeated, POLL, move || {
            while let Ok(s) = seen.try_recv() {
                apply(s);
            }
        });
    }
    let clock = Timer::default();
    {
        let (weak, ask, hall_clock) = (ui.as_weak(), ask.clone(), hall_clock.clone());
        clock.start(TimerMode::Repeated, TICK, move || {
            if let Some(ui) = weak.upgrade() {
                update_clock(&ui, tz, &*hall_clock);
                let _ = ask.send(Ask::Tick);
            }
        });
    }
    Ok(Board {
        ui,
        ask,
        seen,
        apply,
        tz,
        hall_clock,
        _drain: drain,
        _clock: clock,
        _highlight: highlight,
    })
}

impl Board {
    /// What the board's clock timer does every few seconds, waited for (tests call it to move
    /// time on): the reader thread reads, and what it read is on screen when this returns.
    pub fn tick(&self) {
        update_clock(&self.ui, self.tz, &*self.hall_clock);
        if self.ask.send(Ask::Tick).is_err() {
            return;
        }
        while let Ok(s) = self.seen.recv_timeout(Duration::from_secs(30)) {
            if matches!(s, Seen::Ticked) {
                return;
            }
            (self.apply)(s);
        }
    }
}

/// The board's reader thread: owns the feed, polls it, reads the queue counts after a change
/// and on every tick, and tells the window. Ends when the board is dropped.
fn read_for_board(
    mut feed: Feed,
    tz: chrono_tz::Tz,
    mut day: chrono::NaiveDate,
    hall: Arc<bangban::Hall>,
    asked: std::sync::mpsc::Receiver<Ask>,
    tell: std::sync::mpsc::Sender<Seen>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    // The hall's names for the counts the stream sends, read again on every tick.
    let mut hall: Option<Arc<bangban::Hall>> = Some(hall);
    // When the stream last said the counts: a quiet hall's are read on a tick now and then,
    // since a priority visitor becomes overdue by the clock alone.
    let mut counts_heard: Option<chrono::DateTime<chrono::Utc>> = None;
    loop {
        let mut out = Vec::new();
        let mut ticked = false;
        let mut read_counts = false;
        match asked.recv_timeout(POLL) {
            Ok(Ask::Tick) => {
                // A tick's reads wait on the server; while the stream says it is away they
                // would only hold back the moment the board says so (each read waits its
                // full timeout on a server that accepts and never answers).
                if feed.online() {
                    read_counts = tick_reads(&mut feed, tz, &mut day, &mut hall, counts_heard, &mut out);
                }
                ticked = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        match feed.poll() {
            Ok(p) => {
                if let Some(online) = p.online {
                    out.push(Seen::Online(online));
                }
                if !p.calls.is_empty() {
                    out.push(Seen::Calls(p.calls));
                }
                // While the stream says the server is away, reads would only wait out their
                // timeouts and hold back the moment the board says so.
                if feed.online() && (hall.is_none() || p.changed) {
                    match feed.client().hall() {
                        Ok(h) => hall = Some(h),
                        Err(e) => tracing::warn!("cannot read the hall: {e}"),
                    }
                }
                if let Some(h) = hall.as_ref().filter(|_| feed.online()) {
                    // Tickets issued at the kiosk change the counts without a call; the
                    // stream says them, so a thousand boards do not each read them.
                    if let Some(rows) = p.queues {
                        out.push(queue_rows(h, rows));
                        counts_heard = Some(feed.clock.now());
                    } else if p.changed {
                        out.extend(queues(&mut feed, h));
                        counts_heard = Some(feed.clock.now());
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read new calls: {e}"),
        }
        // A tick's own read of the counts goes after what the stream said, which may have
        // been read before it.
        if read_counts && feed.online() {
            if let Some(h) = &hall {
                out.extend(queues(&mut feed, h));
            }
            counts_heard = Some(feed.clock.now());
        }
        // The window's answer to a tick comes last, after what the poll found.
        if ticked {
            out.push(Seen::Ticked);
        }
        for s in out {
            if tell.send(s).is_err() {
                return;
            }
        }
    }
}

/// A tick's reads on the reader thread: a new business day's calls, the hall, the witness
/// file. They stop at the first that finds the server unreachable, so a stopped server costs
/// the tick one timeout, not one per read, and the stream's loss shows within seconds.
/// Returns whether the queue counts are due to be read too.
fn tick_reads(
    feed: &mut Feed,
    tz: chrono_tz::Tz,
    day: &mut chrono::NaiveDate,
    hall: &mut Option<Arc<bangban::Hall>>,
    counts_heard: Option<chrono::DateTime<chrono::Utc>>,
    out: &mut Vec<Seen>,
) -> bool {
    let away = |e: &bangban::LedgerError| matches!(e, bangban::LedgerError::Unreachable(_));
    // A number is only ever today's: when the day turns, yesterday's calls leave the screen
    // (a board left on overnight must not send anyone to a counter with an old number).
    let today = bangban::clock::business_day(feed.clock.now(), tz);
    if today != *day {
        match feed.recent_calls(RECENT * 2) {
            Ok(calls) => {
                *day = today;
                out.push(Seen::Today(calls));
            }
            Err(e) => {
                tracing::warn!("cannot read today's calls: {e}");
                if away(&e) {
                    return false;
                }
            }
        }
    }
    match feed.client().hall() {
        Ok(h) => *hall = Some(h),
        Err(e) => {
            tracing::warn!("cannot read the hall: {e}");
            if away(&e) {
                return false;
            }
        }
    }
    feed.keep_witness();
    let quiet = chrono::Duration::from_std(QUEUES_QUIET).unwrap_or_default();
    counts_heard.is_none_or(|t| feed.clock.now() - t >= quiet)
}

/// The queue counts as the board shows them, or None (logged) when they cannot be read.
fn queues(feed: &mut Feed, hall: &bangban::Hall) -> Option<Seen> {
    match feed.queue_lines() {
        Ok(rows) => Some(queue_rows(hall, rows)),
        Err(e) => {
            tracing::warn!("cannot read the queues: {e}");
            None
        }
    }
}

/// The waiting counts with the departments' names, and the overdue priority numbers.
fn queue_rows(hall: &bangban::Hall, rows: Vec<bangban::api::QueueLine>) -> Seen {
    let late: Vec<String> = rows.iter().flat_map(|q| q.overdue_priority.iter().cloned()).collect();
    let rows = rows
        .into_iter()
        .map(|q| {
            let name = hall
                .department(&q.department)
                .map(|d| d.name.clone())
                .unwrap_or(q.department);
            (name, q.waiting as i32, q.priority as i32)
        })
        .collect();
    Seen::Queues {
        rows,
        late: late.join("、"),
    }
}

/// Put what the reader thread saw on screen (the window's thread only).
fn show(ui: &BoardWindow, tz: chrono_tz::Tz, voice: Option<&voice::Voice>, highlight: &Rc<Timer>, seen: Seen) {
    let a = ui.global::<BoardAdapter>();
    match seen {
        Seen::Calls(calls) => {
            if calls.is_empty() {
                return;
            }
            let model = a.get_recent();
            let mut rows: Vec<CallRow> = slint::Model::iter(&model).collect();
            for c in &calls {
                let row = call_row(tz, c);
                // A number called again (a recall, or back from hold) moves its row to the top
                // rather than showing twice.
                rows.retain(|r| r.number != row.number);
                rows.insert(0, row.clone());
                a.set_current(row);
                if let Some(v) = voice {
                    v.say(voice::spoken_text(c));
                }
            }
            rows.truncate(RECENT);
            a.set_recent(ModelRc::new(VecModel::from(rows)));
            a.set_has_current(true);
            a.set_highlight(true);
            let weak = ui.as_weak();
            highlight.start(TimerMode::SingleShot, HIGHLIGHT, move || {
                if let Some(ui) = weak.upgrade() {
                    ui.global::<BoardAdapter>().set_highlight(false);
                }
            });
        }
        Seen::Today(calls) => {
            // Newest first: a number's latest call only.
            let mut seen = std::collections::HashSet::new();
            let recent: Vec<CallRow> = calls
                .iter()
                .filter(|c| seen.insert(c.number.clone()))
                .take(RECENT)
                .map(|c| call_row(tz, c))
                .collect();
            a.set_has_current(!recent.is_empty());
            // Without a call today the board shows no number rather than the preview data.
            a.set_current(recent.first().cloned().unwrap_or_default());
            a.set_highlight(false);
            a.set_recent(ModelRc::new(VecModel::from(recent)));
        }
        Seen::Queues { rows, late } => {
            a.set_overdue_priority(s(&late));
            let rows: Vec<QueueRow> = rows
                .into_iter()
                .map(|(name, waiting, priority)| QueueRow {
                    // A long Chinese name in two balanced lines, not 「…社会保/障局」.
                    name: s(&if name.chars().count() > 7 && !name.is_ascii() {
                        bangban_headless::balanced(&name)
                    } else {
                        name
                    }),
                    waiting,
                    priority,
                })
                .collect();
            a.set_queues(ModelRc::new(VecModel::from(rows)));
        }
        // The last calls stay on screen; a small mark says the board is not live.
        Seen::Online(online) => a.set_offline(!online),
        Seen::Ticked => {}
    }
}

/// The header's date and time, from the hall's clock (`BANGBAN_NOW` pins it for renders).
fn update_clock(ui: &BoardWindow, tz: chrono_tz::Tz, clock: &dyn bangban::clock::Clock) {
    let now = clock.now().with_timezone(&tz);
    let weekday = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
        [chrono::Datelike::weekday(&now).num_days_from_monday() as usize];
    ui.global::<BoardAdapter>().set_clock_text(s(&format!(
        "{} {weekday} {}",
        now.format("%Y-%m-%d"),
        now.format("%H:%M")
    )));
}

/// `display board --headless`: print one JSON line per announcement until killed.
pub fn run_headless(mut feed: Feed, voice: Option<voice::Voice>, mut out: impl std::io::Write) -> anyhow::Result<()> {
    // Say on stderr when following starts, so a supervisor (or a test) knows calls from now on
    // will be announced.
    eprintln!("display: following calls from event {}", feed.seq());
    // SIGTERM (systemd's stop) ends the loop between polls: the feed and its ledger are then
    // dropped in order, and no -wal is left behind.
    while !bangban_headless::stop::stopping() {
        let polled = feed.poll()?;
        match polled.online {
            Some(false) => eprintln!("display: connection to the hall server lost; reconnecting"),
            Some(true) => eprintln!("display: connected to the hall server again"),
            None => {}
        }
        for c in polled.calls {
            let a = Announcement::from(&c);
            writeln!(out, "{}", serde_json::to_string(&a)?)?;
            out.flush()?;
            if let Some(v) = &voice {
                v.say(voice::spoken_text(&c));
            }
        }
        feed.keep_witness();
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("display: stopped");
    Ok(())
}
