//! `bangban serve`: the one program that opens the hall's ledger; kiosks, boards, counters,
//! the CLI and visitors' phones reach it over HTTP. One writer thread owns the SQLite
//! connection (so "database is locked" cannot happen between the hall's programs), requests
//! are checked against the device's role and the specialist's session, writes are answered
//! once per client request id, and calls stream to boards as server-sent events that resume
//! from a sequence number.

mod book;
mod door;
mod office;
mod page;
pub mod registers;
pub mod tls;

pub use door::{BODY_TIMEOUT, HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_PER_ADDRESS, SHUTDOWN_GRACE};

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::{oneshot, watch};

use bangban::access::{Device, DeviceRole, Session};
use bangban::api::*;
use bangban::error::LedgerError;
use bangban::ledger::LedgerOptions;
use bangban::ops::{answered, once, request_body_hash, Asked, Caller, Op, OpVisitor, ADMIN, DESKS, OFFICE};
use bangban::remote::{REQUEST_ID_HEADER, SESSION_HEADER};
use bangban::Ledger;

/// How `bangban serve` is set up.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub db: PathBuf,
    pub listen: String,
    pub busy_timeout: Duration,
    /// Status-page look-ups allowed per client address and minute.
    pub lookups_per_minute: u32,
    /// HTTPS with this certificate (None: plain HTTP, for 127.0.0.1 and the demo).
    pub tls: Option<tls::Tls>,
}

/// What `serve` tells its caller once it accepts connections.
pub struct Listening {
    pub addr: SocketAddr,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// The hall CA's fingerprint (`--tls auto`), for the installer to compare on devices.
    pub ca_fingerprint: Option<String>,
    /// The names and addresses the server's certificate is valid for (`--tls auto`).
    pub names: Vec<String>,
}

type Job = Box<dyn FnOnce(&mut Ledger) + Send>;

/// A door to the ledger: the writer thread (every write, in arrival order) or the pool of
/// readers beside it (every read: a report that takes a second on a year-sized ledger must not
/// hold a kiosk's ticket behind it).
#[derive(Clone)]
struct LedgerHandle {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl LedgerHandle {
    async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut Ledger) -> T + Send + 'static) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |l| {
                let _ = tx.send(f(l));
            }))
            .map_err(|_| ApiError(LedgerError::Unreachable("the ledger is closing".into())))?;
        rx.await
            .map_err(|_| ApiError(LedgerError::Unreachable("the ledger is closing".into())))
    }
}

struct App {
    /// The one writer.
    ledger: LedgerHandle,
    /// The readers (`READERS` connections of their own, `query_only`).
    reads: LedgerHandle,
    /// The boards' publisher's reader (one connection of its own).
    publisher: LedgerHandle,
    /// Device tokens and sessions as last read: every request names both, and three hundred
    /// consoles reading every two seconds must not queue two lookups before each of their
    /// reads and each kiosk's ticket. Kept `LOOKUP_FOR`; a revoke or sign-out through this
    /// server forgets them at once.
    devices: Lookups<Option<Device>>,
    sessions: Lookups<Option<Session>>,
    /// Each batch of calls after a write, read once and sent to every board's stream: a
    /// thousand boards cost one read per event, not a thousand.
    calls: tokio::sync::broadcast::Sender<Arc<Published>>,
    /// The ledger file (backups read it on a connection of their own).
    db: PathBuf,
    /// The newest event's sequence number, moved after every write.
    head: watch::Receiver<i64>,
    /// Flips to true when the server is shutting down: streams end so shutdown can finish.
    stopping: watch::Receiver<bool>,
    /// Status look-ups this minute, per visitor's address and per ticket.
    lookups: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    token_lookups: Mutex<HashMap<String, (Instant, u32)>>,
    lookups_per_minute: u32,
    /// The hall file's `trusted_proxies` as last read (kept `LOOKUP_FOR`).
    proxies: Mutex<Option<(Instant, Arc<Vec<IpAddr>>)>>,
    /// The PIN checkers (`PIN_CHECKS_AT_ONCE` threads). Each argon2id check takes 19 MiB for
    /// a few tens of milliseconds: a morning of 300 sign-ins queues here instead of taking gigabytes
    /// at once.
    pin_checks: PinCheckers,
    /// One PIN check per specialist at a time, from reading the stored PIN to counting the
    /// try: two hundred wrong PINs sent at once for one staff id are counted one by one, and
    /// after the fifth the rest are refused by the lockout without being hashed.
    pin_turns: PinTurns,
    /// The booking page's verification codes and allowances.
    booking: book::Booking,
    /// The office's signed-in desks and wall screens (`/office/`).
    office: office::Sessions,
    /// Served over HTTPS: cookies are marked `Secure`.
    tls: bool,
}

/// How long a looked-up device or session is trusted before it is read again: a device
/// revoked on the host (`bangban device revoke --db`) is refused within this.
pub const LOOKUP_FOR: Duration = Duration::from_secs(2);

/// Recently read answers by token, each trusted for `LOOKUP_FOR`.
struct Lookups<T>(Mutex<HashMap<String, (Instant, T)>>);

impl<T: Clone> Lookups<T> {
    fn new() -> Self {
        Lookups(Mutex::new(HashMap::new()))
    }
    fn get(&self, token: &str) -> Option<T> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(token)
            .filter(|(t, _)| t.elapsed() < LOOKUP_FOR)
            .map(|(_, v)| v.clone())
    }
    fn put(&self, token: String, v: T) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Forged tokens must not grow it without bound.
        if m.len() > 10_000 {
            m.retain(|_, (t, _)| t.elapsed() < LOOKUP_FOR);
        }
        m.insert(token, (Instant::now(), v));
    }
    fn forget(&self, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }
    fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Calls read once after a write for every board's stream: those after `after`, up to
/// `last_seq`, each with its sequence number and its JSON written once (a thousand boards
/// share the text rather than serialising it a thousand times).
struct Published {
    after: i64,
    last_seq: i64,
    /// (sequence number, department, JSON) of each call.
    calls: Vec<(i64, String, Arc<str>)>,
    /// The waiting counts per department after the batch (`GET queues`' JSON, and the lines
    /// for a stream of some departments to compare), when the publisher read them.
    queues: Option<(Arc<str>, Arc<Vec<QueueLine>>)>,
    /// The calls as a board's stream sends them (`event: call` each), written once.
    calls_frame: Bytes,
    /// With the waiting counts: the calls, the counts and the head as a board's stream sends
    /// them, written once (one socket write per board for both).
    all_frame: Option<Bytes>,
}

impl Published {
    fn of(after: i64, batch: &CallsAfter) -> Published {
        let calls: Vec<(i64, String, Arc<str>)> = batch
            .calls
            .iter()
            .filter_map(|c| Some((c.seq, c.department.clone(), Arc::from(serde_json::to_string(c).ok()?))))
            .collect();
        let mut frame = Vec::new();
        for (seq, _, json) in &calls {
            append_event(&mut frame, "call", Some(*seq), json);
        }
        Published {
            after,
            last_seq: batch.last_seq,
            calls,
            queues: None,
            calls_frame: Bytes::from(frame),
            all_frame: None,
        }
    }

