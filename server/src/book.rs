//! The visitor's self-booking page (`GET /book`, 预约) and its JSON, and the notifier that
//! sends the outbox's messages through the hall's hook. A booking needs the phone proved by a
//! six-digit code sent to it; the page asks for nothing else. Codes live in memory for ten
//! minutes; every step is rate-limited per address and per phone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use bangban::error::LedgerError;
use chrono::{Datelike, NaiveDate};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{client_ip, count_lookup, html_page, page, ApiError, ApiResult, App};

/// How long a phone's verification code may be used, and how many wrong tries it takes.
pub const CODE_FOR: Duration = Duration::from_secs(600);
pub const CODE_TRIES: u32 = 5;
/// Days ahead the page offers.
pub const DAYS_AHEAD: i64 = 14;
/// Per address and minute: page reads, and verification codes or bookings.
pub const READS_PER_MINUTE: u32 = 120;
pub const WRITES_PER_MINUTE: u32 = 10;

/// The booking page's memory: verification codes by phone, and the allowances.
#[derive(Default)]
pub struct Booking {
    codes: Mutex<HashMap<String, (String, Instant, u32)>>,
    pub(crate) per_key: Mutex<HashMap<String, (Instant, u32)>>,
    /// When each phone last booked: one booking per phone a minute.
    booked: Mutex<HashMap<String, Instant>>,
}

fn limited(app: &App, key: String, allowance: u32) -> Result<(), ApiError> {
    if count_lookup(&app.booking.per_key, key, allowance) {
        Ok(())
    } else {
        Err(ApiError(LedgerError::RateLimited))
    }
}

async fn address(app: &App, addr: SocketAddr, headers: &HeaderMap) -> String {
    client_ip(app, addr.ip(), headers).await.to_string()
}

pub async fn book_page() -> Response {
    html_page(StatusCode::OK, page::book_page())
}

#[derive(Serialize)]
pub struct BookItem {
    code: String,
    name: String,
    name_en: String,
    window: u32,
    materials: Vec<String>,
}

#[derive(Serialize)]
pub struct BookDepartment {
    code: String,
    name: String,
    name_en: String,
    items: Vec<BookItem>,
}

#[derive(Serialize)]
pub struct BookDay {
    date: String,
    weekday: u32,
}

#[derive(Serialize)]
pub struct BookHall {
    name: String,
    name_en: String,
    open: String,
    close: String,
    /// Whether the hall sends messages at all (without, the page cannot prove a phone).
    messages: bool,
    departments: Vec<BookDepartment>,
    /// The working days ahead, from today.
    days: Vec<BookDay>,
}

