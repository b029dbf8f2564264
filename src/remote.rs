//! `RemoteClient`: the hall protocol over HTTP to `bangban serve` (`--server URL`). Every
//! request carries the device's token; staff actions carry the session a PIN opened. Writes
//! carry a client-made request id and are retried on a dropped connection with the same id,
//! so the server answers a retry with the first outcome instead of writing twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::*;
use crate::chain::VerifyReport;
use crate::error::{LedgerError, Result};
use crate::hall::Hall;
use crate::ledger::{DayReport, Ticket, WaitingEntry};
use crate::model::Case;
use crate::Called;

/// How long a connection attempt may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a request may wait for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a sign-in may wait for its answer: the server checks PINs slowly on purpose
/// (argon2, a tenth of a second each, two at a time), and when a whole floor signs in at
/// once the last waits its turn rather than being told the server is away.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a backup may take to arrive.
pub const BACKUP_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// How long a write keeps retrying a dropped connection (with the same request id).
pub const RETRY_FOR: Duration = Duration::from_secs(4);

pub struct RemoteClient {
    /// The hall's servers (`--server http://a:8080,http://b:8080`): all of one hall on one
    /// database; a request that cannot reach one goes to the next.
    bases: Vec<String>,
    /// The server in use (an index into `bases`), moved on when it does not answer.
    current: std::sync::atomic::AtomicUsize,
    token: String,
    /// The hall CA's TLS settings for an `https://` server given `--ca` (else the public CAs).
    tls: Option<Arc<rustls::ClientConfig>>,
    agent: ureq::Agent,
    session: Option<String>,
    signed_in: Option<SignedIn>,
    hall: Option<(i64, Arc<Hall>)>,
}

/// Header names of the protocol.
pub const SESSION_HEADER: &str = "X-Bangban-Session";
pub const REQUEST_ID_HEADER: &str = "Idempotency-Key";

impl RemoteClient {
    /// A client for the server at `base` (`http://host:port`), as the device owning `token`.
    pub fn new(base: &str, token: &str) -> Result<RemoteClient> {
        Self::with_ca(base, token, None)
    }

