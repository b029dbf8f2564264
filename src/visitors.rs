//! The fold of appointments and of complaints and suggestions, which `verify` compares with
//! the `appointments` and `feedback` tables: each row must be exactly what its events say.

use std::collections::BTreeMap;

use crate::model::EventBody;

/// An appointment as its events say it must stand.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Booked {
    pub(crate) code_sha256: String,
    pub(crate) item: String,
    pub(crate) at: String,
    pub(crate) phone_note: i64,
    pub(crate) booked_at: String,
    pub(crate) case_id: Option<i64>,
    pub(crate) cancelled: bool,
}

/// A complaint or suggestion as its events say it must stand.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Received {
    pub(crate) kind: String,
    pub(crate) category: String,
    pub(crate) department: Option<String>,
    pub(crate) window: Option<u32>,
    pub(crate) staff: Option<String>,
    pub(crate) channel: String,
    pub(crate) text_note: Option<i64>,
    pub(crate) received_at: String,
    pub(crate) due: String,
    pub(crate) reply: Option<(String, i64, String)>,
}

/// What a table's row should hold, folded from the log.
#[derive(Default)]
pub struct VisitorFold {
    pub(crate) booked: BTreeMap<i64, Booked>,
    pub(crate) received: BTreeMap<i64, Received>,
    /// The latest time a recorded purge erased the codes of closed appointments before.
    pub(crate) codes_erased_before: Option<String>,
}

/// A difference: (table, row, field, what is wrong).
pub type Difference = (&'static str, i64, &'static str, String);

impl VisitorFold {
    /// Fold one event (written at `at`, naming `case_id`).
    pub fn apply(&mut self, at: &str, case_id: Option<i64>, body: &EventBody) {
        match body {
            EventBody::NotesPurged {
                codes_before: Some(before),
                ..
            } => {
                if self.codes_erased_before.as_deref().is_none_or(|b| b < before.as_str()) {
                    self.codes_erased_before = Some(before.clone());
                }
            }
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
}
