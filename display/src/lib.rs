//! The waiting-area board and the specialists' counter console, over the shared ledger.
//! `board` follows calls committed by any process; `counter` moves cases through the stages.

slint::include_modules!();

pub mod counter;
pub mod desk;
pub mod voice;

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bangban::api::HallClient;
use bangban::local::LocalClient;
use bangban::remote::{Follower, Heard, RemoteClient};
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

/// Where the board's calls come from: the ledger file on this machine, or the hall server.
pub enum Link {
    /// `--db`: `PRAGMA data_version` (microseconds) says whether anyone committed; only then
    /// are the new events read. Never reloads the whole ledger.
    Local { client: LocalClient, version: i64 },
    /// `--server`: the server's live stream, followed on a thread that reconnects by itself.
    Remote { client: RemoteClient, follower: Follower },
}

/// Follows the hall's calls from a sequence number on, and reads what a board shows.
pub struct Feed {
    link: Link,
    seq: i64,
    online: bool,
    /// The clock that says which business day the board shows (`BANGBAN_NOW` in drills).
    clock: Arc<dyn bangban::clock::Clock>,
    /// The chain heads this board saw, kept outside the ledger.
    witness: bangban::witness::Witness,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct Polled {
    /// New calls, oldest first, each exactly once.
    pub calls: Vec<Called>,
    /// Something else changed (a ticket issued, a reconnection): refresh the queues.
    pub changed: bool,
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
        let ledger = bangban::open_existing(db, opts)?;
        let seq = ledger.head_seq()?;
        let version = ledger.data_version()?;
        Ok(Feed {
            link: Link::Local {
                client: LocalClient::new(ledger, "board"),
                version,
            },
            seq,
            online: true,
            clock,
            witness: bangban::witness::for_program("board", Some(db), None),
        })
    }

    /// Follow the hall server from now. `wake` runs whenever something arrives.
    pub fn connect(url: &str, token: &str, wake: impl Fn() + Send + 'static) -> anyhow::Result<Feed> {
        let mut client = RemoteClient::new(url, token)?;
        let seq = client.head_seq()?;
        let follower = client.follow(seq, wake);
        Ok(Feed {
            link: Link::Remote { client, follower },
            seq,
            online: true,
            clock: bangban::clock::from_env(),
            witness: bangban::witness::for_program("board", None, Some(url)),
        })
    }

    /// Write the chain head down in the board's witness file (at most every 30 s).
    pub fn keep_witness(&mut self) {
        let client: &mut dyn HallClient = match &mut self.link {
            Link::Local { client, .. } => client,
            Link::Remote { client, .. } => client,
        };
        bangban::witness::keep(&mut self.witness, client);
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
        match &mut self.link {
            Link::Local { client, .. } => client,
            Link::Remote { client, .. } => client,
        }
    }

