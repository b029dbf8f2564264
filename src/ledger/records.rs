//! The registers the rules require (登记): consultations, one-time notifications, acceptances,
//! deliveries, mail, archives and transfers, read from the event log with the notes' text.

use super::*;

/// Which register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Consultations,
    Notifications,
    Acceptances,
    Deliveries,
    Mail,
    Archives,
    Transfers,
    /// 中止 and 终止, and the suspensions lifted.
    Suspensions,
    /// 陪同: visitors walked to a receiving window, and how it went.
    Escorts,
    /// 协调会议: each meeting with its participants by role, minutes, decision and follow-up.
    Meetings,
    /// 难点堵点: what was escalated for coordination, and how it was resolved.
    Difficulties,
    /// 培训记录: the specialists' training (no case).
    Training,
}

impl RecordKind {
    pub const ALL: [RecordKind; 12] = [
        RecordKind::Consultations,
        RecordKind::Notifications,
        RecordKind::Acceptances,
        RecordKind::Deliveries,
        RecordKind::Mail,
        RecordKind::Archives,
        RecordKind::Transfers,
        RecordKind::Suspensions,
        RecordKind::Escorts,
        RecordKind::Meetings,
        RecordKind::Difficulties,
        RecordKind::Training,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Consultations => "consultations",
            RecordKind::Notifications => "notifications",
            RecordKind::Acceptances => "acceptances",
            RecordKind::Deliveries => "deliveries",
            RecordKind::Mail => "mail",
            RecordKind::Archives => "archives",
            RecordKind::Transfers => "transfers",
            RecordKind::Suspensions => "suspensions",
            RecordKind::Escorts => "escorts",
            RecordKind::Meetings => "meetings",
            RecordKind::Difficulties => "difficulties",
            RecordKind::Training => "training",
        }
    }
    /// The register's title as the office files it.
    pub fn title_zh(self) -> &'static str {
        match self {
            RecordKind::Consultations => "接待咨询记录",
            RecordKind::Notifications => "一次性告知记录",
            RecordKind::Acceptances => "受理委托记录",
            RecordKind::Deliveries => "结果交付记录",
            RecordKind::Mail => "邮寄登记",
            RecordKind::Archives => "资料归档记录",
            RecordKind::Transfers => "转办记录",
            RecordKind::Suspensions => "中止终止记录",
            RecordKind::Escorts => "陪同记录",
            RecordKind::Meetings => "协调会议记录",
            RecordKind::Difficulties => "难点堵点记录",
            RecordKind::Training => "培训记录",
        }
    }
    fn kinds(self) -> &'static [&'static str] {
        match self {
            RecordKind::Consultations => &["consultation_recorded", "question_answered", "online_step"],
            RecordKind::Notifications => &["materials_missing"],
            RecordKind::Acceptances => &["case_accepted"],
            RecordKind::Deliveries => &["delivered_in_person", "mailed", "receipt_confirmed"],
            RecordKind::Mail => &["mailed", "receipt_confirmed"],
            RecordKind::Archives => &["archived"],
            RecordKind::Transfers => &["case_transferred"],
            RecordKind::Suspensions => &["case_suspended", "suspension_lifted", "case_terminated"],
            RecordKind::Escorts => &["accompanied", "accompany_result"],
            RecordKind::Meetings => &["coordination_meeting"],
            RecordKind::Difficulties => &["coordination_requested", "coordination_resolved"],
            RecordKind::Training => &["staff_trained"],
        }
    }
}

/// One line of a register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    pub seq: i64,
    /// Local time in the hall's time zone, `YYYY-MM-DD HH:MM`.
    pub time: String,
    pub business_day: String,
    pub number: String,
    pub department: String,
    pub item: String,
    pub staff: String,
    pub staff_name: String,
    pub window: Option<u32>,
    /// What happened, in the register's words (问 / 答, 缺 …, 交付方式 …).
    pub what: String,
    /// The text typed at the counter (question, answer, tracking number, notes), from the notes.
    pub detail: String,
    /// How the case came: 来访 (a ticket), 来电, 网上 or 提前介入.
    #[serde(default)]
    pub channel: String,
}

const PURGED: &str = "（已按保存期限删除）";

