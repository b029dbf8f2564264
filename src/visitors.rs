//! The fold of appointments and of complaints and suggestions, which `verify` compares with
//! the `appointments` and `feedback` tables: each row must be exactly what its events say.

use std::collections::BTreeMap;

use rusqlite::Transaction;

use crate::error::Result;
use crate::model::EventBody;

/// An appointment as its events say it must stand.
#[derive(Debug, Default, PartialEq)]
struct Booked {
    code_sha256: String,
    item: String,
    at: String,
    phone_note: i64,
    booked_at: String,
    case_id: Option<i64>,
    cancelled: bool,
}

/// A complaint or suggestion as its events say it must stand.
#[derive(Debug, Default, PartialEq)]
struct Received {
    kind: String,
    category: String,
    department: Option<String>,
    window: Option<u32>,
    staff: Option<String>,
    channel: String,
    text_note: Option<i64>,
    received_at: String,
    due: String,
    reply: Option<(String, i64, String)>,
}

/// What a table's row should hold, folded from the log.
#[derive(Default)]
pub struct VisitorFold {
    booked: BTreeMap<i64, Booked>,
    received: BTreeMap<i64, Received>,
}

/// A difference: (table, row, field, what is wrong).
pub type Difference = (&'static str, i64, &'static str, String);

impl VisitorFold {
    /// Fold one event (written at `at`, naming `case_id`).
    pub fn apply(&mut self, at: &str, case_id: Option<i64>, body: &EventBody) {
        match body {
            EventBody::AppointmentBooked {
                appointment,
                item,
                at: when,
                code_sha256,
                phone,
                ..
            } => {
                self.booked.insert(
                    *appointment,
                    Booked {
                        code_sha256: code_sha256.clone(),
                        item: item.clone(),
                        at: when.clone(),
                        phone_note: phone.note,
                        booked_at: at.to_string(),
                        case_id: None,
                        cancelled: false,
                    },
                );
            }
            EventBody::AppointmentCheckedIn { appointment } => {
                if let Some(b) = self.booked.get_mut(appointment) {
                    b.case_id = case_id;
                }
            }
            EventBody::AppointmentCancelled { appointment } => {
                if let Some(b) = self.booked.get_mut(appointment) {
                    b.cancelled = true;
                }
            }
            EventBody::FeedbackReceived {
                feedback,
                feedback_kind,
                category,
                department,
                window,
                staff,
                channel,
                text,
                due,
            } => {
                self.received.insert(
                    *feedback,
                    Received {
                        kind: feedback_kind.clone(),
                        category: category.clone(),
                        department: department.clone(),
                        window: *window,
                        staff: staff.clone(),
                        channel: channel.clone(),
                        text_note: text.as_ref().map(|t| t.note),
                        received_at: at.to_string(),
                        due: due.clone(),
                        reply: None,
                    },
                );
            }
            EventBody::FeedbackReplied { feedback, staff, reply } => {
                if let Some(r) = self.received.get_mut(feedback) {
                    r.reply = Some((at.to_string(), reply.note, staff.clone()));
                }
            }
            _ => {}
        }
    }

    /// The first row that differs from the log, if any.
    pub fn compare(&self, tx: &Transaction<'_>) -> Result<Option<Difference>> {
        let mut stmt = tx.prepare(
            "SELECT id, code, item, at, phone_note, state, case_id, booked_at FROM appointments ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    Booked {
                        code_sha256: String::new(),
                        item: r.get(2)?,
                        at: r.get(3)?,
                        phone_note: r.get(4)?,
                        booked_at: r.get(7)?,
                        case_id: r.get(6)?,
                        cancelled: false,
                    },
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, code, mut have, state) in rows {
            let Some(want) = self.booked.get(&id) else {
                return Ok(Some((
                    "appointments",
                    id,
                    "id",
                    format!("appointment {id} was never booked in the log"),
                )));
            };
            have.code_sha256 = crate::chain::sha256_hex(&code);
            let checked_in = match (want.cancelled, want.case_id) {
                (true, _) => "cancelled",
                (false, Some(_)) => "checked_in",
                (false, None) => "booked",
            };
            let field = if have.code_sha256 != want.code_sha256 {
                Some("code")
            } else if have.item != want.item {
                Some("item")
            } else if have.at != want.at {
                Some("at")
            } else if have.phone_note != want.phone_note {
                Some("phone_note")
            } else if have.booked_at != want.booked_at {
                Some("booked_at")
            } else if have.case_id != want.case_id {
                Some("case_id")
            } else if state != checked_in {
                Some("state")
            } else {
                None
            };
            if let Some(field) = field {
                return Ok(Some((
                    "appointments",
                    id,
                    field,
                    format!("appointment {id}'s {field} differs from the log"),
                )));
            }
        }
        let count: i64 = tx.query_row("SELECT count(*) FROM appointments", [], |r| r.get(0))?;
        if count as usize != self.booked.len() {
            let missing = self.booked.keys().next_back().copied().unwrap_or(0);
            return Ok(Some((
                "appointments",
                missing,
                "id",
                format!(
                    "the log booked {} appointments, the table holds {count}",
                    self.booked.len()
                ),
            )));
        }
        let mut stmt = tx.prepare(
            "SELECT id, kind, category, department, window, staff, channel, text_note, received_at, due,
                    replied_at, reply_note, replied_by FROM feedback ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let replied_at: Option<String> = r.get(10)?;
                let reply_note: Option<i64> = r.get(11)?;
                let replied_by: Option<String> = r.get(12)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    Received {
                        kind: r.get(1)?,
                        category: r.get(2)?,
                        department: r.get(3)?,
                        window: r.get(4)?,
                        staff: r.get(5)?,
                        channel: r.get(6)?,
                        text_note: r.get(7)?,
                        received_at: r.get(8)?,
                        due: r.get(9)?,
                        reply: match (replied_at, reply_note, replied_by) {
                            (Some(a), Some(n), Some(b)) => Some((a, n, b)),
                            _ => None,
                        },
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, have) in &rows {
            let Some(want) = self.received.get(id) else {
                return Ok(Some((
                    "feedback",
                    *id,
                    "id",
                    format!("feedback {id} was never received in the log"),
                )));
            };
            let field = [
                ("kind", have.kind == want.kind),
                ("category", have.category == want.category),
                ("department", have.department == want.department),
                ("window", have.window == want.window),
                ("staff", have.staff == want.staff),
                ("channel", have.channel == want.channel),
                ("text_note", have.text_note == want.text_note),
                ("received_at", have.received_at == want.received_at),
                ("due", have.due == want.due),
                ("replied_at", have.reply == want.reply),
            ]
            .into_iter()
            .find(|(_, same)| !same)
            .map(|(f, _)| f);
            if let Some(field) = field {
                return Ok(Some((
                    "feedback",
                    *id,
                    field,
                    format!("feedback {id}'s {field} differs from the log"),
                )));
            }
        }
        if rows.len() != self.received.len() {
            return Ok(Some((
                "feedback",
                0,
                "id",
                format!(
                    "the log received {} complaints and suggestions, the table holds {}",
                    self.received.len(),
                    rows.len()
                ),
            )));
        }
        Ok(None)
    }
}