    /// The waiting counts as they stand at `last_seq`, with nothing called since `after`.
    fn queues(after: i64, last_seq: i64, json: Arc<str>, lines: Vec<QueueLine>) -> Published {
        Published {
            after,
            last_seq,
            calls: Vec::new(),
            queues: None,
            calls_frame: Bytes::new(),
            all_frame: None,
        }
        .with_queues(json, lines)
    }

    /// The same batch with the waiting counts as they stand after it.
    fn with_queues(mut self, json: Arc<str>, lines: Vec<QueueLine>) -> Published {
        let mut frame = Vec::with_capacity(self.calls_frame.len() + json.len() + 64);
        frame.extend_from_slice(&self.calls_frame);
        append_event(&mut frame, "queues", None, &json);
        append_event(&mut frame, "head", None, &self.last_seq.to_string());
        self.queues = Some((json, Arc::new(lines)));
        self.all_frame = Some(Bytes::from(frame));
        self
    }
}

/// The boards' waiting counts are read and sent at most this often: a kiosk issuing ten
/// tickets a second must not cost a read and a thousand boards' writes each time, and a wall
/// board's counts need not move faster than a visitor reads them.
pub const QUEUES_EVERY: Duration = Duration::from_secs(1);
/// When no call comes to carry them, the counts go out alone this long after the last.
pub const QUEUES_ALONE: Duration = Duration::from_secs(2);

/// How many connections answer reads beside the writer: two cores serve them, one more lets a
/// long report run without taking the others' turn.
pub const READERS: usize = 3;

/// How much lower the readers run than the writer and the boards' publisher (a nice value): a
/// console's read may wait a moment for the CPU, a visitor's ticket or call should not.
pub const READER_NICE: i32 = 2;

/// How many published batches a slow stream may fall behind before it reads what it missed
/// from the ledger itself.
const PUBLISHED_KEPT: usize = 1024;

/// The shortest interval between two refreshes of a visitor's status page.
pub const PHONE_REFRESH: Duration = Duration::from_secs(1);

/// How many PIN checks may run at the same time (one per core of the hall's server).
pub const PIN_CHECKS_AT_ONCE: usize = 2;

/// A ledger error as an HTTP answer: the status its kind maps to and the `WireError` JSON.
struct ApiError(LedgerError);

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!("request failed: {}", self.0);
        }
        (status, Json(self.0.to_wire())).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The device behind the request's token, allowed one of `roles`.
async fn device(app: &App, headers: &HeaderMap, roles: &[DeviceRole]) -> Result<Device, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        LedgerError::Unauthorized("this request carries no device token (Authorization: Bearer TOKEN)".into())
    })?;
    let found = match app.devices.get(&token) {
        Some(d) => d,
        None => {
            let t = token.clone();
            let d = app.reads.run(move |l| l.device_for_token(&t)).await??;
            app.devices.put(token.clone(), d.clone());
            d
        }
    };
    let device = match found {
        Some(d) => d,
        None => {
            let t = token.clone();
            if let Some(hall) = app.reads.run(move |l| l.device_hall_elsewhere(&t)).await?? {
                return Err(ApiError(LedgerError::Forbidden(format!(
                    "this device is enrolled in hall {hall}, not in this one: a device reads and writes its own hall only"
                ))));
            }
            return Err(ApiError(LedgerError::Unauthorized(
                "unknown or revoked device token".into(),
            )));
        }
    };
    if !roles.contains(&device.role) {
        return Err(ApiError(LedgerError::Forbidden(format!(
            "device {} is a {}; this needs a {}",
            device.name,
            device.role.as_str(),
            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
        ))));
    }
    Ok(device)
}

/// The specialist signed in on this device (the session header), for staff actions.
async fn staff(app: &App, headers: &HeaderMap, device: &Device) -> Result<Session, ApiError> {
    let token = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| LedgerError::Forbidden("a specialist must sign in with their PIN first".into()))?;
    let session = match app.sessions.get(&token) {
        Some(s) => s,
        None => {
            let t = token.clone();
            let s = app.reads.run(move |l| l.session(&t)).await??;
            app.sessions.put(token, s.clone());
            s
        }
    };
    match session {
        Some(s) if s.device == device.name => Ok(s),
        Some(_) => Err(ApiError(LedgerError::Forbidden(
            "that session belongs to another device".into(),
        ))),
        None => Err(ApiError(LedgerError::Forbidden(
            "the session has ended or expired: sign in again with the PIN".into(),
        ))),
    }
}

/// The client's request id, if it sent a usable one.
fn request_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(REQUEST_ID_HEADER) else {
        return Ok(None);
    };
    let id = v.to_str().unwrap_or("").trim().to_string();
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError(LedgerError::Invalid(format!(
            "{REQUEST_ID_HEADER} must be 1 to 128 letters, digits, '-' or '_'"
        ))));
    }
    Ok(Some(id))
}

const ANY: &[DeviceRole] = &[
    DeviceRole::Kiosk,
    DeviceRole::Board,
    DeviceRole::Counter,
    DeviceRole::Admin,
    DeviceRole::Office,
    DeviceRole::Pad,
];
const STAFF_READ: &[DeviceRole] = &[
    DeviceRole::Counter,
    DeviceRole::Office,
    DeviceRole::Admin,
    DeviceRole::Kiosk,
];

/// `ok` while the server can take writes; 503 when the disk holding the ledger is full: a
/// monitor must not call a hall server that can issue no ticket healthy.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    if bangban::disk::is_full(&app.db) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "disk full: the ledger cannot grow; free space on the disk holding it\n",
        )
            .into_response();
    }
    "ok\n".into_response()
}

#[derive(Deserialize)]
struct HallQuery {
    /// The configuration the client already holds: when it is still in force, the answer
    /// carries no hall (a console asks every two seconds; the hall is tens of kilobytes).
    #[serde(default)]
    known: Option<i64>,
}

async fn hall(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<HallQuery>,
) -> ApiResult<(i64, Option<bangban::Hall>)> {
    let d = device(&app, &headers, ANY).await?;
    let known = q.known;
    let (id, hall) = app
        .reads
        .run(move |l: &mut Ledger| -> bangban::Result<(i64, Option<bangban::Hall>)> {
            let id = l.hall_id()?;
            if known == Some(id) {
                return Ok((id, None));
            }
            Ok((id, Some((*l.hall()?).clone())))
        })
        .await??;
    let hall = hall.map(|mut hall| {
        // Specialists' own phone numbers leave the server masked, except to the office; so
        // does the message hook (its URL may carry the gateway's key): a kiosk only needs to
        // know that the hall sends messages.
        if !matches!(d.role, DeviceRole::Admin | DeviceRole::Office) {
            for s in &mut hall.specialists {
                s.phone = bangban::mask_phone(&s.phone);
            }
            for hook in [&mut hall.notify.command, &mut hall.notify.url] {
                if !hook.trim().is_empty() {
                    *hook = "(set on the server)".into();
                }
            }
        }
        hall
    });
    Ok(Json((id, hall)))
}

