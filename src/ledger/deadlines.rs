//! Deadlines and what is overdue: each stage the hall file's `[deadlines]` bounds — a priority
//! visitor's wait, a deferred consultation's answer, a ready result's delivery, a posted
//! result's receipt, a delivered case's archiving — checked against the ledger's clock.

use chrono::Duration;

use crate::model::PartState;

use super::*;

/// Which deadline an item is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    PriorityWait,
    ConsultationAnswer,
    Delivery,
    Receipt,
    Archive,
    RatingFollowUp,
    /// A material a case or a whole-chain part was accepted without (容缺) is due.
    MissingMaterial,
    /// A complaint or suggestion waits for its reply.
    FeedbackReply,
    /// A whole-chain part waits for its department to claim it (listed from the start).
    PartUnclaimed,
    /// 主动服务: a priority visitor has just taken a ticket, well within the wait limit; a
    /// floor specialist goes to them (it turns into `PriorityWait` when the limit nears).
    PriorityArrived,
    /// An escalated case waits for the management office's coordination meeting, or for its
    /// outcome by the meeting's follow-up date (listed from the escalation on).
    Coordination,
    /// 承诺办结: accepted work is finished within the item's time limit; the working days a
    /// suspension (中止) lasted do not count.
    Completion,
    /// 日结未完成: the last day the hall worked was not closed (the office's, hall-wide; the
    /// server closes it at the next opening). `number` and `business_day` are that day.
    UnclosedDay,
}

impl DeadlineKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            DeadlineKind::PriorityWait => "优先群体等候",
            DeadlineKind::ConsultationAnswer => "咨询待答复",
            DeadlineKind::Delivery => "结果待交付",
            DeadlineKind::Receipt => "邮寄待签收",
            DeadlineKind::Archive => "交付待归档",
            DeadlineKind::RatingFollowUp => "差评待回复",
            DeadlineKind::MissingMaterial => "容缺材料待补齐",
            DeadlineKind::FeedbackReply => "意见待回复",
            DeadlineKind::PartUnclaimed => "分项待认领",
            DeadlineKind::PriorityArrived => "优先群体到达",
            DeadlineKind::Coordination => "待协调会商",
            DeadlineKind::Completion => "承诺办结",
            DeadlineKind::UnclosedDay => "日结未完成",
        }
    }
}

/// One case held to a deadline that has passed, or will soon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overdue {
    pub kind: DeadlineKind,
    pub number: String,
    pub business_day: String,
    pub department: String,
    pub owner: Option<String>,
    /// When the clock started (the ticket, the deferral, the result ready …), stamped UTC.
    pub since: String,
    pub due: String,
    /// Past due (true), or due within the last fifth of its time (false).
    pub overdue: bool,
    /// The material a 容缺 part still misses (the department is the part's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
}

/// `days` working days after `t` in the hall's time zone, at the same time of day: Saturdays,
/// Sundays and the calendar's holidays do not count, its 调休 workdays do.
pub fn add_working_days(
    t: DateTime<Utc>,
    days: u32,
    tz: chrono_tz::Tz,
    calendar: &crate::hall::Calendar,
) -> DateTime<Utc> {
    let mut local = t.with_timezone(&tz);
    let mut left = days;
    while left > 0 {
        local += Duration::days(1);
        if calendar.is_working_day(local.date_naive()) {
            left -= 1;
        }
    }
    local.with_timezone(&Utc)
}

/// The working days a case stood suspended (中止): for each suspension, the working days after
/// the day it began up to the day it was lifted.
pub(crate) fn suspended_working_days(events: &[Event], tz: chrono_tz::Tz, calendar: &crate::hall::Calendar) -> u32 {
    let day = |e: &Event| parse_stamp(&e.at).map(|t| t.with_timezone(&tz).date_naive());
    let mut days = 0;
    let mut since = None;
    for e in events {
        match e.kind.as_str() {
            "case_suspended" => since = day(e),
            "suspension_lifted" => {
                if let (Some(from), Some(to)) = (since.take(), day(e)) {
                    days += from
                        .iter_days()
                        .skip(1)
                        .take_while(|d| *d <= to)
                        .filter(|d| calendar.is_working_day(*d))
                        .count() as u32;
                }
            }
            _ => {}
        }
    }
    days
}

