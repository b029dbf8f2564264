//! The SQLite store's host work (`crate::host::Host`): verify, backups, checkpoints, rebuilding
//! the projections, number audits and the hot queries' plans.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, Transaction};

use crate::access::RowFinding;
use crate::visitors::{Booked, Difference, Received};

use super::sqlite::{feedback_row, insert_call, parse_case_row, SqliteStore, FEEDBACK};
use crate::chain::{self, CallRow, Event, VerifyReport};
use crate::error::{LedgerError, Result};
use crate::host::Host;
use crate::model::Case;
use crate::store::Request;
use crate::store::StoreTx;
use crate::witness::Witnessed;

impl Host for SqliteStore {
    fn set_durable(&self, durable: bool) -> Result<()> {
        self.conn()
            .pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
        Ok(())
    }

    fn data_version(&self) -> Result<i64> {
        Ok(self.conn().query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    fn checkpoint(&self) -> Result<()> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn verify(&mut self, evict_after: i64, batch: usize, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport> {
        chain::verify_evicting(self.conn_mut(), evict_after, batch, progress)
    }

    fn check_witness(
        &self,
        file: &str,
        witnessed: &[Witnessed],
        report: &VerifyReport,
    ) -> Result<Option<VerifyReport>> {
        chain::check_witness(
            self.conn(),
            file,
            witnessed,
            report.head_seq,
            report.events,
            report.cases,
        )
    }

    fn backup_to(&self, dest: &Path) -> Result<VerifyReport> {
        backup_with(self.conn(), dest)
    }

    fn all_events(&self) -> Result<Vec<Event>> {
        chain::events_in(self.conn(), "", [])
    }

    fn stored_cases(&self) -> Result<BTreeMap<i64, Case>> {
        load_all_cases(self.conn())
    }

    fn rebuild(&mut self, request: Option<Request>, cases: &BTreeMap<i64, Case>, calls: &[CallRow]) -> Result<()> {
        let tx = self.raw_write(request)?;
        crate::db::exec(&tx.conn, "DELETE FROM cases", [])?;
        for c in cases.values() {
            tx.save_case(None, c, None)?;
        }
        crate::db::exec(&tx.conn, "DELETE FROM calls", [])?;
        for k in calls {
            insert_call(&tx.conn, k)?;
        }
        tx.conn.commit()?;
        Ok(())
    }

    fn audit_numbers(&self, since: &str) -> Result<(Vec<String>, i64)> {
        let mut gaps = Vec::new();
        let mut stmt = self.conn().prepare(
            "SELECT business_day, rtrim(number, '0123456789') AS prefix, count(*),
             max(CAST(substr(number, length(rtrim(number, '0123456789')) + 1) AS INTEGER)) FROM cases
             WHERE business_day >= ?1 GROUP BY 1, 2",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (day, prefix, n, max) = row?;
            if n != max {
                gaps.push(format!("{day} {prefix}: {n} tickets up to number {max}"));
            }
        }
        let twice: i64 = self.conn().query_row(
            "SELECT count(*) FROM (SELECT case_id FROM calls WHERE business_day >= ?1 AND recall = 0
             GROUP BY case_id HAVING count(*) > 1)",
            [since],
            |r| r.get(0),
        )?;
        Ok((gaps, twice))
    }

    fn query_plans(&self) -> Result<Vec<(&'static str, &'static str, Vec<String>)>> {
        let mut out = Vec::new();
        for (name, sql, index) in super::hot::PLANNED {
            let mut stmt = self.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let n = stmt.parameter_count();
            let args: Vec<rusqlite::types::Value> = (0..n)
                .map(|i| match i {
                    0 => rusqlite::types::Value::Text("2026-11-27".into()),
                    1 => rusqlite::types::Value::Text("SCJG".into()),
                    _ => rusqlite::types::Value::Integer(10),
                })
                .collect();
            let lines = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push((*name, *index, lines));
        }
        Ok(out)
    }
}

pub(crate) fn load_all_cases(conn: &Connection) -> Result<BTreeMap<i64, Case>> {
    let mut stmt = conn.prepare("SELECT id, data FROM cases ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, data) = row?;
        out.insert(id, parse_case_row(id, &data)?);
    }
    Ok(out)
}

/// A verified copy of the ledger on `conn` at `dest` (see `Ledger::backup_to`).
fn backup_with(conn: &Connection, dest: &Path) -> Result<VerifyReport> {
    if dest.exists() {
        return Err(LedgerError::Invalid(format!(
            "{} already exists; choose a new file for the backup",
            dest.display()
        )));
    }
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    // One read transaction copies a consistent snapshot while the hall keeps writing. (The
    // page-by-page online backup starts over whenever another program commits, and under
    // a kiosk issuing a few tickets a second it never finished.)
    if let Err(e) = conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy()]) {
        let _ = std::fs::remove_file(&tmp);
        return Err(if crate::disk::is_full(&tmp) {
            LedgerError::DiskFull
        } else {
            e.into()
        });
    }
    verified_into_place(&tmp, dest)
}

