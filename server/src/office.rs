//! The management office in the browser (`/office/`): sign-in with staff id and PIN for the
//! office (the whole hall) or a department's coordinator (their department), a session cookie
//! (`HttpOnly; SameSite=Strict`) with a CSRF token every write must echo, the live dashboard
//! (数据驾驶舱) fed by a stream of its own, complaints with their replies, and the wall screen
//! (`/office/wall`, read-only, opened once with a board device's token). Every write runs an op
//! of `bangban::ops` as the signed-in specialist, so it is an attributed event like any other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bangban::access::DeviceRole;
use bangban::error::LedgerError;
use bangban::hall::Role;
use bangban::ops::Caller;
use serde::{Deserialize, Serialize};

use crate::{beside_writer, client_ip, count_lookup, html_page, page, ApiError, ApiResult, App};

/// The office's cookie, and the wall's.
pub const COOKIE: &str = "bangban_office";
pub const WALL_COOKIE: &str = "bangban_wall";
/// A session ends after this long without a request, and after `SESSION_MAX` in any case.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
pub const SESSION_MAX: Duration = Duration::from_secs(10 * 3600);
/// A wall screen stays signed in for a month of days (it is a board device's screen).
pub const WALL_MAX: Duration = Duration::from_secs(31 * 24 * 3600);
/// The CSRF token's header.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The dashboard is sent again at most this often while the hall moves.
pub const DASHBOARD_EVERY: Duration = Duration::from_secs(1);

/// One signed-in office desk (or wall screen).
#[derive(Clone)]
pub struct OfficeSession {
    pub staff: String,
    pub name: String,
    /// The department a coordinator sees; None: the whole hall (the office).
    pub department: Option<String>,
    pub csrf: String,
    started: Instant,
    seen: Instant,
    /// A wall screen: reads the dashboard, writes nothing.
    pub wall: bool,
}

#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, OfficeSession>>);

fn sha(token: &str) -> String {
    bangban::chain::sha256_hex(token)
}

impl Sessions {
    fn open(&self, s: OfficeSession) -> String {
        let token = bangban::access::new_secret();
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        m.retain(|_, s| alive(s, now));
        m.insert(sha(&token), s);
        token
    }

    fn get(&self, token: &str) -> Option<OfficeSession> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let key = sha(token);
        match m.get_mut(&key) {
            Some(s) if alive(s, now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                m.remove(&key);
                None
            }
            None => None,
        }
    }

    fn close(&self, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&sha(token));
    }
}

