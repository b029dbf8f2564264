//! What each form of 帮办代办 says (委托书, 受理单, 一次性告知书, 中止/终止告知单, 办结单,
//! 材料交接单), from a case's own data: the words as data, which the forms crate draws as an
//! A4 PDF. A signed form's words are kept as they were signed (a note), so the signed PDF can
//! be made again and checked later (`bangban form verify`).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::hall::Hall;
use crate::model::{Case, CaseState, EventBody};
use crate::principal::Principal;

/// The forms there are, by the name `bangban form` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    Poa,
    Acceptance,
    Notice,
    Suspension,
    Termination,
    Completion,
    Handover,
}

impl FormKind {
    pub const ALL: [FormKind; 7] = [
        FormKind::Poa,
        FormKind::Acceptance,
        FormKind::Notice,
        FormKind::Suspension,
        FormKind::Termination,
        FormKind::Completion,
        FormKind::Handover,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Poa => "poa",
            FormKind::Acceptance => "acceptance",
            FormKind::Notice => "notice",
            FormKind::Suspension => "suspension",
            FormKind::Termination => "termination",
            FormKind::Completion => "completion",
            FormKind::Handover => "handover",
        }
    }
    pub fn parse(s: &str) -> Option<FormKind> {
        FormKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn title(self) -> &'static str {
        match self {
            FormKind::Poa => "帮办代办委托书",
            FormKind::Acceptance => "受理单",
            FormKind::Notice => "一次性告知书",
            FormKind::Suspension => "中止告知单",
            FormKind::Termination => "终止告知单",
            FormKind::Completion => "办结单",
            FormKind::Handover => "材料交接单",
        }
    }
    /// The letters of the form's number (委托 WT, 受理 SL …).
    fn prefix(self) -> &'static str {
        match self {
            FormKind::Poa => "WT",
            FormKind::Acceptance => "SL",
            FormKind::Notice => "GZ",
            FormKind::Suspension => "ZZ",
            FormKind::Termination => "ZJ",
            FormKind::Completion => "BJ",
            FormKind::Handover => "JJ",
        }
    }
    /// The form a printed number belongs to, by its letters (`WT-…` is the 委托书).
    pub fn of_number(number: &str) -> Option<FormKind> {
        let prefix = number.split('-').next()?.to_ascii_uppercase();
        FormKind::ALL.into_iter().find(|k| k.prefix() == prefix)
    }
    /// The form the case's stage calls for: what the console prints at the counter.
    pub fn of_stage(state: CaseState) -> FormKind {
        match state {
            CaseState::AwaitingMaterials => FormKind::Notice,
            CaseState::Accepted | CaseState::InProgress => FormKind::Acceptance,
            CaseState::Suspended => FormKind::Suspension,
            CaseState::Terminated => FormKind::Termination,
            CaseState::Ready | CaseState::Mailed | CaseState::ReceiptConfirmed | CaseState::Delivered => {
                FormKind::Completion
            }
            CaseState::Archived => FormKind::Handover,
            _ => FormKind::Poa,
        }
    }
}

/// The printed number of a case's form, stable for the case's life (its id and the day it was
/// issued): what a specialist records when the visitor signs on paper (纸质签署).
pub fn form_number(kind: FormKind, case: &Case) -> String {
    let day: String = case.issued_at.chars().take(10).filter(|c| *c != '-').collect();
    format!("{}-{day}-{:06}", kind.prefix(), case.id)
}

/// A form of a case as `case show` and the console list it: its number, and whether the
/// visitor signed it (`pad` or `paper`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormLine {
    pub kind: FormKind,
    pub title: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

/// Every form of a case, with how each was signed (from its `form_signed` events).
pub fn lines(case: &Case, events: &[crate::chain::Event]) -> Vec<FormLine> {
    let mut signed: HashMap<String, String> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == "form_signed") {
        if let Ok(EventBody::FormSigned { form, paper, .. }) = serde_json::from_str(&e.payload) {
            signed.insert(form, if paper.is_some() { "paper" } else { "pad" }.to_string());
        }
    }
    FormKind::ALL
        .into_iter()
        .map(|k| FormLine {
            kind: k,
            title: k.title().into(),
            number: form_number(k, case),
            signed: signed.get(k.as_str()).cloned(),
        })
        .collect()
}

/// One block of a form's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "block", rename_all = "snake_case")]
pub enum Block {
    /// 「label：value」, or a line to fill in by hand when the value is not known yet.
    Field {
        label: String,
        value: String,
    },
    Para {
        text: String,
    },
    List {
        items: Vec<String>,
    },
    /// Signature boxes, side by side: each label with 签字 and 日期 lines. The first is the
    /// visitor's, where a pad's signature goes.
    Sign {
        labels: Vec<String>,
    },
    Gap,
}

/// A form's words, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormContent {
    pub kind: FormKind,
    pub title: String,
    pub hall: String,
    /// 办件编号 `YYYY-MM-DD/A012`.
    pub case_ref: String,
    /// The form's own number (`WT-20261207-000042`).
    pub number: String,
    /// The status page's address, drawn as the QR.
    pub status_url: String,
    /// The date printed on the form, `YYYY-MM-DD`.
    pub printed: NaiveDate,
    pub blocks: Vec<Block>,
}

