//! The visitor's voice beyond ratings: complaints (找茬吐槽 / 意见箱) from the kiosk or the
//! desk, and suggestions (合理化意见或建议) from visitors or, for departments, from the office;
//! each tracked to a recorded reply by its deadline.

use super::*;

/// What came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// 找茬吐槽 / 意见箱: something went wrong.
    Complaint,
    /// A visitor's suggestion (意见箱).
    Suggestion,
    /// 合理化意见或建议 to a department, recorded by the management office.
    DepartmentSuggestion,
}

impl FeedbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Complaint => "complaint",
            FeedbackKind::Suggestion => "suggestion",
            FeedbackKind::DepartmentSuggestion => "department_suggestion",
        }
    }
    pub fn parse(s: &str) -> Option<FeedbackKind> {
        [
            FeedbackKind::Complaint,
            FeedbackKind::Suggestion,
            FeedbackKind::DepartmentSuggestion,
        ]
        .into_iter()
        .find(|k| k.as_str() == s.trim())
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            FeedbackKind::Complaint => "找茬吐槽",
            FeedbackKind::Suggestion => "意见建议",
            FeedbackKind::DepartmentSuggestion => "合理化建议",
        }
    }
}

/// What a complaint is about: the kiosk's buttons, so nothing typed there enters the log.
pub const CATEGORIES: [(&str, &str); 7] = [
    ("wait", "等候时间太长"),
    ("attitude", "服务态度"),
    ("guidance", "指引不清楚"),
    ("efficiency", "办事效率"),
    ("materials", "材料要求反复"),
    ("facilities", "设施环境"),
    ("other", "其他"),
];

/// A complaint or suggestion as it is handed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFeedback {
    pub kind: FeedbackKind,
    /// One of `CATEGORIES`' codes.
    pub category: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub window: Option<u32>,
    /// Where it came in: kiosk, desk, office.
    pub channel: String,
    /// What the visitor said, written down at the desk (to the notes; the kiosk sends none).
    #[serde(default)]
    pub text: Option<String>,
}

/// A complaint or suggestion and where its reply stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub id: i64,
    pub kind: FeedbackKind,
    pub category: String,
    pub category_name: String,
    pub department: Option<String>,
    pub window: Option<u32>,
    /// The specialist it is about (the one serving the named window then), if any.
    pub staff: Option<String>,
    pub channel: String,
    pub received_at: String,
    pub due: String,
    pub replied_at: Option<String>,
    pub replied_by: Option<String>,
    pub text: Option<String>,
    pub reply: Option<String>,
}

fn category_name(code: &str) -> String {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| {
            if code == "suggestion" {
                "建议".into()
            } else {
                code.into()
            }
        })
}

