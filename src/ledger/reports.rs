//! Reports: the day's ledger (台账) per department.

use std::collections::HashMap;

use super::*;

/// How many sequence numbers a period report reads at a time.
const PERIOD_BATCH: usize = 16_384;

impl Ledger {
    /// The day's ledger (台账) per department.
    pub fn report(&mut self, date: NaiveDate) -> Result<DayReport> {
        let hall = self.hall()?;
        let rows = self.store.read().cases(CaseQuery::Day { day: &date.to_string() })?;
        let mut by_dept: BTreeMap<String, Vec<Case>> = BTreeMap::new();
        for c in rows {
            by_dept.entry(c.department.clone()).or_default().push(c);
        }
        let line = |code: &str, name: &str, cases: &[&Case]| {
            let minutes = |a: &Option<String>, b: &Option<String>| match (
                a.as_deref().and_then(parse_stamp),
                b.as_deref().and_then(parse_stamp),
            ) {
                // A clock that stepped back must not make a wait or a service negative.
                (Some(a), Some(b)) => Some(((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0)),
                _ => None,
            };
            let waits: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&Some(c.issued_at.clone()), &c.called_at))
                .collect();
            let services: Vec<f64> = cases
                .iter()
                .filter_map(|c| minutes(&c.started_at, &c.service_end_at))
                .collect();
            DepartmentDay {
                department: code.into(),
                name: name.into(),
                issued: cases.len() as u32,
                served: cases.iter().filter(|c| c.started_at.is_some()).count() as u32,
                no_shows: cases.iter().filter(|c| c.state == CaseState::NoShow).count() as u32,
                avg_wait_min: mean(&waits),
                avg_service_min: mean(&services),
            }
        };
        let mut departments = Vec::new();
        for d in &hall.departments {
            let cases: Vec<&Case> = by_dept.get(&d.code).map(|v| v.iter().collect()).unwrap_or_default();
            departments.push(line(&d.code, &d.name, &cases));
        }
        let all: Vec<&Case> = by_dept.values().flatten().collect();
        let total = line("ALL", "合计", &all);
        Ok(DayReport {
            date: date.to_string(),
            hall: hall.name.clone(),
            departments,
            total,
        })
    }
}

pub(super) fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some(v.iter().sum::<f64>() / v.len() as f64)
    }
}

/// One line of the office's figures: a department, a specialist, or the hall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FigureLine {
    /// Department code, staff id, or `ALL`.
    pub code: String,
    pub name: String,
    /// The specialist's department (empty for department and hall lines).
    pub department: String,
    pub tickets: u32,
    pub served: u32,
    pub no_shows: u32,
    pub consultations_answered: u32,
    pub consultations_deferred: u32,
    /// Deferred and still unanswered two days after being asked (or at the end of the period).
    pub consultations_overdue: u32,
    pub notifications: u32,
    pub acceptances: u32,
    pub delivered_in_person: u32,
    pub mailed: u32,
    pub receipts_confirmed: u32,
    pub archived: u32,
    pub transfers_in: u32,
    pub transfers_out: u32,
    pub expired: u32,
    pub mode_onsite: u32,
    pub mode_online: u32,
    pub mode_fullprocess: u32,
    pub priority: u32,
    pub wait_mean_min: Option<f64>,
    pub wait_p90_min: Option<f64>,
    pub walk_mean_min: Option<f64>,
    pub walk_p90_min: Option<f64>,
    pub service_mean_min: Option<f64>,
    pub service_p90_min: Option<f64>,
    pub idle_mean_min: Option<f64>,
    pub idle_p90_min: Option<f64>,
    /// 好差评 given in the period (to the department of the case and the specialist who
    /// served it), their mean (1 to 5), and the bad ones (不满意, 非常不满意).
    #[serde(default)]
    pub ratings: u32,
    #[serde(default)]
    pub rating_mean: Option<f64>,
    #[serde(default)]
    pub ratings_bad: u32,
    /// 找茬吐槽 and suggestions received (naming the department or a window of it), and the
    /// replies recorded.
    #[serde(default)]
    pub complaints: u32,
    #[serde(default)]
    pub suggestions: u32,
    #[serde(default)]
    pub feedback_replied: u32,
}

