//! 好差评 at the place of service and for the national platform: the counter's rating pad
//! (评价器: what it shows for its window, a rating bound to that window with the reasons of a
//! bad one) and the ratings of a period with the data items the platform collects.

use super::*;

/// The reasons a visitor may tick for 不满意 or 非常不满意 (a fixed list: nothing typed, so
/// nothing personal, ever reaches the event): code, Chinese, English.
pub const RATING_REASONS: &[(&str, &str, &str)] = &[
    ("wait", "等候时间长", "Waited too long"),
    ("attitude", "服务态度不好", "Unfriendly service"),
    ("slow", "办理效率低", "Slow handling"),
    ("unclear", "告知不清楚", "Requirements not explained clearly"),
    ("again", "需要多次跑", "Must come back again"),
    ("rules", "不按规定办理", "Not handled by the rules"),
];

/// The five levels as the national platform names them, 5 first.
pub const RATING_LEVELS: [(u8, &str, &str); 5] = [
    (5, "非常满意", "Very satisfied"),
    (4, "满意", "Satisfied"),
    (3, "基本满意", "Fairly satisfied"),
    (2, "不满意", "Dissatisfied"),
    (1, "非常不满意", "Very dissatisfied"),
];

/// The Chinese name of a level (1–5), as the platform and the registers say it.
pub fn level_name(level: u8) -> &'static str {
    RATING_LEVELS.iter().find(|l| l.0 == level).map(|l| l.1).unwrap_or("")
}

/// How long after its service ended a visit may still be rated on the pad: the visitor is at
/// the counter for a moment, not for the rest of the morning.
pub const PAD_RATE_FOR_MIN: i64 = 15;

/// What a counter's rating pad shows for its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PadView {
    pub window: u32,
    /// `idle` (nobody at the counter), `serving` (a visitor is being served), `rate` (the
    /// visit just ended and is not rated yet: show the faces), `rated`.
    pub state: String,
    /// The case on the pad (its id): the pad passes it back to follow it past the counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<i64>,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub item_name: String,
    /// The specialist serving (or who served) the visitor: staff id, name and badge number.
    #[serde(default)]
    pub staff: String,
    #[serde(default)]
    pub staff_name: String,
    #[serde(default)]
    pub badge: String,
    #[serde(default)]
    pub rating: Option<u8>,
    /// A signature the window's console asks of the visitor (the signature pad's work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<super::SignAsk>,
}

/// One rating for the national 好差评 platform (the data items it collects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingRecord {
    /// 评价渠道: kiosk (自助终端), page (手机状态页), pad (窗口评价器), desk channels
    /// (counter, phone, paper).
    pub channel: String,
    /// 评价等级 1 (非常不满意) … 5 (非常满意), and its name.
    pub level: u8,
    pub level_name: String,
    /// 评价时间, the hall's local time `YYYY-MM-DD HH:MM:SS`.
    pub rated_at: String,
    /// 事项编码 and 事项名称.
    pub item_code: String,
    pub item_name: String,
    /// 办件编号: the business day and the day's number, `YYYY-MM-DD/A012`.
    pub case_number: String,
    /// 办理部门.
    pub department: String,
    pub department_name: String,
    /// 工作人员 (who served the visit) and the window.
    pub specialist: String,
    pub specialist_name: String,
    pub window: Option<u32>,
    /// The reasons of a bad rating (codes of `RATING_REASONS`, and their Chinese).
    pub reasons: Vec<String>,
    pub reasons_zh: Vec<String>,
    /// 整改反馈: `none` (a good rating), `open` (a bad one waiting for the department's reply),
    /// `replied`; the reply, who gave it and when.
    pub follow_up: String,
    pub reply: String,
    pub replied_by: String,
    pub replied_at: String,
}

