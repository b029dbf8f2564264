//! Queues and cases: who waits where, in calling order, and looking a case up.

use super::issuing::estimate_in;
use super::*;

impl Ledger {
    /// A case by number (today) or token.
    pub fn find_case(&mut self, case_ref: &str) -> Result<Case> {
        let day = self.business_day()?.to_string();
        find_case_in(self.store.read(), &day, case_ref)
    }

    pub fn case_by_id(&self, id: i64) -> Result<Case> {
        self.store
            .read()
            .case(CaseKey::Id(id))?
            .ok_or_else(|| LedgerError::UnknownCase(format!("#{id}")))
    }

    /// Today's queue, in calling order, for some departments (all when empty).
    pub fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        let hall = self.hall()?;
        let now = self.now();
        let day = business_day(now, hall.tz()).to_string();
        // The window's departments from the queue index, one at a time; merged in calling
        // order when a window serves several. No department named: the whole hall's.
        let mut cases = Vec::new();
        let store = self.store.read();
        if departments.is_empty() {
            cases = store.cases(CaseQuery::Waiting { day: &day })?;
        } else {
            for department in departments {
                cases.extend(store.cases(CaseQuery::WaitingIn { day: &day, department })?);
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
                item_name_en: hall
                    .item(&c.item)
                    .map(|i| i.english_name())
                    .unwrap_or_else(|| c.item.clone()),
                priority_name_en: c
                    .priority
                    .as_deref()
                    .and_then(|p| hall.priority(p))
                    .map(|p| p.english_name()),
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
        let mut out = self.store.read().cases(CaseQuery::AtCounters { day: &day })?;
        out.retain(|c| c.called_window == Some(window));
        Ok(out)
    }

    /// How many stand ahead of a case, and the estimated wait in minutes.
    pub fn position(&mut self, case_id: i64) -> Result<Position> {
        let hall = self.hall()?;
        let case = self.case_by_id(case_id)?;
        let (ahead, estimated_wait_min) = estimate_in(self.store.read(), &hall, &case)?;
        Ok(Position {
            ahead,
            estimated_wait_min,
        })
    }

    /// Waiting visitors per department today: (department, waiting, of whom priority), and
    /// today's tickets per item when the hall names no featured matters (the kiosk's menu).
    pub fn queues(&mut self) -> Result<Vec<crate::api::QueueLine>> {
        let featured = !self.hall()?.featured.is_empty();
        self.queue_lines(!featured)
    }

    /// The waiting counts as a wall board shows them: without today's tickets per item (a
    /// grouping over every case of the day that only the kiosk's menu uses).
    pub fn queues_for_boards(&mut self) -> Result<Vec<crate::api::QueueLine>> {
        self.queue_lines(false)
    }

    fn queue_lines(&mut self, with_issued: bool) -> Result<Vec<crate::api::QueueLine>> {
        let hall = self.hall()?;
        let day = self.business_day()?.to_string();
        let store = self.store.read();
        let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for t in store.tally(TallyQuery::QueueSizes { day: &day })? {
            counts.insert(t.key, (t.n as u32, t.m as u32));
        }
        // Only a hall without featured matters needs today's tickets per item (the kiosk offers
        // the most issued instead); boards never use them (`queues_for_boards`).
        let mut issued: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
        if with_issued {
            for t in store.tally(TallyQuery::IssuedToday { day: &day })? {
                issued.entry(t.key).or_default().push((t.sub, t.n as u32));
            }
        }
        // Priority visitors past the hall's wait deadline, longest waiting first.
        let limit = self.now() - chrono::Duration::minutes(hall.deadlines.priority_wait_min as i64);
        let mut late: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for c in store.cases(CaseQuery::PriorityWaiting { day: &day })? {
            if parse_stamp(&c.queued_at).is_some_and(|t| t < limit) {
                late.entry(c.department).or_default().push((c.queued_at, c.number));
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

    /// A free-text note by id, with the case it belongs to and its kind (for the counter's
    /// case panel, which may see only its own departments' notes).
    pub fn note(&self, id: i64) -> Result<Note> {
        self.store.read().note(id)?.ok_or(LedgerError::UnknownNote(id))
    }

    /// Events about one case, oldest first.
    pub fn case_events(&self, case_id: i64) -> Result<Vec<Event>> {
        self.store.read().events(EventQuery::OfCase {
            case_id,
            before: i64::MAX,
        })
    }
}
