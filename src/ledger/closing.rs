//! The daily close (日结): expire the day's unserved tickets, anchor the chain head, hash the figures.

use super::*;

/// What a daily close did and the anchor it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayClose {
    pub business_day: String,
    /// Tickets still waiting, called or on hold that the close expired.
    pub expired: u32,
    /// The chain head the close recorded (the last event before the close).
    pub head_seq: i64,
    pub head_hash: String,
    /// The `day_closed` event itself: the anchor the office prints and files.
    pub anchor_seq: i64,
    pub anchor_hash: String,
    /// SHA-256 of the day's figures (the report as JSON) recorded in the close.
    pub figures_sha256: String,
    /// The day's figures, as `bangban report --date` gives them.
    pub report: reports::Figures,
}

impl Ledger {
    /// The business day whose close is due: today once the hall has closed, else yesterday.
    pub fn day_to_close(&mut self) -> Result<NaiveDate> {
        let hall = self.hall()?;
        let now = self.now();
        let today = business_day(now, hall.tz());
        Ok(if hall_has_closed(&hall, now) {
            today
        } else {
            today.pred_opt().unwrap_or(today)
        })
    }

    /// The last day the hall worked before today, if nobody closed it (日结未完成): the
    /// office's alert until it is closed, and `bangban serve` closes it at the next opening.
    /// Only the latest such day is looked at: one read through the (business_day, number)
    /// index, whatever the history.
    pub fn unclosed_day(&mut self) -> Result<Option<NaiveDate>> {
        let hall = self.hall()?;
        let today = business_day(self.now(), hall.tz()).to_string();
        let store = self.store.read();
        let Some(last) = store.case(CaseKey::LatestBefore { day: &today })? else {
            return Ok(None);
        };
        if day_closed_in(store, &last.business_day)?.is_some() {
            return Ok(None);
        }
        Ok(NaiveDate::parse_from_str(&last.business_day, "%Y-%m-%d").ok())
    }

    /// Whether the hall has opened today by the ledger's clock: a working day, past `open`.
    pub fn hall_has_opened_now(&mut self) -> Result<bool> {
        let hall = self.hall()?;
        let local = self.now().with_timezone(&hall.tz());
        Ok(hall.calendar.is_working_day(local.date_naive())
            && chrono::NaiveTime::parse_from_str(&hall.open, "%H:%M").is_ok_and(|open| local.time() >= open))
    }

    /// Whether `day` was closed, and by which event.
    pub fn day_closed_seq(&self, day: NaiveDate) -> Result<Option<i64>> {
        day_closed_in(self.store.read(), &day.to_string())
    }

    /// Close a business day: each ticket still waiting, called or on hold becomes `expired` (an
    /// event each), then a `day_closed` event records the chain head and the SHA-256 of the day's
    /// figures. A day is closed once; today only after the hall's closing time.
    pub fn close_day(&mut self, day: NaiveDate, actor: &str) -> Result<DayClose> {
        let hall = self.hall()?;
        let now = self.now();
        let today = business_day(now, hall.tz());
        if day > today || (day == today && !hall_has_closed(&hall, now)) {
            return Err(LedgerError::Invalid(format!(
                "the business day {day} has not ended: the hall closes at {} ({})",
                hall.close, hall.timezone
            )));
        }
        if self.day_closed_seq(day)?.is_some() {
            return Err(LedgerError::DayClosed(day.to_string()));
        }
        let day_s = day.to_string();
        let at = stamp(now);
        let tx = self.store.write(self.request.take())?;
        let open = tx.cases(CaseQuery::OpenAtClose { day: &day_s })?;
        let mut expired = 0u32;
        for case in open {
            let body = EventBody::CaseExpired {
                business_day: day_s.clone(),
            };
            record_in(&*tx, Some(&case), case.id, &at, actor, &body)?;
            expired += 1;
        }
        tx.commit()?;
        let report = self.figures(day, day)?;
        let figures = serde_json::to_string(&report).map_err(|e| LedgerError::Invalid(e.to_string()))?;
        let figures_sha256 = chain::sha256_hex(&figures);
        let tx = self.store.write(self.request.take())?;
        // Another office PC may have closed the day between the two transactions.
        if day_closed_in(&*tx, &day_s)?.is_some() {
            return Err(LedgerError::DayClosed(day_s));
        }
        let (head_seq, head_hash) = tx.head()?;
        let body = EventBody::DayClosed {
            business_day: day_s.clone(),
            head_seq,
            head_hash: head_hash.clone(),
            expired,
            figures_sha256: figures_sha256.clone(),
        };
        let ev = append_in(&*tx, &at, actor, None, &body)?;
        tx.commit()?;
        Ok(DayClose {
            business_day: day_s,
            expired,
            head_seq,
            head_hash,
            anchor_seq: ev.seq,
            anchor_hash: ev.hash,
            figures_sha256,
            report,
        })
    }
}

/// Whether the hall's closing time has passed today (in its time zone).
/// Whether the hall has closed for today by the ledger's clock (the automatic daily close waits
/// for this).
pub fn hall_has_closed_now(l: &mut Ledger) -> Result<bool> {
    let hall = l.hall()?;
    Ok(hall_has_closed(&hall, l.now()))
}

fn hall_has_closed(hall: &Hall, now: DateTime<Utc>) -> bool {
    let local = now.with_timezone(&hall.tz()).time();
    match chrono::NaiveTime::parse_from_str(&hall.close, "%H:%M") {
        Ok(close) => local >= close,
        Err(_) => false,
    }
}

/// Refuse a new number on a business day that has been closed: a kiosk left on after the
/// close would otherwise issue tickets that no close ever expires.
pub(crate) fn refuse_closed_in(tx: &dyn StoreTx, day: &str) -> Result<()> {
    match day_closed_in(tx, day)? {
        Some(_) => Err(LedgerError::DayClosed(day.to_string())),
        None => Ok(()),
    }
}

/// The `day_closed` event of a business day, if it was closed (few such events: one a day).
fn day_closed_in(tx: &dyn StoreTx, day: &str) -> Result<Option<i64>> {
    Ok(tx.events(EventQuery::DayClosed { day })?.first().map(|e| e.seq))
}