/// Arrivals (tickets issued) and visitors served (service started) in one hour of the day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourFigures {
    pub hour: u32,
    pub arrivals: u32,
    pub served: u32,
}

/// The office's figures for a period, from the event log: each event counts where it happened
/// (a transferred case's work counts in each department that did it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub hall: String,
    pub from: String,
    pub to: String,
    pub departments: Vec<FigureLine>,
    pub specialists: Vec<FigureLine>,
    pub total: FigureLine,
    pub hourly: Vec<HourFigures>,
}

/// Durations gathered for a line before their mean and p90 are taken.
#[derive(Default)]
struct Samples {
    wait: Vec<f64>,
    walk: Vec<f64>,
    service: Vec<f64>,
    idle: Vec<f64>,
    rating: Vec<f64>,
}

/// What the figures need to remember of a case while walking the log.
#[derive(Default, Clone)]
struct Seen {
    department: String,
    issued: Option<chrono::DateTime<Utc>>,
    called: Option<chrono::DateTime<Utc>>,
    started: Option<(chrono::DateTime<Utc>, String)>,
    service_ended: bool,
    deferred: Option<(chrono::DateTime<Utc>, String, String)>,
    /// Who owned the case when the period began (a visit served before it, rated in it).
    owner: Option<String>,
}

