//! Who may do what: devices enrolled on the server host (a role and a token each), staff
//! sessions opened with a PIN on one counter device at one window, and the outcome of client
//! request ids. The server checks these; the ledger keeps them beside the log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::RngCore;

use serde::{Deserialize, Serialize};

use crate::chain;
use crate::clock::{parse_stamp, stamp};
use crate::error::{LedgerError, Result};
use crate::ledger::{append_in, Ledger};
use crate::model::EventBody;
use crate::store::{DeviceRow, SessionRow, SessionsOf, SideQuery, SideRow, SideWrite};

/// What an enrolled device may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// Issues tickets and records print outcomes.
    Kiosk,
    /// Reads and follows the event stream; changes nothing.
    Board,
    /// Acts for a specialist once they have signed in on it with their PIN.
    Counter,
    /// The management office's scripts: every operation, staff actions still need a PIN.
    Admin,
    /// The management office's desk PCs (管理办公室): registers, figures, the daily close,
    /// complaints, appointments, ratings and verify — the office's work, but neither issuing
    /// nor calling, nor enrolling devices.
    Office,
    /// A counter's rating pad (评价器), bound to its window: reads what its window shows the
    /// visitor and records the visitor's rating of a visit served there.
    Pad,
}

impl DeviceRole {
    pub const ALL: [DeviceRole; 6] = [
        DeviceRole::Kiosk,
        DeviceRole::Board,
        DeviceRole::Counter,
        DeviceRole::Admin,
        DeviceRole::Office,
        DeviceRole::Pad,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Kiosk => "kiosk",
            DeviceRole::Board => "board",
            DeviceRole::Counter => "counter",
            DeviceRole::Admin => "admin",
            DeviceRole::Office => "office",
            DeviceRole::Pad => "pad",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceRole> {
        match s {
            "kiosk" => Some(DeviceRole::Kiosk),
            "board" => Some(DeviceRole::Board),
            "counter" => Some(DeviceRole::Counter),
            "admin" => Some(DeviceRole::Admin),
            "office" => Some(DeviceRole::Office),
            "pad" => Some(DeviceRole::Pad),
            _ => None,
        }
    }
}

/// An enrolled device as listed (never with its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub name: String,
    pub role: DeviceRole,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The one window a counter signs in at, when it was enrolled bound to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
}

/// A specialist's signed-in session on one device at one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Shown to the device once; the ledger keeps only its SHA-256.
    pub token: String,
    pub staff: String,
    pub device: String,
    pub window: u32,
    pub expires_at: String,
}

impl Session {
    /// What the device is told of its session (everything but the token).
    pub fn signed_in(&self) -> crate::api::SignedIn {
        crate::api::SignedIn {
            staff: self.staff.clone(),
            window: self.window,
            expires_at: self.expires_at.clone(),
        }
    }
}

/// How long a counter session lasts: one working day, so a console left signed in overnight
/// asks for the PIN again in the morning.
pub const SESSION_HOURS: i64 = 12;

