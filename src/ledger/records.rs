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
}

impl RecordKind {
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Consultations,
        RecordKind::Notifications,
        RecordKind::Acceptances,
        RecordKind::Deliveries,
        RecordKind::Mail,
        RecordKind::Archives,
        RecordKind::Transfers,
        RecordKind::Suspensions,
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
        }
    }
    fn kinds(self) -> &'static [&'static str] {
        match self {
            RecordKind::Consultations => &["consultation_recorded", "question_answered"],
            RecordKind::Notifications => &["materials_missing"],
            RecordKind::Acceptances => &["case_accepted"],
            RecordKind::Deliveries => &["delivered_in_person", "mailed", "receipt_confirmed"],
            RecordKind::Mail => &["mailed", "receipt_confirmed"],
            RecordKind::Archives => &["archived"],
            RecordKind::Transfers => &["case_transferred"],
            RecordKind::Suspensions => &["case_suspended", "suspension_lifted", "case_terminated"],
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
            let (Some(case_id), Ok(body)) = (ev.case_id, serde_json::from_str::<EventBody>(&ev.payload)) else {
                continue;
            };
            let case = self.case_by_id(case_id)?;
            let note = |r: &NoteRef| -> Result<String> {
                let t = self.note(r.note)?.body;
                Ok(if t.is_empty() { PURGED.to_string() } else { t })
            };
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
                } => (
                    staff,
                    "受理委托".to_string(),
                    format!(
                        "收：{}；委托书：{}",
                        materials.join("、"),
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
                EventBody::Mailed { staff, tracking } => {
                    (staff, "邮寄".to_string(), format!("运单号：{}", note(tracking)?), None)
                }
                EventBody::ReceiptConfirmed { staff } => (staff, "签收确认".to_string(), String::new(), None),
                EventBody::Archived { staff, handover } => (
                    staff,
                    "归档".to_string(),
                    match handover {
                        Some(h) => format!("交接：{}", note(h)?),
                        None => String::new(),
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
            });
        }
        Ok(out)
    }
}
