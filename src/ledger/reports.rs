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
        // The day's visitors: cases opened without a ticket (来电, 网上, 介入) are no queue's.
        for c in rows
            .into_iter()
            .filter(|c| matches!(c.channel, Channel::Kiosk | Channel::Counter))
        {
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
    /// Tickets taken (来访: the kiosk's and the counter's).
    pub tickets: u32,
    /// Cases opened without a ticket: phone consultations (来电) and online help (网上).
    #[serde(default)]
    pub phone: u32,
    #[serde(default)]
    pub online: u32,
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
    /// 减少跑腿: cases finished in the period (delivered, posted, or archived), how many of
    /// them in one visit or none (一次办结), and the visits they took (days at a counter).
    #[serde(default)]
    pub finished: u32,
    #[serde(default)]
    pub finished_one_visit: u32,
    #[serde(default)]
    pub visits: u32,
    /// 一次办结率 (%) and visits per finished case.
    #[serde(default)]
    pub one_visit_pct: Option<f64>,
    #[serde(default)]
    pub visits_per_case: Option<f64>,
    /// Items done past their deadline in the period, by stage (the breach list's count).
    #[serde(default)]
    pub late_answers: u32,
    #[serde(default)]
    pub late_deliveries: u32,
    #[serde(default)]
    pub late_archives: u32,
    #[serde(default)]
    pub late_replies: u32,
}

/// One encouraged category of the rules (全链条, 民生保障, 市政公用, 工程建设, 企业开办): the
/// period's tickets, visitors served and cases finished of its items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryLine {
    pub tag: String,
    pub tickets: u32,
    pub served: u32,
    pub finished: u32,
    pub finished_one_visit: u32,
    pub visits: u32,
    pub one_visit_pct: Option<f64>,
    pub visits_per_case: Option<f64>,
}

/// Something done past its deadline (通报 material): a late answer, delivery, archiving or
/// reply, with its case and the specialist who did it (or is still to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// answer, delivery, archive, rating_reply, feedback_reply.
    pub kind: String,
    pub kind_zh: String,
    /// The case's number (`#7` for a complaint or suggestion).
    pub number: String,
    pub business_day: String,
    pub department: String,
    pub staff: String,
    pub staff_name: String,
    /// Due and done, hall time `YYYY-MM-DD HH:MM`; done empty when still not done.
    pub due: String,
    pub done: String,
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
    #[serde(default)]
    pub categories: Vec<CategoryLine>,
    #[serde(default)]
    pub breaches: Vec<Breach>,
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
    /// The item, as its place in the hall's list (a year's cases are all held at once).
    item: Option<u16>,
    /// The days the visitor came to a counter for it (跑腿), and the last of them.
    visits: u32,
    last_visit: Option<NaiveDate>,
    finished: bool,
    ready_at: Option<chrono::DateTime<Utc>>,
    delivered_at: Option<chrono::DateTime<Utc>>,
    /// A bad rating awaiting the coordinator's reply.
    rated_bad_at: Option<chrono::DateTime<Utc>>,
}

