//! One case as the management office reads it (案件页): what it is, where it stands, its
//! whole-chain parts, and every event in words with the texts of the notes it names.

use super::*;

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseLine {
    pub seq: i64,
    /// Hall time, `YYYY-MM-DD HH:MM`.
    pub at: String,
    /// Who did it: the specialist's name and id, or the device.
    pub who: String,
    pub what: String,
    /// The notes' texts and the event's own details, in words.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartLine {
    pub department_name: String,
    pub state: String,
    pub owner: String,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePage {
    /// `YYYY-MM-DD/A012`.
    pub case: String,
    pub number: String,
    pub department: String,
    pub department_name: String,
    pub item_name: String,
    pub state: String,
    pub mode: String,
    pub priority: String,
    pub owner: String,
    pub under_coordination: bool,
    pub rating: Option<u8>,
    pub parts: Vec<PartLine>,
    pub lines: Vec<CaseLine>,
}

/// An event kind in the office's words.
pub fn event_words(kind: &str) -> &'static str {
    match kind {
        "case_issued" => "取号",
        "case_called" => "叫号",
        "case_recalled" => "重呼",
        "case_started" => "开始办理",
        "case_no_show" => "过号",
        "case_held" => "暂挂",
        "case_resumed" => "恢复办理",
        "case_transferred" => "转办",
        "consultation_recorded" => "咨询辅导",
        "question_answered" => "补充答复",
        "materials_missing" => "一次性告知",
        "materials_returned" => "补齐材料",
        "case_accepted" => "受理委托",
        "work_started" => "开始代办",
        "result_ready" => "办结待交付",
        "delivered_in_person" => "当面交付",
        "mailed" => "邮寄",
        "receipt_confirmed" => "签收确认",
        "archived" => "资料归档",
        "case_cancelled" => "取消",
        "case_handed_over" => "交接",
        "parts_opened" => "全链条分项",
        "case_opened" => "立案（不取号）",
        "appointment_checked_in" => "预约签到",
        "part_claimed" => "分项认领",
        "part_moved" => "分项进展",
        "part_material_supplied" => "容缺材料补齐",
        "mode_changed" => "改服务方式",
        "coordination_requested" => "提请协调会商",
        "accompanied" => "陪同至受理窗口",
        "accompany_result" => "陪同结果",
        "case_rated" => "好差评",
        "rating_replied" => "差评回复",
        "coordination_meeting" => "协调会议",
        "coordination_resolved" => "协调结果",
        "ticket_printed" => "号票已打印",
        "print_failed" => "号票未打印",
        "phone_left" => "留下手机号（短信提醒）",
        "case_expired" => "日结过期",
        "case_returned" => "重新排队",
        _ => "其他",
    }
}

impl Ledger {
    /// A case by today's number, `DATE/NUMBER` or token, with its history in words.
    pub fn case_page(&mut self, case_ref: &str) -> Result<CasePage> {
        let hall = self.hall()?;
        let tz = hall.tz();
        let case = self.find_case(case_ref)?;
        let name = |id: &str| match hall.specialist(id) {
            Some(s) => format!("{}（{id}）", s.name),
            None => id.to_string(),
        };
        let mut lines = Vec::new();
        for ev in self.case_events(case.id)? {
            let Ok(body) = serde_json::from_str::<EventBody>(&ev.payload) else {
                continue;
            };
            let mut detail: Vec<String> = Vec::new();
            match &body {
                EventBody::CaseCalled { window, .. } | EventBody::CaseRecalled { window, .. } => {
                    detail.push(format!("{window} 号窗口"))
                }
                EventBody::MaterialsMissing { missing, .. } => detail.push(format!("缺：{}", missing.join("、"))),
                EventBody::CaseAccepted { materials, .. } => detail.push(format!("收：{}", materials.join("、"))),
                EventBody::CaseTransferred {
                    to_department,
                    to_window,
                    ..
                } => detail.push(format!(
                    "转至{}（{to_window} 号窗口）",
                    hall.department_name(to_department)
                )),
                EventBody::CoordinationMeeting {
                    held_at,
                    participants,
                    follow_up,
                    ..
                } => {
                    detail.push(format!(
                        "{}；参会：{}",
                        clock::local_minute(held_at, tz).unwrap_or(held_at.clone()),
                        participants
                            .iter()
                            .map(|p| hall.participant(p))
                            .collect::<Vec<_>>()
                            .join("、")
                    ));
                    if let Some(f) = follow_up {
                        detail.push(format!("跟进日期 {f}"));
                    }
                }
                EventBody::CaseRated { level, reasons, .. } => {
                    detail.push(super::rating::level_name(*level).to_string());
                    for r in reasons {
                        if let Some(x) = super::rating::RATING_REASONS.iter().find(|x| x.0 == r) {
                            detail.push(x.1.to_string());
                        }
                    }
                }
                EventBody::ModeChanged { mode, .. } => detail.push(mode.label_zh().to_string()),
                _ => {}
            }
            for r in body.note_refs() {
                // A phone is personal data: the case page says one was left, not which.
                if matches!(body, EventBody::PhoneLeft { .. }) {
                    continue;
                }
                let text = self
                    .note(r.note)
                    .map(|n| crate::principal::shown_note(&n.kind, &n.body))
                    .unwrap_or_default();
                detail.push(if text.is_empty() {
                    "（已按保存期限删除）".into()
                } else {
                    text
                });
            }
            lines.push(CaseLine {
                seq: ev.seq,
                at: clock::local_minute(&ev.at, tz).unwrap_or_default(),
                who: name(&ev.actor),
                what: event_words(&ev.kind).into(),
                detail: detail.join("；"),
            });
        }
        Ok(CasePage {
            case: format!("{}/{}", case.business_day, case.number),
            number: case.number.clone(),
            department_name: hall.department_name(&case.department),
            department: case.department.clone(),
            item_name: hall.item_name(&case.item),
            state: case.state.label_zh().into(),
            mode: case.mode.label_zh().into(),
            priority: case
                .priority
                .as_deref()
                .and_then(|p| hall.priority(p))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            owner: case.owner.as_deref().map(name).unwrap_or_default(),
            under_coordination: case.under_coordination,
            rating: case.rating,
            parts: case
                .parts
                .iter()
                .map(|p| PartLine {
                    department_name: hall.department_name(&p.department),
                    state: match p.state {
                        crate::model::PartState::Open => "待认领",
                        crate::model::PartState::Claimed => "已认领",
                        crate::model::PartState::Materials => "收集材料",
                        crate::model::PartState::Accepted => "已受理",
                        crate::model::PartState::InProgress => "办理中",
                        crate::model::PartState::Done => "已办结",
                    }
                    .into(),
                    owner: p.owner.as_deref().map(name).unwrap_or_default(),
                    missing: p.missing.iter().map(|m| m.material.clone()).collect(),
                })
                .collect(),
            lines,
        })
    }
}
