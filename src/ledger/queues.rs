//! Queues and cases: who waits where, in calling order, and looking a case up.

use super::issuing::estimate_in;
use super::*;

impl Ledger {
    /// A case by number (today) or token.
    pub fn find_case(&mut self, case_ref: &str) -> Result<Case> {
        let day = self.business_day()?.to_string();
        find_case_in(&self.conn, &day, case_ref)
    }

    pub fn case_by_id(&self, id: i64) -> Result<Case> {
        let data: Option<String> = self
            .conn
            .query_row("SELECT data FROM cases WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let data = data.ok_or_else(|| LedgerError::UnknownCase(format!("#{id}")))?;
        parse_case(&data)
    }

    /// Today's queue, in calling order, for some departments (all when empty).
    pub fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        let hall = self.hall()?;
        let now = self.now();
        let day = business_day(now, hall.tz()).to_string();
        // The window's departments from the queue index, one at a time; merged in calling
        // order when a window serves several. No department named: the whole hall's.
        let mut cases = Vec::new();
        if departments.is_empty() {
            let mut stmt = self.conn.prepare_cached(hot::WAITING)?;
            for data in stmt.query_map([&day], |r| r.get::<_, String>(0))? {
                cases.push(parse_case(&data?)?);
            }
        } else {
            let mut stmt = self.conn.prepare_cached(hot::WAITING_IN)?;
            for d in departments {
                for data in stmt.query_map(params![day, d], |r| r.get::<_, String>(0))? {
                    cases.push(parse_case(&data?)?);
                }
            }
            if departments.len() > 1 {
                cases.sort_by_key(|c| (std::cmp::Reverse(c.priority_rank), c.queue_key()));
            }
        }
        let mut out = Vec::new();
        for c in cases {
            let waited = parse_stamp(&c.queued_at).map(|t| (now - t).num_minutes()).unwrap_or(0);
            out.push(WaitingEntry {
                case_id: c.id,
                number: c.number.clone(),
                department: c.department.clone(),
                item_name: hall
                    .item(&c.item)
                    .map(|i| i.display_name())
                    .unwrap_or_else(|| c.item.clone()),
                priority_name: c
                    .priority
                    .as_deref()
                    .and_then(|p| hall.priority(p))
                    .map(|p| p.name.clone()),
                priority: c.priority.clone(),
                state: c.state,
                queued_at: c.queued_at.clone(),
                waited_min: waited.max(0),
            });
        }
        Ok(out)
    }

    /// Cases of today that a window is working on (called, serving or on hold there).
    pub fn at_window(&mut self, window: u32) -> Result<Vec<Case>> {
        let day = self.business_day()?.to_string();
        let mut stmt = self.conn.prepare_cached(hot::AT_COUNTERS)?;
        let rows = stmt.query_map([&day], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for data in rows {
            let c = parse_case(&data?)?;
            if c.called_window == Some(window) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// How many stand ahead of a case, and the estimated wait in minutes.
    pub fn position(&mut self, case_id: i64) -> Result<Position> {
        let hall = self.hall()?;
        let case = self.case_by_id(case_id)?;
        let (ahead, estimated_wait_min) = estimate_in(&self.conn, &hall, &case)?;
        Ok(Position {
            ahead,
            estimated_wait_min,
        })
    }

    /// Waiting visitors per department today: (department, waiting, of whom priority).

    pub fn queues(&mut self) -> Result<Vec<crate::api::QueueLine>> {
        let hall = self.hall()?;
        let day = self.business_day()?.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT department, count(*), sum(priority_rank > 0) FROM cases
             WHERE business_day = ?1 AND state IN ('waiting', 'transferred') GROUP BY department",
        )?;
        let rows = stmt.query_map([&day], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?))
        })?;
        let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for row in rows {
            let (d, n, p) = row?;
            counts.insert(d, (n, p));
        }
        // Only a hall without featured matters needs today's tickets per item (the kiosk offers
        // the most issued instead); boards poll this every few seconds and never use them.
        let mut issued: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
        if hall.featured.is_empty() {
            let mut stmt = self.conn.prepare_cached(super::hot::ISSUED_TODAY)?;
            let rows = stmt.query_map([&day], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u32>(2)?))
            })?;
            for row in rows {
                let (d, item, n) = row?;
                issued.entry(d).or_default().push((item, n));
            }
        }
        // Priority visitors past the hall's wait deadline, longest waiting first.
        let limit = self.now() - chrono::Duration::minutes(hall.deadlines.priority_wait_min as i64);
        let mut late: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(super::hot::PRIORITY_WAITING)?;
        let rows = stmt.query_map([&day], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (d, number, queued_at) = row?;
            if parse_stamp(&queued_at).is_some_and(|t| t < limit) {
                late.entry(d).or_default().push((queued_at, number));
            }
        }
        Ok(hall
            .departments
            .iter()
            .map(|d| {
                let (waiting, priority) = counts.get(&d.code).copied().unwrap_or((0, 0));
                crate::api::QueueLine {
                    department: d.code.clone(),
                    waiting,
                    priority,
                    issued: issued.remove(&d.code).unwrap_or_default(),
                    overdue_priority: {
                        let mut l = late.remove(&d.code).unwrap_or_default();
                        l.sort();
                        l.into_iter().map(|(_, n)| n).collect()
                    },
                }
            })
            .collect())
    }

    /// A free-text note by id (for the counter's case panel).
    pub fn note(&self, id: i64) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT body FROM notes WHERE id = ?1", [id], |r| r.get(0))?)
    }

    /// Events about one case, oldest first.
    pub fn case_events(&self, case_id: i64) -> Result<Vec<Event>> {
        chain::events_in(&self.conn, "WHERE case_id = ?1", [case_id])
    }
}
