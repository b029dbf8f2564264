//! The waiting-area board and the specialists' counter console, over the shared ledger.
//! `board` follows calls committed by any process; `counter` moves cases through the stages.

slint::include_modules!();

pub mod counter;
pub mod voice;

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use bangban::{Called, Ledger, LedgerOptions};
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

/// Follows the ledger cheaply: `PRAGMA data_version` (microseconds) says whether anyone
/// committed; only then are the new events read. Never reloads the whole ledger.
pub struct Feed {
    pub ledger: Ledger,
    seq: i64,
    version: i64,
}

impl Feed {
    /// Start following from now: calls already made are history, not announcements.
    pub fn open(db: &Path) -> anyhow::Result<Feed> {
        let ledger = Ledger::open(db, LedgerOptions::default())?;
        let seq = ledger.head_seq()?;
        let version = ledger.data_version()?;
        Ok(Feed { ledger, seq, version })
    }

    /// New calls since the last poll, oldest first.
    pub fn poll(&mut self) -> anyhow::Result<Vec<Called>> {
        let v = self.ledger.data_version()?;
        if v == self.version {
            return Ok(Vec::new());
        }
        self.version = v;
        let (calls, last) = self.ledger.calls_after(self.seq)?;
        self.seq = last;
        Ok(calls)
    }
}

/// How often the board looks for new calls; a call shows within about half of this.
pub const POLL: Duration = Duration::from_millis(50);
/// How long the newest call stays highlighted.
pub const HIGHLIGHT: Duration = Duration::from_secs(10);
/// How many calls the board keeps on screen, so a missed call can still be read.
pub const RECENT: usize = 8;

fn s(v: &str) -> SharedString {
    SharedString::from(v)
}

fn call_row(ledger: &mut Ledger, c: &Called) -> CallRow {
    let tz = ledger.hall().map(|h| h.tz()).unwrap_or(chrono_tz_default());
    let time = bangban::clock::parse_stamp(&c.at)
        .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
        .unwrap_or_default();
    CallRow {
        number: s(&c.number),
        window: c.window as i32,
        department: s(&c.department_name),
        recall: c.recall,
        time: s(&time),
    }
}

fn chrono_tz_default() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

/// The running wall board.
pub struct Board {
    pub ui: BoardWindow,
    pub feed: Rc<std::cell::RefCell<Feed>>,
    _poll: Timer,
    _clock: Timer,
    _highlight: Rc<Timer>,
}

/// Build the board on a ledger: recent calls, queues, clock; then follow new calls, announce
/// each one through `voice` (when given) and highlight it.
pub fn board(db: &Path, voice: Option<voice::Voice>) -> anyhow::Result<Board> {
    let mut feed = Feed::open(db)?;
    let ui = BoardWindow::new()?;
    let _ = slint::select_bundled_translation("");
    let hall = feed.ledger.hall()?;
    let a = ui.global::<BoardAdapter>();
    a.set_hall_name(s(&hall.name));
    a.set_notice(s(&hall.notice));
    let recent: Vec<CallRow> = feed
        .ledger
        .recent_calls(RECENT)?
        .iter()
        .map(|c| call_row(&mut feed.ledger, c))
        .collect();
    a.set_has_current(!recent.is_empty());
    // Without a call today the board shows no number rather than the preview data.
    a.set_current(recent.first().cloned().unwrap_or_default());
    a.set_highlight(false);
    a.set_recent(ModelRc::new(VecModel::from(recent)));
    refresh_queues(&ui, &mut feed.ledger);
    update_clock(&ui, hall.tz());

    let feed = Rc::new(std::cell::RefCell::new(feed));
    let highlight = Rc::new(Timer::default());
    let poll = Timer::default();
    {
        let (weak, feed, highlight) = (ui.as_weak(), feed.clone(), highlight.clone());
        poll.start(TimerMode::Repeated, POLL, move || {
            let Some(ui) = weak.upgrade() else { return };
            let mut f = feed.borrow_mut();
            let calls = match f.poll() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("cannot read new calls: {e}");
                    return;
                }
            };
            if calls.is_empty() {
                return;
            }
            let a = ui.global::<BoardAdapter>();
            let model = a.get_recent();
            let mut rows: Vec<CallRow> = slint::Model::iter(&model).collect();
            for c in &calls {
                let row = call_row(&mut f.ledger, c);
                rows.insert(0, row.clone());
                a.set_current(row);
                if let Some(v) = &voice {
                    v.say(voice::spoken_text(&c.number, c.window, c.recall));
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
            refresh_queues(&ui, &mut f.ledger);
        });
    }
    let clock = Timer::default();
    {
        let (weak, feed) = (ui.as_weak(), feed.clone());
        let tz = hall.tz();
        clock.start(TimerMode::Repeated, Duration::from_secs(5), move || {
            if let Some(ui) = weak.upgrade() {
                update_clock(&ui, tz);
                // Tickets issued at the kiosk change the queue counts without a call.
                refresh_queues(&ui, &mut feed.borrow_mut().ledger);
            }
        });
    }
    Ok(Board {
        ui,
        feed,
        _poll: poll,
        _clock: clock,
        _highlight: highlight,
    })
}

fn refresh_queues(ui: &BoardWindow, ledger: &mut Ledger) {
    let Ok(hall) = ledger.hall() else { return };
    match ledger.queue_summary() {
        Ok(rows) => {
            let rows: Vec<QueueRow> = rows
                .into_iter()
                .map(|(code, n, p)| QueueRow {
                    name: s(hall.department(&code).map(|d| d.name.as_str()).unwrap_or(&code)),
                    waiting: n as i32,
                    priority: p as i32,
                })
                .collect();
            ui.global::<BoardAdapter>()
                .set_queues(ModelRc::new(VecModel::from(rows)));
        }
        Err(e) => tracing::warn!("cannot read the queues: {e}"),
    }
}

fn update_clock(ui: &BoardWindow, tz: chrono_tz::Tz) {
    let now = chrono::Utc::now().with_timezone(&tz);
    let weekday = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
        [chrono::Datelike::weekday(&now).num_days_from_monday() as usize];
    ui.global::<BoardAdapter>().set_clock_text(s(&format!(
        "{} {weekday} {}",
        now.format("%Y-%m-%d"),
        now.format("%H:%M")
    )));
}

/// `display board --headless`: print one JSON line per announcement until killed.
pub fn run_headless(db: &Path, voice: Option<voice::Voice>, mut out: impl std::io::Write) -> anyhow::Result<()> {
    let mut feed = Feed::open(db)?;
    // Say on stderr when following starts, so a supervisor (or a test) knows calls from now on
    // will be announced.
    eprintln!("display: following {} from event {}", db.display(), feed.seq);
    loop {
        for c in feed.poll()? {
            let a = Announcement::from(&c);
            writeln!(out, "{}", serde_json::to_string(&a)?)?;
            out.flush()?;
            if let Some(v) = &voice {
                v.say(voice::spoken_text(&c.number, c.window, c.recall));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