fn alive(s: &OfficeSession, now: Instant) -> bool {
    if s.wall {
        now.duration_since(s.started) < WALL_MAX
    } else {
        now.duration_since(s.seen) < SESSION_IDLE && now.duration_since(s.started) < SESSION_MAX
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(r: &mut Response, name: &str, value: &str, max_age: Option<u64>, secure: bool) {
    let mut c = format!("{name}={value}; Path=/office; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append("set-cookie", v);
    }
}

/// The session a request carries (office desk), or 401.
fn session(app: &App, headers: &HeaderMap) -> Result<(String, OfficeSession), ApiError> {
    let token = cookie(headers, COOKIE)
        .ok_or_else(|| ApiError(LedgerError::Unauthorized("sign in at /office/ first".into())))?;
    let s = app
        .office
        .get(&token)
        .filter(|s| !s.wall)
        .ok_or_else(|| ApiError(LedgerError::Unauthorized("the session has ended: sign in again".into())))?;
    Ok((token, s))
}

/// A write's session: its CSRF token must come back in `X-CSRF-Token` (a page of another
/// site cannot read it, so it cannot make the browser write in the office's name).
fn writer(app: &App, headers: &HeaderMap) -> Result<OfficeSession, ApiError> {
    let (_, s) = session(app, headers)?;
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if sent.is_empty() || !bangban::access::same_secret(sent, &s.csrf) {
        return Err(ApiError(LedgerError::Forbidden(
            "the form's security token does not match: reload the page".into(),
        )));
    }
    Ok(s)
}

/// The office page, or its sign-in when there is no session.
pub async fn office_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match cookie(&headers, COOKIE)
        .and_then(|t| app.office.get(&t))
        .filter(|s| !s.wall)
    {
        Some(s) => {
            let today = app
                .reads
                .run(|l| l.business_day())
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|d| d.to_string())
                .unwrap_or_default();
            html_page(
                StatusCode::OK,
                page::office_page(&s.name, &s.staff, s.department.as_deref(), &s.csrf, &today),
            )
        }
        None => html_page(StatusCode::OK, page::office_sign_in()),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    staff: String,
    pin: String,
}

#[derive(Serialize)]
pub struct SignedInOffice {
    staff: String,
    name: String,
    department: Option<String>,
}

/// Sign in with staff id and PIN: the office (whole hall) or a department's coordinator. The
/// same lockout as the consoles (five wrong PINs); every try is a `staff_login` event.
pub async fn sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(form): Json<SignInForm>,
) -> Result<Response, ApiError> {
    let ip = client_ip(&app, addr.ip(), &headers).await;
    if !count_lookup(&app.booking.per_key, format!("o{ip}"), 30) {
        return Err(ApiError(LedgerError::RateLimited));
    }
    let staff_id = form.staff.trim().to_string();
    let st = staff_id.clone();
    let (person, stored) = app
        .reads
        .run(move |l| -> bangban::Result<_> {
            let hall = l.hall()?;
            let person = hall
                .specialist(&st)
                .cloned()
                .ok_or_else(|| LedgerError::UnknownStaff(st.clone()))?;
            Ok((person, l.pin_record_of(&st)?))
        })
        .await??;
    let department = match person.role {
        Role::Office => None,
        Role::Coordinator => Some(person.department.clone()),
        Role::Handler => {
            return Err(ApiError(LedgerError::Forbidden(format!(
                "{} is a handler: the office's pages are for the management office and the departments' coordinators",
                person.name
            ))))
        }
    };
    let _turn = app.pin_turns.take(&staff_id).await;
    let pin = form.pin;
    let stored2 = stored.clone();
    let checked = beside_writer(&app, move || stored2.check(&pin)).await?;
    let sid = staff_id.clone();
    app.ledger
        .run(move |l| l.record_login(&sid, 0, &stored, &checked))
        .await??;
    let now = Instant::now();
    let token = app.office.open(OfficeSession {
        staff: staff_id.clone(),
        name: person.name.clone(),
        department: department.clone(),
        csrf: bangban::access::new_secret(),
        started: now,
        seen: now,
        wall: false,
    });
    let mut r = Json(SignedInOffice {
        staff: staff_id,
        name: person.name,
        department,
    })
    .into_response();
    set_cookie(&mut r, COOKIE, &token, None, app.tls);
    Ok(r)
}

pub async fn sign_out(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    writer(&app, &headers)?;
    if let Some(t) = cookie(&headers, COOKIE) {
        app.office.close(&t);
    }
    let mut r = Json(serde_json::json!({"signed_out": true})).into_response();
    set_cookie(&mut r, COOKIE, "", Some(0), app.tls);
    Ok(r)
}

