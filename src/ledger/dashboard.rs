//! The management office's live view of the hall (数据驾驶舱): today's figures per department,
//! each window's state, calls per hour, the distribution of waits, ratings and alerts, for the
//! whole hall or one department (a coordinator's). Read-only; every figure is a fold of
//! today's rows the other reads already use.

use super::*;

/// One department's day so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashDepartment {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub issued: u32,
    pub served: u32,
    pub waiting: u32,
    /// Of those waiting, how many are priority visitors (优先群体).
    pub priority_waiting: u32,
    pub no_shows: u32,
    /// The longest current wait, in minutes (0 when nobody waits).
    pub longest_wait_min: i64,
}

/// One window right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashWindow {
    pub window: u32,
    pub departments: String,
    /// serving, called, paused or idle
    pub state: String,
    pub number: String,
    pub staff: String,
    pub staff_name: String,
    /// Minutes in this state (serving or called: since the call; paused: since the pause).
    pub minutes: i64,
}

/// An alert as the dashboard lists it: in words and hall time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashAlert {
    pub kind: DeadlineKind,
    pub kind_name: String,
    pub number: String,
    pub business_day: String,
    pub department_name: String,
    /// Due, hall time `MM-DD HH:MM`.
    pub due: String,
    pub overdue: bool,
}

/// A bad rating of today, for the office to follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashRating {
    pub number: String,
    pub level: u8,
    pub level_name: String,
    pub department_name: String,
    pub specialist_name: String,
    pub reasons: String,
    pub follow_up: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub hall: String,
    pub date: String,
    /// Hall time of the reading, `HH:MM:SS`.
    pub at: String,
    /// The department shown alone (a coordinator's), or "" for the whole hall.
    pub department: String,
    pub departments: Vec<DashDepartment>,
    pub total: DashDepartment,
    pub windows: Vec<DashWindow>,
    /// Calls per hour of the day (hour, calls), from opening to now.
    pub calls_per_hour: Vec<(u32, u32)>,
    /// Today's waits until the call, in bands (label, visitors).
    pub waits: Vec<(String, u32)>,
    pub ratings: u32,
    /// Share of ratings 满意 or 非常满意, in percent (None before the first rating).
    pub satisfied_pct: Option<f64>,
    pub bad_ratings: Vec<DashRating>,
    /// What is overdue or due soon (the first 50), and how many in all.
    pub alerts: Vec<DashAlert>,
    pub alert_count: usize,
}

/// The wait bands of the distribution, in minutes.
const WAIT_BANDS: [(i64, &str); 5] = [
    (10, "<10"),
    (20, "10–20"),
    (30, "20–30"),
    (60, "30–60"),
    (i64::MAX, "≥60"),
];

