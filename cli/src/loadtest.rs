//! `bangban loadtest`: a simulated hall day against a real `bangban serve` on loopback. Kiosks
//! issue with the hall's item mix along an hourly arrival curve (the peak hour three times the
//! others), counters sign in and call and serve with realistic service times, boards follow
//! the live stream; all at a chosen speed, bounded in count and time. While signed in, each
//! counter also makes its console's reads on a 2 s refresh as `display`'s `Desk::view` does
//! over the network: its console follows the stream too and reads the waiting line when the
//! stream says it moved (or every 30 s), the hall every 60 s, the current case when it changes
//! (or every 10 s), the window's pause every 30 s, alerts every 20 s and the witness's chain
//! head every 30 s, on the same client and session as its calls. It prints p50/p99 for
//! issue, call, case actions, console reads and call → board, the errors, the server's memory
//! and its write-ahead log's peak, and at the end checks that numbers are gap-free per prefix,
//! no case was called twice, the chain verifies and no -wal is left. The open-files limit is
//! raised to its hard limit first (the server inherits it), so a thousand boards can follow.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use bangban::access::DeviceRole;
use bangban::api::*;
use bangban::remote::RemoteClient;
use bangban::{Channel, Ledger, LedgerOptions};

/// How the simulated day runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub tickets: usize,
    pub counters: usize,
    pub kiosks: usize,
    pub boards: usize,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Length of the simulated day in hours (the hall's opening hours).
    pub hours: f64,
    /// Stop after this much real time whatever is left.
    pub max_real: Duration,
    /// Where the scratch ledger lives (a temporary directory when `None`).
    pub dir: Option<PathBuf>,
    pub seed: u64,
    /// Start from a copy of this ledger (a year of history) instead of an empty one.
    pub base: Option<PathBuf>,
    /// Every counter signs in at the opening at once.
    pub sign_in_at_once: bool,
    /// A PostgreSQL database (`--store URL`) to run the day in, as a hall of its own, instead
    /// of a scratch ledger file.
    pub store: Option<String>,
    /// How many `bangban serve` share the hall (kiosks, counters and boards are spread over
    /// them); more than one needs `store`.
    pub servers: usize,
}

/// Latencies of one kind of request.
#[derive(Default)]
struct Samples(Mutex<Vec<Duration>>);

impl Samples {
    fn add(&self, d: Duration) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(d);
    }
    fn summary(&self) -> (usize, f64, f64) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        v.sort();
        let pick = |p: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let i = ((v.len() as f64 - 1.0) * p).round() as usize;
            v[i].as_secs_f64() * 1e3
        };
        (v.len(), pick(0.50), pick(0.99))
    }
}

#[derive(Default)]
struct Stats {
    sign_in: Samples,
    /// When the last sign-in was answered.
    signed_in_last: Mutex<Option<Instant>>,
    issue: Samples,
    call: Samples,
    act: Samples,
    board: Samples,
    /// The console's reads (`Desk::view`'s, the alerts and the witness's head).
    console: Samples,
    errors: AtomicU64,
    error_kinds: Mutex<BTreeMap<String, u64>>,
    issued: AtomicU64,
    called: AtomicU64,
    served: AtomicU64,
    /// When each call was sent, by ledger sequence number, for call → board.
    call_sent: Mutex<HashMap<i64, Instant>>,
}

impl Stats {
    fn error(&self, what: &str, e: &bangban::LedgerError) {
        self.error_named(what, &e.kind().to_string());
    }

    fn error_named(&self, what: &str, kind: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self
            .error_kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{what}: {kind}"))
            .or_insert(0) += 1;
    }
}

/// Every board follows `GET /api/v1/stream` from one event loop on this thread, as a
/// thousand wall boards would each from their own machine: one socket each, the call's
/// sequence number read off its `id:` line the moment the bytes arrive. The loop is epoll's
/// own, level-triggered: one `read` per socket per event (an async runtime reads twice, the
/// second time to learn that nothing more is there), and when few sockets were ready it
/// sleeps `BATCH_PAUSE` before asking again, so the server's writes to a thousand sockets
/// queue up for one wake-up of this thread instead of each waking it: on the two cores the
/// server shares with it, those wake-ups cost the server more than its writes (a real board
/// reads on its own machine). What this adds to a delivery, at most `BATCH_PAUSE`, is in the
/// figure. (A blocking client per board took two thousand threads on the load generator's two
/// cores, and the figure measured their scheduling more than the server.) Returns when `stop`
/// is set.
fn follow_boards(
    mut followers: Followers,
    stop: Arc<AtomicBool>,
    heard: Arc<Mutex<Vec<(i64, Instant)>>>,
    stats: Arc<Stats>,
) {
    let mut batch: Vec<(i64, Instant)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let ready = match followers.turn(&mut batch, &stats, &stop) {
            Ok(n) => n,
            Err(e) => {
                stats.error_named("board", &format!("event loop: {e}"));
                break;
            }
        };
        if !batch.is_empty() {
            heard.lock().unwrap_or_else(|p| p.into_inner()).append(&mut batch);
        }
        if ready < BATCH_FULL {
            std::thread::sleep(BATCH_PAUSE);
        }
    }
}