/// What a form is made from: the hall, the case, its events (time stamp and body) with their
/// notes' texts, the principal's details (for the 委托书), the status page and today.
pub struct FormInput<'a> {
    pub hall: &'a Hall,
    pub case: &'a Case,
    pub events: &'a [(String, EventBody)],
    pub notes: &'a HashMap<i64, String>,
    pub principal: Option<Principal>,
    pub status_url: String,
    pub today: NaiveDate,
}

fn field(label: &str, value: impl Into<String>) -> Block {
    Block::Field {
        label: label.into(),
        value: value.into(),
    }
}

fn para(text: impl Into<String>) -> Block {
    Block::Para { text: text.into() }
}

fn list_or_blanks(items: &[String], blanks: usize) -> Block {
    Block::List {
        items: if items.is_empty() {
            vec!["______________________________".into(); blanks]
        } else {
            items.to_vec()
        },
    }
}

fn sign(labels: &[&str]) -> Block {
    Block::Sign {
        labels: labels.iter().map(|l| l.to_string()).collect(),
    }
}

/// The form's words, from the case.
pub fn content(kind: FormKind, d: &FormInput) -> FormContent {
    let hall = d.hall;
    let c = d.case;
    let tz = hall.tz();
    let item = hall.item(&c.item);
    let note = |r: &crate::model::NoteRef| d.notes.get(&r.note).cloned().unwrap_or_default();
    let date_of = |at: &str| {
        crate::clock::parse_stamp(at)
            .map(|t| t.with_timezone(&tz).format("%Y年%m月%d日").to_string())
            .unwrap_or_default()
    };
    let last = |k: &str| d.events.iter().rev().find(|(_, b)| b.kind() == k);
    let person = |s: &str| {
        hall.specialist(s)
            .map(|s| {
                if s.badge.is_empty() {
                    format!("{}（{}）", s.name, hall.department_name(&s.department))
                } else {
                    format!(
                        "{}（{}，工号 {}）",
                        s.name,
                        hall.department_name(&s.department),
                        s.badge
                    )
                }
            })
            .unwrap_or_default()
    };
    let agent_id = c
        .owner
        .clone()
        .or_else(|| item.map(|i| i.specialist.clone()))
        .unwrap_or_default();
    let agent = person(&agent_id);
    let mut out = vec![
        field("办件编号", format!("{}/{}", c.business_day, c.number)),
        field("办理事项", hall.item_name(&c.item)),
        field("办理部门", hall.department_name(&c.department)),
    ];
    match kind {
        FormKind::Poa => {
            out.push(para(
                "委托人自愿委托下列帮办代办专员代为办理上述事项，并对所提交材料的真实性负责。",
            ));
            let p = d.principal.as_ref().map(Principal::masked);
            out.push(field(
                "委托人姓名",
                p.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            ));
            out.push(field(
                "委托人身份证号",
                p.as_ref().map(|p| p.id_number.clone()).unwrap_or_default(),
            ));
            out.push(field(
                "委托人联系电话",
                p.as_ref().and_then(|p| p.phone.clone()).unwrap_or_default(),
            ));
            out.push(field("受托人（帮办代办专员）", agent.clone()));
            out.push(field("服务方式", c.mode.label_zh()));
            out.push(field("委托范围", "代为提交材料、跟踪办理进度、领取并交付办理结果"));
            out.push(para("交接的材料："));
            out.push(list_or_blanks(&c.materials, 3));
            // 续办委托: the agent changed by handover; the power of attorney continues.
            let handovers: Vec<String> = d
                .events
                .iter()
                .filter_map(|(at, b)| match b {
                    EventBody::CaseHandedOver { staff, to, .. } => Some(format!(
                        "{} 由 {} 移交 {} 继续代办",
                        date_of(at),
                        person(staff),
                        person(to)
                    )),
                    _ => None,
                })
                .collect();
            if !handovers.is_empty() {
                out.push(para("续办委托：本委托在受托人变更后继续有效。"));
                out.push(Block::List { items: handovers });
            }
            out.push(Block::Gap);
            out.push(sign(&["委托人", "受托人"]));
        }
        FormKind::Acceptance => {
            out.push(para("已收到的材料："));
            out.push(list_or_blanks(&c.materials, 3));
            let accepted = last("case_accepted").and_then(|(at, _)| crate::clock::parse_stamp(at));
            let promised = accepted
                .map(|t| {
                    let days = item
                        .map(|i| i.time_limit(&hall.deadlines))
                        .unwrap_or(hall.deadlines.completion_days);
                    crate::ledger::add_working_days(t, days, tz, &hall.calendar)
                        .with_timezone(&tz)
                        .format("%Y年%m月%d日")
                        .to_string()
                })
                .unwrap_or_default();
            out.push(field(
                "受理日期",
                accepted.map(|t| date_of(&crate::clock::stamp(t))).unwrap_or_default(),
            ));
            out.push(field("承诺办结日期", promised));
            out.push(field("帮办代办专员", agent.clone()));
            out.push(field("联系电话", item.map(|i| i.phone.clone()).unwrap_or_default()));
            out.push(Block::Gap);
            out.push(sign(&["申请人", "受理人"]));
        }
        FormKind::Notice => {
            out.push(para(
                "经审核，您申请办理的事项尚需补齐下列材料。本告知为一次性告知，补齐后请回原窗口办理，无需重新取号。",
            ));
            let missing: Vec<String> = c
                .missing
                .iter()
                .map(|m| match hall.material_sources.get(m) {
                    Some(place) => format!("{m}（办理地点：{place}）"),
                    None => m.clone(),
                })
                .collect();
            out.push(list_or_blanks(&missing, 4));
            let window = c.called_window.unwrap_or(c.window);
            out.push(field("补齐后办理窗口", format!("{window} 号窗口")));
            out.push(field("办公时间", format!("工作日 {}–{}", hall.open, hall.close)));
            out.push(field("补齐期限", ""));
            out.push(field("告知人", agent.clone()));
            out.push(Block::Gap);
            out.push(sign(&["申请人", "告知人"]));
        }
        FormKind::Suspension => {
            out.push(para(
                "您申请办理的上述事项因下列原因中止办理。中止期间办理时限暂停计算，原因消除后恢复办理。",
            ));
            let (reason, at, until) = match last("case_suspended") {
                Some((at, EventBody::CaseSuspended { reason, until, .. })) => {
                    (note(reason), date_of(at), until.clone())
                }
                _ => (String::new(), String::new(), None),
            };
            out.push(field("中止原因", reason));
            out.push(field("中止日期", at));
            out.push(field(
                "预计恢复日期",
                until
                    .and_then(|u| NaiveDate::parse_from_str(&u, "%Y-%m-%d").ok())
                    .map(|u| u.format("%Y年%m月%d日").to_string())
                    .unwrap_or_default(),
            ));
            out.push(field("帮办代办专员", agent.clone()));
            out.push(Block::Gap);
            out.push(sign(&["申请人", "帮办代办专员"]));
        }
        FormKind::Termination => {
            out.push(para(
                "您申请办理的上述事项因下列原因终止办理。本事项办理程序终结，材料予以退还。",
            ));
            let (reason, at) = match last("case_terminated") {
                Some((at, EventBody::CaseTerminated { reason, .. })) => (note(reason), date_of(at)),
                _ => (String::new(), String::new()),
            };
            out.push(field("终止原因", reason));
            out.push(field("终止日期", at));
            out.push(field("帮办代办专员", agent.clone()));
            out.push(Block::Gap);
            out.push(sign(&["申请人", "帮办代办专员"]));
        }
        FormKind::Completion => {
            let done = matches!(
                c.state,
                CaseState::Ready
                    | CaseState::Delivered
                    | CaseState::Mailed
                    | CaseState::ReceiptConfirmed
                    | CaseState::Archived
            );
            out.push(field("办理结果", if done { "已办结" } else { "" }));
            let (mode, tracking, courier, when) = match (last("delivered_in_person"), last("mailed")) {
                (Some((at, _)), _) => ("当面交付", String::new(), String::new(), date_of(at)),
                (None, Some((at, EventBody::Mailed { tracking, courier, .. }))) => (
                    "邮寄",
                    note(tracking),
                    courier.as_ref().map(note).unwrap_or_default(),
                    date_of(at),
                ),
                _ => ("", String::new(), String::new(), String::new()),
            };
            out.push(field("交付方式", mode));
            out.push(field("邮寄单号", tracking));
            if !courier.is_empty() {
                out.push(field("快递公司", courier));
            }
            out.push(field("交付日期", when));
            out.push(field("帮办代办专员", agent.clone()));
            out.push(Block::Gap);
            out.push(sign(&["领取人", "交付人"]));
        }
        FormKind::Handover => {
            out.push(para("移交归档的材料："));
            out.push(list_or_blanks(&c.materials, 4));
            // An archiving recorded before receivers were asked named the receiver in its
            // hand-over text.
            let (what, receiver, when) = match last("archived") {
                Some((at, EventBody::Archived { handover, receiver, .. })) => match receiver {
                    Some(r) => (handover.as_ref().map(note).unwrap_or_default(), note(r), date_of(at)),
                    None => (
                        String::new(),
                        handover.as_ref().map(note).unwrap_or_default(),
                        date_of(at),
                    ),
                },
                _ => (String::new(), String::new(), String::new()),
            };
            out.push(field("移交说明", what));
            out.push(field("移交人", agent.clone()));
            out.push(field("接收人", receiver));
            out.push(field("交接日期", when));
            out.push(Block::Gap);
            out.push(sign(&["移交人", "接收人"]));
        }
    }
    FormContent {
        kind,
        title: kind.title().into(),
        hall: hall.name.clone(),
        case_ref: format!("{}/{}", c.business_day, c.number),
        number: form_number(kind, c),
        status_url: d.status_url.clone(),
        printed: d.today,
        blocks: out,
    }
}