impl Ledger {
    /// The live view of today, for the whole hall or one department.
    pub fn dashboard(&mut self, department: Option<&str>) -> Result<Dashboard> {
        let hall = self.hall()?;
        if let Some(d) = department {
            if hall.department(d).is_none() {
                return Err(LedgerError::UnknownDepartment(d.into()));
            }
        }
        let tz = hall.tz();
        let now = self.now();
        let today = business_day(now, tz);
        let day = today.to_string();
        let ours = |code: &str| department.is_none_or(|d| d == code);
        let report = self.report(today)?;
        let waiting = self.waiting(&[])?;
        let mut departments: Vec<DashDepartment> = hall
            .departments
            .iter()
            .filter(|d| ours(&d.code))
            .map(|d| {
                let line = report.departments.iter().find(|l| l.department == d.code);
                let queue: Vec<&WaitingEntry> = waiting.iter().filter(|w| w.department == d.code).collect();
                DashDepartment {
                    code: d.code.clone(),
                    name: d.name.clone(),
                    name_en: d.english_name().to_string(),
                    issued: line.map(|l| l.issued).unwrap_or(0),
                    served: line.map(|l| l.served).unwrap_or(0),
                    no_shows: line.map(|l| l.no_shows).unwrap_or(0),
                    waiting: queue.len() as u32,
                    priority_waiting: queue.iter().filter(|w| w.priority.is_some()).count() as u32,
                    longest_wait_min: queue.iter().map(|w| w.waited_min).max().unwrap_or(0),
                }
            })
            .collect();
        departments.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.code.cmp(&b.code)));
        let mut total = DashDepartment {
            code: String::new(),
            name: "合计".into(),
            name_en: "Total".into(),
            ..Default::default()
        };
        for d in &departments {
            total.issued += d.issued;
            total.served += d.served;
            total.waiting += d.waiting;
            total.priority_waiting += d.priority_waiting;
            total.no_shows += d.no_shows;
            total.longest_wait_min = total.longest_wait_min.max(d.longest_wait_min);
        }

        let minutes_since = |at: &str| parse_stamp(at).map(|t| (now - t).num_minutes().max(0)).unwrap_or(0);
        let mut windows = Vec::new();
        for w in hall.all_windows() {
            let depts: Vec<&crate::hall::Department> = hall
                .departments_at_window(w)
                .into_iter()
                .filter(|d| ours(&d.code))
                .collect();
            if depts.is_empty() {
                continue;
            }
            let names: Vec<&str> = depts.iter().map(|d| d.name.as_str()).collect();
            let here = self.store.read().case(CaseKey::UnsettledAt { day: &day, window: w })?;
            let paused = match self.store.read().side(SideQuery::Window(w))?.pop() {
                Some(SideRow::Window(row)) if row.paused => Some(row),
                _ => None,
            };
            let (state, number, staff, minutes) = match (&here, &paused) {
                (Some(c), _) => (
                    if c.state == CaseState::Serving {
                        "serving"
                    } else {
                        "called"
                    },
                    c.number.clone(),
                    c.owner.clone().unwrap_or_default(),
                    c.called_at.as_deref().map(minutes_since).unwrap_or(0),
                ),
                (None, Some(p)) => ("paused", String::new(), p.staff.clone(), minutes_since(&p.since)),
                (None, None) => ("idle", String::new(), String::new(), 0),
            };
            windows.push(DashWindow {
                window: w,
                departments: names.join("、"),
                state: state.into(),
                number,
                staff_name: hall.specialist_name(&staff),
                staff,
                minutes,
            });
        }

        // Calls per hour and waits until the call, from today's cases.
        let mut per_hour: BTreeMap<u32, u32> = BTreeMap::new();
        let mut waits = vec![0u32; WAIT_BANDS.len()];
        for c in self.store.read().cases(CaseQuery::Day { day: &day })? {
            if !ours(&c.department) {
                continue;
            }
            let (Some(called), Some(queued)) =
                (c.called_at.as_deref().and_then(parse_stamp), parse_stamp(&c.queued_at))
            else {
                continue;
            };
            use chrono::Timelike;
            *per_hour.entry(called.with_timezone(&tz).hour()).or_default() += 1;
            let wait = (called - queued).num_minutes().max(0);
            if let Some(i) = WAIT_BANDS.iter().position(|(limit, _)| wait < *limit) {
                waits[i] += 1;
            }
        }
        let open_hour = hall
            .open
            .split(':')
            .next()
            .and_then(|h| h.parse::<u32>().ok())
            .unwrap_or(9);
        let now_hour = {
            use chrono::Timelike;
            now.with_timezone(&tz).hour()
        };
        let last = per_hour
            .keys()
            .max()
            .copied()
            .unwrap_or(open_hour)
            .max(now_hour.min(23));
        let first = per_hour.keys().min().copied().unwrap_or(open_hour).min(open_hour);
        let calls_per_hour = (first..=last)
            .map(|h| (h, per_hour.get(&h).copied().unwrap_or(0)))
            .collect();

        let ratings: Vec<RatingRecord> = self
            .ratings(today, today)?
            .into_iter()
            .filter(|r| ours(&r.department))
            .collect();
        let satisfied = ratings.iter().filter(|r| r.level >= 4).count();
        let satisfied_pct = (!ratings.is_empty()).then(|| 100.0 * satisfied as f64 / ratings.len() as f64);
        let bad_ratings = ratings
            .iter()
            .filter(|r| r.level <= 2)
            .map(|r| DashRating {
                number: r.case_number.rsplit('/').next().unwrap_or("").to_string(),
                level: r.level,
                level_name: r.level_name.clone(),
                department_name: r.department_name.clone(),
                specialist_name: r.specialist_name.clone(),
                reasons: r.reasons_zh.join("、"),
                follow_up: r.follow_up.clone(),
            })
            .collect();
        let alerts = self.overdue(department)?;
        let alert_count = alerts.len();
        Ok(Dashboard {
            hall: hall.name.clone(),
            date: day,
            at: now.with_timezone(&tz).format("%H:%M:%S").to_string(),
            department: department.unwrap_or("").into(),
            departments,
            total,
            windows,
            calls_per_hour,
            waits: WAIT_BANDS
                .iter()
                .zip(waits)
                .map(|((_, label), n)| (label.to_string(), n))
                .collect(),
            ratings: ratings.len() as u32,
            satisfied_pct,
            bad_ratings,
            alerts: alerts
                .into_iter()
                .take(50)
                .map(|a| DashAlert {
                    kind: a.kind,
                    kind_name: a.kind.label_zh().into(),
                    department_name: hall.department_name(&a.department),
                    due: parse_stamp(&a.due).map(|t| due_text(t, tz)).unwrap_or_default(),
                    number: a.number,
                    business_day: a.business_day,
                    overdue: a.overdue,
                })
                .collect(),
            alert_count,
        })
    }
}

