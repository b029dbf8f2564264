//! Integrity: verifying the chain and the projection, replay, rebuilding, backups.

use super::*;

/// What `purge_notes` erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purged {
    pub before: String,
    pub notes: u64,
    pub up_to_note: i64,
}

impl Ledger {
    /// The latest `--before` a purge may use today: notes are kept `retention_years` (hall
    /// file, default 3) from the day they were written.
    pub fn purge_limit(&mut self) -> Result<NaiveDate> {
        let years = self.hall()?.retention_years;
        let today = self.business_day()?;
        Ok(today
            .checked_sub_months(chrono::Months::new(12 * years))
            .unwrap_or(NaiveDate::MIN))
    }

    /// Erase the text of the notes written before `before` (a business day in the hall's time
    /// zone), keeping their hashes, and record it as one event: the events that name those
    /// notes still verify, and nobody can read what was typed any more. Refuses a day within
    /// the retention period.
    pub fn purge_notes(&mut self, before: NaiveDate, actor: &str) -> Result<Purged> {
        let limit = self.purge_limit()?;
        if before > limit {
            return Err(LedgerError::Invalid(format!(
                "notes are kept for {} years (retention_years in the hall file): today the latest --before is {limit}",
                self.hall()?.retention_years
            )));
        }
        let tz = self.hall()?.tz();
        let start = before
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest())
            .map(|t| stamp(t.with_timezone(&Utc)))
            .ok_or_else(|| LedgerError::Invalid(format!("{before} has no midnight in the hall's time zone")))?;
        let at = stamp(self.now());
        let tx = db::immediate(&mut self.conn)?;
        let up_to: Option<i64> = tx.query_row("SELECT max(id) FROM notes WHERE at < ?1", [&start], |r| r.get(0))?;
        let Some(up_to) = up_to else {
            return Ok(Purged {
                before: before.to_string(),
                notes: 0,
                up_to_note: 0,
            });
        };
        let notes = crate::db::exec(&tx, "UPDATE notes SET body = '' WHERE id <= ?1 AND body != ''", [up_to])? as u64;
        if notes > 0 {
            chain::append_in(
                &tx,
                &at,
                actor,
                None,
                &EventBody::NotesPurged {
                    before: before.to_string(),
                    up_to_note: up_to,
                    notes,
                },
            )?;
        }
        tx.commit()?;
        Ok(Purged {
            before: before.to_string(),
            notes,
            up_to_note: up_to,
        })
    }

    /// Audits beyond the chain, for load tests and drills, over the business days from `since`
    /// on (all when None): per day and prefix, the numbers that are not gap-free ("DAY P: N
    /// tickets up to number M"), and how many cases were called more than once by a first call.
    pub fn audit_numbers(&self, since: Option<&str>) -> Result<(Vec<String>, i64)> {
        let since = since.unwrap_or("");
        let mut gaps = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT business_day, substr(number, 1, 1), count(*), max(CAST(substr(number, 2) AS INTEGER)) FROM cases
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
        let twice: i64 = self.conn.query_row(
            "SELECT count(*) FROM (SELECT case_id FROM calls WHERE business_day >= ?1 AND recall = 0
             GROUP BY case_id HAVING count(*) > 1)",
            [since],
            |r| r.get(0),
        )?;
        Ok((gaps, twice))
    }

    pub fn checkpoint(&self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// `verify` with a progress callback: (events checked, events in the log) after each batch.
    pub fn verify_with(&mut self, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport> {
        chain::verify_with(&mut self.conn, progress)
    }

    /// `verify` reading `batch` events at a time and letting go of cases idle for
    /// `evict_after` events (for tests of the streaming path on small ledgers).
    #[doc(hidden)]
    pub fn verify_evicting(&mut self, evict_after: i64, batch: usize) -> Result<VerifyReport> {
        chain::verify_evicting(&mut self.conn, evict_after, batch, &mut |_, _| {})
    }

    pub fn verify(&mut self) -> Result<VerifyReport> {
        chain::verify(&mut self.conn)
    }

    /// Check the heads a witness file (`file`, for the messages) saw against the log; `report`
    /// is the verify report they add to.
    pub fn check_witness(
        &self,
        file: &str,
        witnessed: &[crate::witness::Witnessed],
        report: &VerifyReport,
    ) -> Result<Option<VerifyReport>> {
        chain::check_witness(
            &self.conn,
            file,
            witnessed,
            report.head_seq,
            report.events,
            report.cases,
        )
    }

    /// A consistent copy of the ledger while the hall keeps running (`VACUUM INTO`: one read
    /// transaction, so writers are never blocked), then verified.
    pub fn backup_to(&self, dest: &Path) -> Result<VerifyReport> {
        backup_with(&self.conn, dest)
    }

    /// Every case, replayed from the log (for checks and tests).
    pub fn replay(&self) -> Result<BTreeMap<i64, Case>> {
        chain::replay(&chain::events_in(&self.conn, "", [])?)
    }

    /// The cases table as stored.
    pub fn cases(&self) -> Result<BTreeMap<i64, Case>> {
        load_all_cases(&self.conn)
    }

    /// Rebuild the projections (the cases and calls tables) from the event log, after
    /// `verify` found only a projection damaged.
    pub fn rebuild_cases(&mut self) -> Result<usize> {
        let events = chain::events_in(&self.conn, "", [])?;
        let (cases, calls) = chain::replay_with_calls(&events)?;
        let tx = db::immediate(&mut self.conn)?;
        crate::db::exec(&tx, "DELETE FROM cases", [])?;
        for c in cases.values() {
            write_case_in(&tx, None, c)?;
        }
        crate::db::exec(&tx, "DELETE FROM calls", [])?;
        for k in &calls {
            write_call_in(&tx, k)?;
        }
        tx.commit()?;
        Ok(cases.len())
    }
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
    // Only a copy that verifies takes the final name.
    let report = {
        let mut copy = Connection::open(&tmp)?;
        chain::verify(&mut copy)?
    };
    if !report.ok {
        return Err(LedgerError::Corrupt(format!(
            "the backup copy does not verify (first bad event {:?}): {}",
            report.first_bad_seq,
            report.problem.clone().unwrap_or_default()
        )));
    }
    std::fs::rename(&tmp, dest).map_err(|e| LedgerError::Open {
        path: dest.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(report)
}

/// A verified copy of the ledger file at `ledger`, read through a read-only connection of its
/// own: the server's writer keeps writing while the copy is made on another thread.
pub fn backup_file(ledger: &Path, dest: &Path) -> Result<VerifyReport> {
    let conn = Connection::open_with_flags(
        ledger,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    backup_with(&conn, dest)
}