impl Ledger {
    /// Record a complaint or suggestion; it is due for a reply in the hall's
    /// `feedback_reply_days` working days.
    pub fn add_feedback(&mut self, new: &NewFeedback, actor: &str) -> Result<Feedback> {
        let hall = self.hall()?;
        let category = match new.kind {
            FeedbackKind::Complaint => {
                if !CATEGORIES.iter().any(|(c, _)| *c == new.category) {
                    return Err(LedgerError::Invalid(format!(
                        "category {:?}: use one of {}",
                        new.category,
                        CATEGORIES
                            .iter()
                            .map(|(c, n)| format!("{c} ({n})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                new.category.clone()
            }
            _ => "suggestion".to_string(),
        };
        if let Some(d) = &new.department {
            if hall.department(d).is_none() {
                return Err(LedgerError::UnknownDepartment(d.clone()));
            }
        }
        if new.kind == FeedbackKind::DepartmentSuggestion && new.department.is_none() {
            return Err(LedgerError::Invalid(
                "a suggestion to a department names the department (--department)".into(),
            ));
        }
        if let Some(w) = new.window {
            if !hall.all_windows().contains(&w) {
                return Err(LedgerError::UnknownWindow(w));
            }
        }
        if !matches!(new.channel.as_str(), "kiosk" | "desk" | "office" | "status_page") {
            return Err(LedgerError::Invalid(format!(
                "channel {:?}: use kiosk, desk, office or status_page",
                new.channel
            )));
        }
        // A window named without its department: the department that serves it.
        let department = new.department.clone().or_else(|| {
            new.window
                .and_then(|w| hall.departments_at_window(w).first().map(|d| d.code.clone()))
        });
        let now = self.now();
        let at = stamp(now);
        let due = stamp(add_working_days(
            now,
            hall.deadlines.feedback_reply_days,
            hall.tz(),
            &hall.calendar,
        ));
        let tx = self.store.write(self.request.take())?;
        // The specialist who last called at the named window today: the one it is about (a
        // day's calls only, through the calls index).
        let day = business_day(now, hall.tz()).to_string();
        let staff: Option<String> = match new.window {
            Some(window) => tx
                .events(EventQuery::LastCallAt { day: &day, window })?
                .pop()
                .map(|e| e.actor),
            None => None,
        };
        let id = tx.next_id(IdOf::Feedback)?;
        let text = match new.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(note_in(&*tx, None, "feedback_text", t, &at)?),
            None => None,
        };
        let body = EventBody::FeedbackReceived {
            feedback: id,
            feedback_kind: new.kind.as_str().into(),
            category: category.clone(),
            department: department.clone(),
            window: new.window,
            staff: staff.clone(),
            channel: new.channel.clone(),
            text: text.clone(),
            due: due.clone(),
        };
        append_in(&*tx, &at, actor, None, &body)?;
        tx.put(SideWrite::Feedback(&crate::store::FeedbackRow {
            id,
            kind: new.kind.as_str().into(),
            category,
            department,
            window: new.window,
            staff,
            channel: new.channel.clone(),
            text_note: text.map(|t| t.note),
            received_at: at.clone(),
            due,
            replied_at: None,
            reply_note: None,
            replied_by: None,
        }))?;
        tx.commit()?;
        self.feedback(id)
    }

    /// Record the reply: by the named department's coordinator, or the management office.
    pub fn reply_feedback(&mut self, id: i64, staff: &str, reply: &str) -> Result<Feedback> {
        let hall = self.hall()?;
        let f = self.feedback(id)?;
        let s = hall
            .specialist(staff)
            .ok_or_else(|| LedgerError::UnknownStaff(staff.into()))?;
        let office = s.role == crate::hall::Role::Office;
        let coordinator = f.department.as_deref().is_some_and(|d| hall.coordinates(staff, d));
        if !office && !coordinator {
            return Err(LedgerError::Forbidden(format!(
                "{staff} may not reply: the named department's coordinator or the management office replies"
            )));
        }
        if f.replied_at.is_some() {
            return Err(LedgerError::Invalid(format!(
                "feedback {id} has been replied to already"
            )));
        }
        if reply.trim().is_empty() {
            return Err(LedgerError::Invalid("the reply is empty (--reply)".into()));
        }
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        let note = note_in(&*tx, None, "feedback_reply", reply.trim(), &at)?;
        append_in(
            &*tx,
            &at,
            staff,
            None,
            &EventBody::FeedbackReplied {
                feedback: id,
                staff: staff.into(),
                reply: note.clone(),
            },
        )?;
        let n = tx.put(SideWrite::FeedbackReplied {
            id,
            at: &at,
            note: note.note,
            by: staff,
        })?;
        if n != 1 {
            return Err(LedgerError::Conflict(format!("feedback {id}")));
        }
        tx.commit()?;
        self.feedback(id)
    }

    pub fn feedback(&mut self, id: i64) -> Result<Feedback> {
        let rows = self.store.read().side(SideQuery::Feedback(id))?;
        self.feedback_of(rows)?
            .pop()
            .ok_or_else(|| LedgerError::Invalid(format!("no feedback {id}")))
    }

    /// Every complaint and suggestion, newest first; only those still waiting for a reply
    /// with `open`.
    pub fn feedback_list(&mut self, open: bool, department: Option<&str>) -> Result<Vec<Feedback>> {
        let mut rows = self.store.read().side(SideQuery::FeedbackAll { open })?;
        rows.retain(|r| match (r, department) {
            (SideRow::Feedback(f), Some(d)) => f.department.as_deref() == Some(d),
            _ => true,
        });
        let mut list = self.feedback_of(rows)?;
        list.reverse();
        Ok(list)
    }

    fn feedback_of(&self, rows: Vec<SideRow>) -> Result<Vec<Feedback>> {
        let store = self.store.read();
        let note = |n: Option<i64>| -> Result<Option<String>> {
            match n {
                Some(n) => Ok(store.note(n)?.map(|n| n.body)),
                None => Ok(None),
            }
        };
        let mut out = Vec::new();
        for row in rows {
            let SideRow::Feedback(f) = row else { continue };
            out.push(Feedback {
                id: f.id,
                kind: FeedbackKind::parse(&f.kind).unwrap_or(FeedbackKind::Complaint),
                category_name: category_name(&f.category),
                category: f.category,
                department: f.department,
                window: f.window,
                staff: f.staff,
                channel: f.channel,
                received_at: f.received_at,
                due: f.due,
                replied_at: f.replied_at,
                replied_by: f.replied_by,
                text: note(f.text_note)?,
                reply: note(f.reply_note)?,
            });
        }
        Ok(out)
    }
}