/// The departments and their items with materials, and the working days ahead.
pub async fn book_hall(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<BookHall> {
    limited(
        &app,
        format!("r{}", address(&app, addr, &headers).await),
        READS_PER_MINUTE,
    )?;
    let out = app
        .reads
        .run(|l| -> bangban::Result<BookHall> {
            let hall = l.hall()?;
            let today = l.business_day()?;
            let departments = hall
                .departments
                .iter()
                .map(|d| BookDepartment {
                    code: d.code.clone(),
                    name: d.name.clone(),
                    name_en: d.english_name().to_string(),
                    items: hall
                        .items
                        .iter()
                        .filter(|i| i.department == d.code)
                        .map(|i| BookItem {
                            code: i.code.clone(),
                            name: hall.item_name(&i.code),
                            name_en: i.english_name().to_string(),
                            window: i.window,
                            materials: i.materials.clone(),
                        })
                        .collect(),
                })
                .filter(|d| !d.items.is_empty())
                .collect();
            let days = (0..=DAYS_AHEAD)
                .filter_map(|n| today.checked_add_signed(chrono::Duration::days(n)))
                .filter(|d| hall.calendar.is_working_day(*d))
                .map(|d| BookDay {
                    date: d.to_string(),
                    weekday: d.weekday().num_days_from_monday(),
                })
                .collect();
            Ok(BookHall {
                name: hall.name.clone(),
                name_en: hall.name_en.clone(),
                open: hall.open.clone(),
                close: hall.close.clone(),
                messages: hall.notify.enabled(),
                departments,
                days,
            })
        })
        .await??;
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct SlotQuery {
    item: String,
    date: NaiveDate,
}

pub async fn book_slots(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<SlotQuery>,
) -> ApiResult<Vec<bangban::ledger::FreeSlot>> {
    limited(
        &app,
        format!("r{}", address(&app, addr, &headers).await),
        READS_PER_MINUTE,
    )?;
    Ok(Json(app.reads.run(move |l| l.free_slots(&q.item, q.date)).await??))
}

#[derive(Deserialize)]
pub struct CodeAsked {
    phone: String,
}

#[derive(Serialize)]
pub struct CodeSent {
    sent: bool,
    /// The number it went to, masked.
    phone: String,
    expires_in_s: u64,
}

/// Send a six-digit code to the phone: one per phone a minute, ten per address.
pub async fn book_code(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(asked): Json<CodeAsked>,
) -> ApiResult<CodeSent> {
    let phone = bangban::ledger::mobile(&asked.phone)?;
    limited(
        &app,
        format!("w{}", address(&app, addr, &headers).await),
        WRITES_PER_MINUTE,
    )?;
    limited(&app, format!("c{phone}"), 1)?;
    let hall = app.reads.run(|l| l.hall()).await??;
    if !hall.notify.enabled() {
        return Err(ApiError(LedgerError::Invalid(
            "this hall sends no messages: book at the service desk or by phone".into(),
        )));
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let text = format!("【{}】您的预约验证码 {code}，10 分钟内有效。请勿告诉他人。", hall.name);
    let notify = hall.notify.clone();
    let to = phone.clone();
    let sent = tokio::task::spawn_blocking(move || bangban::notify::deliver_text(&notify, &to, &text, "verify"))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(e) = sent {
        tracing::warn!("a booking code to {} was not sent: {e}", bangban::mask_phone(&phone));
        return Err(ApiError(LedgerError::Unreachable(
            "the code could not be sent just now: try again in a minute".into(),
        )));
    }
    app.booking
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(phone.clone(), (code, Instant::now(), 0));
    Ok(Json(CodeSent {
        sent: true,
        phone: bangban::mask_phone(&phone),
        expires_in_s: CODE_FOR.as_secs(),
    }))
}

#[derive(Deserialize)]
pub struct BookAsked {
    item: String,
    date: NaiveDate,
    /// The slot's start, `HH:MM`.
    time: String,
    phone: String,
    /// The verification code sent to the phone.
    code: String,
}

#[derive(Serialize)]
pub struct Booked {
    /// The six-digit check-in code for the kiosk (also sent by message).
    code: String,
    item: String,
    item_name: String,
    local_time: String,
    check_in_from: String,
    check_in_until: String,
    phone: String,
}

/// Book: the phone proved by its code; one booking per phone a minute.
pub async fn book(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(asked): Json<BookAsked>,
) -> ApiResult<Booked> {
    let phone = bangban::ledger::mobile(&asked.phone)?;
    limited(
        &app,
        format!("w{}", address(&app, addr, &headers).await),
        WRITES_PER_MINUTE,
    )?;
    {
        let booked = app.booking.booked.lock().unwrap_or_else(|p| p.into_inner());
        if booked
            .get(&phone)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            return Err(ApiError(LedgerError::RateLimited));
        }
    }
    {
        let mut codes = app.booking.codes.lock().unwrap_or_else(|p| p.into_inner());
        let ok = match codes.get_mut(&phone) {
            Some((code, at, tries)) if at.elapsed() < CODE_FOR && *tries < CODE_TRIES => {
                *tries += 1;
                *code == asked.code.trim()
            }
            _ => false,
        };
        if !ok {
            return Err(ApiError(LedgerError::Invalid(
                "the verification code is wrong or has expired: ask for a new one".into(),
            )));
        }
    }
    let at = format!("{} {}", asked.date, asked.time.trim());
    let item = asked.item.clone();
    let who = phone.clone();
    let a = app
        .ledger
        .run(move |l| l.book_appointment(&item, &at, &who, "book-page", "online"))
        .await??;
    // The code is spent by a booking, not by a refused one (a full slot, a closed day).
    app.booking
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&phone);
    let mut booked = app.booking.booked.lock().unwrap_or_else(|p| p.into_inner());
    booked.retain(|_, t| t.elapsed() < Duration::from_secs(60));
    booked.insert(phone, Instant::now());
    Ok(Json(Booked {
        code: a.code,
        item: a.item,
        item_name: a.item_name,
        local_time: a.local_time,
        check_in_from: a.check_in_from,
        check_in_until: a.check_in_until,
        phone: a.phone,
    }))
}

#[derive(Deserialize)]
pub struct CancelAsked {
    code: String,
}

#[derive(Serialize)]
pub struct Cancelled {
    cancelled: bool,
    local_time: String,
    item_name: String,
}

/// Cancel with the check-in code (ten tries per address a minute: codes are not guessed).
pub async fn book_cancel(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(asked): Json<CancelAsked>,
) -> ApiResult<Cancelled> {
    limited(
        &app,
        format!("w{}", address(&app, addr, &headers).await),
        WRITES_PER_MINUTE,
    )?;
    let a = app
        .ledger
        .run(move |l| l.cancel_appointment(&asked.code, "book-page"))
        .await??;
    Ok(Json(Cancelled {
        cancelled: true,
        local_time: a.local_time,
        item_name: a.item_name,
    }))
}

/// The notifier: every half second, watched messages whose moment came become due, and the
/// due ones are sent through the hall's hook one by one, off the writer, each try reported
/// back. A hook that fails or hangs costs the hall nothing but its own retries.
pub async fn notifier(app: Arc<App>) {
    let mut stopping = app.stopping.clone();
    let mut seen_head = -1;
    let mut last_watch = Instant::now() - Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stopping.changed() => {}
        }
        if *app.stopping.borrow() {
            return;
        }
        // Watch again when the ledger moved (a call changes who is near), else every 10 s.
        let head = *app.head.borrow();
        let watch = head != seen_head || last_watch.elapsed() >= Duration::from_secs(10);
        if watch {
            seen_head = head;
            last_watch = Instant::now();
        }
        let claimed = app
            .ledger
            .run(
                move |l| -> bangban::Result<(bangban::hall::Notify, Vec<bangban::ledger::Outgoing>)> {
                    let notify = l.hall()?.notify.clone();
                    if !notify.enabled() {
                        return Ok((notify, Vec::new()));
                    }
                    if watch {
                        l.messages_watch()?;
                    }
                    Ok((notify, l.messages_claim(20)?))
                },
            )
            .await;
        let (notify, due) = match claimed {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                tracing::warn!("the outbox could not be read: {e}");
                continue;
            }
            Err(_) => return,
        };
        for m in due {
            let cfg = notify.clone();
            let (id, kind, masked, attempt) = (m.id, m.kind.clone(), bangban::mask_phone(&m.phone), m.attempt);
            let outcome = tokio::task::spawn_blocking(move || bangban::notify::deliver(&cfg, &m))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            match &outcome {
                Ok(()) => tracing::info!("message {id} ({kind}) sent to {masked}"),
                Err(e) if attempt >= notify.attempts.max(1) => {
                    tracing::error!("message {id} ({kind}) to {masked} given up after {attempt} tries: {e}")
                }
                Err(e) => tracing::warn!("message {id} ({kind}) to {masked} failed (try {attempt}), will retry: {e}"),
            }
            if app.ledger.run(move |l| l.message_sent(id, outcome)).await.is_err() {
                return;
            }
        }
    }
}