/// The boards' and consoles' streams on one epoll descriptor.
struct Followers {
    ep: i32,
    streams: Vec<Follower>,
    events: Vec<libc::epoll_event>,
}

impl Followers {
    /// Open every follower's stream and wait (up to `PRIME_WAIT`) until each has had the
    /// server's first answer, so that no call of the day goes out while boards are still
    /// connecting (the first call would count as the time a thousand boards took to attach).
    fn open(followers: Vec<(String, String, Listener)>, stats: &Stats) -> Option<Followers> {
        let (url, first, _) = followers.first()?;
        let after = match RemoteClient::new(url, first).and_then(|mut c| c.head_seq()) {
            Ok(h) => h,
            Err(e) => {
                stats.error("board", &e);
                return None;
            }
        };
        // SAFETY: epoll_create1 takes no pointers; the descriptor is closed on drop.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            stats.error_named("board", &format!("no event loop: {}", std::io::Error::last_os_error()));
            return None;
        }
        let mut this = Followers {
            ep,
            streams: Vec::with_capacity(followers.len()),
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 1024],
        };
        for (url, token, listener) in followers {
            let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
            let f = match Follower::open(&addr, &token, after, listener) {
                Ok(f) => f,
                Err((listener, e)) => {
                    stats.error_named(listener.what(), &e.to_string());
                    continue;
                }
            };
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: this.streams.len() as u64,
            };
            // SAFETY: `ev` lives across the call; the descriptor is open.
            if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, f.fd(), &mut ev) } != 0 {
                stats.error_named(f.listener.what(), &std::io::Error::last_os_error().to_string());
                continue;
            }
            this.streams.push(f);
        }
        let until = Instant::now() + PRIME_WAIT;
        let never = AtomicBool::new(false);
        let mut batch = Vec::new();
        while this.streams.iter().any(|f| !f.primed && !f.ended) && Instant::now() < until {
            if let Err(e) = this.turn(&mut batch, stats, &never) {
                stats.error_named("board", &format!("event loop: {e}"));
                return None;
            }
        }
        Some(this)
    }

    /// Wait (at most 100 ms) for streams with something to read and read each once; the
    /// boards' calls heard go to `batch`. Returns how many were ready.
    fn turn(&mut self, batch: &mut Vec<(i64, Instant)>, stats: &Stats, stop: &AtomicBool) -> std::io::Result<usize> {
        // SAFETY: `events` has room for the count passed.
        let n = unsafe { libc::epoll_wait(self.ep, self.events.as_mut_ptr(), self.events.len() as i32, 100) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        for ev in &self.events[..n as usize] {
            let f = &mut self.streams[ev.u64 as usize];
            if let Err(e) = f.read(batch) {
                f.ended = true;
                // SAFETY: the descriptor is open; a null event is allowed for DEL.
                unsafe { libc::epoll_ctl(self.ep, libc::EPOLL_CTL_DEL, f.fd(), std::ptr::null_mut()) };
                if !stop.load(Ordering::Relaxed) {
                    stats.error_named(f.listener.what(), &e.to_string());
                }
            }
        }
        Ok(n as usize)
    }
}

impl Drop for Followers {
    fn drop(&mut self) {
        // SAFETY: `ep` is ours and closed once.
        unsafe { libc::close(self.ep) };
    }
}

/// How long the loadtest waits for every stream's first answer before the day starts.
const PRIME_WAIT: Duration = Duration::from_secs(60);

/// How long the followers' loop waits when few sockets were ready, so that the next ones
/// arrive together; and how many ready at once count as enough not to wait.
const BATCH_PAUSE: Duration = Duration::from_micros(200);
const BATCH_FULL: usize = 64;

/// One follower's stream: an HTTP/1.0 request, so the server sends the events as they are
/// (no chunked framing) until it closes.
struct Follower {
    socket: std::net::TcpStream,
    listener: Listener,
    buf: Vec<u8>,
    len: usize,
    status_seen: bool,
    event: Vec<u8>,
    counts: Vec<(u32, u32)>,
    /// The server's first event arrived (the stream caught up and follows).
    primed: bool,
    /// The stream ended or failed.
    ended: bool,
}