impl Ledger {
    /// A register for the business days `from..=to`, oldest first.
    pub fn records(&mut self, kind: RecordKind, from: NaiveDate, to: NaiveDate) -> Result<Vec<RecordRow>> {
        if to < from {
            return Err(LedgerError::Invalid(format!(
                "the period ends ({to}) before it starts ({from})"
            )));
        }
        let hall = self.hall()?;
        let tz = hall.tz();
        let start = reports::local_midnight(tz, from);
        let end = reports::local_midnight(tz, to.succ_opt().unwrap_or(to));
        let kinds = kind.kinds();
        let events = self.store.read().events(EventQuery::Period {
            from: &stamp(start),
            to: &stamp(end),
            kinds,
            after: 0,
            limit: usize::MAX,
        })?;
        let mut out = Vec::new();
        for ev in events {
            let Ok(body) = serde_json::from_str::<EventBody>(&ev.payload) else {
                continue;
            };
            let note = |r: &NoteRef| -> Result<String> {
                let t = self.note(r.note)?.body;
                Ok(if t.is_empty() { PURGED.to_string() } else { t })
            };
            // A training is a specialist's, not a case's.
            if let EventBody::StaffTrained {
                staff,
                date,
                course,
                minutes,
            } = &body
            {
                out.push(RecordRow {
                    seq: ev.seq,
                    time: clock::local_minute(&ev.at, tz).unwrap_or_else(|| ev.at.clone()),
                    business_day: date.clone(),
                    number: String::new(),
                    department: hall
                        .specialist(staff)
                        .map(|s| hall.department_name(&s.department))
                        .unwrap_or_default(),
                    item: String::new(),
                    staff: staff.clone(),
                    staff_name: hall.specialist_name(staff),
                    window: None,
                    what: note(course)?,
                    detail: format!("培训日期：{date}；学时：{}", hours_text(*minutes)),
                    channel: String::new(),
                });
                continue;
            }
            let Some(case_id) = ev.case_id else { continue };
            let case = self.case_by_id(case_id)?;
            let (staff, what, detail, window) = match &body {
                EventBody::ConsultationRecorded {
                    staff,
                    question,
                    answer,
                    resolved,
                } => (
                    staff,
                    if *resolved {
                        "咨询已答复"
                    } else {
                        "咨询待研究答复"
                    }
                    .to_string(),
                    match answer {
                        Some(a) => format!("问：{}　答：{}", note(question)?, note(a)?),
                        None => format!("问：{}", note(question)?),
                    },
                    case.called_window,
                ),
                EventBody::QuestionAnswered { staff, answer } => {
                    (staff, "补充答复".to_string(), format!("答：{}", note(answer)?), None)
                }
                EventBody::MaterialsMissing { staff, missing } => (
                    staff,
                    "一次性告知".to_string(),
                    format!("缺：{}", missing.join("、")),
                    case.called_window,
                ),
                EventBody::CaseAccepted {
                    staff,
                    materials,
                    power_of_attorney,
                    missing,
                } => (
                    staff,
                    "受理委托".to_string(),
                    format!(
                        "收：{}{}；委托书：{}",
                        materials.join("、"),
                        if missing.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "；容缺：{}",
                                missing
                                    .iter()
                                    .map(|m| format!("{}（{} 前补齐）", m.material, m.supply_by))
                                    .collect::<Vec<_>>()
                                    .join("、")
                            )
                        },
                        if *power_of_attorney { "已签" } else { "未签" }
                    ),
                    case.called_window,
                ),
                EventBody::DeliveredInPerson {
                    staff,
                    completion_slip_signed,
                } => (
                    staff,
                    "当面交付".to_string(),
                    format!(
                        "办结单：{}",
                        if *completion_slip_signed {
                            "已签字"
                        } else {
                            "未签字"
                        }
                    ),
                    None,
                ),
                EventBody::Mailed {
                    staff,
                    tracking,
                    recipient,
                    courier,
                    address,
                    sent_on,
                } => {
                    let mut text = format!("运单号：{}", note(tracking)?);
                    for (label, n) in [("快递", courier), ("收件人", recipient), ("地址", address)] {
                        if let Some(n) = n {
                            text.push_str(&format!("；{label}：{}", note(n)?));
                        }
                    }
                    if let Some(d) = sent_on {
                        text.push_str(&format!("；寄出：{d}"));
                    }
                    (staff, "邮寄".to_string(), text, None)
                }
                EventBody::ReceiptConfirmed { staff } => (staff, "签收确认".to_string(), String::new(), None),
                EventBody::Archived {
                    staff,
                    handover,
                    receiver,
                } => (
                    staff,
                    "归档".to_string(),
                    match (handover, receiver) {
                        (Some(h), Some(r)) => format!("交接：{}；接收人：{}", note(h)?, note(r)?),
                        (Some(h), None) => format!("交接：{}", note(h)?),
                        (None, Some(r)) => format!("接收人：{}", note(r)?),
                        (None, None) => String::new(),
                    },
                    None,
                ),
                EventBody::CaseTransferred {
                    staff,
                    from_department,
                    to_department,
                    to_window,
                    note: n,
                } => (
                    staff,
                    format!(
                        "{} → {}（{}号窗口）",
                        hall.department_name(from_department),
                        hall.department_name(to_department),
                        to_window
                    ),
                    match n {
                        Some(n) => note(n)?,
                        None => String::new(),
                    },
                    None,
                ),
                EventBody::CaseSuspended { staff, reason, until } => (
                    staff,
                    "中止".to_string(),
                    match until {
                        Some(u) => format!("原因：{}；预计恢复：{u}", note(reason)?),
                        None => format!("原因：{}", note(reason)?),
                    },
                    None,
                ),
                EventBody::SuspensionLifted { staff } => (staff, "恢复办理".to_string(), String::new(), None),
                EventBody::Accompanied {
                    staff,
                    to_window,
                    result,
                } => (
                    staff,
                    format!("陪同至{to_window}号窗口"),
                    match result {
                        Some(r) => format!("结果：{}", note(r)?),
                        None => String::new(),
                    },
                    case.called_window,
                ),
                EventBody::AccompanyResult { staff, result } => (staff, "陪同结果".to_string(), note(result)?, None),
                EventBody::OnlineStep { staff, note: n } => (staff, "网上帮办".to_string(), note(n)?, None),
                EventBody::CoordinationMeeting {
                    staff,
                    held_at,
                    participants,
                    minutes,
                    decision,
                    follow_up,
                    chiefs,
                    outside,
                } => {
                    let mut text = format!(
                        "会议时间：{}；参会：{}",
                        clock::local_minute(held_at, tz).unwrap_or_else(|| held_at.clone()),
                        participants
                            .iter()
                            .map(|p| hall.participant(p))
                            .collect::<Vec<_>>()
                            .join("、")
                    );
                    if let Some(c) = chiefs {
                        text.push_str(&format!("；首席代表：{}", note(c)?));
                    }
                    if let Some(o) = outside {
                        text.push_str(&format!("；外部单位：{}", note(o)?));
                    }
                    text.push_str(&format!("；纪要：{}；决定：{}", note(minutes)?, note(decision)?));
                    if let Some(f) = follow_up {
                        text.push_str(&format!("；跟进日期：{f}"));
                    }
                    (staff, "协调会议".to_string(), text, None)
                }
                EventBody::CoordinationRequested { staff, reason } => {
                    (staff, "提请协调（难点堵点）".to_string(), note(reason)?, None)
                }
                EventBody::CoordinationResolved { staff, outcome } => {
                    (staff, "协调结果（解决）".to_string(), note(outcome)?, None)
                }
                EventBody::CaseTerminated { staff, reason } => {
                    (staff, "终止".to_string(), format!("原因：{}", note(reason)?), None)
                }
                _ => continue,
            };
            let time = clock::local_minute(&ev.at, tz).unwrap_or_else(|| ev.at.clone());
            out.push(RecordRow {
                seq: ev.seq,
                time,
                business_day: case.business_day.clone(),
                number: case.number.clone(),
                department: hall.department_name(&case.department),
                item: hall.item_name(&case.item),
                staff: staff.clone(),
                staff_name: hall.specialist_name(staff),
                window,
                what,
                detail,
                channel: case.channel.source_zh().to_string(),
            });
        }
        Ok(out)
    }
}

/// A training's length in hours: 「2」, 「1.5」.
fn hours_text(minutes: u32) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{:.1}", minutes as f64 / 60.0)
    }
}