/// The dashboard as JSON, for the session's scope.
pub async fn dashboard(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<bangban::ledger::Dashboard> {
    let scope = scope(&app, &headers)?;
    Ok(Json(app.reads.run(move |l| l.dashboard(scope.as_deref())).await??))
}

/// A desk's or a wall's scope: the department it sees (None: the hall).
fn scope(app: &App, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if let Some(s) = cookie(headers, WALL_COOKIE)
        .and_then(|t| app.office.get(&t))
        .filter(|s| s.wall)
    {
        return Ok(s.department);
    }
    Ok(session(app, headers)?.1.department)
}

/// The dashboard, live: sent on connecting, then again (at most once a second) whenever the
/// ledger moves, with a comment every 10 s to keep proxies from closing a quiet stream.
pub async fn stream(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let scope = scope(&app, &headers)?;
    struct St {
        app: Arc<App>,
        scope: Option<String>,
        head: tokio::sync::watch::Receiver<i64>,
        first: bool,
        last: Instant,
    }
    let st = St {
        head: app.head.clone(),
        app,
        scope,
        first: true,
        last: Instant::now() - DASHBOARD_EVERY,
    };
    let s = futures_util::stream::unfold(st, |mut st| async move {
        if *st.app.stopping.borrow() {
            return None;
        }
        if !st.first {
            let mut stopping = st.app.stopping.clone();
            tokio::select! {
                changed = st.head.changed() => { if changed.is_err() { return None; } }
                _ = tokio::time::sleep(Duration::from_secs(10)) => {
                    return Some((Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(b": alive\n\n")), st));
                }
                _ = stopping.changed() => return None,
            }
            let wait = DASHBOARD_EVERY.saturating_sub(st.last.elapsed());
            tokio::time::sleep(wait).await;
            st.head.borrow_and_update();
        }
        st.first = false;
        st.last = Instant::now();
        let scope = st.scope.clone();
        let text = match st.app.reads.run(move |l| l.dashboard(scope.as_deref())).await {
            Ok(Ok(d)) => format!(
                "event: dashboard\ndata: {}\n\n",
                serde_json::to_string(&d).unwrap_or_default()
            ),
            Ok(Err(e)) => format!(
                "event: problem\ndata: {}\n\n",
                serde_json::to_string(&e.to_string()).unwrap_or_default()
            ),
            Err(_) => return None,
        };
        Some((Ok(axum::body::Bytes::from(text)), st))
    });
    let mut r = axum::body::Body::from_stream(s).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Complaints and suggestions of the session's scope, newest first (the texts are the
/// office's to read).
pub async fn feedback(State(app): State<Arc<App>>, headers: HeaderMap) -> ApiResult<Vec<bangban::Feedback>> {
    let (_, s) = session(&app, &headers)?;
    let department = s.department.clone();
    let mut list = app
        .reads
        .run(move |l| l.feedback_list(false, department.as_deref()))
        .await??;
    list.reverse();
    Ok(Json(list))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    reply: String,
}

/// Reply to a complaint or suggestion, as the signed-in specialist (`feedback/reply`).
pub async fn reply(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(form): Json<ReplyForm>,
) -> ApiResult<bangban::Feedback> {
    let s = writer(&app, &headers)?;
    if let Some(d) = &s.department {
        let d = d.clone();
        let theirs = app.reads.run(move |l| l.feedback(id)).await??;
        if theirs.department.as_deref() != Some(d.as_str()) {
            return Err(ApiError(LedgerError::Forbidden(format!(
                "complaint {id} is another department's: its coordinator or the office replies"
            ))));
        }
    }
    let by = caller(&s);
    let op = bangban::ops::FeedbackReply { id, reply: form.reply };
    Ok(Json(
        app.ledger.run(move |l| bangban::ops::run_here(op, l, &by)).await??,
    ))
}

/// The cases escalated to the office (协调会商) of the session's scope, with reasons and meetings.
pub async fn coordination(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> ApiResult<Vec<bangban::ledger::CoordinationCase>> {
    let (_, s) = session(&app, &headers)?;
    let department = s.department.clone();
    Ok(Json(
        app.reads.run(move |l| l.coordination(department.as_deref())).await??,
    ))
}

#[derive(Deserialize)]
pub struct MeetingForm {
    case: String,
    held_at: String,
    /// Staff ids, separated by commas or spaces.
    participants: String,
    minutes: String,
    decision: String,
    #[serde(default)]
    follow_up: String,
    /// 首席代表 and outside parties (name and unit), as typed.
    #[serde(default)]
    chiefs: String,
    #[serde(default)]
    outside: String,
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    case: String,
    outcome: String,
}

/// Only the management office records meetings and outcomes (a coordinator escalates).
fn office_only(s: &OfficeSession) -> Result<(), ApiError> {
    if s.department.is_some() {
        return Err(ApiError(LedgerError::Forbidden(
            "only the management office records coordination meetings and their outcomes".into(),
        )));
    }
    Ok(())
}

/// Act on a case as the office's specialist, at a window of their own department (the one
/// the event names; the office acts from its desk, not a counter).
async fn act_as_office(
    app: &App,
    s: &OfficeSession,
    case: String,
    action: bangban::CaseAction,
) -> ApiResult<bangban::Case> {
    let staff = s.staff.clone();
    Ok(Json(
        app.ledger
            .run(move |l| -> bangban::Result<bangban::Case> {
                let hall = l.hall()?;
                let window = hall
                    .specialist(&staff)
                    .and_then(|p| hall.department(&p.department))
                    .and_then(|d| d.windows.first().copied())
                    .ok_or_else(|| LedgerError::UnknownStaff(staff.clone()))?;
                l.act(&case, window, &staff, &action)
            })
            .await??,
    ))
}

/// Record a coordination meeting: when, who, minutes, decision and the date to follow it up
/// (an alert until the outcome is recorded).
pub async fn meeting(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(f): Json<MeetingForm>,
) -> ApiResult<bangban::Case> {
    let s = writer(&app, &headers)?;
    office_only(&s)?;
    let participants = f
        .participants
        .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let action = bangban::CaseAction::Meeting {
        held_at: f.held_at.trim().to_string(),
        participants,
        minutes: f.minutes,
        decision: f.decision,
        follow_up: Some(f.follow_up.trim().to_string()).filter(|d| !d.is_empty()),
        chiefs: Some(f.chiefs).filter(|t| !t.trim().is_empty()),
        outside: Some(f.outside).filter(|t| !t.trim().is_empty()),
    };
    act_as_office(&app, &s, f.case, action).await
}

/// Record the coordination's outcome: the case resumes at its department.
pub async fn resolve(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(f): Json<OutcomeForm>,
) -> ApiResult<bangban::Case> {
    let s = writer(&app, &headers)?;
    office_only(&s)?;
    act_as_office(&app, &s, f.case, bangban::CaseAction::Resolve { outcome: f.outcome }).await
}

#[derive(Deserialize)]
pub struct CaseQuery {
    #[serde(rename = "ref")]
    case: String,
}

/// One case with its history in words (案件页); a coordinator reads their department's only.
pub async fn case_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CaseQuery>,
) -> ApiResult<bangban::ledger::CasePage> {
    let (_, s) = session(&app, &headers)?;
    let page = app.reads.run(move |l| l.case_page(&q.case)).await??;
    if s.department.as_ref().is_some_and(|d| d != &page.department) {
        return Err(ApiError(LedgerError::Forbidden(format!(
            "{} is another department's case",
            page.number
        ))));
    }
    Ok(Json(page))
}

#[derive(Deserialize)]
pub struct FormQuery {
    kind: String,
    #[serde(rename = "ref")]
    case: String,
}

/// A case's form as an A4 PDF (the same as `bangban form`), to print or save from the case page.
pub async fn form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<FormQuery>,
) -> Result<Response, ApiError> {
    let (_, s) = session(&app, &headers)?;
    let kind = bangban_forms::FormKind::parse(&q.kind)
        .ok_or_else(|| ApiError(LedgerError::Invalid(format!("no form {:?}", q.kind))))?;
    let department = s.department.clone();
    let (pdf, name) = app
        .reads
        .run(move |l| -> bangban::Result<(Vec<u8>, String)> {
            let hall = l.hall()?;
            let case = l.find_case(&q.case)?;
            if department.as_ref().is_some_and(|d| d != &case.department) {
                return Err(LedgerError::Forbidden(format!(
                    "{} is another department's case",
                    case.number
                )));
            }
            let case_ref = format!("{}/{}", case.business_day, case.number);
            // The signed form once the visitor signed it on the pad, as the CLI prints it.
            let pdf = match l.signed_form(kind, &case_ref)? {
                Some(s) => bangban_forms::render_signed(&s, &hall),
                None => bangban_forms::render(&l.form(kind, &case_ref)?, None),
            }
            .map_err(|e| LedgerError::Invalid(e.to_string()))?;
            Ok((
                pdf,
                format!("{}-{}-{}.pdf", kind.as_str(), case.business_day, case.number),
            ))
        })
        .await??;
    let mut r = pdf.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        r.headers_mut().insert("content-disposition", v);
    }
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
pub struct RecordsQuery {
    kind: String,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
}