/// Whether a clock that ran from `since` is past `due` (overdue), or due soon: within the
/// last fifth of its time.
fn standing(now: DateTime<Utc>, since: DateTime<Utc>, due: DateTime<Utc>) -> (bool, bool) {
    let overdue = now > due;
    (overdue, !overdue && (due - now) * 5 < (due - since))
}

impl Ledger {
    /// Every case overdue or due soon at the ledger's clock, optionally for one department,
    /// most overdue first.
    pub fn overdue(&mut self, department: Option<&str>) -> Result<Vec<Overdue>> {
        let hall = self.hall()?;
        let d = hall.deadlines;
        let tz = hall.tz();
        let now = self.now();
        let today = business_day(now, tz).to_string();
        // Few cases are in these states at any time, whatever the history: the states a
        // deadline watches, and today's priority visitors still waiting.
        let store = self.store.read();
        let mut rows = store.cases(CaseQuery::Watched)?;
        rows.extend(store.cases(CaseQuery::PriorityWaiting { day: &today })?);

        let mut cases = Vec::new();
        for c in rows {
            let involved = |dep: &str| c.department == dep || c.parts.iter().any(|p| p.department == dep);
            if department.map_or(true, involved) {
                cases.push(c);
            }
        }
        let mut out = Vec::new();
        for c in cases {
            // When the stage began: the last event that put the case there.
            let events = self.case_events(c.id)?;
            let last_at = |kinds: &[&str]| {
                events
                    .iter()
                    .rev()
                    .find(|e| kinds.contains(&e.kind.as_str()))
                    .and_then(|e| parse_stamp(&e.at))
            };
            // Every clock the case runs: a stage's deadline, a bad rating's reply, and each
            // material a part was accepted without (its department, the material).
            let mut clocks: Vec<(DeadlineKind, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
            let mut materials: Vec<(DateTime<Utc>, DateTime<Utc>, &str, &str)> = Vec::new();
            let mut unclaimed: Vec<(DateTime<Utc>, DateTime<Utc>, &str)> = Vec::new();
            let opened = last_at(&["parts_opened"]);
            for p in &c.parts {
                // A part to claim is listed from the moment it opens (in series: once it may
                // be claimed), overdue after the claim deadline.
                let claimable = !c.parts_in_series
                    || c.parts
                        .iter()
                        .take_while(|q| q.department != p.department)
                        .all(|q| q.state == PartState::Done);
                if let (PartState::Open, true, Some(since)) = (p.state, claimable, opened) {
                    unclaimed.push((
                        since,
                        add_working_days(since, d.part_claim_days, tz, &hall.calendar),
                        &p.department,
                    ));
                }
                for m in &p.missing {
                    let since = events
                        .iter()
                        .rev()
                        .find(|e| e.kind == "part_moved" && e.payload.contains(&m.material))
                        .and_then(|e| parse_stamp(&e.at));
                    let due = end_of_day(&m.supply_by, tz);
                    if let (Some(since), Some(due)) = (since, due) {
                        materials.push((since, due, &p.department, &m.material));
                    }
                }
            }
            // 容缺受理 at the counter: each material the case was accepted without, due at the
            // end of its supply-by day.
            if let Some(since) = last_at(&["case_accepted"]) {
                for m in &c.accepted_without {
                    if let Some(due) = end_of_day(&m.supply_by, tz) {
                        materials.push((since, due, &c.department, &m.material));
                    }
                }
            }
            if c.follow_up_open {
                if let Some(since) = last_at(&["case_rated"]) {
                    clocks.push((
                        DeadlineKind::RatingFollowUp,
                        since,
                        add_working_days(since, d.rating_reply_days, tz, &hall.calendar),
                    ));
                }
            }
            let stage = if c.open_question {
                last_at(&["consultation_recorded"]).map(|since| {
                    (
                        DeadlineKind::ConsultationAnswer,
                        since,
                        add_working_days(since, d.consultation_answer_days, tz, &hall.calendar),
                    )
                })
            } else {
                match c.state {
                    CaseState::Waiting | CaseState::Transferred if c.priority_rank > 0 && c.business_day == today => {
                        parse_stamp(&c.queued_at).map(|since| {
                            (
                                DeadlineKind::PriorityWait,
                                since,
                                since + Duration::minutes(d.priority_wait_min as i64),
                            )
                        })
                    }
                    // A suspended case's clock stands still; once resumed, the working days it
                    // stood are added to its time limit.
                    CaseState::Accepted | CaseState::InProgress => last_at(&["case_accepted"]).map(|since| {
                        let limit = hall
                            .item(&c.item)
                            .map(|i| i.time_limit(&d))
                            .unwrap_or(d.completion_days);
                        let paused = suspended_working_days(&events, tz, &hall.calendar);
                        (
                            DeadlineKind::Completion,
                            since,
                            add_working_days(since, limit + paused, tz, &hall.calendar),
                        )
                    }),
                    CaseState::Ready => last_at(&["result_ready"]).map(|since| {
                        (
                            DeadlineKind::Delivery,
                            since,
                            add_working_days(since, d.delivery_days, tz, &hall.calendar),
                        )
                    }),
                    CaseState::Mailed => last_at(&["mailed"]).map(|since| {
                        (
                            DeadlineKind::Receipt,
                            since,
                            since + Duration::days(d.receipt_days as i64),
                        )
                    }),
                    CaseState::Delivered | CaseState::ReceiptConfirmed => {
                        last_at(&["delivered_in_person", "receipt_confirmed"]).map(|since| {
                            (
                                DeadlineKind::Archive,
                                since,
                                since + Duration::days(d.archive_days as i64),
                            )
                        })
                    }
                    _ => None,
                }
            };
            clocks.extend(stage);
            // Under coordination: the meeting is due within the hall's days from the
            // escalation; once held, its follow-up date (end of that day) is the outcome's.
            let mut coordination = Vec::new();
            if c.under_coordination {
                if let Some(since) = last_at(&["coordination_requested"]) {
                    let follow_up = events
                        .iter()
                        .rev()
                        .take_while(|e| e.kind != "coordination_requested")
                        .find(|e| e.kind == "coordination_meeting")
                        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.payload).ok())
                        .and_then(|p| p["follow_up"].as_str().and_then(|d| end_of_day(d, tz)));
                    let due =
                        follow_up.unwrap_or_else(|| add_working_days(since, d.coordination_days, tz, &hall.calendar));
                    coordination.push((DeadlineKind::Coordination, since, due, c.department.as_str(), None));
                }
            }
            let rows = clocks
                .into_iter()
                .map(|(kind, since, due)| (kind, since, due, c.department.as_str(), None))
                .chain(
                    materials
                        .into_iter()
                        .map(|(since, due, dep, m)| (DeadlineKind::MissingMaterial, since, due, dep, Some(m))),
                );
            let always: Vec<_> = unclaimed
                .into_iter()
                .map(|(since, due, dep)| (DeadlineKind::PartUnclaimed, since, due, dep, None))
                .chain(coordination)
                .collect();
            for (kind, since, due, dep, material) in rows.chain(always) {
                let (overdue, soon) = standing(now, since, due);
                // Each department sees its own; the lead department of a whole-chain case also
                // sees another department's part once it stalls (past due), since the lead
                // answers to the visitor for the whole.
                let lead_sees = overdue && department == Some(c.department.as_str());
                if department.is_some_and(|d| d != dep) && !lead_sees {
                    continue;
                }
                // A priority visitor is an alert from the ticket on, to be met (主动服务).
                let kind = match kind {
                    DeadlineKind::PriorityWait if !overdue && !soon => DeadlineKind::PriorityArrived,
                    k => k,
                };
                let always = matches!(
                    kind,
                    DeadlineKind::PartUnclaimed | DeadlineKind::PriorityArrived | DeadlineKind::Coordination
                );
                if overdue || soon || always {
                    out.push(Overdue {
                        kind,
                        number: c.number.clone(),
                        business_day: c.business_day.clone(),
                        department: dep.to_string(),
                        owner: match kind {
                            // The case's own 容缺 material is its owner's; a part's, the part's.
                            DeadlineKind::MissingMaterial
                                if c.accepted_without.iter().any(|m| Some(m.material.as_str()) == material) =>
                            {
                                c.owner.clone()
                            }
                            DeadlineKind::MissingMaterial | DeadlineKind::PartUnclaimed => c
                                .parts
                                .iter()
                                .find(|p| p.department == dep)
                                .and_then(|p| p.owner.clone()),
                            _ => c.owner.clone(),
                        },
                        since: stamp(since),
                        due: stamp(due),
                        overdue,
                        material: material.map(str::to_string),
                    });
                }
            }
        }
        // Complaints and suggestions without a reply (few: the partial index holds only those).
        let open = self.store.read().side(SideQuery::FeedbackAll { open: true })?;
        for row in open {
            let SideRow::Feedback(f) = row else { continue };
            let (id, dep, received, due, staff) =
                (f.id, f.department.unwrap_or_default(), f.received_at, f.due, f.staff);
            if department.is_some_and(|d| d != dep) {
                continue;
            }
            let (Some(since), Some(due_t)) = (parse_stamp(&received), parse_stamp(&due)) else {
                continue;
            };
            let (overdue, soon) = standing(now, since, due_t);
            if overdue || soon {
                out.push(Overdue {
                    kind: DeadlineKind::FeedbackReply,
                    number: format!("#{id}"),
                    business_day: business_day(since, tz).to_string(),
                    department: dep,
                    owner: staff,
                    since: received,
                    due,
                    overdue,
                    material: None,
                });
            }
        }
        // The whole hall's list (the office's) names a day left unclosed, due at the close.
        if department.is_none() {
            if let Some(day) = self.unclosed_day()? {
                let close = chrono::NaiveTime::parse_from_str(&hall.close, "%H:%M").unwrap_or_default();
                let due = day
                    .and_time(close)
                    .and_local_timezone(tz)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(now);
                out.push(Overdue {
                    kind: DeadlineKind::UnclosedDay,
                    number: day.to_string(),
                    business_day: day.to_string(),
                    department: String::new(),
                    owner: None,
                    since: stamp(super::reports::local_midnight(tz, day)),
                    due: stamp(due),
                    overdue: true,
                    material: None,
                });
            }
        }
        out.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.due.cmp(&b.due)));
        Ok(out)
    }
}