async fn queues(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Vec<QueueLine>> {
    device(&app, &headers, ANY).await?;
    Ok(Json(app.reads.run(|l| l.queues()).await??))
}

#[derive(Deserialize)]
struct WaitingQuery {
    #[serde(default)]
    departments: String,
}

async fn waiting(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<WaitingQuery>,
) -> ApiResult<Vec<bangban::WaitingEntry>> {
    device(&app, &headers, ANY).await?;
    let depts: Vec<String> = q
        .departments
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    Ok(Json(app.reads.run(move |l| l.waiting(&depts)).await??))
}

async fn sign_in(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(req): Json<SignIn>,
) -> ApiResult<(String, SignedIn)> {
    let d = device(&app, &headers, DESKS).await?;
    let staff_id = req.staff.trim().to_string();
    let _turn = app.pin_turns.take(&staff_id).await;
    let (st, w) = (staff_id.clone(), req.window);
    let stored = app.reads.run(move |l| l.pin_record(&st, w)).await??;
    let stored2 = stored.clone();
    let checked = beside_writer(&app, move || stored2.check(&req.pin)).await?;
    let s = app
        .ledger
        .run(move |l| -> bangban::Result<Session> {
            l.record_login(&staff_id, w, &stored, &checked)?;
            l.start_session(&staff_id, &d.name, w)
        })
        .await??;
    // A new session may end this device's earlier one: no cached answer about it stands.
    app.sessions.clear();
    let signed = s.signed_in();
    Ok(Json((s.token, signed)))
}

/// Per specialist, a turn to have a PIN checked (see `App::pin_turns`).
#[derive(Default)]
struct PinTurns(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl PinTurns {
    /// Wait for this staff id's turn; the turn ends when the guard is dropped.
    async fn take(&self, staff: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
            // Forget the ids nobody waits for, so made-up staff ids cannot grow the map.
            m.retain(|_, l| Arc::strong_count(l) > 1);
            m.entry(staff.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// PIN work (argon2 takes a tenth of a second on purpose) run beside the ledger, not in its
/// queue, on the PIN checkers' threads: a morning of sign-ins never delays a kiosk.
async fn beside_writer<T: Send + 'static>(
    app: &App,
    work: impl FnOnce() -> bangban::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    app.pin_checks
        .jobs
        .send(Box::new(move |_: &mut ()| {
            // A caller that gave up (its connection closed) leaves no PIN to hash.
            if !tx.is_closed() {
                let _ = tx.send(work());
            }
        }))
        .map_err(|_| ApiError(LedgerError::Unreachable("the server is stopping".into())))?;
    Ok(rx
        .await
        .map_err(|_| ApiError(LedgerError::Invalid("the PIN check stopped".into())))??)
}

/// `PIN_CHECKS_AT_ONCE` threads that hash and check PINs, one job at a time each, at a
/// lower scheduling priority (`PIN_NICE`) than the rest of the server. Argon2 takes a core
/// for a fifth of a second on purpose; when three hundred specialists sign in at opening, two
/// such threads at the server's own priority took both cores for half a minute, and every
/// ticket and call in that time waited for the scheduler (call next p99 6.3 ms at 60× on the
/// 1M ledger). Niced, they take what the hall leaves: a sign-in takes longer only while the
/// hall is busy.
struct PinCheckers {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce(&mut ()) + Send>>,
}

impl PinCheckers {
    fn start() -> std::io::Result<PinCheckers> {
        // The threads are not joined: they hold no ledger, and end with the sender.
        let mut detached = Vec::new();
        let jobs = spawn_pool("pin-check", PIN_NICE, vec![(); PIN_CHECKS_AT_ONCE], &mut detached)?;
        Ok(PinCheckers { jobs })
    }
}

/// How much lower the PIN checkers run than the rest of the server (a nice value).
pub const PIN_NICE: i32 = 5;

/// Lower the calling thread's scheduling priority by `nice` (Linux keeps a nice value per
/// thread). Lowering needs no privilege; failing to is not an error worth stopping for.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take and return plain integers.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, nice) != 0 {
            tracing::debug!(
                "cannot lower the PIN checkers' priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

async fn sign_out(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<()> {
    let d = device(&app, &headers, DESKS).await?;
    let s = staff(&app, &headers, &d).await?;
    let token = s.token.clone();
    app.ledger.run(move |l| l.end_session(&s.token)).await??;
    app.sessions.forget(&token);
    Ok(Json(()))
}

async fn window_paused(State(app): State<Arc<App>>, headers: HeaderMap, Path(w): Path<u32>) -> ApiResult<bool> {
    device(&app, &headers, ANY).await?;
    Ok(Json(app.reads.run(move |l| l.window_paused(w)).await??))
}

async fn window_cases(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(w): Path<u32>,
) -> ApiResult<Vec<bangban::Case>> {
    device(&app, &headers, DESKS).await?;
    Ok(Json(app.reads.run(move |l| l.at_window(w)).await??))
}

#[derive(serde::Deserialize)]
struct OverdueQuery {
    department: Option<String>,
}

/// The console's alerts: what is overdue or due soon, for the window's department.
async fn overdue(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Vec<bangban::ledger::Overdue>> {
    device(&app, &headers, DESKS).await?;
    Ok(Json(app.reads.run(move |l| l.overdue(q.department.as_deref())).await??))
}

async fn case(State(app): State<Arc<App>>, headers: HeaderMap, Path(r): Path<String>) -> ApiResult<CaseView> {
    device(&app, &headers, DESKS).await?;
    let v = app.ledger.run(move |l| l.case_view(&r)).await??;
    Ok(Json(v))
}

async fn ticket(State(app): State<Arc<App>>, headers: HeaderMap, Path(r): Path<String>) -> ApiResult<bangban::Ticket> {
    device(&app, &headers, STAFF_READ).await?;
    Ok(Json(app.reads.run(move |l| l.ticket_for(&r)).await??))
}

#[derive(Deserialize)]
struct DateQuery {
    date: chrono::NaiveDate,
}

async fn report(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<DateQuery>,
) -> ApiResult<bangban::DayReport> {
    device(&app, &headers, OFFICE).await?;
    Ok(Json(app.reads.run(move |l| l.report(q.date)).await??))
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
}

async fn figures(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<bangban::Figures> {
    device(&app, &headers, OFFICE).await?;
    Ok(Json(app.reads.run(move |l| l.figures(q.from, q.to)).await??))
}

async fn verify(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<bangban::VerifyReport> {
    device(&app, &headers, OFFICE).await?;
    Ok(Json(app.reads.run(|l| l.verify()).await??))
}

#[derive(Deserialize)]
struct AfterQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<usize>,
    /// A stream's departments (comma-separated codes): only their calls and their waiting
    /// counts are sent. A counter's console follows its window's; a board, the whole hall.
    #[serde(default)]
    departments: Option<String>,
}

async fn calls(State(app): State<Arc<App>>, headers: HeaderMap, Query(q): Query<AfterQuery>) -> ApiResult<CallsAfter> {
    device(&app, &headers, ANY).await?;
    let after = q.after.unwrap_or(0);
    let r = app.reads.run(move |l| l.calls_after(after)).await??;
    Ok(Json(r))
}

async fn recent_calls(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<AfterQuery>,
) -> ApiResult<Vec<bangban::Called>> {
    device(&app, &headers, ANY).await?;
    let limit = q.limit.unwrap_or(8).min(100);
    Ok(Json(app.reads.run(move |l| l.recent_calls(limit)).await??))
}

async fn head(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<i64> {
    device(&app, &headers, ANY).await?;
    Ok(Json(app.reads.run(|l| l.head_seq()).await??))
}

async fn chain_head(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<bangban::witness::ChainHead> {
    device(&app, &headers, ANY).await?;
    Ok(Json(app.reads.run(|l| l.chain_head()).await??))
}

/// A note's text. The office sees every note in full; a counter only with a specialist signed
/// in, only the notes of cases of its window's departments, and an appointment's phone masked
/// (138****1234): a counter token alone must not read the hall's personal data.
async fn note(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<i64>) -> ApiResult<String> {
    let d = device(&app, &headers, DESKS).await?;
    let note = app.reads.run(move |l| l.note(id)).await??;
    // Personal data shows masked to every desk (ID numbers, phones); signatures are read
    // through the forms.
    if matches!(d.role, DeviceRole::Office | DeviceRole::Admin) {
        // The office calls back whoever booked by phone.
        if note.kind == "appointment_phone" {
            return Ok(Json(note.body));
        }
        return Ok(Json(bangban::principal::shown_note(&note.kind, &note.body)));
    }
    let session = staff(&app, &headers, &d).await?;
    let window = session.window;
    let Some(case_id) = note.case_id else {
        return Err(LedgerError::Forbidden(format!("note {id} belongs to no case: the office reads it")).into());
    };
    let ours = app
        .reads
        .run(move |l| -> Result<bool, LedgerError> {
            let case = l.case_by_id(case_id)?;
            let hall = l.hall()?;
            Ok(hall
                .departments_at_window(window)
                .iter()
                .any(|d| d.code == case.department))
        })
        .await??;
    if !ours {
        return Err(LedgerError::Forbidden(format!("note {id} belongs to another department's case")).into());
    }
    Ok(Json(bangban::principal::shown_note(&note.kind, &note.body)))
}

/// Every op of the protocol's table (`bangban::ops`) through one handler: the device's role,
/// the specialist's session for staff ops, slow work and PIN proofs beside the writer, and a
/// write answered once per request id.
async fn op<O: Op>(State(app): State<Arc<App>>, headers: HeaderMap, Json(mut op): Json<O>) -> ApiResult<O::Reply> {
    let d = device(&app, &headers, O::ROLES).await?;
    let staff = if O::STAFF {
        Some(staff(&app, &headers, &d).await?)
    } else {
        None
    };
    let id = if O::WRITES { request_id(&headers)? } else { None };
    let by = Caller {
        actor: d.name.clone(),
        role: d.role,
        staff: staff.map(|s| s.signed_in()),
        window: d.window,
    };
    // What the request asked, which its id is bound to (before `prepare` touches it).
    let body = if O::WRITES {
        request_body_hash(&op)
    } else {
        String::new()
    };
    // A retry of a write already done is answered before any slow work is repeated.
    if let Some(rid) = id.clone() {
        let (device, asked_body) = (d.name.clone(), body.clone());
        let replayed = app
            .reads
            .run(move |l| {
                let asked = Asked {
                    id: &rid,
                    device: &device,
                    body: &asked_body,
                };
                answered(l, &asked, O::NAME, O::replay)
            })
            .await??;
        if let Some(reply) = replayed {
            return Ok(Json(reply));
        }
    }
    // Argon2 (a new PIN's hash, the proof of an old one) runs beside the writer, two at a time;
    // an op with no slow work (a ticket, a call) goes straight to the writer.
    let pin = op.pin_to_check(&by);
    let _turn = match &pin {
        Some((staff_id, _)) => Some(app.pin_turns.take(staff_id).await),
        None => None,
    };
    let (op, pin, stored, checked) = if O::SLOW || pin.is_some() {
        let stored = match &pin {
            Some((staff_id, _)) => {
                let s = staff_id.clone();
                Some(app.reads.run(move |l| l.pin_record_of(&s)).await??)
            }
            None => None,
        };
        beside_writer(&app, move || {
            op.prepare()?;
            let checked = match (&stored, &pin) {
                (Some(stored), Some((_, p))) => Some(stored.check(p)?),
                _ => None,
            };
            Ok((op, pin, stored, checked))
        })
        .await?
    } else {
        op.prepare()?;
        (op, None, None, None)
    };
    // A read-only op with no PIN to record runs on a reader; anything that writes, on the
    // writer.
    let door = if O::WRITES || pin.is_some() {
        &app.ledger
    } else {
        &app.reads
    };
    let reply = door
        .run(move |l| {
            if let (Some((staff_id, _)), Some(stored), Some(checked)) = (&pin, &stored, &checked) {
                l.record_login(staff_id, 0, stored, checked)?;
            }
            if O::WRITES {
                let actor = by.actor.clone();
                once(l, id, &actor, &body, O::NAME, |l| op.run(l, &by), O::replay)
            } else {
                op.run(l, &by)
            }
        })
        .await??;
    // A device revoked (and its sessions ended) or a PIN changed: nothing cached stands.
    if matches!(O::PATH, "devices/revoke" | "devices/add" | "staff/set-pin") {
        app.devices.clear();
        app.sessions.clear();
    }
    Ok(Json(reply))
}

/// Mounts every op of the table on the router.
struct Mount(Router<Arc<App>>);

impl OpVisitor for Mount {
    fn visit<O: Op>(&mut self) {
        self.0 = std::mem::take(&mut self.0).route(&format!("{API}/{}", O::PATH), post(op::<O>));
    }
}

/// `bangban backup` from another machine: a verified copy of the ledger, made on the server
/// host beside the live file, streamed to the caller, then deleted.
async fn backup(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    device(&app, &headers, ADMIN).await?;
    let dir = tempfile::Builder::new()
        .prefix("bangban-backup-")
        .tempdir()
        .map_err(|e| ApiError(LedgerError::Invalid(format!("cannot make a place for the copy: {e}"))))?;
    let path = dir.path().join("ledger.db");
    let (src, p) = (app.db.clone(), path.clone());
    // The copy is read on a connection of its own, beside the writer: the hall keeps issuing.
    let report = tokio::task::spawn_blocking(move || bangban::ledger::backup_file(&src, &p))
        .await
        .map_err(|_| ApiError(LedgerError::Invalid("the backup stopped".into())))??;
    // Streamed from the file (a year of a hall is gigabytes); the open file outlives the
    // directory's removal on Unix, so the copy is gone from the disk when the download ends.
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError(LedgerError::Invalid(format!("cannot read the copy: {e}"))))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    drop(dir);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut r = body.into_response();
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        r.headers_mut().insert("content-length", v);
    }
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/vnd.sqlite3"));
    if let Ok(v) = HeaderValue::from_str(&format!("{} {}", report.events, report.cases)) {
        r.headers_mut().insert("x-bangban-backup", v);
    }
    Ok(r)
}

/// The live stream of calls for boards: `event: call` with the `Called` JSON and `id:` its
/// sequence number, and `event: head` when anything else changed (queues to refresh). A board
/// that reconnects with `Last-Event-ID` (or `?after=`) gets exactly what it missed.
async fn stream(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<AfterQuery>,
) -> Result<Response, ApiError> {
    device(&app, &headers, ANY).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let start = match resume.or(q.after) {
        Some(s) => s,
        None => app.reads.run(|l| l.head_seq()).await??,
    };
    let departments: Option<Vec<String>> = q.departments.as_deref().map(|d| {
        d.split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    });
    Ok(sse(app, start, Feed::Calls(departments.map(Arc::new))))
}

#[derive(Clone)]
enum Feed {
    /// The calls and the waiting counts, of some departments only (a console's) or all.
    Calls(Option<Arc<Vec<String>>>),
    Ticket(String),
}

struct StreamState {
    app: Arc<App>,
    seq: i64,
    feed: Feed,
    /// Boards: the published batches, subscribed before the first read so nothing falls
    /// between catching up and following.
    published: Option<tokio::sync::broadcast::Receiver<Arc<Published>>>,
    head: watch::Receiver<i64>,
    stopping: watch::Receiver<bool>,
    pending: std::collections::VecDeque<Bytes>,
    first: bool,
    last_status: Option<String>,
    /// Boards: the waiting counts last sent (the same again is not sent).
    queues_sent: Option<Arc<str>>,
}

fn sse(app: Arc<App>, start: i64, feed: Feed) -> Response {
    let published = matches!(feed, Feed::Calls(_)).then(|| app.calls.subscribe());
    let state = StreamState {
        published,
        head: app.head.clone(),
        stopping: app.stopping.clone(),
        app,
        seq: start,
        feed,
        pending: Default::default(),
        first: true,
        last_status: None,
        queues_sent: None,
    };
    let s = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.pending.pop_front() {
                return Some((Ok(ev), st));
            }
            if *st.stopping.borrow() {
                return None;
            }
            if let (Feed::Calls(_), false) = (&st.feed, st.first) {
                // A board follows what was published; it reads the ledger itself only when
                // it fell too far behind (or a batch started past what it had).
                let got = tokio::select! {
                    r = st.published.as_mut().expect("boards subscribe").recv() => r,
                    _ = st.stopping.changed() => return None,
                };
                use tokio::sync::broadcast::error::RecvError;
                match got {
                    // A board that is where the batch starts gets the batch's frame as it was
                    // written once for every board: one shared buffer and one socket write
                    // per board, nothing formatted per stream.
                    Ok(p) if p.after == st.seq && matches!(st.feed, Feed::Calls(None)) => {
                        st.seq = st.seq.max(p.last_seq);
                        match p.queues.as_ref().map(|(j, _)| j).zip(p.all_frame.as_ref()) {
                            Some((json, all)) if st.queues_sent.as_deref() != Some(&**json) => {
                                st.pending.push_back(all.clone());
                                st.queues_sent = Some(json.clone());
                            }
                            _ if !p.calls_frame.is_empty() => st.pending.push_back(p.calls_frame.clone()),
                            _ => {}
                        }
                        continue;
                    }
                    Ok(p) if p.after <= st.seq || p.last_seq <= st.seq => {
                        let seq = st.seq;
                        if p.last_seq > seq {
                            st.push_calls(p.calls.iter().filter(|(s, _, _)| *s > seq), p.last_seq);
                        }
                        if let Some((json, lines)) = &p.queues {
                            st.push_queues(json.clone(), lines);
                        }
                        continue;
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
            if !st.first && matches!(st.feed, Feed::Ticket(_)) {
                // A phone needs no more than one refresh a second; a thousand open pages
                // must not queue a thousand reads behind every event.
                tokio::select! {
                    _ = tokio::time::sleep(PHONE_REFRESH) => {},
                    _ = st.stopping.changed() => return None,
                }
                tokio::select! {
                    r = st.head.changed() => if r.is_err() { return None },
                    _ = st.stopping.changed() => return None,
                }
            }
            st.first = false;
            match st.feed.clone() {
                Feed::Calls(_) => {
                    // Catching up (the first read, or after falling behind): from the ledger.
                    let after = st.seq;
                    let Ok(Ok(batch)) = st.app.reads.run(move |l| l.calls_after(after)).await else {
                        return None;
                    };
                    let p = Published::of(after, &batch);
                    st.push_calls(p.calls.iter(), p.last_seq);
                    // The counts as they stand, so the board needs no read of its own.
                    if let Ok(Some((json, q))) = board_counts(&st.app.reads).await {
                        st.push_queues(json, &q);
                    }
                }
                Feed::Ticket(token) => {
                    let Ok(Ok(status)) = st.app.reads.run(move |l| l.ticket_status(&token)).await else {
                        return None;
                    };
                    if let Ok(json) = serde_json::to_string(&status) {
                        // Only changes are sent: the seq moves with every event in the hall.
                        let key = format!(
                            "{}|{}|{}|{:?}",
                            status.state, status.ahead, status.estimated_wait_min, status.window
                        );
                        if st.last_status.as_deref() != Some(key.as_str()) {
                            st.last_status = Some(key);
                            st.pending.push_back(sse_event("status", None, &json));
                        }
                    }
                }
            }
        }
    });
    let body = axum::body::Body::from_stream(KeepAlive::new(Box::pin(s), bangban::remote::STREAM_KEEP_ALIVE));
    let mut r = body.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    r
}

/// One server-sent event as it goes on the wire (`event:`, `id:`, one `data:` line per line).
fn sse_event(event: &str, id: Option<i64>, data: &str) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + event.len() + 32);
    append_event(&mut out, event, id, data);
    Bytes::from(out)
}

fn append_event(out: &mut Vec<u8>, event: &str, id: Option<i64>, data: &str) {
    use std::io::Write;
    let _ = write!(out, "event: {event}\n");
    if let Some(id) = id {
        let _ = write!(out, "id: {id}\n");
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.trim_end_matches('\r').as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// A stream of events with a comment (`:`) written whenever it has been quiet for `every`,
/// so followers and proxies tell a quiet hall from a dead connection.
struct KeepAlive<S> {
    inner: std::pin::Pin<Box<S>>,
    quiet: std::pin::Pin<Box<tokio::time::Sleep>>,
    every: Duration,
}

impl<S> KeepAlive<S> {
    fn new(inner: std::pin::Pin<Box<S>>, every: Duration) -> Self {
        KeepAlive {
            inner,
            quiet: Box::pin(tokio::time::sleep(every)),
            every,
        }
    }
}

impl<S: futures_util::Stream<Item = Result<Bytes, Infallible>>> futures_util::Stream for KeepAlive<S> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(item) => {
                let next = tokio::time::Instant::now() + this.every;
                this.quiet.as_mut().reset(next);
                Poll::Ready(item)
            }
            Poll::Pending => match std::future::Future::poll(this.quiet.as_mut(), cx) {
                Poll::Ready(()) => {
                    let next = tokio::time::Instant::now() + this.every;
                    this.quiet.as_mut().reset(next);
                    Poll::Ready(Some(Ok(Bytes::from_static(b":\n\n"))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl StreamState {
    /// Queue `calls` (sequence number, JSON) as `call` events and, when the stream moved, a
    /// `head` event.
    fn push_calls<'a>(&mut self, calls: impl Iterator<Item = &'a (i64, String, Arc<str>)>, last: i64) {
        let only = match &self.feed {
            Feed::Calls(only) => only.clone(),
            Feed::Ticket(_) => None,
        };
        for (seq, department, json) in calls {
            if only.as_ref().is_some_and(|d| !d.contains(department)) {
                continue;
            }
            self.pending.push_back(sse_event("call", Some(*seq), json));
        }
        // The head moves with the next waiting counts (read at most every `QUEUES_EVERY`);
        // a call's own id tells a follower where to resume.
        self.seq = self.seq.max(last);
    }

    /// Queue the waiting counts (if they changed since the last sent: the stream's
    /// departments' counts, or the whole JSON for a board) and the head.
    fn push_queues(&mut self, q: Arc<str>, lines: &[QueueLine]) {
        let key: Arc<str> = match &self.feed {
            Feed::Calls(Some(only)) => Arc::from(format!("{:?}", QueueLine::counts_of(lines, only))),
            _ => q.clone(),
        };
        // Unchanged counts send nothing: a console's stream stays quiet while other
        // departments' lines move.
        if self.queues_sent.as_deref() != Some(&*key) {
            self.pending.push_back(sse_event("queues", None, &q));
            self.pending.push_back(sse_event("head", None, &self.seq.to_string()));
            self.queues_sent = Some(key);
        }
    }
}

/// `n` reader threads named `name-{i}`, each with a `query_only` connection of its own,
/// taking jobs from one queue; their handles go to `threads`.
fn spawn_readers(
    db: &std::path::Path,
    opts: &LedgerOptions,
    n: usize,
    name: &str,
    nice: i32,
    threads: &mut Vec<std::thread::JoinHandle<()>>,
) -> Result<std::sync::mpsc::Sender<Job>, ServeError> {
    let readers = (0..n)
        .map(|_| Ledger::open_reader(db, opts.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(spawn_pool(name, nice, readers, threads)?)
}

/// One thread per state in `states`, named `name-{i}`, at `nice` below the server (0: not
/// lowered), each taking the next job from one shared queue and running it on its own state;
/// their handles go to `threads`. The threads end when the returned sender is dropped.
fn spawn_pool<S: Send + 'static>(
    name: &str,
    nice: i32,
    states: Vec<S>,
    threads: &mut Vec<std::thread::JoinHandle<()>>,
) -> std::io::Result<std::sync::mpsc::Sender<Box<dyn FnOnce(&mut S) + Send>>> {
    let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce(&mut S) + Send>>();
    let rx = Arc::new(Mutex::new(rx));
    for (i, mut state) in states.into_iter().enumerate() {
        let jobs = rx.clone();
        threads.push(std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
            if nice > 0 {
                lower_priority(nice);
            }
            loop {
                // One thread takes the next job; the lock is let go before it runs.
                let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match job {
                    Ok(job) => job(&mut state),
                    Err(_) => return,
                }
            }
        })?);
    }
    Ok(tx)
}

/// Reads the calls after each write once, on a reader, and publishes them to every board's
/// stream. Ends when the server stops.
async fn publish_calls(app: Arc<App>) {
    let (mut head, mut stopping) = (app.head.clone(), app.stopping.clone());
    let mut last = *head.borrow_and_update();
    // Where the last published batch ended. A write with no call in it (a ticket, a case
    // action) publishes nothing: waking every board and console for an empty batch cost the
    // server more than the calls themselves. The next batch then starts here, since nothing
    // in between was a call.
    let mut sent = last;
    // The waiting counts are read again at most every `QUEUES_EVERY`, after a change, and
    // only while boards listen: a kiosk issuing ten tickets a second costs one read a second.
    // They go out with the next call when one comes within `QUEUES_ALONE` (one write per
    // board for both), and alone only when none does: a call that came while the counts
    // were being written to a thousand boards waited behind them.
    let mut counts_changed = false;
    let mut counts_sent = tokio::time::Instant::now();
    loop {
        let counts_due = tokio::select! {
            r = head.changed() => if r.is_err() { return } else { false },
            _ = tokio::time::sleep_until(counts_sent + QUEUES_ALONE), if counts_changed => true,
            _ = stopping.changed() => return,
        };
        if counts_due {
            counts_changed = false;
            counts_sent = tokio::time::Instant::now();
            match board_counts(&app.publisher).await {
                Ok(Some((json, q))) => {
                    let _ = app.calls.send(Arc::new(Published::queues(sent, last, json, q)));
                    sent = last;
                }
                Ok(None) => {}
                Err(_) => return,
            }
            continue;
        }
        let after = last;
        match app.publisher.run(move |l| l.calls_after(after)).await {
            Ok(Ok(batch)) => {
                last = batch.last_seq.max(last);
                counts_changed |= batch.last_seq > after && app.calls.receiver_count() > 0;
                if !batch.calls.is_empty() {
                    let mut p = Published::of(sent, &batch);
                    if counts_changed && counts_sent.elapsed() >= QUEUES_EVERY {
                        match board_counts(&app.publisher).await {
                            Ok(Some((json, q))) => {
                                p = p.with_queues(json, q);
                                counts_changed = false;
                                counts_sent = tokio::time::Instant::now();
                            }
                            Ok(None) => {}
                            Err(_) => return,
                        }
                    }
                    // No board listening is not an error.
                    let _ = app.calls.send(Arc::new(p));
                    sent = last;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!("cannot read the new calls for the boards: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) => return,
        }
    }
}

/// The waiting counts as the boards' streams send them, read on `door`, with their JSON;
/// None when they cannot be read (said in the log), an error when the server is stopping.
async fn board_counts(door: &LedgerHandle) -> Result<Option<(Arc<str>, Vec<QueueLine>)>, ApiError> {
    match door.run(|l| l.queues_for_boards()).await? {
        Ok(q) => Ok(serde_json::to_string(&q).ok().map(|json| (Arc::from(json), q))),
        Err(e) => {
            tracing::warn!("cannot read the waiting counts for the boards: {e}");
            Ok(None)
        }
    }
}

/// Count a status look-up by the visitor at `ip` of ticket `token`; false once either is over
/// its allowance for this minute (per address: one phone guessing tokens; per ticket: many
/// addresses hammering one).
fn allow_lookup(app: &App, ip: IpAddr, token: &str) -> bool {
    let by_ip = count_lookup(&app.lookups, ip, app.lookups_per_minute);
    let key = token.chars().take(64).collect::<String>();
    by_ip && count_lookup(&app.token_lookups, key, app.lookups_per_minute)
}

/// One more look-up for `key` this minute; false once over `allowance`.
fn count_lookup<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, (Instant, u32)>>, key: K, allowance: u32) -> bool {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if m.len() > 10_000 {
        m.retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(60));
    }
    let e = m.entry(key).or_insert((now, 0));
    if now.duration_since(e.0) >= Duration::from_secs(60) {
        *e = (now, 0);
    }
    e.1 += 1;
    e.1 <= allowance
}

/// The visitor's address: the connection's, or, when the connection comes from a proxy the
/// hall file trusts (`trusted_proxies`), the last address in `X-Forwarded-For` that is not
/// one of its proxies. From anyone else the header is ignored: a phone cannot claim to be
/// another to escape its allowance.
async fn client_ip(app: &App, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let proxies = trusted_proxies(app).await;
    if !proxies.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .filter(|a| !proxies.contains(a))
        .last()
        .unwrap_or(peer)
}

async fn trusted_proxies(app: &App) -> Arc<Vec<IpAddr>> {
    if let Some((at, p)) = app.proxies.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        if at.elapsed() < LOOKUP_FOR {
            return p.clone();
        }
    }
    let read = app.reads.run(|l| l.hall().map(|h| h.trusted_proxies.clone())).await;
    let proxies: Arc<Vec<IpAddr>> = Arc::new(match read {
        Ok(Ok(list)) => list.iter().filter_map(|p| p.trim().parse().ok()).collect(),
        _ => Vec::new(),
    });
    *app.proxies.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), proxies.clone()));
    proxies
}

fn valid_token(t: &str) -> bool {
    t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The visitor's status page behind the ticket's QR code. Unknown and malformed tokens get
/// the same page as each other, so the answer says nothing about which tokens exist.
async fn ticket_page(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if !allow_lookup(&app, client_ip(&app, addr.ip(), &headers).await, &token) {
        return html_page(StatusCode::TOO_MANY_REQUESTS, page::too_many());
    }
    let status = if valid_token(&token) {
        let t = token.clone();
        match app.reads.run(move |l| l.ticket_status(&t)).await {
            Ok(Ok(s)) => Some(s),
            _ => None,
        }
    } else {
        None
    };
    let Some(status) = status else {
        return html_page(StatusCode::NOT_FOUND, page::not_found());
    };
    html_page(StatusCode::OK, page::status_page(&token, &status))
}

/// A page of the visitor's with its policy: nothing but its own style and script runs, no
/// other site frames it, no browser guesses another type, nothing is cached (it is live).
fn html_page(status: StatusCode, p: page::Page) -> Response {
    let mut r = (status, Html(p.html)).into_response();
    let h = r.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&p.csp) {
        h.insert("content-security-policy", csp);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

#[derive(serde::Deserialize)]
struct PageRating {
    level: u8,
}

/// 好差评 from the visitor's phone: the ticket's token is the proof (unguessable), the same
/// per-address allowance as the page, one rating per visit.
async fn rate_from_page(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Json(r): Json<PageRating>,
) -> ApiResult<bangban::api::Rated> {
    if !allow_lookup(&app, client_ip(&app, addr.ip(), &headers).await, &token) {
        return Err(ApiError(LedgerError::RateLimited));
    }
    if !valid_token(&token) {
        return Err(ApiError(LedgerError::UnknownCase("no such ticket".into())));
    }
    let level = r.level;
    let c = app
        .ledger
        .run(move |l| l.rate(&token, level, "status_page", "status-page"))
        .await??;
    Ok(Json(bangban::api::Rated {
        number: c.number,
        level,
        follow_up: c.follow_up_open,
    }))
}

async fn ticket_status(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    if !allow_lookup(&app, client_ip(&app, addr.ip(), &headers).await, &token) {
        return Err(ApiError(LedgerError::RateLimited));
    }
    if !valid_token(&token) {
        return Err(ApiError(LedgerError::UnknownCase("no such ticket".into())));
    }
    let t = token.clone();
    let status = app.reads.run(move |l| l.ticket_status(&t)).await??;
    let _ = status;
    Ok(sse(app, 0, Feed::Ticket(token)))
}

async fn font() -> Response {
    let mut r = crate::page::FONT.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("font/ttf"));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("public, max-age=604800"));
    r
}

fn router(app: Arc<App>) -> Router {
    let mut mount = Mount(Router::new());
    bangban::ops::each_op(&mut mount);
    mount
        .0
        .route("/api/v1/backup", get(backup))
        .route("/healthz", get(healthz))
        .route("/book", get(book::book_page))
        .route("/book/hall", get(book::book_hall))
        .route("/book/slots", get(book::book_slots))
        .route("/book/code", post(book::book_code))
        .route("/book/new", post(book::book))
        .route("/book/cancel", post(book::book_cancel))
        .route("/office/", get(office::office_page))
        .route("/office", get(office::office_page))
        .route("/office/sign-in", post(office::sign_in))
        .route("/office/sign-out", post(office::sign_out))
        .route("/office/api/dashboard", get(office::dashboard))
        .route("/office/api/feedback", get(office::feedback))
        .route("/office/api/feedback/{id}/reply", post(office::reply))
        .route("/office/stream", get(office::stream))
        .route("/office/api/coordination", get(office::coordination))
        .route("/office/api/meeting", post(office::meeting))
        .route("/office/api/resolve", post(office::resolve))
        .route("/office/api/records", get(office::records))
        .route("/office/api/case", get(office::case_page))
        .route("/office/api/form", get(office::form))
        .route("/office/api/appointments", get(office::appointments))
        .route("/office/api/appointments/add", post(office::book))
        .route("/office/api/appointments/cancel", post(office::cancel))
        .route("/office/api/close-day", post(office::close_day))
        .route("/office/api/figures", get(office::figures))
        .route("/office/{file}", get(office::records_file))
        .route("/office/wall", get(office::wall_page))
        .route("/office/wall/sign-in", post(office::wall_sign_in))
        .route("/office/echarts.js", get(office::echarts))
        .route("/t/{token}", get(ticket_page))
        .route("/t/{token}/rate", post(rate_from_page))
        .route("/static/hall-font.ttf", get(font))
        .route("/api/v1/status/{token}", get(ticket_status))
        .route("/api/v1/hall", get(hall))
        .route("/api/v1/queues", get(queues))
        .route("/api/v1/waiting", get(waiting))
        .route("/api/v1/sign-in", post(sign_in))
        .route("/api/v1/sign-out", post(sign_out))
        .route("/api/v1/windows/{w}/paused", get(window_paused))
        .route("/api/v1/windows/{w}/cases", get(window_cases))
        .route("/api/v1/cases/{r}", get(case))
        .route("/api/v1/overdue", get(overdue))
        .route("/api/v1/tickets/{r}", get(ticket))
        .route("/api/v1/report", get(report))
        .route("/api/v1/figures", get(figures))
        .route("/api/v1/verify", get(verify))
        .route("/api/v1/calls", get(calls))
        .route("/api/v1/calls/recent", get(recent_calls))
        .route("/api/v1/head", get(head))
        .route("/api/v1/chain/head", get(chain_head))
        .route("/api/v1/notes/{id}", get(note))
        .route("/api/v1/stream", get(stream))
        .with_state(app)
}

/// Why the server could not start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    // Named `error`, not `source`: the message says it already, and a source would make an
    // error chain print it twice.
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: String, error: std::io::Error },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the ledger writer thread panicked")]
    WriterPanicked,
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Serve until SIGTERM or Ctrl+C: stop accepting, let requests in flight finish (for up to
/// `SHUTDOWN_GRACE`, then their connections are cut), end the event streams, then close the
/// ledger (which folds and removes its `-wal` file). Prints
/// `listening on http://ADDR` once ready.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(Listening)) -> Result<(), ServeError> {
    // Every board, counter and phone holds a connection, and the soft default of 1,024 is
    // below a big hall's devices; the door admits what the limit leaves room for.
    let files = match bangban::limits::raise_open_files() {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("cannot raise the open-files limit: {e}");
            1024
        }
    };
    let ledger_opts = LedgerOptions {
        busy_timeout: opts.busy_timeout,
        ..LedgerOptions::default()
    };
    let mut ledger = bangban::open_existing(&opts.db, ledger_opts.clone())?;
    let hall_name = ledger.hall()?.name.clone();
    // The certificate is ready before anything listens: a bad key file stops the start with
    // its name rather than leaving devices to fail their handshakes.
    let tls = match &opts.tls {
        Some(t) => Some(tls::prepare(t, &hall_name)?),
        None => None,
    };
    let (head_tx, head_rx) = watch::channel(ledger.head_seq()?);
    // The head only moves forward: the writer and (on PostgreSQL) the follower of the other
    // servers' writes both report it.
    let head_tx = Arc::new(head_tx);
    let follow_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let follower = match bangban::ledger::pg_at(&opts.db)? {
        Some(mut at) => {
            at.hall = Some(ledger.store_hall().unwrap_or_default());
            let (tx, stop) = (head_tx.clone(), follow_stop.clone());
            Some(
                std::thread::Builder::new()
                    .name("ledger-follower".into())
                    .spawn(move || {
                        bangban::ledger::pg::follow_head(&at, &stop, |h| {
                            tx.send_if_modified(|v| {
                                if h > *v {
                                    *v = h;
                                    true
                                } else {
                                    false
                                }
                            });
                        })
                    })?,
            )
        }
        None => None,
    };
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Job>();
    // Closed once every reader's connection is: the writer's must be the last to close, since
    // only the last connection folds the write-ahead log into the file and removes it, and a
    // reader (query_only) closing last leaves the `-wal` behind.
    let (readers_closed_tx, readers_closed_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || {
            let mut last = *head_tx.borrow();
            for job in jobs_rx {
                job(&mut ledger);
                if let Ok(h) = ledger.head_seq() {
                    if h != last {
                        last = h;
                        head_tx.send_if_modified(|v| {
                            if h > *v {
                                *v = h;
                                true
                            } else {
                                false
                            }
                        });
                    }
                }
            }
            // Every sender is gone: once the readers have closed, fold the write-ahead log
            // into the file and close it.
            let _ = readers_closed_rx.recv();
            if let Err(e) = ledger.checkpoint() {
                tracing::warn!("cannot checkpoint the ledger on shutdown: {e}");
            }
            drop(ledger);
        })?;
    let mut readers = Vec::new();
    let reads_tx = spawn_readers(
        &opts.db,
        &ledger_opts,
        READERS,
        "ledger-reader",
        READER_NICE,
        &mut readers,
    )?;
    // The boards' publisher reads on a connection of its own: behind three hundred consoles'
    // reads in the shared queue, each call reached the boards only after them.
    let publish_tx = spawn_readers(&opts.db, &ledger_opts, 1, "ledger-publisher", 0, &mut readers)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (calls_tx, _) = tokio::sync::broadcast::channel(PUBLISHED_KEPT);
    let app = Arc::new(App {
        ledger: LedgerHandle { jobs: jobs_tx },
        reads: LedgerHandle { jobs: reads_tx },
        publisher: LedgerHandle { jobs: publish_tx },
        devices: Lookups::new(),
        sessions: Lookups::new(),
        calls: calls_tx,
        db: opts.db.clone(),
        head: head_rx,
        stopping: stop_rx,
        lookups: Mutex::new(HashMap::new()),
        token_lookups: Mutex::new(HashMap::new()),
        lookups_per_minute: opts.lookups_per_minute,
        proxies: Mutex::new(None),
        pin_checks: PinCheckers::start()?,
        pin_turns: PinTurns::default(),
        booking: book::Booking::default(),
        office: office::Sessions::default(),
        tls: opts.tls.is_some(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&opts.listen)
            .await
            .map_err(|error| ServeError::Listen {
                addr: opts.listen.clone(),
                error,
            })?;
        tokio::spawn(publish_calls(app.clone()));
        tokio::spawn(book::notifier(app.clone()));
        tokio::spawn(office::auto_close(app.clone()));
        let acceptor = tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(t.config.clone()));
        let shutdown = shutdown_signal()?;
        ready(Listening {
            addr: listener.local_addr()?,
            scheme: if tls.is_some() { "https" } else { "http" },
            ca_fingerprint: tls.as_ref().and_then(|t| t.ca_fingerprint.clone()),
            names: tls.map(|t| t.names).unwrap_or_default(),
        });
        door::serve(listener, router(app.clone()), files, acceptor, async move {
            shutdown.await;
            tracing::info!("stopping: finishing requests in flight");
            let _ = stop_tx.send(true);
        })
        .await;
        Ok::<(), ServeError>(())
    })?;
    // Dropping the runtime ends every task still holding the ledger's door; the writer then
    // sees its channel close and shuts the ledger.
    drop(rt);
    for r in readers {
        let _ = r.join();
    }
    drop(readers_closed_tx);
    writer.join().map_err(|_| ServeError::WriterPanicked)?;
    follow_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(f) = follower {
        let _ = f.join();
    }
    Ok(())
}

/// SIGTERM or Ctrl+C, listened for from the moment this is called (not first polled): a
/// `systemctl stop` right after the server said it listens must stop it cleanly too, not
/// kill it with the signal's default action.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}