    /// A client for the server at `base`; an `https://` server's certificate must come from
    /// the hall CA in the PEM file `ca` (`bangban ca export`), or from a public CA when none
    /// is given (a hall whose IT issued the certificate).
    pub fn with_ca(base: &str, token: &str, ca: Option<&std::path::Path>) -> Result<RemoteClient> {
        // Several servers of one hall, separated by commas: the first that answers is used.
        let bases: Vec<String> = base
            .split(',')
            .map(|b| b.trim().trim_end_matches('/').to_string())
            .filter(|b| !b.is_empty())
            .collect();
        if bases.is_empty() {
            return Err(LedgerError::Invalid(
                "no server URL: expected one such as http://192.168.1.10:8080 (several separated by commas)".into(),
            ));
        }
        for base in &bases {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(LedgerError::Invalid(format!(
                    "server {base:?}: expected a URL such as http://192.168.1.10:8080"
                )));
            }
        }
        let base = bases[0].clone();
        if token.trim().is_empty() {
            return Err(LedgerError::Unauthorized(
                "no device token: enrol this device on the server host with `bangban device add NAME --role ROLE`, then pass --token".into(),
            ));
        }
        let tls = match ca {
            Some(path) => Some(crate::tls::client_config(path)?),
            None => None,
        };
        if let Some(base) = bases
            .iter()
            .find(|b| b.starts_with("http://") && !crate::tls::is_loopback_url(b))
        {
            // Allowed (a hall may run plain HTTP on an isolated network), never silent.
            tracing::warn!(
                "{base} is plain HTTP: device tokens and PINs cross the network in clear; serve with --tls auto and use https://{}",
                if ca.is_some() { " (--ca is given but unused)" } else { "" }
            );
        }
        let agent = agent(tls.as_ref())
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build();
        let _ = base;
        Ok(RemoteClient {
            bases,
            current: Default::default(),
            token: token.trim().to_string(),
            tls,
            agent,
            session: None,
            signed_in: None,
            hall: None,
        })
    }

    /// The server in use.
    pub fn base(&self) -> &str {
        &self.bases[self.current.load(std::sync::atomic::Ordering::Relaxed) % self.bases.len()]
    }

    /// Every server this client may use, in the order given.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// Move on to the next server (after one did not answer); false when there is only one.
    fn next_server(&self) -> bool {
        if self.bases.len() < 2 {
            return false;
        }
        let was = self.current.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(
            "{} does not answer; trying {}",
            self.bases[was % self.bases.len()],
            self.bases[(was + 1) % self.bases.len()]
        );
        true
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API}{path}", self.base())
    }

    fn prepare(&self, method: &str, path: &str) -> ureq::Request {
        let mut req = self
            .agent
            .request(method, &self.url(path))
            .set("Authorization", &format!("Bearer {}", self.token));
        if let Some(s) = &self.session {
            req = req.set(SESSION_HEADER, s);
        }
        req
    }

    fn answer<T: DeserializeOwned>(result: std::result::Result<ureq::Response, ureq::Error>) -> Result<T> {
        result
            .map_err(Self::failed)?
            .into_json::<T>()
            .map_err(|e| LedgerError::Unreachable(format!("unreadable answer from the server: {e}")))
    }

    /// What a refused or failed request means: the server's `WireError`, or why it could not
    /// be asked.
    fn failed(e: ureq::Error) -> LedgerError {
        match e {
            ureq::Error::Status(code, resp) => {
                let text = resp.into_string().unwrap_or_default();
                match serde_json::from_str::<WireError>(&text) {
                    Ok(w) => LedgerError::from_wire(w),
                    Err(_) => LedgerError::Remote {
                        kind: crate::error::ErrorKind::Http,
                        message: format!("the server answered HTTP {code}: {}", text.trim()),
                    },
                }
            }
            ureq::Error::Transport(t) => LedgerError::Unreachable(transport(&t)),
        }
    }

    /// A read: one try (the caller polls again later).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        // With several servers, each is tried once before the server counts as unreachable.
        let mut tries = self.bases.len();
        loop {
            match Self::answer(self.prepare("GET", path).call()) {
                Err(e) if moves_on(&e) && tries > 1 && self.next_server() => tries -= 1,
                other => return other,
            }
        }
    }

    /// A write with a fresh request id, retried with the same id while the connection drops.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.post_within(path, body, REQUEST_TIMEOUT)
    }

    /// `post`, waiting up to `timeout` for the answer.
    fn post_within<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B, timeout: Duration) -> Result<T> {
        let id = crate::access::new_secret();
        let deadline = Instant::now() + RETRY_FOR;
        let mut pause = Duration::from_millis(100);
        loop {
            let r = Self::answer(
                self.prepare("POST", path)
                    .timeout(timeout)
                    .set(REQUEST_ID_HEADER, &id)
                    .send_json(body),
            );
            match r {
                // Another server of the hall is asked at once with the same request id: the
                // request table is the hall's database's, so a write the first one did is
                // answered from there, never done twice.
                Err(e) if moves_on(&e) && self.next_server() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(LedgerError::Unreachable(_)) if Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// Is the server up? (`GET /healthz`, no token needed, answered within two seconds.)
    pub fn healthy(&self) -> bool {
        self.agent
            .get(&format!("{}/healthz", self.base()))
            .timeout(CONNECT_TIMEOUT)
            .call()
            .map(|r| r.status() == 200)
            .unwrap_or(false)
    }
}

impl HallClient for RemoteClient {
    fn hall(&mut self) -> Result<Arc<Hall>> {
        // The hall this client holds is named, so an unchanged one is not sent again.
        let path = match &self.hall {
            Some((known, _)) => format!("/hall?known={known}"),
            None => "/hall".to_string(),
        };
        let (id, hall): (i64, Option<Hall>) = self.get(&path)?;
        if let Some((known, h)) = &self.hall {
            if *known == id {
                return Ok(h.clone());
            }
        }
        let Some(hall) = hall else {
            return Err(LedgerError::Unreachable(format!(
                "the server sent no hall for configuration {id}"
            )));
        };
        let hall = Arc::new(hall);
        self.hall = Some((id, hall.clone()));
        Ok(hall)
    }

    fn issue(&mut self, req: &Issue) -> Result<Ticket> {
        self.post("/issue", req)
    }

    fn check_in(&mut self, req: &crate::api::CheckIn) -> Result<Ticket> {
        self.post("/check-in", req)
    }

    fn rate(&mut self, req: &crate::api::Rate) -> Result<crate::api::Rated> {
        self.post("/rate", req)
    }

    fn feedback(&mut self, req: &crate::ledger::NewFeedback) -> Result<crate::api::FeedbackReceipt> {
        self.post("/feedback", req)
    }

    fn record_print(&mut self, outcome: &PrintOutcome) -> Result<()> {
        self.post("/print-outcome", outcome)
    }

    fn queues(&mut self) -> Result<Vec<QueueLine>> {
        self.get("/queues")
    }

    fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        self.get(&format!("/waiting?departments={}", departments.join(",")))
    }

    fn sign_in(&mut self, req: &SignIn) -> Result<SignedIn> {
        let (session, signed): (String, SignedIn) = self.post_within("/sign-in", req, SIGN_IN_TIMEOUT)?;
        self.session = Some(session);
        self.signed_in = Some(signed.clone());
        Ok(signed)
    }

    fn sign_out(&mut self) -> Result<()> {
        if self.session.is_some() {
            let r: Result<()> = self.post("/sign-out", &());
            self.session = None;
            self.signed_in = None;
            r?;
        }
        Ok(())
    }

    fn call(&mut self, req: &Call) -> Result<Called> {
        self.post("/call", req)
    }

    fn open_case(&mut self, req: &crate::ledger::OpenCase) -> Result<Case> {
        self.post("/open-case", req)
    }

    fn act(&mut self, req: &Act) -> Result<Case> {
        self.post("/act", req)
    }

    fn pause_window(&mut self, req: &PauseWindow) -> Result<()> {
        self.post("/window", req)
    }

    fn window_paused(&mut self, window: u32) -> Result<bool> {
        self.get(&format!("/windows/{window}/paused"))
    }

    fn case(&mut self, case_ref: &str) -> Result<CaseView> {
        self.get(&format!("/cases/{}", path_segment(case_ref)))
    }

    fn ticket(&mut self, case_ref: &str) -> Result<Ticket> {
        self.get(&format!("/tickets/{}", path_segment(case_ref)))
    }

    fn at_window(&mut self, window: u32) -> Result<Vec<Case>> {
        self.get(&format!("/windows/{window}/cases"))
    }

    fn overdue(&mut self, department: Option<&str>) -> Result<Vec<crate::ledger::Overdue>> {
        match department {
            Some(d) => self.get(&format!("/overdue?department={d}")),
            None => self.get("/overdue"),
        }
    }

    fn figures(&mut self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<crate::Figures> {
        self.get(&format!("/figures?from={from}&to={to}"))
    }

    fn report(&mut self, date: chrono::NaiveDate) -> Result<DayReport> {
        self.get(&format!("/report?date={date}"))
    }

    fn verify(&mut self) -> Result<VerifyReport> {
        self.get("/verify")
    }

    fn calls_after(&mut self, seq: i64) -> Result<CallsAfter> {
        self.get(&format!("/calls?after={seq}"))
    }

    fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>> {
        self.get(&format!("/calls/recent?limit={limit}"))
    }

    fn head_seq(&mut self) -> Result<i64> {
        self.get("/head")
    }

    fn chain_head(&mut self) -> Result<crate::witness::ChainHead> {
        self.get("/chain/head")
    }

    fn note(&mut self, id: i64) -> Result<String> {
        self.get(&format!("/notes/{id}"))
    }

    fn send_json(&mut self, path: &'static str, body: serde_json::Value) -> Result<serde_json::Value> {
        // Reads are posted too (an op is its JSON body); the server ignores a read's request id.
        self.post(&format!("/{path}"), &body)
    }

    fn backup(&mut self, to: &std::path::Path) -> Result<VerifyReport> {
        if to.exists() {
            return Err(LedgerError::Invalid(format!(
                "{} already exists; choose a new file for the backup",
                to.display()
            )));
        }
        // A year of a hall is gigabytes: the copy streams to disk, with time to arrive.
        let resp = self
            .prepare("GET", "/backup")
            .timeout(BACKUP_TIMEOUT)
            .call()
            .map_err(Self::failed)?;
        let tmp = to.with_extension("partial");
        let copied = std::fs::File::create(&tmp).and_then(|mut f| {
            std::io::copy(&mut resp.into_reader(), &mut f)?;
            f.sync_all()
        });
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(if crate::disk::is_full(&tmp) {
                LedgerError::DiskFull
            } else {
                LedgerError::Unreachable(format!("the backup did not arrive whole: {e}"))
            });
        }
        // Checked again here: only a copy that verifies on this machine takes the name.
        let report = match crate::restore::verify_read_only(&tmp) {
            Ok(r) if r.ok => r,
            Ok(r) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(LedgerError::Corrupt(format!(
                    "the backup copy does not verify (first bad event {:?}): {}",
                    r.first_bad_seq,
                    r.problem.unwrap_or_default()
                )));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, to).map_err(|e| LedgerError::Open {
            path: to.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(report)
    }

    fn reachable(&mut self) -> bool {
        self.healthy()
    }

    fn follow(&mut self, after: i64, wake: Box<dyn Fn() + Send>) -> Result<Follower> {
        Ok(RemoteClient::follow(self, after, move || wake()))
    }

    fn follow_departments(
        &mut self,
        after: i64,
        departments: &[String],
        wake: Box<dyn Fn() + Send>,
    ) -> Result<Follower> {
        Ok(RemoteClient::follow_only(self, after, departments, move || wake()))
    }
}

/// A case number or token as one URL path segment (both are letters and digits; anything
/// else is escaped so it cannot change the path).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a `Follower` hears from the server's live stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// A call or recall, in ledger order, each exactly once across reconnections.
    Call(Called),
    /// The sequence number reached.
    Head(i64),
    /// The waiting counts per department as they stand (after a change; a server sends them
    /// at most once a second), so a board need not read them itself.
    Queues(Vec<crate::api::QueueLine>),
    /// The stream broke (server down, network cut); it reconnects by itself.
    Lost(String),
    /// The stream is (back) up.
    Connected,
}

/// Follows `GET /api/v1/stream` on a thread of its own, reconnecting after any break with
/// the last sequence number seen, so nothing is missed and nothing repeats.
pub struct Follower {
    pub heard: std::sync::mpsc::Receiver<Heard>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// A thread to wait for when dropped: the file's follower holds a connection to the
    /// ledger, which must be closed before the program's own so that the last one to close
    /// folds the write-ahead log away (the server's follower holds nothing of the kind).
    joined: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    /// A follower fed by `heard`; dropping it sets `stop` so its thread ends.
    pub(crate) fn new(
        heard: std::sync::mpsc::Receiver<Heard>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        joined: Option<std::thread::JoinHandle<()>>,
    ) -> Follower {
        Follower { heard, stop, joined }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.joined.take() {
            let _ = h.join();
        }
    }
}

/// How long the stream may stay silent before it counts as broken: the server sends a
/// keep-alive every `STREAM_KEEP_ALIVE`, so three missed ones mean a server that is stopped,
/// hung or cut off, and the board says 连接中断 within seconds, not minutes.
pub const STREAM_SILENCE: Duration = Duration::from_secs(7);
/// How often the server writes a keep-alive on a quiet stream.
pub const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(2);

impl RemoteClient {
    /// Follow calls after `after` (usually `head_seq()` at start: older calls are history).
    /// `wake` runs after each message (an event loop's wake-up, or nothing).
    pub fn follow(&self, after: i64, wake: impl Fn() + Send + 'static) -> Follower {
        self.follow_only(after, &[], wake)
    }

    /// `follow`, hearing only these departments' calls and waiting counts (all when empty):
    /// what a counter's console needs of a hall of twenty-five departments.
    pub fn follow_only(&self, after: i64, departments: &[String], wake: impl Fn() + Send + 'static) -> Follower {
        let only = if departments.is_empty() {
            String::new()
        } else {
            format!("&departments={}", path_segment(&departments.join(",")))
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (bases, token, stopped) = (self.bases.clone(), self.token.clone(), stop.clone());
        let mut current = self.current.load(std::sync::atomic::Ordering::Relaxed);
        let agent = agent(self.tls.as_ref())
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(STREAM_SILENCE)
            .build();
        std::thread::Builder::new()
            .name("bangban-follow".into())
            .spawn(move || {
                let mut seq = after;
                let mut pause = Duration::from_millis(200);
                let mut was_up: Option<bool> = None;
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    let base = &bases[current % bases.len()];
                    let resp = agent
                        .get(&format!("{base}{API}/stream?after={seq}{only}"))
                        .set("Authorization", &format!("Bearer {token}"))
                        .call();
                    let why = match resp {
                        Ok(r) => {
                            if was_up != Some(true) {
                                was_up = Some(true);
                                if tx.send(Heard::Connected).is_err() {
                                    return;
                                }
                                wake();
                            }
                            pause = Duration::from_millis(200);
                            read_stream(r, &mut seq, &tx, &wake, &stopped)
                        }
                        Err(ureq::Error::Status(code, r)) => {
                            let text = r.into_string().unwrap_or_default();
                            format!("HTTP {code}: {}", text.trim())
                        }
                        Err(ureq::Error::Transport(t)) => transport(&t),
                    };
                    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    // The stream resumes from the last sequence number on the next server:
                    // every server of the hall has every event.
                    current += 1;
                    if was_up != Some(false) {
                        was_up = Some(false);
                        if tx.send(Heard::Lost(why)).is_err() {
                            return;
                        }
                        wake();
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            })
            .expect("start the stream thread");
        Follower {
            heard: rx,
            stop,
            joined: None,
        }
    }
}

/// An agent that trusts the hall CA when one is given.
fn agent(tls: Option<&Arc<rustls::ClientConfig>>) -> ureq::AgentBuilder {
    let builder = ureq::AgentBuilder::new();
    match tls {
        Some(config) => builder.tls_config(config.clone()),
        None => builder,
    }
}

/// Why a request could not be made, with what to do when the server's certificate is the
/// reason (the device was given no hall CA, or another hall's).
fn transport(t: &ureq::Transport) -> String {
    let text = t.to_string();
    if text.contains("certificate") || text.contains("UnknownIssuer") || text.contains("NotValidForName") {
        format!(
            "{text}: this device does not trust the server's certificate; give it the hall CA from `bangban ca export` on the server host (--ca FILE or BANGBAN_CA), and use the address the certificate names"
        )
    } else if text.contains("[21, 3, ") {
        // A TLS alert record (21, version 3.x) where an HTTP answer was expected.
        format!("{text}: the server speaks HTTPS at this address: use an https:// URL (and --ca FILE with the hall CA)")
    } else {
        text
    }
}

/// Read server-sent events until the stream breaks; returns why it ended.
fn read_stream(
    resp: ureq::Response,
    seq: &mut i64,
    tx: &std::sync::mpsc::Sender<Heard>,
    wake: &impl Fn(),
    stopped: &std::sync::atomic::AtomicBool,
) -> String {
    use std::io::BufRead;
    let reader = std::io::BufReader::new(resp.into_reader());
    let (mut event, mut data) = (String::new(), String::new());
    for line in reader.lines() {
        if stopped.load(std::sync::atomic::Ordering::Relaxed) {
            return "stopped".into();
        }
        let line = match line {
            Ok(l) => l,
            Err(e) => return e.to_string(),
        };
        if line.is_empty() {
            let heard = match event.as_str() {
                "call" => serde_json::from_str::<Called>(&data).ok().map(|c| {
                    *seq = (*seq).max(c.seq);
                    Heard::Call(c)
                }),
                "head" => data.trim().parse::<i64>().ok().map(|h| {
                    *seq = (*seq).max(h);
                    Heard::Head(h)
                }),
                "queues" => serde_json::from_str(&data).ok().map(Heard::Queues),
                _ => None,
            };
            event.clear();
            data.clear();
            if let Some(h) = heard {
                if tx.send(h).is_err() {
                    return "nobody listens".into();
                }
                wake();
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    "the server closed the stream".into()
}

/// Whether a failed request should go to another server of the hall: this one could not be
/// reached, or its database could not (it answers `unreachable`, 503).
fn moves_on(e: &LedgerError) -> bool {
    match e {
        LedgerError::Unreachable(_) => true,
        LedgerError::Remote { kind, .. } => *kind == crate::error::ErrorKind::Unreachable,
        _ => false,
    }
}