impl Ledger {
    /// The office's figures for the business days `from..=to` (hall time), per department,
    /// per specialist and for the hall, with the hourly arrivals and services.
    pub fn figures(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Figures> {
        if to < from {
            return Err(LedgerError::Invalid(format!(
                "the period ends ({to}) before it starts ({from})"
            )));
        }
        let hall = self.hall()?;
        let tz = hall.tz();
        let start = local_midnight(tz, from);
        let end = local_midnight(tz, to.succ_opt().unwrap_or(to));
        let mut lines: BTreeMap<(u8, String), (FigureLine, Samples)> = BTreeMap::new();
        for d in &hall.departments {
            lines.insert(
                (0, d.code.clone()),
                (
                    FigureLine {
                        code: d.code.clone(),
                        name: d.name.clone(),
                        ..Default::default()
                    },
                    Samples::default(),
                ),
            );
        }
        for s in &hall.specialists {
            lines.insert(
                (1, s.staff_id.clone()),
                (
                    FigureLine {
                        code: s.staff_id.clone(),
                        name: s.name.clone(),
                        department: s.department.clone(),
                        ..Default::default()
                    },
                    Samples::default(),
                ),
            );
        }
        lines.insert(
            (2, "ALL".into()),
            (
                FigureLine {
                    code: "ALL".into(),
                    name: "合计".into(),
                    ..Default::default()
                },
                Samples::default(),
            ),
        );
        let mut hourly: BTreeMap<u32, HourFigures> = BTreeMap::new();
        let mut cases: HashMap<i64, Seen> = HashMap::new();
        let mut last_end: HashMap<String, chrono::DateTime<Utc>> = HashMap::new();
        let minutes = |a: chrono::DateTime<Utc>, b: chrono::DateTime<Utc>| {
            ((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0)
        };
        // The period's events in batches by sequence number (the range found through the time
        // index): a year is millions of events, and holding them all at once took gigabytes
        // from the page cache that the hall's writer reads through.
        let (start_s, end_s) = (stamp(start), stamp(end));
        let mut after = 0;
        loop {
            let events = self.store.read().events(EventQuery::Period {
                from: &start_s,
                to: &end_s,
                kinds: &[],
                after,
                limit: PERIOD_BATCH,
            })?;
            let Some(last) = events.last() else { break };
            after = last.seq;
            for ev in events {
                let Some(at) = parse_stamp(&ev.at) else { continue };
                let Ok(body) = serde_json::from_str::<EventBody>(&ev.payload) else {
                    continue;
                };
                // The visitor's voice beyond ratings names a department (and maybe a specialist).
                match &body {
                    EventBody::FeedbackReceived {
                        feedback_kind,
                        department,
                        staff,
                        ..
                    } => {
                        let complaint = feedback_kind == "complaint";
                        for key in [
                            department.clone().map(|d| (0u8, d)),
                            staff.clone().map(|s| (1u8, s)),
                            Some((2, "ALL".into())),
                        ]
                        .into_iter()
                        .flatten()
                        {
                            if let Some((l, _)) = lines.get_mut(&key) {
                                if complaint {
                                    l.complaints += 1
                                } else {
                                    l.suggestions += 1
                                }
                            }
                        }
                    }
                    EventBody::FeedbackReplied { feedback, .. } => {
                        let department = match self.store.read().side(SideQuery::Feedback(*feedback))?.pop() {
                            Some(SideRow::Feedback(f)) => f.department,
                            _ => None,
                        };
                        for key in [department.map(|d| (0u8, d)), Some((2, "ALL".into()))]
                            .into_iter()
                            .flatten()
                        {
                            if let Some((l, _)) = lines.get_mut(&key) {
                                l.feedback_replied += 1;
                            }
                        }
                    }
                    _ => {}
                }
                let Some(id) = ev.case_id else { continue };
                if !cases.contains_key(&id) {
                    // A case from before the period: where it stood when the period began.
                    let before = self.case_before(id, ev.seq)?;
                    cases.insert(id, before);
                }
                let seen = cases.get_mut(&id).expect("inserted above");
                let dept = seen.department.clone();
                // Count a figure for the department the case is in, the acting specialist, and the hall.
                let mut bump = |staff: Option<&str>, f: &dyn Fn(&mut FigureLine, &mut Samples)| {
                    for key in [
                        Some((0u8, dept.clone())),
                        staff.map(|s| (1u8, s.to_string())),
                        Some((2, "ALL".into())),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        if let Some((line, samples)) = lines.get_mut(&key) {
                            f(line, samples);
                        }
                    }
                };
                let hour = at
                    .with_timezone(&tz)
                    .format("%H")
                    .to_string()
                    .parse::<u32>()
                    .unwrap_or(0);
                match &body {
                    EventBody::CaseIssued {
                        department,
                        mode,
                        priority,
                        ..
                    } => {
                        seen.department = department.clone();
                        seen.issued = Some(at);
                        let (mode, prio) = (*mode, priority.is_some());
                        let dept = department.clone();
                        for key in [(0u8, dept), (2, "ALL".into())] {
                            if let Some((l, _)) = lines.get_mut(&key) {
                                l.tickets += 1;
                                match mode {
                                    Mode::Onsite => l.mode_onsite += 1,
                                    Mode::Online => l.mode_online += 1,
                                    Mode::Fullprocess => l.mode_fullprocess += 1,
                                }
                                l.priority += prio as u32;
                            }
                        }
                        hourly
                            .entry(hour)
                            .or_insert_with(|| HourFigures {
                                hour,
                                ..Default::default()
                            })
                            .arrivals += 1;
                    }
                    EventBody::CaseReturned { .. } => {
                        seen.issued = Some(at);
                        seen.called = None;
                    }
                    EventBody::CaseCalled { staff, .. } => {
                        let wait = seen.issued.filter(|_| seen.called.is_none()).map(|i| minutes(i, at));
                        seen.called = Some(at);
                        let idle = last_end
                            .remove(staff)
                            .filter(|e| e.with_timezone(&tz).date_naive() == at.with_timezone(&tz).date_naive())
                            .map(|e| minutes(e, at));
                        bump(Some(staff), &|_, s| {
                            if let Some(w) = wait {
                                s.wait.push(w);
                            }
                        });
                        // Idle: from the specialist's last service end to their next call, same day.
                        if let (Some(i), Some((_, s))) = (idle, lines.get_mut(&(1, staff.clone()))) {
                            s.idle.push(i);
                        }
                    }
                    EventBody::CaseStarted { staff, .. } => {
                        let walk = seen.called.map(|c| minutes(c, at));
                        if seen.started.is_none() {
                            seen.started = Some((at, staff.clone()));
                        }
                        bump(Some(staff), &|l, s| {
                            l.served += 1;
                            if let Some(w) = walk {
                                s.walk.push(w);
                            }
                        });
                        hourly
                            .entry(hour)
                            .or_insert_with(|| HourFigures {
                                hour,
                                ..Default::default()
                            })
                            .served += 1;
                    }
                    EventBody::CaseNoShow { staff } => bump(Some(staff), &|l, _| l.no_shows += 1),
                    EventBody::CaseOpened { staff, .. } => seen.owner = Some(staff.clone()),
                    EventBody::CaseRated { level, .. } => {
                        // The visit is the specialist's who served it first (首问负责).
                        let server = seen
                            .started
                            .as_ref()
                            .map(|s| s.1.clone())
                            .or_else(|| seen.owner.clone());
                        let level = *level;
                        bump(server.as_deref(), &|l, s| {
                            l.ratings += 1;
                            l.ratings_bad += (level <= 2) as u32;
                            s.rating.push(level as f64);
                        })
                    }
                    EventBody::ConsultationRecorded { staff, resolved, .. } => {
                        if !resolved {
                            seen.deferred = Some((at, staff.clone(), dept.clone()));
                        }
                        bump(Some(staff), &|l, _| {
                            if *resolved {
                                l.consultations_answered += 1
                            } else {
                                l.consultations_deferred += 1
                            }
                        })
                    }
                    EventBody::QuestionAnswered { .. } => {
                        if let Some((asked, who, d)) = seen.deferred.take() {
                            if minutes(asked, at) > 2.0 * 24.0 * 60.0 {
                                count_overdue(&mut lines, &who, &d);
                            }
                        }
                    }
                    EventBody::MaterialsMissing { staff, .. } => bump(Some(staff), &|l, _| l.notifications += 1),
                    EventBody::CaseAccepted { staff, .. } => bump(Some(staff), &|l, _| l.acceptances += 1),
                    EventBody::DeliveredInPerson { staff, .. } => bump(Some(staff), &|l, _| l.delivered_in_person += 1),
                    EventBody::Mailed { staff, .. } => bump(Some(staff), &|l, _| l.mailed += 1),
                    EventBody::ReceiptConfirmed { staff } => bump(Some(staff), &|l, _| l.receipts_confirmed += 1),
                    EventBody::Archived { staff, .. } => bump(Some(staff), &|l, _| l.archived += 1),
                    EventBody::CaseExpired { .. } => bump(None, &|l, _| l.expired += 1),
                    EventBody::CaseTransferred {
                        staff, to_department, ..
                    } => {
                        bump(Some(staff), &|l, _| l.transfers_out += 1);
                        if let Some((l, _)) = lines.get_mut(&(0, to_department.clone())) {
                            l.transfers_in += 1;
                        }
                        seen.department = to_department.clone();
                    }
                    _ => {}
                }
                // The first time the visitor leaves the counter ends the measured service.
                let seen = cases.get_mut(&id).expect("inserted above");
                let leaves = matches!(
                    body,
                    EventBody::CaseTransferred { .. }
                        | EventBody::MaterialsMissing { .. }
                        | EventBody::CaseAccepted { .. }
                        | EventBody::CaseCancelled { .. }
                        | EventBody::ConsultationRecorded { resolved: true, .. }
                );
                if leaves && !seen.service_ended {
                    if let Some((started, staff)) = seen.started.clone() {
                        seen.service_ended = true;
                        let service = minutes(started, at);
                        last_end.insert(staff.clone(), at);
                        for key in [(0u8, dept.clone()), (1, staff), (2, "ALL".into())] {
                            if let Some((_, s)) = lines.get_mut(&key) {
                                s.service.push(service);
                            }
                        }
                    }
                }
            }
        }
        // Questions deferred in the period and still open at its end, past two days.
        let period_end = end.min(self.now());
        for seen in cases.values() {
            if let Some((asked, who, d)) = &seen.deferred {
                if minutes(*asked, period_end) > 2.0 * 24.0 * 60.0 {
                    count_overdue(&mut lines, who, d);
                }
            }
        }
        let mut departments = Vec::new();
        let mut specialists = Vec::new();
        let mut total = FigureLine::default();
        for ((kind, _), (mut line, samples)) in lines {
            (line.wait_mean_min, line.wait_p90_min) = mean_p90(samples.wait);
            (line.walk_mean_min, line.walk_p90_min) = mean_p90(samples.walk);
            (line.service_mean_min, line.service_p90_min) = mean_p90(samples.service);
            (line.idle_mean_min, line.idle_p90_min) = mean_p90(samples.idle);
            line.rating_mean = mean(&samples.rating).map(|m| (m * 100.0).round() / 100.0);
            match kind {
                0 => departments.push(line),
                1 => specialists.push(line),
                _ => total = line,
            }
        }
        // Department lines in the hall file's order, specialists by department then id.
        departments.sort_by_key(|l| hall.departments.iter().position(|d| d.code == l.code));
        specialists.sort_by(|a, b| {
            let pos = |l: &FigureLine| hall.departments.iter().position(|d| d.code == l.department);
            pos(a).cmp(&pos(b)).then(a.code.cmp(&b.code))
        });
        let open_h = hall.open.get(..2).and_then(|h| h.parse::<u32>().ok()).unwrap_or(8);
        let close_h = hall.close.get(..2).and_then(|h| h.parse::<u32>().ok()).unwrap_or(18);
        let first = hourly.keys().next().copied().unwrap_or(open_h).min(open_h);
        let last = hourly
            .keys()
            .last()
            .copied()
            .unwrap_or(close_h)
            .max(close_h.saturating_sub(1));
        let hourly = (first..=last)
            .map(|h| {
                hourly.get(&h).cloned().unwrap_or(HourFigures {
                    hour: h,
                    ..Default::default()
                })
            })
            .collect();
        Ok(Figures {
            hall: hall.name.clone(),
            from: from.to_string(),
            to: to.to_string(),
            departments,
            specialists,
            total,
            hourly,
        })
    }

    /// A case as it stood before event `seq`: its department and times, folded from its events.
    fn case_before(&self, id: i64, seq: i64) -> Result<Seen> {
        let mut seen = Seen::default();
        for ev in self.store.read().events(EventQuery::OfCase {
            case_id: id,
            before: seq,
        })? {
            let Ok(body) = serde_json::from_str::<EventBody>(&ev.payload) else {
                continue;
            };
            let at = parse_stamp(&ev.at);
            match body {
                EventBody::CaseIssued { department, .. } => {
                    seen.department = department;
                    seen.issued = at;
                }
                EventBody::CaseTransferred { to_department, .. } => seen.department = to_department,
                EventBody::CaseCalled { .. } => seen.called = seen.called.or(at),
                EventBody::CaseStarted { staff, .. } => {
                    if let (None, Some(at)) = (&seen.started, at) {
                        seen.started = Some((at, staff));
                    }
                }
                EventBody::ConsultationRecorded {
                    resolved: false, staff, ..
                } => {
                    if let Some(at) = at {
                        seen.deferred = Some((at, staff, seen.department.clone()));
                    }
                }
                EventBody::QuestionAnswered { .. } => seen.deferred = None,
                EventBody::CaseOpened { staff, .. } => seen.owner = Some(staff),
                _ => {}
            }
        }
        // Served before the period: its service is not measured again.
        seen.service_ended = seen.started.is_some();
        Ok(seen)
    }
}

fn count_overdue(lines: &mut BTreeMap<(u8, String), (FigureLine, Samples)>, staff: &str, dept: &str) {
    for key in [(0u8, dept.to_string()), (1, staff.to_string()), (2, "ALL".into())] {
        if let Some((l, _)) = lines.get_mut(&key) {
            l.consultations_overdue += 1;
        }
    }
}

/// Mean and 90th percentile (nearest rank), or none for no samples.
fn mean_p90(mut v: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((v.len() as f64) * 0.9).ceil() as usize;
    (mean(&v), Some(v[rank.clamp(1, v.len()) - 1]))
}

/// Midnight at the start of a business day in the hall's time zone, in UTC.
pub(super) fn local_midnight(tz: chrono_tz::Tz, day: NaiveDate) -> chrono::DateTime<Utc> {
    use chrono::TimeZone;
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight")))
}