impl Seen {
    fn visit(&mut self, at: chrono::DateTime<Utc>, tz: chrono_tz::Tz) {
        let day = at.with_timezone(&tz).date_naive();
        if self.last_visit != Some(day) {
            self.visits += 1;
            self.last_visit = Some(day);
        }
    }
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
        let mut categories: BTreeMap<&str, CategoryLine> = crate::hall::TAGS
            .iter()
            .map(|t| {
                (
                    *t,
                    CategoryLine {
                        tag: t.to_string(),
                        ..Default::default()
                    },
                )
            })
            .collect();
        let mut breaches: Vec<Breach> = Vec::new();
        let dl = hall.deadlines;
        let local = |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let working =
            |t: chrono::DateTime<Utc>, days: u32| super::deadlines::add_working_days(t, days, tz, &hall.calendar);
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
                    EventBody::FeedbackReplied { feedback, staff, .. } => {
                        let row = match self.store.read().side(SideQuery::Feedback(*feedback))?.pop() {
                            Some(SideRow::Feedback(f)) => Some(f),
                            _ => None,
                        };
                        let department = row.as_ref().and_then(|f| f.department.clone());
                        // A reply after its due day is a breach of the department's.
                        if let Some(due) = row.as_ref().and_then(|f| parse_stamp(&f.due)).filter(|due| at > *due) {
                            breaches.push(Breach {
                                kind: "feedback_reply".into(),
                                kind_zh: "意见回复超期".into(),
                                number: format!("#{feedback}"),
                                business_day: local(at).get(..10).unwrap_or_default().to_string(),
                                department: hall.department_name(department.as_deref().unwrap_or_default()),
                                staff: staff.clone(),
                                staff_name: hall.specialist_name(staff),
                                due: local(due),
                                done: local(at),
                            });
                            for key in [
                                department.clone().map(|d| (0u8, d)),
                                Some((1, staff.clone())),
                                Some((2, "ALL".into())),
                            ]
                            .into_iter()
                            .flatten()
                            {
                                if let Some((l, _)) = lines.get_mut(&key) {
                                    l.late_replies += 1;
                                }
                            }
                        }
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
                    let before = self.case_before(id, ev.seq, &hall)?;
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
                        channel,
                        item,
                        ..
                    } => {
                        seen.department = department.clone();
                        seen.issued = Some(at);
                        seen.item = item_index(&hall, item);
                        if matches!(channel, Channel::Kiosk | Channel::Counter) {
                            for tag in hall.item(item).map(|i| i.tags.as_slice()).unwrap_or_default() {
                                if let Some(c) = categories.get_mut(tag.as_str()) {
                                    c.tickets += 1;
                                }
                            }
                        }
                        let (mode, prio) = (*mode, priority.is_some());
                        let dept = department.clone();
                        let ticket = matches!(channel, Channel::Kiosk | Channel::Counter);
                        for key in [(0u8, dept), (2, "ALL".into())] {
                            if let Some((l, _)) = lines.get_mut(&key) {
                                // 来访 / 来电 / 网上: only a ticket is a visit to the hall.
                                match channel {
                                    Channel::Kiosk | Channel::Counter => l.tickets += 1,
                                    Channel::Phone => l.phone += 1,
                                    Channel::Online => l.online += 1,
                                    Channel::Intervention => {}
                                }
                                match mode {
                                    Mode::Onsite => l.mode_onsite += 1,
                                    Mode::Online => l.mode_online += 1,
                                    Mode::Fullprocess => l.mode_fullprocess += 1,
                                }
                                l.priority += prio as u32;
                            }
                        }
                        if ticket {
                            hourly
                                .entry(hour)
                                .or_insert_with(|| HourFigures {
                                    hour,
                                    ..Default::default()
                                })
                                .arrivals += 1;
                        }
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
                        seen.visit(at, tz);
                        for tag in tags_of(&hall, seen.item) {
                            if let Some(c) = categories.get_mut(tag.as_str()) {
                                c.served += 1;
                            }
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
                        if level <= 2 {
                            seen.rated_bad_at = Some(at);
                        }
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
                            let due = working(asked, dl.consultation_answer_days);
                            if at > due {
                                breaches.push(breach(
                                    &hall,
                                    seen,
                                    &self.store.read().case(CaseKey::Id(id))?,
                                    "answer",
                                    &who,
                                    local(due),
                                    local(at),
                                ));
                                late(&mut lines, &who, &d, |l| l.late_answers += 1);
                            }
                        }
                    }
                    EventBody::MaterialsReturned { .. } => seen.visit(at, tz),
                    EventBody::ResultReady { .. } => seen.ready_at = Some(at),
                    EventBody::RatingReplied { staff, .. } => {
                        if let Some(rated) = seen.rated_bad_at.take() {
                            let due = working(rated, dl.rating_reply_days);
                            if at > due {
                                breaches.push(breach(
                                    &hall,
                                    seen,
                                    &self.store.read().case(CaseKey::Id(id))?,
                                    "rating_reply",
                                    staff,
                                    local(due),
                                    local(at),
                                ));
                                late(&mut lines, staff, &dept, |l| l.late_replies += 1);
                            }
                        }
                    }
                    EventBody::MaterialsMissing { staff, .. } => bump(Some(staff), &|l, _| l.notifications += 1),
                    EventBody::CaseAccepted { staff, .. } => bump(Some(staff), &|l, _| l.acceptances += 1),
                    EventBody::DeliveredInPerson { staff, .. } | EventBody::Mailed { staff, .. } => {
                        let in_person = matches!(body, EventBody::DeliveredInPerson { .. });
                        bump(Some(staff), &|l, _| {
                            if in_person {
                                l.delivered_in_person += 1
                            } else {
                                l.mailed += 1
                            }
                        });
                        if in_person {
                            seen.visit(at, tz);
                        }
                        if let Some(due) = seen
                            .ready_at
                            .map(|r| working(r, dl.delivery_days))
                            .filter(|due| at > *due)
                        {
                            breaches.push(breach(
                                &hall,
                                seen,
                                &self.store.read().case(CaseKey::Id(id))?,
                                "delivery",
                                staff,
                                local(due),
                                local(at),
                            ));
                            late(&mut lines, staff, &dept, |l| l.late_deliveries += 1);
                        }
                        seen.delivered_at = Some(at);
                        if let Some(v) = finish(seen) {
                            finished(&mut lines, &mut categories, &hall, seen, staff, &dept, v);
                        }
                    }
                    EventBody::ReceiptConfirmed { staff } => bump(Some(staff), &|l, _| l.receipts_confirmed += 1),
                    EventBody::Archived { staff, .. } => {
                        bump(Some(staff), &|l, _| l.archived += 1);
                        let due = seen
                            .delivered_at
                            .map(|d| d + chrono::Duration::days(dl.archive_days as i64));
                        if let Some(due) = due.filter(|due| at > *due) {
                            breaches.push(breach(
                                &hall,
                                seen,
                                &self.store.read().case(CaseKey::Id(id))?,
                                "archive",
                                staff,
                                local(due),
                                local(at),
                            ));
                            late(&mut lines, staff, &dept, |l| l.late_archives += 1);
                        }
                        if let Some(v) = finish(seen) {
                            finished(&mut lines, &mut categories, &hall, seen, staff, &dept, v);
                        }
                    }
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
        for (id, seen) in &cases {
            if let Some((asked, who, d)) = &seen.deferred {
                if minutes(*asked, period_end) > 2.0 * 24.0 * 60.0 {
                    count_overdue(&mut lines, who, d);
                }
                let due = working(*asked, dl.consultation_answer_days);
                if period_end > due {
                    breaches.push(breach(
                        &hall,
                        seen,
                        &self.store.read().case(CaseKey::Id(*id))?,
                        "answer",
                        who,
                        local(due),
                        String::new(),
                    ));
                    late(&mut lines, who, d, |l| l.late_answers += 1);
                }
            }
        }
        breaches.sort_by(|a, b| a.due.cmp(&b.due).then(a.number.cmp(&b.number)));
        let rate = |one: u32, all: u32| (all > 0).then(|| (one as f64 * 1000.0 / all as f64).round() / 10.0);
        let per_case = |visits: u32, all: u32| (all > 0).then(|| (visits as f64 * 100.0 / all as f64).round() / 100.0);
        let categories: Vec<CategoryLine> = categories
            .into_values()
            .map(|mut c| {
                c.one_visit_pct = rate(c.finished_one_visit, c.finished);
                c.visits_per_case = per_case(c.visits, c.finished);
                c
            })
            .collect();
        let mut departments = Vec::new();
        let mut specialists = Vec::new();
        let mut total = FigureLine::default();
        for ((kind, _), (mut line, samples)) in lines {
            (line.wait_mean_min, line.wait_p90_min) = mean_p90(samples.wait);
            (line.walk_mean_min, line.walk_p90_min) = mean_p90(samples.walk);
            (line.service_mean_min, line.service_p90_min) = mean_p90(samples.service);
            (line.idle_mean_min, line.idle_p90_min) = mean_p90(samples.idle);
            line.rating_mean = mean(&samples.rating).map(|m| (m * 100.0).round() / 100.0);
            line.one_visit_pct = rate(line.finished_one_visit, line.finished);
            line.visits_per_case = per_case(line.visits, line.finished);
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
            categories,
            breaches,
        })
    }

    /// A case as it stood before event `seq`: its department and times, folded from its events.
    fn case_before(&self, id: i64, seq: i64, hall: &Hall) -> Result<Seen> {
        let tz = hall.tz();
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
                EventBody::CaseIssued { department, item, .. } => {
                    seen.department = department;
                    seen.issued = at;
                    seen.item = item_index(hall, &item);
                }
                EventBody::MaterialsReturned { .. } => {
                    if let Some(at) = at {
                        seen.visit(at, tz);
                    }
                }
                EventBody::ResultReady { .. } => seen.ready_at = at,
                EventBody::DeliveredInPerson { .. } | EventBody::Mailed { .. } => {
                    if let (true, Some(at)) = (matches!(body, EventBody::DeliveredInPerson { .. }), at) {
                        seen.visit(at, tz);
                    }
                    seen.delivered_at = at;
                    seen.finished = true;
                }
                EventBody::Archived { .. } => seen.finished = true,
                EventBody::CaseRated { level, .. } => {
                    if level <= 2 {
                        seen.rated_bad_at = at;
                    }
                }
                EventBody::RatingReplied { .. } => seen.rated_bad_at = None,
                EventBody::CaseTransferred { to_department, .. } => seen.department = to_department,
                EventBody::CaseCalled { .. } => seen.called = seen.called.or(at),
                EventBody::CaseStarted { staff, .. } => {
                    if let Some(at) = at {
                        seen.visit(at, tz);
                    }
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

/// A case is finished once (delivered, posted, or archived without either): the visits it took.
fn finish(seen: &mut Seen) -> Option<u32> {
    if seen.finished {
        return None;
    }
    seen.finished = true;
    Some(seen.visits)
}

/// Count a finished case for its department, the specialist and the hall, and its categories.
fn finished(
    lines: &mut BTreeMap<(u8, String), (FigureLine, Samples)>,
    categories: &mut BTreeMap<&str, CategoryLine>,
    hall: &Hall,
    seen: &Seen,
    staff: &str,
    dept: &str,
    visits: u32,
) {
    let one = (visits <= 1) as u32;
    for key in [(0u8, dept.to_string()), (1, staff.to_string()), (2, "ALL".into())] {
        if let Some((l, _)) = lines.get_mut(&key) {
            l.finished += 1;
            l.finished_one_visit += one;
            l.visits += visits;
        }
    }
    for tag in tags_of(hall, seen.item) {
        if let Some(c) = categories.get_mut(tag.as_str()) {
            c.finished += 1;
            c.finished_one_visit += one;
            c.visits += visits;
        }
    }
}

/// One breach of a case, in the office's words.
fn breach(hall: &Hall, seen: &Seen, case: &Option<Case>, kind: &str, staff: &str, due: String, done: String) -> Breach {
    let kind_zh = match kind {
        "answer" => "咨询答复超期",
        "delivery" => "结果交付超期",
        "archive" => "资料归档超期",
        "rating_reply" => "差评回复超期",
        _ => "意见回复超期",
    };
    Breach {
        kind: kind.into(),
        kind_zh: kind_zh.into(),
        number: case.as_ref().map(|c| c.number.clone()).unwrap_or_default(),
        business_day: case.as_ref().map(|c| c.business_day.clone()).unwrap_or_default(),
        department: hall.department_name(&seen.department),
        staff: staff.into(),
        staff_name: hall.specialist_name(staff),
        due,
        done,
    }
}

/// Count a late item for the department, the specialist and the hall.
fn late(lines: &mut BTreeMap<(u8, String), (FigureLine, Samples)>, staff: &str, dept: &str, f: fn(&mut FigureLine)) {
    for key in [(0u8, dept.to_string()), (1, staff.to_string()), (2, "ALL".into())] {
        if let Some((l, _)) = lines.get_mut(&key) {
            f(l);
        }
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

/// An item's place in the hall's list.
fn item_index(hall: &Hall, code: &str) -> Option<u16> {
    hall.items.iter().position(|i| i.code == code).map(|p| p as u16)
}

/// The categories (tags) of the item at that place.
fn tags_of(hall: &Hall, item: Option<u16>) -> &[String] {
    item.and_then(|i| hall.items.get(i as usize))
        .map(|i| i.tags.as_slice())
        .unwrap_or_default()
}
