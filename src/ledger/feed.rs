//! The event feed: calls after a sequence number, the newest calls, the chain head.

use super::calling::called_view;
use super::*;
use crate::api::CallsAfter;

impl Ledger {
    /// Calls and recalls committed after event `seq`, oldest first, with the last sequence
    /// number read (pass it back next time). How the wall board follows the ledger.
    pub fn calls_after(&mut self, seq: i64) -> Result<CallsAfter> {
        let hall = self.hall()?;
        let events = self.events_after(seq)?;
        let last = events.last().map(|e| e.seq).unwrap_or(seq);
        let mut out = Vec::new();
        for ev in events {
            if let Some(c) = self.call_from_event(&hall, &ev)? {
                out.push(c);
            }
        }
        Ok(CallsAfter {
            calls: out,
            last_seq: last,
        })
    }

    /// Today's latest `limit` calls, newest first (what the board shows when it starts).
    pub fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>> {
        let hall = self.hall()?;
        let day = self.business_day()?.to_string();
        let events = self.store.read().events(EventQuery::RecentCalls { day: &day, limit })?;
        let mut out = Vec::new();
        for ev in events {
            out.extend(self.call_from_event(&hall, &ev)?);
        }
        Ok(out)
    }

    fn call_from_event(&self, hall: &Hall, ev: &Event) -> Result<Option<Called>> {
        let (Some(case_id), "case_called" | "case_recalled") = (ev.case_id, ev.kind.as_str()) else {
            return Ok(None);
        };
        let body: EventBody =
            serde_json::from_str(&ev.payload).map_err(|e| LedgerError::Corrupt(format!("event {}: {e}", ev.seq)))?;
        let (window, staff, recall, number, department) = match body {
            EventBody::CaseCalled {
                window,
                staff,
                number,
                department,
            } => (window, staff, false, number, department),
            EventBody::CaseRecalled {
                window,
                staff,
                number,
                department,
            } => (window, staff, true, number, department),
            _ => return Ok(None),
        };
        // The call as it was announced: the event's own number and department, so a transfer
        // after the call does not rewrite the board's history.
        let mut case = self.case_by_id(case_id)?;
        if !number.is_empty() {
            case.number = number;
        }
        if !department.is_empty() {
            case.department = department;
        }
        let mut c = called_view(hall, &case, window, recall, &staff, &ev.at);
        c.seq = ev.seq;
        Ok(Some(c))
    }

    /// Events after `seq`, oldest first: how boards follow the ledger without reloading it.
    pub fn events_after(&self, seq: i64) -> Result<Vec<Event>> {
        self.store.read().events(EventQuery::After { seq, limit: usize::MAX })
    }

    /// The chain head: the newest event's sequence number and hash (what witnesses keep).
    pub fn chain_head(&self) -> Result<crate::witness::ChainHead> {
        let (seq, hash) = self.store.read().head()?;
        Ok(crate::witness::ChainHead { seq, hash })
    }

    pub fn head_seq(&self) -> Result<i64> {
        Ok(self.store.read().head()?.0)
    }
}