impl Ledger {
    /// What the rating pad of `window` shows. `following` is the case the pad saw last: once
    /// it leaves the counter, the pad asks for it by id to learn whether it was served.
    pub fn pad_view(&mut self, window: u32, following: Option<i64>) -> Result<PadView> {
        let hall = self.hall()?;
        if !hall.all_windows().contains(&window) {
            return Err(LedgerError::UnknownWindow(window));
        }
        let mut view = PadView {
            window,
            state: "idle".into(),
            case: None,
            number: String::new(),
            item_name: String::new(),
            staff: String::new(),
            staff_name: String::new(),
            badge: String::new(),
            rating: None,
            sign: self.sign_ask(window)?,
        };
        // The window's called or serving case, through the index the one-at-a-time rule uses:
        // a hall's pads ask every second, so this reads one row, not the day's counters.
        let day = business_day(self.now(), hall.tz()).to_string();
        let here = self.store.read().case(CaseKey::UnsettledAt { day: &day, window })?;
        let case = match (here, following) {
            (Some(c), _) => Some(c),
            (None, Some(id)) => match self.case_by_id(id) {
                Ok(c) if c.called_window == Some(window) => Some(c),
                _ => None,
            },
            (None, None) => None,
        };
        let Some(case) = case else { return Ok(view) };
        let staff = case.owner.clone().unwrap_or_default();
        let person = hall.specialists.iter().find(|s| s.staff_id == staff);
        view.case = Some(case.id);
        view.number = case.number.clone();
        view.item_name = hall.item_name(&case.item);
        view.staff_name = person.map(|p| p.name.clone()).unwrap_or_default();
        view.badge = person.map(|p| p.badge.clone()).unwrap_or_default();
        view.staff = staff;
        view.rating = case.rating;
        view.state = if case.rating.is_some() {
            "rated"
        } else if rateable_at_pad(&case, self.now()) {
            "rate"
        } else if at_counter(case.state) {
            "serving"
        } else {
            "idle"
        }
        .into();
        Ok(view)
    }

    /// 好差评 on the pad of `window`: only a visit served at that window, once, within
    /// `PAD_RATE_FOR_MIN` of its service's end; a bad rating may name reasons from
    /// `RATING_REASONS`.
    pub fn rate_at_window(
        &mut self,
        case_id: i64,
        window: u32,
        level: u8,
        reasons: &[String],
        actor: &str,
    ) -> Result<Case> {
        for r in reasons {
            if !RATING_REASONS.iter().any(|(code, ..)| code == r) {
                let known: Vec<&str> = RATING_REASONS.iter().map(|r| r.0).collect();
                return Err(LedgerError::Invalid(format!(
                    "reason {r:?}: use one of {}",
                    known.join(", ")
                )));
            }
        }
        if level > 2 && !reasons.is_empty() {
            return Err(LedgerError::Invalid(
                "reasons are given for 不满意 (2) and 非常不满意 (1) only".into(),
            ));
        }
        let now = self.now();
        let at = stamp(now);
        let tx = self.store.write(self.request.take())?;
        let case = tx
            .case(CaseKey::Id(case_id))?
            .ok_or_else(|| LedgerError::UnknownCase(format!("#{case_id}")))?;
        if case.called_window != Some(window) {
            return Err(LedgerError::Forbidden(format!(
                "{} was served at another window: the pad of window {window} rates its own visitors only",
                case.number
            )));
        }
        if case.rating.is_none() && case.started_at.is_some() && !rateable_at_pad(&case, now) && !at_counter(case.state)
        {
            return Err(LedgerError::Invalid(format!(
                "{}'s visit ended more than {PAD_RATE_FOR_MIN} minutes ago: rate it at the kiosk or on the status page",
                case.number
            )));
        }
        let body = EventBody::CaseRated {
            level,
            channel: "pad".into(),
            reasons: reasons.to_vec(),
        };
        let next = record_in(&*tx, Some(&case), case.id, &at, actor, &body)?;
        tx.commit()?;
        Ok(next)
    }

