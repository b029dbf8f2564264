//! Who may do what: devices enrolled on the server host (a role and a token each), staff
//! sessions opened with a PIN on one counter device at one window, and the outcome of client
//! request ids. The server checks these; the ledger keeps them beside the log.

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
}

impl DeviceRole {
    pub const ALL: [DeviceRole; 4] = [
        DeviceRole::Kiosk,
        DeviceRole::Board,
        DeviceRole::Counter,
        DeviceRole::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Kiosk => "kiosk",
            DeviceRole::Board => "board",
            DeviceRole::Counter => "counter",
            DeviceRole::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceRole> {
        match s {
            "kiosk" => Some(DeviceRole::Kiosk),
            "board" => Some(DeviceRole::Board),
            "counter" => Some(DeviceRole::Counter),
            "admin" => Some(DeviceRole::Admin),
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
        db::exec(
            &tx,
            "INSERT INTO sessions (token_sha256, staff, device, window, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![chain::sha256_hex(&token), staff, device, window, stamp(now), stamp(expires)],
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