/// A register of the session's scope (a coordinator's department only).
async fn register(
    app: &App,
    headers: &HeaderMap,
    q: &RecordsQuery,
) -> Result<(bangban::RecordKind, Vec<bangban::RecordRow>), ApiError> {
    let (_, s) = session(app, headers)?;
    let kind = bangban::RecordKind::ALL
        .into_iter()
        .find(|k| k.as_str() == q.kind)
        .ok_or_else(|| ApiError(LedgerError::Invalid(format!("no register {:?}", q.kind))))?;
    let (from, to) = (q.from, q.to);
    let mut rows = app.reads.run(move |l| l.records(kind, from, to)).await??;
    if let Some(d) = &s.department {
        rows.retain(|r| &r.department == d);
    }
    Ok((kind, rows))
}

pub async fn records(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<RecordsQuery>,
) -> ApiResult<Vec<bangban::RecordRow>> {
    Ok(Json(register(&app, &headers, &q).await?.1))
}

/// The register as the office files it: `/office/records.xlsx` or `.csv` (the same files as
/// `bangban records`), downloaded.
pub async fn records_file(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    axum::extract::Query(q): axum::extract::Query<RecordsQuery>,
) -> Result<Response, ApiError> {
    let (kind, rows) = register(&app, &headers, &q).await?;
    let (bytes, mime, ext) = match file.as_str() {
        "records.xlsx" => (
            crate::registers::records_xlsx(kind, q.from, q.to, &rows)
                .map_err(|e| ApiError(LedgerError::Invalid(e.to_string())))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        "records.csv" => (
            crate::registers::records_csv(&rows)
                .map_err(|e| ApiError(LedgerError::Invalid(e.to_string())))?
                .into_bytes(),
            "text/csv; charset=utf-8",
            "csv",
        ),
        _ => return Err(ApiError(LedgerError::UnknownCase(file))),
    };
    let mut r = bytes.into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}-{}.{ext}\"",
        kind.as_str(),
        q.from,
        q.to
    )) {
        r.headers_mut().insert("content-disposition", v);
    }
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
pub struct DayQuery {
    date: chrono::NaiveDate,
}