/// A new random token: 256 bits, hex.
/// Whether two secrets are equal, compared in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn valid_device_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl Ledger {
    /// Enrol a device; returns its token, which is shown once and stored only as a hash.
    pub fn add_device(&mut self, name: &str, role: DeviceRole, actor: &str) -> Result<String> {
        self.add_device_at(name, role, None, actor)
    }

    /// Enrol a device, a counter optionally bound to one window: a specialist then signs in on
    /// it at that window only (a copied token does not call at another).
    pub fn add_device_at(&mut self, name: &str, role: DeviceRole, window: Option<u32>, actor: &str) -> Result<String> {
        if role == DeviceRole::Pad && window.is_none() {
            return Err(LedgerError::Invalid(
                "a rating pad belongs to one window: give --window N".into(),
            ));
        }
        if let Some(w) = window {
            if !matches!(role, DeviceRole::Counter | DeviceRole::Pad) {
                return Err(LedgerError::Invalid(format!(
                    "--window binds a counter to its window (or a rating pad to its own); a {} is not bound to one",
                    role.as_str()
                )));
            }
            if !self.hall()?.all_windows().contains(&w) {
                return Err(LedgerError::UnknownWindow(w));
            }
        }
        if !valid_device_name(name) {
            return Err(LedgerError::Invalid(format!(
                "device name {name:?}: use letters, digits, '-', '_' or '.' (at most 64), e.g. kiosk-1 or counter-12"
            )));
        }
        let token = new_secret();
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        let exists = match tx.side(SideQuery::Device(name))?.pop() {
            Some(SideRow::Device(d)) => Some(d.revoked_at),
            _ => None,
        };
        if let Some(None) = exists {
            return Err(LedgerError::Invalid(format!(
                "device {name:?} is already enrolled: revoke it first to issue a new token"
            )));
        }
        tx.put(SideWrite::Device(&DeviceRow {
            name: name.into(),
            role: role.as_str().into(),
            token_sha256: chain::sha256_hex(&token),
            created_at: at.clone(),
            revoked_at: None,
            window,
        }))?;
        append_in(
            &*tx,
            &at,
            actor,
            None,
            &EventBody::DeviceEnrolled {
                name: name.into(),
                role: role.as_str().into(),
                key: Some(chain::sha256_hex(&chain::sha256_hex(&token))),
                window,
            },
        )?;
        tx.commit()?;
        Ok(token)
    }

    pub fn list_devices(&self) -> Result<Vec<Device>> {
        let mut out = Vec::new();
        for row in self.store.read().side(SideQuery::Devices)? {
            let SideRow::Device(DeviceRow {
                name,
                role,
                created_at,
                revoked_at,
                window,
                ..
            }) = row
            else {
                continue;
            };
            let role = DeviceRole::parse(&role)
                .ok_or_else(|| LedgerError::Corrupt(format!("device {name:?} has an unknown role {role:?}")))?;
            out.push(Device {
                name,
                role,
                created_at,
                revoked_at,
                window,
            });
        }
        Ok(out)
    }

    /// Revoke a device: its token stops working at once, and its staff sessions end.
    pub fn revoke_device(&mut self, name: &str, actor: &str) -> Result<()> {
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        let n = tx.put(SideWrite::DeviceRevoked { name, at: &at })?;
        if n == 0 {
            return Err(LedgerError::Invalid(format!("no enrolled device named {name:?}")));
        }
        tx.put(SideWrite::SessionsEnded {
            of: SessionsOf::Device(name),
            at: &at,
        })?;
        append_in(&*tx, &at, actor, None, &EventBody::DeviceRevoked { name: name.into() })?;
        tx.commit()?;
        Ok(())
    }

    /// The hall a token's device belongs to when it is another hall of the same database: a
    /// device of hall A is refused in hall B as not allowed (403), not as unknown.
    pub fn device_hall_elsewhere(&self, token: &str) -> Result<Option<String>> {
        let sha = chain::sha256_hex(token);
        Ok(
            match self
                .store
                .read()
                .side(SideQuery::DeviceElsewhere { token_sha256: &sha })?
                .pop()
            {
                Some(SideRow::Hall(h)) => Some(h),
                _ => None,
            },
        )
    }

    /// The device a token belongs to, if it is enrolled and not revoked.
    pub fn device_for_token(&self, token: &str) -> Result<Option<Device>> {
        let sha = chain::sha256_hex(token);
        let row = match self
            .store
            .read()
            .side(SideQuery::DeviceByToken { token_sha256: &sha })?
            .pop()
        {
            Some(SideRow::Device(d)) if d.revoked_at.is_none() => Some((d.name, d.role, d.created_at, d.window)),
            _ => None,
        };
        Ok(row.and_then(|(name, role, created_at, window)| {
            DeviceRole::parse(&role).map(|role| Device {
                name,
                role,
                created_at,
                revoked_at: None,
                window,
            })
        }))
    }

    /// Sign a specialist in on a device at a window: the PIN is checked (five wrong tries lock
    /// the login), and a session bound to that device and window is opened.
    pub fn open_session(&mut self, staff: &str, pin: &str, device: &str, window: u32) -> Result<Session> {
        self.login(staff, window, pin)?;
        self.start_session(staff, device, window)
    }

    /// Open a session for a specialist whose PIN was just checked and recorded.
    pub fn start_session(&mut self, staff: &str, device: &str, window: u32) -> Result<Session> {
        let now = self.now();
        let token = new_secret();
        let expires = now + chrono::Duration::hours(SESSION_HOURS);
        let tx = self.store.write(self.request.take())?;
        if let Some(SideRow::Device(d)) = tx.side(SideQuery::Device(device))?.pop() {
            if let Some(bound) = d.window.filter(|w| *w != window) {
                return Err(LedgerError::Forbidden(format!(
                    "{device} is bound to window {bound}: a specialist signs in on it there, not at window {window}"
                )));
            }
        }
        // One specialist per window and device: a new sign-in ends the previous session there.
        tx.put(SideWrite::SessionsEnded {
            of: SessionsOf::DeviceAt { device, window },
            at: &stamp(now),
        })?;
        let token_sha256 = chain::sha256_hex(&token);
        tx.put(SideWrite::SessionStarted(&SessionRow {
            token_sha256: token_sha256.clone(),
            staff: staff.into(),
            device: device.into(),
            window,
            created_at: stamp(now),
            expires_at: stamp(expires),
            ended_at: None,
        }))?;
        append_in(
            &*tx,
            &stamp(now),
            staff,
            None,
            &EventBody::StaffSignedIn {
                staff: staff.into(),
                window,
                device: device.into(),
                session: chain::sha256_hex(&token_sha256),
            },
        )?;
        tx.commit()?;
        Ok(Session {
            token,
            staff: staff.into(),
            device: device.into(),
            window,
            expires_at: stamp(expires),
        })
    }

    /// The live session a token opened, if it has not expired or ended.
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        let now = self.now();
        let sha = chain::sha256_hex(token);
        let row = match self.store.read().side(SideQuery::Session { token_sha256: &sha })?.pop() {
            Some(SideRow::Session(s)) if s.ended_at.is_none() => Some((s.staff, s.device, s.window, s.expires_at)),
            _ => None,
        };
        Ok(row.and_then(|(staff, device, window, expires_at)| {
            let live = parse_stamp(&expires_at).is_some_and(|t: DateTime<Utc>| t > now);
            live.then(|| Session {
                token: token.into(),
                staff,
                device,
                window,
                expires_at,
            })
        }))
    }

    /// End a session (sign out); recorded as an event.
    pub fn end_session(&mut self, token: &str) -> Result<()> {
        let Some(s) = self.session(token)? else {
            return Ok(());
        };
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        tx.put(SideWrite::SessionsEnded {
            of: SessionsOf::Token {
                token_sha256: &chain::sha256_hex(token),
            },
            at: &at,
        })?;
        append_in(
            &*tx,
            &at,
            &s.staff,
            None,
            &EventBody::StaffSignedOut {
                staff: s.staff.clone(),
                window: s.window,
                session: Some(chain::sha256_hex(&chain::sha256_hex(token))),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// What the ledger recorded of a client request id, if it ran before.
    pub fn request_outcome(&self, id: &str) -> Result<Option<crate::store::RequestRow>> {
        self.store.read().request(id)
    }

    /// One event by sequence number.
    pub fn event(&self, seq: i64) -> Result<Option<chain::Event>> {
        Ok(self
            .store
            .read()
            .events(crate::store::EventQuery::Seq(seq))?
            .into_iter()
            .next())
    }
}

/// The sign-in state the event log says the tables must hold — PINs with their failed tries
/// and lockouts (`staff_auth`), enrolled devices (`devices`) and staff sessions (`sessions`).
/// `verify` folds every event through `apply` and then `compare`s: a session, device or PIN
/// hash planted with a SQLite shell, or a lockout erased, is found by table, row and field.
#[derive(Default)]
pub(crate) struct SignInFold {
    pub(crate) staff: BTreeMap<String, PinState>,
    pub(crate) devices: BTreeMap<String, DeviceState>,
    pub(crate) sessions: BTreeMap<String, SessionState>,
}

#[derive(Default)]
pub(crate) struct PinState {
    pub(crate) failed: u32,
    pub(crate) locked_until: Option<String>,
    /// SHA-256 of the stored hash, when the log says (events before it did not).
    pub(crate) check: Option<String>,
}

pub(crate) struct DeviceState {
    pub(crate) role: String,
    pub(crate) created_at: String,
    pub(crate) revoked_at: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) window: Option<u32>,
}

#[derive(PartialEq)]
pub(crate) struct SessionState {
    pub(crate) staff: String,
    pub(crate) device: String,
    pub(crate) window: u32,
    pub(crate) created_at: String,
    pub(crate) expires_at: String,
    pub(crate) ended_at: Option<String>,
}

/// A row the log disagrees with: (table, rowid, field, problem).
pub(crate) type RowFinding = (&'static str, i64, &'static str, String);

impl SignInFold {
    pub(crate) fn apply(&mut self, at: &str, body: &EventBody) {
        match body {
            EventBody::StaffPinSet { staff, pin_check } => {
                for s in self.sessions.values_mut() {
                    if s.staff == *staff && s.ended_at.is_none() {
                        s.ended_at = Some(at.into());
                    }
                }
                self.staff.insert(
                    staff.clone(),
                    PinState {
                        check: pin_check.clone(),
                        ..Default::default()
                    },
                );
            }
            EventBody::StaffLogin {
                staff, ok, pin_check, ..
            } => {
                let Some(p) = self.staff.get_mut(staff) else {
                    return;
                };
                if pin_check.is_some() {
                    p.check = pin_check.clone();
                }
                // As `record_login` counts: a good PIN clears the count, the fifth wrong one
                // locks the login for PIN_LOCK_MINUTES from that attempt and starts again.
                let failed = if *ok { 0 } else { p.failed + 1 };
                if failed >= crate::ledger::PIN_TRIES {
                    p.failed = 0;
                    p.locked_until =
                        parse_stamp(at).map(|t| stamp(t + chrono::Duration::minutes(crate::ledger::PIN_LOCK_MINUTES)));
                } else {
                    p.failed = failed;
                    p.locked_until = None;
                }
            }
            EventBody::DeviceEnrolled {
                name,
                role,
                key,
                window,
            } => {
                self.devices.insert(
                    name.clone(),
                    DeviceState {
                        role: role.clone(),
                        created_at: at.into(),
                        revoked_at: None,
                        key: key.clone(),
                        window: *window,
                    },
                );
            }
            EventBody::DeviceRevoked { name } => {
                if let Some(d) = self.devices.get_mut(name) {
                    d.revoked_at = Some(at.into());
                }
                for s in self.sessions.values_mut() {
                    if s.device == *name && s.ended_at.is_none() {
                        s.ended_at = Some(at.into());
                    }
                }
            }
            EventBody::StaffSignedIn {
                staff,
                window,
                device,
                session,
            } => {
                for s in self.sessions.values_mut() {
                    if s.device == *device && s.window == *window && s.ended_at.is_none() {
                        s.ended_at = Some(at.into());
                    }
                }
                let expires_at = parse_stamp(at)
                    .map(|t| stamp(t + chrono::Duration::hours(SESSION_HOURS)))
                    .unwrap_or_default();
                self.sessions.insert(
                    session.clone(),
                    SessionState {
                        staff: staff.clone(),
                        device: device.clone(),
                        window: *window,
                        created_at: at.into(),
                        expires_at,
                        ended_at: None,
                    },
                );
            }
            EventBody::StaffSignedOut {
                session: Some(session), ..
            } => {
                if let Some(s) = self.sessions.get_mut(session) {
                    s.ended_at = Some(at.into());
                }
            }
            _ => {}
        }
    }
}