/// The end of a day (YYYY-MM-DD) in the hall's time zone: when a supply-by or follow-up day
/// is over.
fn end_of_day(day: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| super::reports::local_midnight(tz, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hall::Calendar;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_the_weekend_days_worked_instead() {
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        let fri = at("2026-09-25T10:00:00+08:00");
        let plain = Calendar::default();
        // Friday + 2 working days: Tuesday.
        assert_eq!(add_working_days(fri, 2, tz, &plain), at("2026-09-29T10:00:00+08:00"));
        // 国庆: 1–7 October off, Sunday 27 September worked (调休).
        let golden_week = Calendar {
            holidays: (1..=7)
                .map(|d| chrono::NaiveDate::from_ymd_opt(2026, 10, d).unwrap())
                .collect(),
            workdays: vec![chrono::NaiveDate::from_ymd_opt(2026, 9, 27).unwrap()],
        };
        assert_eq!(
            add_working_days(fri, 1, tz, &golden_week),
            at("2026-09-27T10:00:00+08:00")
        );
        assert_eq!(
            add_working_days(fri, 3, tz, &golden_week),
            at("2026-09-29T10:00:00+08:00")
        );
        // Wednesday 30 September + 1: the holidays and the weekend after them pass first.
        let wed = at("2026-09-30T10:00:00+08:00");
        assert_eq!(
            add_working_days(wed, 1, tz, &golden_week),
            at("2026-10-08T10:00:00+08:00")
        );
    }
}