/// A day's appointments (预约), the phones masked.
pub async fn appointments(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<DayQuery>,
) -> ApiResult<Vec<bangban::Appointment>> {
    let (_, s) = session(&app, &headers)?;
    let department = s.department.clone();
    let list = app
        .reads
        .run(move |l| -> bangban::Result<Vec<bangban::Appointment>> {
            let hall = l.hall()?;
            let mut list = l.appointments_on(q.date)?;
            if let Some(d) = &department {
                list.retain(|a| hall.item(&a.item).is_some_and(|i| &i.department == d));
            }
            Ok(list)
        })
        .await??;
    Ok(Json(list))
}

#[derive(Deserialize)]
pub struct BookForm {
    item: String,
    /// `YYYY-MM-DD HH:MM`, hall time.
    at: String,
    phone: String,
}

/// Book for a caller (来电预约) as the signed-in specialist (`appointments/add`).
pub async fn book(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(f): Json<BookForm>,
) -> ApiResult<bangban::Appointment> {
    let s = writer(&app, &headers)?;
    let by = caller(&s);
    let op = bangban::ops::AppointmentAdd {
        item: f.item,
        at: f.at,
        phone: f.phone,
        channel: "phone".into(),
        from_case: None,
    };
    Ok(Json(
        app.ledger.run(move |l| bangban::ops::run_here(op, l, &by)).await??,
    ))
}

#[derive(Deserialize)]
pub struct CancelForm {
    code: String,
}

pub async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(f): Json<CancelForm>,
) -> ApiResult<bangban::Appointment> {
    let s = writer(&app, &headers)?;
    let by = caller(&s);
    let op = bangban::ops::AppointmentCancel { code: f.code };
    Ok(Json(
        app.ledger.run(move |l| bangban::ops::run_here(op, l, &by)).await??,
    ))
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    date: Option<chrono::NaiveDate>,
}

/// 日结: the office closes the day (`close-day`), as `bangban close-day` does.
pub async fn close_day(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(f): Json<CloseForm>,
) -> ApiResult<bangban::DayClose> {
    let s = writer(&app, &headers)?;
    office_only(&s)?;
    let by = caller(&s);
    let op = bangban::ops::CloseDay { date: f.date };
    Ok(Json(
        app.ledger.run(move |l| bangban::ops::run_here(op, l, &by)).await??,
    ))
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
}

/// The scorecards of a period (评先树优, 通报批评): per department and specialist, of the
/// session's scope.
pub async fn figures(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<PeriodQuery>,
) -> ApiResult<bangban::Figures> {
    let (_, s) = session(&app, &headers)?;
    let mut f = app.reads.run(move |l| l.figures(q.from, q.to)).await??;
    if let Some(d) = &s.department {
        f.departments.retain(|x| &x.code == d);
        f.specialists.retain(|x| &x.department == d);
    }
    Ok(Json(f))
}

