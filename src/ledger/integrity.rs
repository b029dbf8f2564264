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
        let tx = self.store.write(self.request.take())?;
        let up_to = match tx.side(SideQuery::LastNoteBefore { at: &start })?.pop() {
            Some(SideRow::Note(id)) if id > 0 => id,
            _ => 0,
        };
        let notes = if up_to > 0 {
            tx.put(SideWrite::NotesErased { up_to })? as u64
        } else {
            0
        };
        let codes = tx.put(SideWrite::AppointmentCodesErased { before: &start })?;
        if notes > 0 || codes > 0 {
            append_in(
                &*tx,
                &at,
                actor,
                None,
                &EventBody::NotesPurged {
                    before: before.to_string(),
                    up_to_note: up_to,
                    notes,
                    codes_before: (codes > 0).then(|| start.clone()),
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
        self.store.audit_numbers(since.unwrap_or(""))
    }

    /// A number that changes when another connection commits. Costs microseconds.
    pub fn data_version(&self) -> Result<i64> {
        self.store.data_version()
    }

    pub fn checkpoint(&self) -> Result<()> {
        self.store.checkpoint()
    }

    /// `verify` with a progress callback: (events checked, events in the log) after each batch.
    pub fn verify_with(&mut self, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport> {
        self.store.verify(chain::EVICT_AFTER, chain::BATCH, progress)
    }

    /// `verify` reading `batch` events at a time and letting go of cases idle for
    /// `evict_after` events (for tests of the streaming path on small ledgers).
    #[doc(hidden)]
    pub fn verify_evicting(&mut self, evict_after: i64, batch: usize) -> Result<VerifyReport> {
        self.store.verify(evict_after, batch, &mut |_, _| {})
    }

    pub fn verify(&mut self) -> Result<VerifyReport> {
        self.verify_with(&mut |_, _| {})
    }

    /// Check the heads a witness file (`file`, for the messages) saw against the log; `report`
    /// is the verify report they add to.
    pub fn check_witness(
        &self,
        file: &str,
        witnessed: &[crate::witness::Witnessed],
        report: &VerifyReport,
    ) -> Result<Option<VerifyReport>> {
        self.store.check_witness(file, witnessed, report)
    }

    /// A consistent copy of the ledger while the hall keeps running, then verified.
    pub fn backup_to(&self, dest: &Path) -> Result<VerifyReport> {
        self.store.backup_to(dest)
    }

    /// Every case, replayed from the log (for checks and tests).
    pub fn replay(&self) -> Result<BTreeMap<i64, Case>> {
        chain::replay(&self.store.all_events()?)
    }

    /// The cases table as stored.
    pub fn cases(&self) -> Result<BTreeMap<i64, Case>> {
        self.store.stored_cases()
    }

    /// Rebuild the projections (the cases and calls tables) from the event log, after
    /// `verify` found only a projection damaged.
    pub fn rebuild_cases(&mut self) -> Result<usize> {
        let (cases, calls) = chain::replay_with_calls(&self.store.all_events()?)?;
        self.store.rebuild(self.request.take(), &cases, &calls)?;
        Ok(cases.len())
    }

    /// `EXPLAIN QUERY PLAN` of every hot query: (name, the index it must use, the plan's
    /// lines). A test checks each uses its index and scans no table.
    pub fn query_plans(&self) -> Result<Vec<(&'static str, &'static str, Vec<String>)>> {
        self.store.query_plans()
    }
}