impl Follower {
    fn open(addr: &str, token: &str, after: i64, listener: Listener) -> Result<Follower, (Listener, std::io::Error)> {
        use std::io::Write;
        let connect = || -> std::io::Result<std::net::TcpStream> {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            // A console follows its window's departments only, as `display`'s `Desk` does.
            let only = match &listener {
                Listener::Board => String::new(),
                Listener::Console { depts, .. } => format!("&departments={}", depts.join(",")),
            };
            let req = format!(
                "GET /api/v1/stream?after={after}{only} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            );
            s.write_all(req.as_bytes())?;
            s.set_nonblocking(true)?;
            Ok(s)
        };
        match connect() {
            Ok(socket) => Ok(Follower {
                socket,
                listener,
                buf: vec![0u8; 64 * 1024],
                len: 0,
                status_seen: false,
                event: Vec::new(),
                counts: Vec::new(),
                primed: false,
                ended: false,
            }),
            Err(e) => Err((listener, e)),
        }
    }

    fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.socket.as_raw_fd()
    }

    /// Read what arrived (one `read`: the loop is level-triggered, so what is left is
    /// reported again) and take in every complete line: a board notes each call's sequence
    /// number with the time in `heard`. An error when the stream ended or failed.
    fn read(&mut self, heard: &mut Vec<(i64, Instant)>) -> std::io::Result<()> {
        use std::io::Read;
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = match self.socket.read(&mut self.buf[self.len..]) {
            Ok(0) => return Err(std::io::Error::other("the server closed the stream")),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        self.len += n;
        let board = matches!(self.listener, Listener::Board);
        // The bytes are scanned where they land, without copying a line.
        let mut start = 0;
        while let Some(end) = self.buf[start..self.len].iter().position(|&b| b == b'\n') {
            let line = &self.buf[start..start + end];
            start += end + 1;
            if !self.status_seen {
                self.status_seen = true;
                if !line.windows(4).any(|w| w == b" 200") {
                    let line = String::from_utf8_lossy(line).trim_end().to_string();
                    return Err(std::io::Error::other(format!("the stream answered {line}")));
                }
                continue;
            }
            if line.starts_with(b"event:") {
                self.primed = true;
            }
            if board {
                if let Some(rest) = line.strip_prefix(b"id:") {
                    let digits = rest
                        .iter()
                        .skip_while(|b| **b == b' ')
                        .take_while(|b| b.is_ascii_digit());
                    heard.push((digits.fold(0i64, |n, d| n * 10 + i64::from(d - b'0')), now));
                }
            } else if let Some(rest) = line.strip_prefix(b"event:") {
                self.event = rest.trim_ascii().to_vec();
            } else if let Some(rest) = line.strip_prefix(b"data:") {
                self.listener.event(&self.event, rest.trim_ascii(), &mut self.counts);
            }
        }
        self.buf.copy_within(start..self.len, 0);
        self.len -= start;
        Ok(())
    }
}

/// Who follows a stream in the loadtest.
enum Listener {
    /// A wall board: notes when each call arrives.
    Board,
    /// A counter's console (`display`'s `Desk`): sets `changed` when the stream says its
    /// departments' line moved (their counts, or a call there), as the desk then reads it.
    Console {
        depts: Vec<String>,
        changed: Arc<AtomicBool>,
    },
}

impl Listener {
    /// What the follower is called in the error counts.
    fn what(&self) -> &'static str {
        match self {
            Listener::Board => "board",
            Listener::Console { .. } => "console stream",
        }
    }