    /// Every rating given in the business days `from..=to`, oldest first, with its follow-up.
    pub fn ratings(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<RatingRecord>> {
        if to < from {
            return Err(LedgerError::Invalid(format!(
                "the period ends ({to}) before it starts ({from})"
            )));
        }
        let hall = self.hall()?;
        let tz = hall.tz();
        let start = reports::local_midnight(tz, from);
        let end = reports::local_midnight(tz, to.succ_opt().unwrap_or(to));
        let events = self.store.read().events(EventQuery::Period {
            from: &stamp(start),
            to: &stamp(end),
            kinds: &["case_rated", "rating_replied"],
            after: 0,
            limit: usize::MAX,
        })?;
        let local = |at: &str| {
            parse_stamp(at)
                .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        };
        let mut out: Vec<RatingRecord> = Vec::new();
        let mut by_case: BTreeMap<i64, usize> = BTreeMap::new();
        for ev in events {
            let (Some(case_id), Ok(body)) = (ev.case_id, serde_json::from_str::<EventBody>(&ev.payload)) else {
                continue;
            };
            match body {
                EventBody::CaseRated {
                    level,
                    channel,
                    reasons,
                } => {
                    let case = self.case_by_id(case_id)?;
                    let staff = case.owner.clone().unwrap_or_default();
                    by_case.insert(case_id, out.len());
                    out.push(RatingRecord {
                        channel,
                        level,
                        level_name: level_name(level).into(),
                        rated_at: local(&ev.at),
                        item_code: case.item.clone(),
                        item_name: hall.item_name(&case.item),
                        case_number: format!("{}/{}", case.business_day, case.number),
                        department: case.department.clone(),
                        department_name: hall.department_name(&case.department),
                        specialist_name: hall
                            .specialists
                            .iter()
                            .find(|s| s.staff_id == staff)
                            .map(|s| s.name.clone())
                            .unwrap_or_default(),
                        specialist: staff,
                        window: case.called_window,
                        reasons_zh: reasons
                            .iter()
                            .filter_map(|r| RATING_REASONS.iter().find(|x| x.0 == r).map(|x| x.1.to_string()))
                            .collect(),
                        reasons,
                        follow_up: if level <= 2 { "open" } else { "none" }.into(),
                        reply: String::new(),
                        replied_by: String::new(),
                        replied_at: String::new(),
                    });
                }
                EventBody::RatingReplied { staff, reply } => {
                    if let Some(&i) = by_case.get(&case_id) {
                        let text = self.note(reply.note).map(|n| n.body).unwrap_or_default();
                        let r = &mut out[i];
                        r.follow_up = "replied".into();
                        r.reply = if text.is_empty() {
                            "（已按保存期限删除）".into()
                        } else {
                            text
                        };
                        r.replied_by = staff;
                        r.replied_at = local(&ev.at);
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// A visit the pad may ask about: its service ended (started, then left the counter as
/// served, not as a no-show or a transfer), not rated yet, and not long ago.
fn rateable_at_pad(case: &Case, now: DateTime<Utc>) -> bool {
    if case.rating.is_some() || case.started_at.is_none() || at_counter(case.state) {
        return false;
    }
    if matches!(
        case.state,
        CaseState::Waiting | CaseState::Transferred | CaseState::Cancelled | CaseState::Expired | CaseState::NoShow
    ) {
        return false;
    }
    // A consultation leaves the counter without ending the measured service (the visitor
    // may come back to it): its last change is when the visitor left.
    let ended = case.service_end_at.as_deref().unwrap_or(&case.updated_at);
    parse_stamp(ended).is_some_and(|t| now - t <= chrono::Duration::minutes(PAD_RATE_FOR_MIN))
}

/// A visitor stands at the counter: called, being served, or on hold there.
fn at_counter(state: CaseState) -> bool {
    matches!(state, CaseState::Called | CaseState::Serving | CaseState::OnHold)
}