/// The automatic daily close: a day left unclosed is closed at the next opening, and with
/// `close_automatically` in the hall file today is closed once the hall has closed; both
/// recorded as `auto-close` like the office's own close; checked every 30 s.
pub async fn auto_close(app: Arc<App>) {
    let mut stopping = app.stopping.clone();
    let mut first = true;
    loop {
        // At once on starting (a server started after closing time), then every 30 s.
        if !first {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = stopping.changed() => {}
            }
        }
        first = false;
        if *app.stopping.borrow() {
            return;
        }
        let done = app
            .ledger
            .run(|l| -> bangban::Result<Option<bangban::DayClose>> {
                // A day nobody closed is closed at the next opening, whatever the hall file
                // says: its unserved tickets must not wait for ever.
                if let Some(day) = l.unclosed_day()? {
                    if l.hall_has_opened_now()? {
                        return l.close_day(day, "auto-close").map(Some);
                    }
                }
                let hall = l.hall()?;
                if !hall.close_automatically {
                    return Ok(None);
                }
                let today = l.business_day()?;
                if l.day_closed_seq(today)?.is_some() || !bangban::ledger::hall_has_closed_now(l)? {
                    return Ok(None);
                }
                l.close_day(today, "auto-close").map(Some)
            })
            .await;
        match done {
            Ok(Ok(Some(d))) => tracing::info!("closed the business day {} by itself", d.business_day),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!("the automatic daily close failed: {e}"),
            Err(_) => return,
        }
    }
}

/// The signed-in specialist as the ops see them: an office desk acting for that person.
fn caller(s: &OfficeSession) -> Caller {
    Caller {
        actor: s.staff.clone(),
        role: DeviceRole::Office,
        staff: Some(bangban::api::SignedIn {
            staff: s.staff.clone(),
            window: 0,
            expires_at: String::new(),
        }),
        window: None,
    }
}

/// The wall screen: its page when opened with a board's token, else the form for it.
pub async fn wall_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match cookie(&headers, WALL_COOKIE)
        .and_then(|t| app.office.get(&t))
        .filter(|s| s.wall)
    {
        Some(s) => html_page(StatusCode::OK, page::wall_page(s.department.as_deref())),
        None => html_page(StatusCode::OK, page::wall_sign_in()),
    }
}

#[derive(Deserialize)]
pub struct WallForm {
    token: String,
}

/// Open the wall with a board device's token (or an office's): the token is checked once and
/// never stored in the browser; the cookie names a wall session that can only read.
pub async fn wall_sign_in(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(form): Json<WallForm>,
) -> Result<Response, ApiError> {
    let ip = client_ip(&app, addr.ip(), &headers).await;
    if !count_lookup(&app.booking.per_key, format!("o{ip}"), 30) {
        return Err(ApiError(LedgerError::RateLimited));
    }
    let token = form.token.trim().to_string();
    let device = app
        .reads
        .run(move |l| l.device_for_token(&token))
        .await??
        .ok_or_else(|| ApiError(LedgerError::Unauthorized("unknown or revoked device token".into())))?;
    if !matches!(device.role, DeviceRole::Board | DeviceRole::Office | DeviceRole::Admin) {
        return Err(ApiError(LedgerError::Forbidden(format!(
            "device {} is a {}; the wall needs a board's token",
            device.name,
            device.role.as_str()
        ))));
    }
    let now = Instant::now();
    let session = app.office.open(OfficeSession {
        staff: device.name.clone(),
        name: device.name,
        department: None,
        csrf: bangban::access::new_secret(),
        started: now,
        seen: now,
        wall: true,
    });
    let mut r = Json(serde_json::json!({"wall": true})).into_response();
    set_cookie(&mut r, WALL_COOKIE, &session, Some(WALL_MAX.as_secs()), app.tls);
    Ok(r)
}

/// The charts' library, served by the hall server itself (nothing is fetched from outside).
pub async fn echarts() -> Response {
    let mut r = ECHARTS.into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("public, max-age=604800"));
    r
}

/// Apache ECharts (Apache-2.0; `server/assets/echarts/` keeps its LICENSE and NOTICE).
pub const ECHARTS: &[u8] = include_bytes!("../assets/echarts/echarts.common.min.js");