/// A coordination meeting as the office's pages list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingLine {
    pub held_at: String,
    pub participants: Vec<String>,
    pub minutes: String,
    pub decision: String,
    pub follow_up: Option<String>,
    pub by: String,
    /// 首席代表 and outside parties (name and unit), as typed.
    #[serde(default)]
    pub chiefs: String,
    #[serde(default)]
    pub outside: String,
}

/// A case escalated to the management office (协调会商), with its reason and meetings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinationCase {
    /// `YYYY-MM-DD/A012`, what the office's actions name it by.
    pub case: String,
    pub number: String,
    pub department: String,
    pub department_name: String,
    pub item_name: String,
    pub requested_by: String,
    /// Hall time, `YYYY-MM-DD HH:MM`.
    pub requested_at: String,
    pub reason: String,
    pub meetings: Vec<MeetingLine>,
}

impl Ledger {
    /// The cases under coordination, oldest first, for the hall or one department.
    pub fn coordination(&mut self, department: Option<&str>) -> Result<Vec<CoordinationCase>> {
        let hall = self.hall()?;
        let tz = hall.tz();
        let local = |at: &str| clock::local_minute(at, tz).unwrap_or_default();
        let mut out = Vec::new();
        let watched = self.store.read().cases(CaseQuery::Watched)?;
        for case in watched {
            if !case.under_coordination || department.is_some_and(|d| d != case.department) {
                continue;
            }
            let mut item = CoordinationCase {
                case: format!("{}/{}", case.business_day, case.number),
                number: case.number.clone(),
                department_name: hall.department_name(&case.department),
                department: case.department.clone(),
                item_name: hall.item_name(&case.item),
                requested_by: String::new(),
                requested_at: String::new(),
                reason: String::new(),
                meetings: Vec::new(),
            };
            for ev in self.case_events(case.id)? {
                let Ok(body) = serde_json::from_str::<EventBody>(&ev.payload) else {
                    continue;
                };
                let text = |r: &NoteRef| self.note(r.note).map(|n| n.body).unwrap_or_default();
                match body {
                    EventBody::CoordinationRequested { staff, reason } => {
                        // A case escalated again starts a new coordination.
                        item.requested_by = hall.specialist_name(&staff);
                        item.requested_at = local(&ev.at);
                        item.reason = text(&reason);
                        item.meetings.clear();
                    }
                    EventBody::CoordinationMeeting {
                        staff,
                        held_at,
                        participants,
                        minutes,
                        decision,
                        follow_up,
                        chiefs,
                        outside,
                    } => item.meetings.push(MeetingLine {
                        held_at: clock::local_minute(&held_at, tz).unwrap_or(held_at),
                        participants: participants.iter().map(|p| hall.participant(p)).collect(),
                        minutes: text(&minutes),
                        decision: text(&decision),
                        follow_up,
                        by: hall.specialist_name(&staff),
                        chiefs: chiefs.map(|n| text(&n)).unwrap_or_default(),
                        outside: outside.map(|n| text(&n)).unwrap_or_default(),
                    }),
                    _ => {}
                }
            }
            out.push(item);
        }
        Ok(out)
    }
}

/// A due time in hall time, `MM-DD HH:MM`; a deadline at midnight is the end of the day
/// before, as the rules write it (「12月10日24时」): `12-10 24:00`.
fn due_text(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    use chrono::Timelike;
    let local = t.with_timezone(&tz);
    if local.hour() == 0 && local.minute() == 0 {
        let day = local.date_naive().pred_opt().unwrap_or(local.date_naive());
        return format!("{} 24:00", day.format("%m-%d"));
    }
    local.format("%m-%d %H:%M").to_string()
}