    /// What happened since the last poll.
    pub fn poll(&mut self) -> anyhow::Result<Polled> {
        let mut out = Polled::default();
        match &mut self.link {
            Link::Local { client, version } => {
                let v = client.ledger().data_version()?;
                if v == *version {
                    return Ok(out);
                }
                *version = v;
                let bangban::api::CallsAfter { calls, last_seq: last } = client.ledger().calls_after(self.seq)?;
                self.seq = last;
                out.calls = calls;
                out.changed = true;
            }
            Link::Remote { follower, .. } => {
                while let Ok(h) = follower.heard.try_recv() {
                    match h {
                        Heard::Call(c) => {
                            self.seq = self.seq.max(c.seq);
                            out.calls.push(c);
                            out.changed = true;
                        }
                        Heard::Head(h) => {
                            self.seq = self.seq.max(h);
                            out.changed = true;
                        }
                        Heard::Lost(why) => {
                            if self.online {
                                tracing::warn!("lost the hall server: {why}; reconnecting");
                            }
                            self.online = false;
                            out.online = Some(false);
                        }
                        Heard::Connected => {
                            if !self.online {
                                tracing::info!("the hall server is back");
                                out.online = Some(true);
                            }
                            self.online = true;
                            out.changed = true;
                        }
                    }
                }
            }
        }
        Ok(out)
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

fn call_row(tz: chrono_tz::Tz, c: &Called) -> CallRow {
    let time = bangban::clock::parse_stamp(&c.at)
        .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
        .unwrap_or_default();
    CallRow {
        number: s(&c.number),
        window: c.window as i32,
        department: s(&c.department_name),
        staff_name: s(&c.staff_name),
        recall: c.recall,
        time: s(&time),
        text: s(&c.text),
    }
}

/// The running wall board.
pub struct Board {
    pub ui: BoardWindow,
    pub feed: Rc<std::cell::RefCell<Feed>>,
    day: Rc<std::cell::Cell<chrono::NaiveDate>>,
    tz: chrono_tz::Tz,
    _poll: Timer,
    _clock: Timer,
    _highlight: Rc<Timer>,
}

/// Build the board on a ledger: recent calls, queues, clock; then follow new calls, announce
/// each one through `voice` (when given) and highlight it.
pub fn board(mut feed: Feed, voice: Option<voice::Voice>) -> anyhow::Result<Board> {
    let ui = BoardWindow::new()?;
    let _ = slint::select_bundled_translation("");
    let hall = feed.client().hall()?;
    let tz = hall.tz();
    let a = ui.global::<BoardAdapter>();
    a.set_hall_name(s(&hall.name));
    a.set_notice(s(&hall.notice));
    let day = Rc::new(std::cell::Cell::new(bangban::clock::business_day(feed.clock.now(), tz)));
    show_todays_calls(&ui, &mut feed, tz)?;
    refresh_queues(&ui, feed.client());
    update_clock(&ui, tz);

    let feed = Rc::new(std::cell::RefCell::new(feed));
    let highlight = Rc::new(Timer::default());
    let poll = Timer::default();
    {
        let (weak, feed, highlight) = (ui.as_weak(), feed.clone(), highlight.clone());
        poll.start(TimerMode::Repeated, POLL, move || {
            let Some(ui) = weak.upgrade() else { return };
            let mut f = feed.borrow_mut();
            let polled = match f.poll() {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("cannot read new calls: {e}");
                    return;
                }
            };
            let a = ui.global::<BoardAdapter>();
            if let Some(online) = polled.online {
                // The last calls stay on screen; a small mark says the board is not live.
                a.set_offline(!online);
            }
            if polled.changed && polled.calls.is_empty() {
                refresh_queues(&ui, f.client());
            }
            let calls = polled.calls;
            if calls.is_empty() {
                return;
            }
            let model = a.get_recent();
            let mut rows: Vec<CallRow> = slint::Model::iter(&model).collect();
            for c in &calls {
                let row = call_row(tz, c);
                rows.insert(0, row.clone());
                a.set_current(row);
                if let Some(v) = &voice {
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
            refresh_queues(&ui, f.client());
        });
    }
    let clock = Timer::default();
    {
        let (weak, feed, day) = (ui.as_weak(), feed.clone(), day.clone());
        clock.start(TimerMode::Repeated, Duration::from_secs(5), move || {
            if let Some(ui) = weak.upgrade() {
                tick(&ui, &mut feed.borrow_mut(), tz, &day);
            }
        });
    }
    Ok(Board {
        ui,
        feed,
        day,
        tz,
        _poll: poll,
        _clock: clock,
        _highlight: highlight,
    })
}

impl Board {
    /// What the board's clock timer does every few seconds (tests call it to move time on).
    pub fn tick(&self) {
        tick(&self.ui, &mut self.feed.borrow_mut(), self.tz, &self.day);
    }
}

/// The clock, a new business day, the queue counts.
fn tick(ui: &BoardWindow, feed: &mut Feed, tz: chrono_tz::Tz, day: &std::cell::Cell<chrono::NaiveDate>) {
    update_clock(ui, tz);
    // A number is only ever today's: when the day turns, yesterday's calls leave the screen
    // (a board left on overnight must not send anyone to a counter with an old number).
    let today = bangban::clock::business_day(feed.clock.now(), tz);
    if today != day.get() {
        day.set(today);
        if let Err(e) = show_todays_calls(ui, feed, tz) {
            tracing::warn!("cannot read today's calls: {e}");
        }
    }
    // Tickets issued at the kiosk change the queue counts without a call.
    refresh_queues(ui, feed.client());
    feed.keep_witness();
}

/// Today's latest calls, newest first; no number at all before the first call of the day.
fn show_todays_calls(ui: &BoardWindow, feed: &mut Feed, tz: chrono_tz::Tz) -> anyhow::Result<()> {
    let recent: Vec<CallRow> = feed
        .client()
        .recent_calls(RECENT)?
        .iter()
        .map(|c| call_row(tz, c))
        .collect();
    let a = ui.global::<BoardAdapter>();
    a.set_has_current(!recent.is_empty());
    // Without a call today the board shows no number rather than the preview data.
    a.set_current(recent.first().cloned().unwrap_or_default());
    a.set_highlight(false);
    a.set_recent(ModelRc::new(VecModel::from(recent)));
    Ok(())
}

fn refresh_queues(ui: &BoardWindow, client: &mut dyn HallClient) {
    let Ok(hall) = client.hall() else { return };
    match client.queues() {
        Ok(rows) => {
            let late: Vec<String> = rows.iter().flat_map(|q| q.overdue_priority.iter().cloned()).collect();
            ui.global::<BoardAdapter>().set_overdue_priority(s(&late.join("、")));
            let rows: Vec<QueueRow> = rows
                .into_iter()
                .map(|q| QueueRow {
                    name: s(hall
                        .department(&q.department)
                        .map(|d| d.name.as_str())
                        .unwrap_or(&q.department)),
                    waiting: q.waiting as i32,
                    priority: q.priority as i32,
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
