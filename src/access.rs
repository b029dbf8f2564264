//! Who may do what: devices enrolled on the server host (a role and a token each), staff
//! sessions opened with a PIN on one counter device at one window, and the outcome of client
//! request ids. The server checks these; the ledger keeps them beside the log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::chain;
use crate::clock::{parse_stamp, stamp};
use crate::db;
use crate::error::{LedgerError, Result};
use crate::ledger::Ledger;
use crate::model::EventBody;

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
}

impl DeviceRole {
    pub const ALL: [DeviceRole; 5] = [
        DeviceRole::Kiosk,
        DeviceRole::Board,
        DeviceRole::Counter,
        DeviceRole::Admin,
        DeviceRole::Office,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Kiosk => "kiosk",
            DeviceRole::Board => "board",
            DeviceRole::Counter => "counter",
            DeviceRole::Admin => "admin",
            DeviceRole::Office => "office",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceRole> {
        match s {
            "kiosk" => Some(DeviceRole::Kiosk),
            "board" => Some(DeviceRole::Board),
            "counter" => Some(DeviceRole::Counter),
            "admin" => Some(DeviceRole::Admin),
            "office" => Some(DeviceRole::Office),
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
        if !valid_device_name(name) {
            return Err(LedgerError::Invalid(format!(
                "device name {name:?}: use letters, digits, '-', '_' or '.' (at most 64), e.g. kiosk-1 or counter-12"
            )));
        }
        let token = new_secret();
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        let exists: Option<Option<String>> = tx
            .query_row("SELECT revoked_at FROM devices WHERE name = ?1", [name], |r| r.get(0))
            .optional()?;
        match exists {
            Some(None) => {
                return Err(LedgerError::Invalid(format!(
                    "device {name:?} is already enrolled: revoke it first to issue a new token"
                )))
            }
            Some(Some(_)) => {
                db::exec(
                    &tx,
                    "UPDATE devices SET role = ?2, token_sha256 = ?3, created_at = ?4, revoked_at = NULL WHERE name = ?1",
                    params![name, role.as_str(), chain::sha256_hex(&token), at],
                )?;
            }
            None => {
                db::exec(
                    &tx,
                    "INSERT INTO devices (name, role, token_sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![name, role.as_str(), chain::sha256_hex(&token), at],
                )?;
            }
        }
        chain::append_in(
            &tx,
            &at,
            actor,
            None,
            &EventBody::DeviceEnrolled {
                name: name.into(),
                role: role.as_str().into(),
                key: Some(chain::sha256_hex(&chain::sha256_hex(&token))),
            },
        )?;
        tx.commit()?;
        Ok(token)
    }

    pub fn list_devices(&self) -> Result<Vec<Device>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_at, revoked_at FROM devices ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created_at, revoked_at) = row?;
            let role = DeviceRole::parse(&role)
                .ok_or_else(|| LedgerError::Corrupt(format!("device {name:?} has an unknown role {role:?}")))?;
            out.push(Device {
                name,
                role,
                created_at,
                revoked_at,
            });
        }
        Ok(out)
    }

    /// Revoke a device: its token stops working at once, and its staff sessions end.
    pub fn revoke_device(&mut self, name: &str, actor: &str) -> Result<()> {
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        let n = db::exec(
            &tx,
            "UPDATE devices SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, at],
        )?;
        if n == 0 {
            return Err(LedgerError::Invalid(format!("no enrolled device named {name:?}")));
        }
        db::exec(
            &tx,
            "UPDATE sessions SET ended_at = ?2 WHERE device = ?1 AND ended_at IS NULL",
            params![name, at],
        )?;
        chain::append_in(&tx, &at, actor, None, &EventBody::DeviceRevoked { name: name.into() })?;
        tx.commit()?;
        Ok(())
    }

    /// The device a token belongs to, if it is enrolled and not revoked.
    pub fn device_for_token(&self, token: &str) -> Result<Option<Device>> {
        let sha = chain::sha256_hex(token);
        let row: Option<(String, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT name, role, created_at FROM devices WHERE token_sha256 = ?1 AND revoked_at IS NULL",
            )?
            .query_row([sha], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        Ok(row.and_then(|(name, role, created_at)| {
            DeviceRole::parse(&role).map(|role| Device {
                name,
                role,
                created_at,
                revoked_at: None,
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
        let tx = db::immediate(&mut self.conn)?;
        // One specialist per window and device: a new sign-in ends the previous session there.
        db::exec(
            &tx,
            "UPDATE sessions SET ended_at = ?3 WHERE device = ?1 AND window = ?2 AND ended_at IS NULL",
            params![device, window, stamp(now)],
        )?;
        let token_sha256 = chain::sha256_hex(&token);
        db::exec(
            &tx,
            "INSERT INTO sessions (token_sha256, staff, device, window, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_sha256, staff, device, window, stamp(now), stamp(expires)],
        )?;
        chain::append_in(
            &tx,
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
        let row: Option<(String, String, u32, String)> = self
            .conn
            .prepare_cached(
                "SELECT staff, device, window, expires_at FROM sessions WHERE token_sha256 = ?1 AND ended_at IS NULL",
            )?
            .query_row([chain::sha256_hex(token)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
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
        let tx = db::immediate(&mut self.conn)?;
        db::exec(
            &tx,
            "UPDATE sessions SET ended_at = ?2 WHERE token_sha256 = ?1",
            params![chain::sha256_hex(token), at],
        )?;
        chain::append_in(
            &tx,
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

    /// The first event a client request wrote: (operation, sequence number), if it ran before.
    pub fn request_outcome(&self, id: &str) -> Result<Option<(String, i64)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT op, seq FROM requests WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// One event by sequence number.
    pub fn event(&self, seq: i64) -> Result<Option<chain::Event>> {
        Ok(chain::events_in(&self.conn, "WHERE seq = ?1", [seq])?
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
    staff: BTreeMap<String, PinState>,
    devices: BTreeMap<String, DeviceState>,
    sessions: BTreeMap<String, SessionState>,
}

#[derive(Default)]
struct PinState {
    failed: u32,
    locked_until: Option<String>,
    /// SHA-256 of the stored hash, when the log says (events before it did not).
    check: Option<String>,
}

struct DeviceState {
    role: String,
    created_at: String,
    revoked_at: Option<String>,
    key: Option<String>,
}

#[derive(PartialEq)]
struct SessionState {
    staff: String,
    device: String,
    window: u32,
    created_at: String,
    expires_at: String,
    ended_at: Option<String>,
}

/// A row the log disagrees with: (table, rowid, field, problem).
pub(crate) type RowFinding = (&'static str, i64, &'static str, String);

impl SignInFold {
    pub(crate) fn apply(&mut self, at: &str, body: &EventBody) {
        match body {
            EventBody::StaffPinSet { staff, pin_check } => {
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
            EventBody::DeviceEnrolled { name, role, key } => {
                self.devices.insert(
                    name.clone(),
                    DeviceState {
                        role: role.clone(),
                        created_at: at.into(),
                        revoked_at: None,
                        key: key.clone(),
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

    /// The first row of `staff_auth`, `devices` or `sessions` that differs from the log.
    pub(crate) fn compare(&self, conn: &rusqlite::Connection) -> Result<Option<RowFinding>> {
        type PinRow = (i64, String, String, u32, Option<String>);
        let pins: Vec<PinRow> = conn
            .prepare("SELECT rowid, staff_id, pin_hash, failed, locked_until FROM staff_auth ORDER BY rowid")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (rowid, staff, hash, failed, locked_until) in &pins {
            let Some(want) = self.staff.get(staff) else {
                return Ok(Some((
                    "staff_auth",
                    *rowid,
                    "pin_hash",
                    format!("staff {staff} has a PIN the log never set"),
                )));
            };
            if want.check.as_ref().is_some_and(|c| *c != chain::sha256_hex(hash)) {
                return Ok(Some((
                    "staff_auth",
                    *rowid,
                    "pin_hash",
                    format!("the PIN hash of staff {staff} is not the one the log set"),
                )));
            }
            if *failed != want.failed {
                return Ok(Some((
                    "staff_auth",
                    *rowid,
                    "failed",
                    format!(
                        "staff {staff} has {failed} wrong PIN tries counted, the log has {}",
                        want.failed
                    ),
                )));
            }
            if *locked_until != want.locked_until {
                return Ok(Some((
                    "staff_auth",
                    *rowid,
                    "locked_until",
                    format!(
                        "the sign-in lockout of staff {staff} is {}, the log says {}",
                        locked_until.as_deref().unwrap_or("none"),
                        want.locked_until.as_deref().unwrap_or("none")
                    ),
                )));
            }
        }
        if let Some(staff) = self.staff.keys().find(|s| !pins.iter().any(|p| p.1 == **s)) {
            return Ok(Some((
                "staff_auth",
                0,
                "staff_id",
                format!("the PIN the log set for staff {staff} is missing"),
            )));
        }
        type DeviceRow = (i64, String, String, String, String, Option<String>);
        let devices: Vec<DeviceRow> = conn
            .prepare("SELECT rowid, name, role, token_sha256, created_at, revoked_at FROM devices ORDER BY rowid")?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (rowid, name, role, token_sha256, created_at, revoked_at) in &devices {
            let Some(want) = self.devices.get(name) else {
                return Ok(Some((
                    "devices",
                    *rowid,
                    "name",
                    format!("device {name} was never enrolled in the log"),
                )));
            };
            let field = if *role != want.role {
                Some("role")
            } else if want.key.as_ref().is_some_and(|k| *k != chain::sha256_hex(token_sha256)) {
                Some("token_sha256")
            } else if *created_at != want.created_at {
                Some("created_at")
            } else if *revoked_at != want.revoked_at {
                Some("revoked_at")
            } else {
                None
            };
            if let Some(field) = field {
                return Ok(Some((
                    "devices",
                    *rowid,
                    field,
                    format!("device {name} differs from the log ({field})"),
                )));
            }
        }
        if let Some(name) = self.devices.keys().find(|n| !devices.iter().any(|d| d.1 == **n)) {
            return Ok(Some((
                "devices",
                0,
                "name",
                format!("device {name}, enrolled in the log, is missing"),
            )));
        }
        type SessionRow = (i64, String, String, String, u32, String, String, Option<String>);
        let sessions: Vec<SessionRow> = conn
            .prepare(
                "SELECT rowid, token_sha256, staff, device, window, created_at, expires_at, ended_at FROM sessions ORDER BY rowid",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (rowid, token_sha256, staff, device, window, created_at, expires_at, ended_at) in &sessions {
            let Some(want) = self.sessions.get(&chain::sha256_hex(token_sha256)) else {
                return Ok(Some((
                    "sessions",
                    *rowid,
                    "token_sha256",
                    format!("a session of staff {staff} on {device} at window {window} was never signed in in the log"),
                )));
            };
            let field = if *staff != want.staff {
                Some("staff")
            } else if *device != want.device {
                Some("device")
            } else if *window != want.window {
                Some("window")
            } else if *created_at != want.created_at {
                Some("created_at")
            } else if *expires_at != want.expires_at {
                Some("expires_at")
            } else if *ended_at != want.ended_at {
                Some("ended_at")
            } else {
                None
            };
            if let Some(field) = field {
                return Ok(Some((
                    "sessions",
                    *rowid,
                    field,
                    format!(
                        "the session of staff {} at window {} differs from the log ({field})",
                        want.staff, want.window
                    ),
                )));
            }
        }
        if sessions.len() != self.sessions.len() {
            return Ok(Some((
                "sessions",
                0,
                "token_sha256",
                format!(
                    "the log signed in {} sessions, the table holds {}",
                    self.sessions.len(),
                    sessions.len()
                ),
            )));
        }
        Ok(None)
    }
}