    /// One event's data, for a console.
    fn event(&self, event: &[u8], data: &[u8], counts: &mut Vec<(u32, u32)>) {
        let Listener::Console { depts, changed } = self else {
            return;
        };
        match event {
            b"queues" => {
                let Ok(q) = serde_json::from_slice::<Vec<QueueLine>>(data) else {
                    return;
                };
                let mine = QueueLine::counts_of(&q, depts);
                if &mine != counts {
                    *counts = mine;
                    changed.store(true, Ordering::Relaxed);
                }
            }
            b"call" => {
                if let Ok(c) = serde_json::from_slice::<bangban::ledger::Called>(data) {
                    if depts.contains(&c.department) {
                        changed.store(true, Ordering::Relaxed);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The PIN every simulated specialist uses.
const PIN: &str = "582047";
/// How often a counter's console reads what it shows (`display`'s `Desk` view tick).
const CONSOLE_EVERY: Duration = Duration::from_secs(2);
/// How old what a console shows may get without its stream saying it changed (`display`'s
/// `Desk`: `HALL_EVERY`, `WAITING_EVERY`, `CASE_EVERY`, `PAUSED_EVERY`).
const HALL_EVERY: Duration = Duration::from_secs(60);
const WAITING_EVERY: Duration = Duration::from_secs(30);
const CASE_EVERY: Duration = Duration::from_secs(10);
const PAUSED_EVERY: Duration = Duration::from_secs(30);
/// How often the console reads its departments' alerts (`display`'s `ALERTS_EVERY`).
const ALERTS_EVERY: Duration = Duration::from_secs(20);
/// How often the console's witness reads the chain head (`bangban::witness::EVERY`).
const WITNESS_EVERY: Duration = bangban::witness::EVERY;

/// The size of the write-ahead log beside `db` (0 when there is none).
fn wal_size(db: &Path) -> u64 {
    std::fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// A counter's console while its specialist is signed in: every `CONSOLE_EVERY` of real time
/// the reads `Desk::view` makes (hall, the window's departments' waiting line, the current
/// case, whether the window is paused), the alerts of each department every `ALERTS_EVERY`
/// and the chain head every `WITNESS_EVERY`, on the counter's own client (a `Mutex`: the
/// desk's one connection, shared with its calls as on the desk's one I/O thread). Runs until
/// `done`, the day's end or `stop`.
#[allow(clippy::too_many_arguments)]
fn console(
    client: &Mutex<RemoteClient>,
    window: u32,
    depts: &[String],
    current: &Mutex<Option<String>>,
    changed: &AtomicBool,
    stats: &Stats,
    done: &AtomicBool,
    stop: &AtomicBool,
    deadline: Instant,
) {
    let (mut alerts_read, mut head_read): (Option<Instant>, Option<Instant>) = (None, None);
    let (mut hall_read, mut waiting_read, mut paused_read): (Option<Instant>, Option<Instant>, Option<Instant>) =
        (None, None, None);
    let mut case_read: Option<(String, Instant)> = None;
    let stale = |t: &Option<Instant>, every: Duration| t.is_none_or(|t| t.elapsed() >= every);
    let lock = || client.lock().unwrap_or_else(|p| p.into_inner());
    let timed = |what: &str, read: &mut dyn FnMut(&mut RemoteClient) -> bangban::Result<()>| {
        let mut c = lock();
        let t = Instant::now();
        match read(&mut c) {
            Ok(()) => stats.console.add(t.elapsed()),
            Err(e) => stats.error(what, &e),
        }
    };
    let mut next = Instant::now();
    while !done.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        if Instant::now() < next {
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(200)));
            continue;
        }
        next += CONSOLE_EVERY;
        if stale(&hall_read, HALL_EVERY) {
            hall_read = Some(Instant::now());
            timed("console hall", &mut |c| c.hall().map(drop));
        }
        if changed.swap(false, Ordering::Relaxed) || stale(&waiting_read, WAITING_EVERY) {
            waiting_read = Some(Instant::now());
            timed("console waiting", &mut |c| c.waiting(depts).map(drop));
        }
        if alerts_read.is_none_or(|t| t.elapsed() >= ALERTS_EVERY) {
            alerts_read = Some(Instant::now());
            for d in depts {
                timed("console alerts", &mut |c| c.overdue(Some(d)).map(drop));
            }
        }
        let case = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(number) = case {
            let fresh = case_read
                .as_ref()
                .is_some_and(|(n, t)| *n == number && t.elapsed() < CASE_EVERY);
            if !fresh {
                case_read = Some((number.clone(), Instant::now()));
                timed("console case", &mut |c| c.case(&number).map(drop));
            }
        }
        if stale(&paused_read, PAUSED_EVERY) {
            paused_read = Some(Instant::now());
            timed("console paused", &mut |c| c.window_paused(window).map(drop));
        }
        if head_read.is_none_or(|t| t.elapsed() >= WITNESS_EVERY) {
            head_read = Some(Instant::now());
            timed("console head", &mut |c| c.chain_head().map(drop));
        }
        // A console that fell behind (a slow server) skips the ticks it missed rather than
        // catching up in a burst.
        while next <= Instant::now() {
            next += CONSOLE_EVERY;
        }
    }
}

/// Hourly weights of arrivals over the day: the busiest hour carries three times the average
/// of the others (a morning peak), the last hour tails off.
fn hour_weights(hours: usize) -> Vec<f64> {
    let mut w: Vec<f64> = (0..hours).map(|h| if h + 1 == hours { 0.6 } else { 1.0 }).collect();
    if hours > 1 {
        let others: f64 = w
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, x)| x)
            .sum::<f64>()
            / (hours - 1) as f64;
        w[1.min(hours - 1)] = 3.0 * others;
    }
    w
}

/// Arrival offsets (simulated seconds from opening) for `n` visitors.
fn arrivals(n: usize, hours: f64, rng: &mut impl Rng) -> Vec<f64> {
    let whole = hours.ceil().max(1.0) as usize;
    let w = hour_weights(whole);
    let total: f64 = w.iter().sum();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut r = rng.random::<f64>() * total;
        let mut hour = 0;
        while hour + 1 < w.len() && r > w[hour] {
            r -= w[hour];
            hour += 1;
        }
        let t = (hour as f64 + rng.random::<f64>()) * 3600.0;
        out.push(t.min(hours * 3600.0 - 1.0));
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// Sleep for `d`, waking early when the day is over or the run is stopping (a counter in the
/// middle of a long service must not hold up the end of the run).
fn nap(d: Duration, deadline: Instant, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end || now >= deadline {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(200)));
    }
}

/// Memory of a process: (resident now, peak resident) in MiB, from /proc.
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

/// Run the day; prints the table and returns whether every check held.
pub fn run(opts: &LoadOptions, out: &mut impl std::io::Write) -> anyhow::Result<bool> {
    let tmp;
    let dir: &Path = match &opts.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d
        }
        None => {
            tmp = std::env::temp_dir().join(format!("bangban-loadtest-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            &tmp
        }
    };
    // A hall of its own in the database (`--store`), or a scratch ledger file.
    let hall_code = format!("loadtest-{}", std::process::id());
    let db = match &opts.store {
        Some(url) => {
            if bangban::ledger::PgAt::parse(url)?.hall.is_some() {
                anyhow::bail!("--store: leave ?hall= out; the load test runs in a hall of its own ({hall_code})");
            }
            PathBuf::from(format!(
                "{url}{}hall={hall_code}",
                if url.contains('?') { "&" } else { "?" }
            ))
        }
        None => dir.join("loadtest.sqlite3"),
    };
    if opts.servers > 1 && opts.store.is_none() {
        anyhow::bail!(
            "--servers {} needs --store URL: servers share a hall through a PostgreSQL database",
            opts.servers
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let counters = opts.counters.min(325);
    // A board is a stream the server holds open: a thousand need a thousand sockets here and
    // there (the server, started below, inherits the limit).
    match bangban::limits::raise_open_files() {
        Ok(n) => writeln!(out, "loadtest: open files allowed: {n}")?,
        Err(e) => writeln!(out, "loadtest: cannot raise the open-files limit: {e}")?,
    }
    writeln!(
        out,
        "loadtest: setting up {} in {}",
        bangban::ledger::pg::masked(&db.display().to_string()),
        dir.display()
    )?;
    let hall = bangban::Hall::from_toml(&bangban::demo_day::big_hall_toml(), "loadtest-hall.toml")?;
    if let Some(base) = &opts.base {
        writeln!(out, "loadtest: starting from a copy of {}", base.display())?;
        match &opts.store {
            // The year of history moved into the database as the load test's hall.
            Some(_) => {
                let t = Instant::now();
                let m = bangban::ledger::migrate_file(base, &db.display().to_string())?;
                writeln!(
                    out,
                    "loadtest: moved {} rows into hall {} in {:.0} s",
                    m.rows,
                    m.hall,
                    t.elapsed().as_secs_f64()
                )?;
            }
            None => {
                std::fs::copy(base, &db).map_err(|e| anyhow::anyhow!("cannot copy {}: {e}", base.display()))?;
            }
        }
    }
    let mut ledger = Ledger::open_registering(&db, LedgerOptions::default(), Some(&hall_code))?;
    ledger.configure(&hall, "loadtest", "loadtest-hall.toml")?;
    let first_day = ledger.business_day()?.to_string();
    // Specialists and their windows: the n-th counter is handler h of department d.
    let seats: Vec<(String, u32)> = (0..counters)
        .map(|n| {
            let (d, h) = (n % 25, n / 25);
            (format!("S{d:02}{h:02}"), (d * 13 + h + 1) as u32)
        })
        .collect();
    // PINs are argon2 hashes (a tenth of a second each): two threads set them.
    let halves: Vec<Vec<String>> = vec![
        seats.iter().step_by(2).map(|s| s.0.clone()).collect(),
        seats.iter().skip(1).step_by(2).map(|s| s.0.clone()).collect(),
    ];
    std::thread::scope(|sc| -> anyhow::Result<()> {
        let handles: Vec<_> = halves
            .iter()
            .map(|staff| {
                let db = db.clone();
                sc.spawn(move || -> bangban::Result<()> {
                    let mut l = Ledger::open(&db, LedgerOptions::default())?;
                    for s in staff {
                        l.set_pin(s, PIN, "loadtest")?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a PIN thread panicked"))??;
        }
        Ok(())
    })?;
    let kiosk_tokens: Vec<String> = (0..opts.kiosks)
        .map(|i| ledger.add_device(&format!("kiosk-{i}"), DeviceRole::Kiosk, "loadtest"))
        .collect::<bangban::Result<_>>()?;
    let counter_tokens: Vec<String> = (0..counters)
        .map(|i| ledger.add_device(&format!("counter-{i}"), DeviceRole::Counter, "loadtest"))
        .collect::<bangban::Result<_>>()?;
    let board_tokens: Vec<String> = (0..opts.boards)
        .map(|i| ledger.add_device(&format!("board-{i}"), DeviceRole::Board, "loadtest"))
        .collect::<bangban::Result<_>>()?;
    drop(ledger);

    let exe = std::env::current_exe()?;
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..opts.servers.max(1) {
        let mut server = Command::new(&exe)
            .arg("--db")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("BANGBAN_NOW")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(
            server
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no server output"))?,
        )
        .read_line(&mut line)?;
        urls.push(
            line.trim()
                .strip_prefix("listening on ")
                .ok_or_else(|| anyhow::anyhow!("the server said {line:?}"))?
                .to_string(),
        );
        servers.push(server);
    }
    let server_pids: Vec<u32> = servers.iter().map(|s| s.id()).collect();
    // The database's own cost of a durable write, measured before the day on the same cluster.
    let bare = match &opts.store {
        Some(_) => {
            let at = bangban::ledger::PgAt::parse(&db.display().to_string())?;
            let mut d = bangban::ledger::pg::bare_commits(&at, 1000)?;
            d.sort();
            let ms = |q: f64| d[((d.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
            Some((d.len(), ms(0.5), ms(0.99)))
        }
        None => None,
    };
    // Each device uses one server, in turn: with two, half the hall goes through each.
    let url_of = |i: usize| urls[i % urls.len()].clone();
    writeln!(
        out,
        "loadtest: server{} {}; {} tickets, {counters} counters, {} kiosks, {} boards, {}× speed over {} h",
        if urls.len() > 1 { "s" } else { "" },
        urls.join(", "),
        opts.tickets,
        opts.kiosks,
        opts.boards,
        opts.speed,
        opts.hours
    )?;

    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    // (sequence number, when a board read it): matched with when the call was sent at the
    // end, so a board that hears a call before its counter has the answer still counts it.
    let heard: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    // Per counter: its console's stream said the window's line moved since it last read it.
    let console_changed: Vec<Arc<AtomicBool>> = (0..counters).map(|_| Arc::new(AtomicBool::new(true))).collect();
    // Boards and the consoles follow the stream: the boards note when each call arrives,
    // a console when its departments' line moved.
    let mut followers: Vec<(String, String, Listener)> = board_tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (url_of(i), t.clone(), Listener::Board))
        .collect();
    for (i, (_, window)) in seats.iter().enumerate() {
        let depts = hall
            .departments_at_window(*window)
            .iter()
            .map(|d| d.code.clone())
            .collect();
        followers.push((
            url_of(i),
            counter_tokens[i].clone(),
            Listener::Console {
                depts,
                changed: console_changed[i].clone(),
            },
        ));
    }
    // Every stream is open and caught up before the day starts.
    let mut followers = Followers::open(followers, &stats);
    let start = Instant::now();
    let day = Duration::from_secs_f64(opts.hours * 3600.0 / opts.speed);
    let deadline = start + day.min(opts.max_real);
    let sim = move |secs: f64| Duration::from_secs_f64(secs / opts.speed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let times = arrivals(opts.tickets, opts.hours, &mut rng);
    let items: Vec<String> = hall.items.iter().map(|i| i.code.clone()).collect();
    // The item mix: a few matters are asked for far more often than the rest (Zipf-like).
    let weights: Vec<f64> = (0..items.len()).map(|i| 1.0 / (1.0 + i as f64 * 0.15)).collect();
    let wsum: f64 = weights.iter().sum();
    let mut plan: Vec<Vec<(f64, String, Option<String>)>> = vec![Vec::new(); opts.kiosks.max(1)];
    for (n, t) in times.iter().enumerate() {
        let mut r = rng.random::<f64>() * wsum;
        let mut k = 0;
        while k + 1 < items.len() && r > weights[k] {
            r -= weights[k];
            k += 1;
        }
        let prio = (rng.random::<f64>() < 0.12).then(|| "elderly".to_string());
        plan[n % opts.kiosks.max(1)].push((*t, items[k].clone(), prio));
    }
    let mut peak_mem = 0.0f64;
    let wal_peak = AtomicU64::new(0);

    std::thread::scope(|sc| {
        {
            let (stop, heard, stats) = (stop.clone(), heard.clone(), stats.clone());
            if let Some(followers) = followers.take() {
                sc.spawn(move || follow_boards(followers, stop, heard, stats));
            }
        }
        // Kiosks: issue at each planned arrival.
        for (i, visits) in plan.into_iter().enumerate() {
            let (stats, stop, url, token) = (stats.clone(), stop.clone(), url_of(i), kiosk_tokens[i].clone());
            sc.spawn(move || {
                let Ok(mut c) = RemoteClient::new(&url, &token) else {
                    return;
                };
                for (t, item, priority) in visits {
                    let due = start + sim(t);
                    if due > deadline || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t0 = Instant::now();
                    match c.issue(&Issue {
                        item,
                        priority,
                        mode: None,
                        channel: Channel::Kiosk,
                    }) {
                        Ok(_) => {
                            stats.issue.add(t0.elapsed());
                            stats.issued.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => stats.error("issue", &e),
                    }
                }
            });
        }
        // Counters: sign in over the first half hour, then call and serve until closing, the
        // console reading beside (on the same client, so the same session).
        for (i, (staff, window)) in seats.iter().enumerate() {
            let (stats, stop, url, token) = (stats.clone(), stop.clone(), url_of(i), counter_tokens[i].clone());
            let changed = console_changed[i].clone();
            let (staff, window) = (staff.clone(), *window);
            let depts: Vec<String> = hall
                .departments_at_window(window)
                .iter()
                .map(|d| d.code.clone())
                .collect();
            let seed = opts.seed ^ (i as u64 + 1);
            let at_once = opts.sign_in_at_once;
            sc.spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                let arrives = rng.random::<f64>() * 1800.0;
                if !at_once {
                    nap(sim(arrives), deadline, &stop);
                }
                let Ok(mut c) = RemoteClient::new(&url, &token) else {
                    return;
                };
                let t0 = Instant::now();
                if let Err(e) = c.sign_in(&SignIn {
                    staff: staff.clone(),
                    pin: PIN.into(),
                    window,
                }) {
                    stats.error("sign-in", &e);
                    return;
                }
                let answered = Instant::now();
                stats.sign_in.add(answered - t0);
                let mut last = stats.signed_in_last.lock().unwrap_or_else(|p| p.into_inner());
                *last = Some(last.map_or(answered, |l| l.max(answered)));
                drop(last);
                let c = Mutex::new(c);
                let lock = || c.lock().unwrap_or_else(|p| p.into_inner());
                // The case the counter has called and not yet filed: the console shows it.
                let current: Mutex<Option<String>> = Mutex::new(None);
                let set_current = |n: Option<String>| *current.lock().unwrap_or_else(|p| p.into_inner()) = n;
                let done = AtomicBool::new(false);
                std::thread::scope(|cs| {
                    cs.spawn(|| console(&c, window, &depts, &current, &changed, &stats, &done, &stop, deadline));
                    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                        let called = {
                            let mut client = lock();
                            let t0 = Instant::now();
                            client.call(&Call { number: None }).map(|x| (x, t0))
                        };
                        let (called, t0) = match called {
                            Ok(x) => x,
                            Err(e) if e.kind() == bangban::ErrorKind::NobodyWaiting => {
                                // Nobody in line: look again in half a simulated minute.
                                nap(sim(30.0), deadline, &stop);
                                continue;
                            }
                            Err(e) => {
                                stats.error("call", &e);
                                nap(sim(30.0), deadline, &stop);
                                continue;
                            }
                        };
                        stats.call.add(t0.elapsed());
                        stats
                            .call_sent
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(called.seq, t0);
                        stats.called.fetch_add(1, Ordering::Relaxed);
                        set_current(Some(called.number.clone()));
                        // The visitor walks up (half a minute), is served (about eight minutes,
                        // exponentially spread), and the case is recorded and filed.
                        nap(sim(30.0), deadline, &stop);
                        let act = |action: bangban::CaseAction| {
                            let mut client = lock();
                            let t = Instant::now();
                            match client.act(&Act {
                                case: called.number.clone(),
                                action,
                            }) {
                                Ok(_) => stats.act.add(t.elapsed()),
                                Err(e) => stats.error("act", &e),
                            }
                        };
                        act(bangban::CaseAction::Start);
                        let service = -480.0 * (1.0 - rng.random::<f64>()).ln();
                        nap(sim(service.min(3600.0)), deadline, &stop);
                        act(bangban::CaseAction::Consult {
                            question: "办理流程".into(),
                            answer: Some("已当面说明".into()),
                            resolved: true,
                        });
                        act(bangban::CaseAction::archive("资料一套（档案盒）", "档案室 刘芳"));
                        set_current(None);
                        stats.served.fetch_add(1, Ordering::Relaxed);
                    }
                    done.store(true, Ordering::Relaxed);
                });
            });
        }
        // The server's write-ahead log, sampled every 100 ms.
        {
            let (stop, db, wal_peak) = (stop.clone(), &db, &wal_peak);
            sc.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    wal_peak.fetch_max(wal_size(db), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        // The clock: report progress and the server's memory every few seconds.
        let mut last = Instant::now();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            for pid in &server_pids {
                if let Some((_, peak)) = memory_mib(*pid) {
                    peak_mem = peak_mem.max(peak);
                }
            }
            if last.elapsed() >= Duration::from_secs(30) {
                last = Instant::now();
                let _ = writeln!(
                    out,
                    "loadtest: {:>5.1} min  issued {}  called {}  served {}  errors {}",
                    start.elapsed().as_secs_f64() / 60.0,
                    stats.issued.load(Ordering::Relaxed),
                    stats.called.load(Ordering::Relaxed),
                    stats.served.load(Ordering::Relaxed),
                    stats.errors.load(Ordering::Relaxed)
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    wal_peak.fetch_max(wal_size(&db), Ordering::Relaxed);
    {
        let sent = stats.call_sent.lock().unwrap_or_else(|p| p.into_inner());
        for (seq, at) in heard.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if let Some(t0) = sent.get(seq) {
                stats.board.add(at.saturating_duration_since(*t0));
            }
        }
    }
    let (rss, hwm) = memory_mib(server_pids[0]).unwrap_or((0.0, 0.0));
    peak_mem = peak_mem.max(hwm);
    let mut stopped_cleanly = true;
    for (pid, mut server) in server_pids.iter().zip(servers) {
        unsafe {
            libc::kill(*pid as i32, libc::SIGTERM);
        }
        stopped_cleanly &= server.wait()?.success();
    }

    writeln!(out)?;
    writeln!(
        out,
        "loadtest: {} tickets, {counters} counters, {} kiosks, {} boards, {}× speed, {:.1} min real time",
        opts.tickets,
        opts.kiosks,
        opts.boards,
        opts.speed,
        start.elapsed().as_secs_f64() / 60.0
    )?;
    writeln!(
        out,
        "{:<30} {:>8} {:>10} {:>10}",
        "operation", "count", "p50 ms", "p99 ms"
    )?;
    let on_boards = format!(
        "call sent → on {} board{}",
        opts.boards,
        if opts.boards == 1 { "" } else { "s" }
    );
    if let Some((n, p50, p99)) = bare {
        writeln!(
            out,
            "{:<30} {n:>8} {p50:>10.2} {p99:>10.2}",
            "bare INSERT; COMMIT (database)"
        )?;
    }
    for (name, s) in [
        ("sign-in (round trip)", &stats.sign_in),
        ("issue (round trip)", &stats.issue),
        ("call next (round trip)", &stats.call),
        ("case action (round trip)", &stats.act),
        ("console reads (round trip)", &stats.console),
        (on_boards.as_str(), &stats.board),
    ] {
        let (n, p50, p99) = s.summary();
        writeln!(out, "{name:<30} {n:>8} {p50:>10.2} {p99:>10.2}")?;
    }
    if let Some((_, bare50, _)) = bare {
        let (_, issue50, _) = stats.issue.summary();
        if bare50 > 0.0 {
            writeln!(
                out,
                "issue / bare commit (p50): {:.1}× (the ticket's round trip over the database's own durable write)",
                issue50 / bare50
            )?;
        }
    }
    if opts.sign_in_at_once {
        let last = *stats.signed_in_last.lock().unwrap_or_else(|p| p.into_inner());
        let (n, _, _) = stats.sign_in.summary();
        match last {
            Some(t) => writeln!(
                out,
                "{n} of {counters} counters signed in at the opening at once: the last got in {:.1} s after it",
                t.saturating_duration_since(start).as_secs_f64()
            )?,
            None => writeln!(out, "no counter signed in")?,
        }
    }
    writeln!(
        out,
        "issued {}  called {}  served {}  errors {}",
        stats.issued.load(Ordering::Relaxed),
        stats.called.load(Ordering::Relaxed),
        stats.served.load(Ordering::Relaxed),
        stats.errors.load(Ordering::Relaxed)
    )?;
    for (k, n) in stats.error_kinds.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        writeln!(out, "  error {k}: {n}")?;
    }
    writeln!(
        out,
        "server memory: {rss:.1} MiB resident at the end, {peak_mem:.1} MiB peak{}",
        if server_pids.len() > 1 {
            " (the first server; peak of any)"
        } else {
            ""
        }
    )?;
    if opts.store.is_some() {
        writeln!(out, "write-ahead log: PostgreSQL's own (not measured here)")?;
    } else {
        writeln!(
            out,
            "write-ahead log peak: {:.1} MB",
            wal_peak.load(Ordering::Relaxed) as f64 / (1u64 << 20) as f64
        )?;
    }

    // The checks, on the ledger file the server closed.
    let mut ok = stopped_cleanly && stats.errors.load(Ordering::Relaxed) == 0;
    writeln!(out, "server stopped cleanly on SIGTERM: {stopped_cleanly}")?;
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    writeln!(out, "no -wal left behind: {}", !wal.exists())?;
    ok &= !wal.exists();
    let mut ledger = Ledger::open(&db, LedgerOptions::default())?;
    // The history a base ledger brought is checked by verify; the day itself by these audits.
    let (gaps, twice) = ledger.audit_numbers(Some(&first_day))?;
    writeln!(out, "numbers gap-free per prefix: {}", gaps.is_empty())?;
    for g in &gaps {
        writeln!(out, "  gap: {g}")?;
    }
    ok &= gaps.is_empty();
    writeln!(out, "cases called twice: {twice}")?;
    ok &= twice == 0;
    let report = ledger.verify()?;
    writeln!(
        out,
        "verify: {} ({} events)",
        if report.ok { "intact" } else { "BROKEN" },
        report.events
    )?;
    ok &= report.ok;
    if opts.store.is_some() {
        writeln!(out, "the day's hall stays in the database as {hall_code}")?;
    }
    if opts.dir.is_none() {
        drop(ledger);
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(ok)
}