/// A backup copy at `tmp` verified and, only when it verifies, given its final name `dest`
/// (both stores' backups end here).
pub(crate) fn verified_into_place(tmp: &Path, dest: &Path) -> Result<VerifyReport> {
    let report = {
        let mut copy = Connection::open(tmp)?;
        chain::verify(&mut copy)?
    };
    if !report.ok {
        return Err(LedgerError::Corrupt(format!(
            "the backup copy does not verify (first bad event {:?}): {}",
            report.first_bad_seq,
            report.problem.clone().unwrap_or_default()
        )));
    }
    std::fs::rename(tmp, dest).map_err(|e| LedgerError::Open {
        path: dest.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(report)
}

/// A verified copy of the ledger file at `ledger`, read through a read-only connection of its
/// own: the server's writer keeps writing while the copy is made on another thread.
pub fn backup_file(ledger: &Path, dest: &Path) -> Result<VerifyReport> {
    if let Some(at) = super::pg_at(ledger)? {
        // A PostgreSQL hall's backup is its copy as a SQLite ledger file, made on a connection
        // of its own.
        let store = super::PgStore::open(&at, std::time::Duration::from_secs(5), None)?;
        return store.backup_to(dest);
    }
    let conn = Connection::open_with_flags(
        ledger,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    backup_with(&conn, dest)
}

/// The sign-in state's tables (staff_auth, devices, sessions) against their fold.
impl crate::access::SignInFold {
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
        type DeviceRow = (i64, String, String, String, String, Option<String>, Option<u32>);
        let devices: Vec<DeviceRow> = conn
            .prepare(
                "SELECT rowid, name, role, token_sha256, created_at, revoked_at, window FROM devices ORDER BY rowid",
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
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (rowid, name, role, token_sha256, created_at, revoked_at, window) in &devices {
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
            } else if *window != want.window {
                Some("window")
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

/// The appointments and feedback tables against their fold.
impl crate::visitors::VisitorFold {
    /// The first row that differs from the log, if any.
    pub fn compare(&self, tx: &Transaction<'_>) -> Result<Option<Difference>> {
        let mut stmt = tx.prepare(
            "SELECT id, code, item, at, phone_note, state, case_id, booked_at, code_salt FROM appointments ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    (r.get::<_, String>(1)?, r.get::<_, String>(8)?),
                    Booked {
                        code_sha256: String::new(),
                        item: r.get(2)?,
                        at: r.get(3)?,
                        phone_note: r.get(4)?,
                        booked_at: r.get(7)?,
                        case_id: r.get(6)?,
                        cancelled: false,
                    },
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, (code, salt), mut have, state) in rows {
            let Some(want) = self.booked.get(&id) else {
                return Ok(Some((
                    "appointments",
                    id,
                    "id",
                    format!("appointment {id} was never booked in the log"),
                )));
            };
            have.code_sha256 = hex::encode(crate::chain::note_sha256(&salt, &code));
            // A closed appointment's code erased by a recorded purge (its slot before the
            // purge's day) has nothing left to compare.
            let erased = code.is_empty()
                && salt.is_empty()
                && state != "booked"
                && self
                    .codes_erased_before
                    .as_deref()
                    .is_some_and(|b| want.at.as_str() < b);
            let checked_in = match (want.cancelled, want.case_id) {
                (true, _) => "cancelled",
                (false, Some(_)) => "checked_in",
                (false, None) => "booked",
            };
            let field = if have.code_sha256 != want.code_sha256 && !erased {
                Some("code")
            } else if have.item != want.item {
                Some("item")
            } else if have.at != want.at {
                Some("at")
            } else if have.phone_note != want.phone_note {
                Some("phone_note")
            } else if have.booked_at != want.booked_at {
                Some("booked_at")
            } else if have.case_id != want.case_id {
                Some("case_id")
            } else if state != checked_in {
                Some("state")
            } else {
                None
            };
            if let Some(field) = field {
                return Ok(Some((
                    "appointments",
                    id,
                    field,
                    format!("appointment {id}'s {field} differs from the log"),
                )));
            }
        }
        let count: i64 = tx.query_row("SELECT count(*) FROM appointments", [], |r| r.get(0))?;
        if count as usize != self.booked.len() {
            let missing = self.booked.keys().next_back().copied().unwrap_or(0);
            return Ok(Some((
                "appointments",
                missing,
                "id",
                format!(
                    "the log booked {} appointments, the table holds {count}",
                    self.booked.len()
                ),
            )));
        }
        let mut stmt = tx.prepare(&format!("{FEEDBACK} ORDER BY id"))?;
        let rows = stmt
            .query_map([], feedback_row)?
            .map(|f| {
                let f = f?;
                Ok((
                    f.id,
                    Received {
                        kind: f.kind,
                        category: f.category,
                        department: f.department,
                        window: f.window,
                        staff: f.staff,
                        channel: f.channel,
                        text_note: f.text_note,
                        received_at: f.received_at,
                        due: f.due,
                        reply: match (f.replied_at, f.reply_note, f.replied_by) {
                            (Some(a), Some(n), Some(b)) => Some((a, n, b)),
                            _ => None,
                        },
                    },
                ))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, have) in &rows {
            let Some(want) = self.received.get(id) else {
                return Ok(Some((
                    "feedback",
                    *id,
                    "id",
                    format!("feedback {id} was never received in the log"),
                )));
            };
            let field = [
                ("kind", have.kind == want.kind),
                ("category", have.category == want.category),
                ("department", have.department == want.department),
                ("window", have.window == want.window),
                ("staff", have.staff == want.staff),
                ("channel", have.channel == want.channel),
                ("text_note", have.text_note == want.text_note),
                ("received_at", have.received_at == want.received_at),
                ("due", have.due == want.due),
                ("replied_at", have.reply == want.reply),
            ]
            .into_iter()
            .find(|(_, same)| !same)
            .map(|(f, _)| f);
            if let Some(field) = field {
                return Ok(Some((
                    "feedback",
                    *id,
                    field,
                    format!("feedback {id}'s {field} differs from the log"),
                )));
            }
        }
        if rows.len() != self.received.len() {
            return Ok(Some((
                "feedback",
                0,
                "id",
                format!(
                    "the log received {} complaints and suggestions, the table holds {}",
                    self.received.len(),
                    rows.len()
                ),
            )));
        }
        Ok(None)
    }
}
