//! Messages to visitors' phones, as the rules decide them: what goes into the outbox when
//! (a booking's code and its two reminders, 「前面还有 3 人」, the result ready to collect, the
//! one-time notification's summary), watched messages becoming due, and the outbox's
//! bookkeeping of tries. Sending itself is `crate::notify` (the hall's hook), off the writer.

use chrono::Duration;

use super::*;
use crate::store::MessageRow;

/// One message to send now: its id (to report back), kind, the phone and the words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: i64,
    pub kind: String,
    pub phone: String,
    pub text: String,
    /// This is try number `attempt` (from 1).
    pub attempt: u32,
}

/// A message as the office sees it (the phone masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    pub kind: String,
    pub phone: String,
    pub text: String,
    pub state: String,
    pub attempts: u32,
    pub due_at: String,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

/// A mobile number as a visitor types it at the kiosk or on the booking page: 11 digits
/// starting with 1 (spaces and dashes allowed).
pub fn mobile(phone: &str) -> Result<String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 11 || !digits.starts_with('1') || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(LedgerError::Invalid(
            "phone: a mobile number is 11 digits starting with 1".into(),
        ));
    }
    Ok(digits)
}

fn row(
    kind: &str,
    case_id: Option<i64>,
    appointment: Option<i64>,
    phone_note: i64,
    text: String,
    due: &str,
    state: &str,
) -> MessageRow {
    MessageRow {
        id: 0,
        kind: kind.into(),
        case_id,
        appointment,
        phone_note,
        text,
        due_at: due.into(),
        state: state.into(),
        attempts: 0,
        last_error: None,
        sent_at: None,
    }
}

/// Put a booking's messages into the outbox, in the booking's transaction: the code now, a
/// reminder the day before and one an hour before (each only if that moment is still ahead).
pub(super) fn booked_in(
    tx: &dyn StoreTx,
    hall: &Hall,
    appointment: i64,
    phone_note: i64,
    item_name: &str,
    when: DateTime<Utc>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if !hall.notify.enabled() {
        return Ok(());
    }
    let tz = hall.tz();
    let local = when.with_timezone(&tz);
    let day = local.format("%m月%d日").to_string();
    let hm = local.format("%H:%M").to_string();
    let early = (when - Duration::minutes(super::appointments::CHECK_IN_EARLY_MIN))
        .with_timezone(&tz)
        .format("%H:%M")
        .to_string();
    let name = &hall.name;
    let put = |kind: &str, text: String, due: DateTime<Utc>| -> Result<()> {
        if due < now && kind != "booked" {
            return Ok(());
        }
        tx.put(SideWrite::Message(&row(
            kind,
            None,
            Some(appointment),
            phone_note,
            text,
            &stamp(due.max(now)),
            "pending",
        )))?;
        Ok(())
    };
    put(
        "booked",
        format!("【{name}】预约成功：{day} {hm} 办理{item_name}，签到码 {code}。请于 {early} 后到自助机输入签到码取号。取消预约也请用签到码。"),
        now,
    )?;
    put(
        "reminder_day",
        format!("【{name}】提醒：您预约了明天 {hm} 办理{item_name}，签到码 {code}，请带齐材料。"),
        when - Duration::days(1),
    )?;
    put(
        "reminder_hour",
        format!("【{name}】提醒：您预约的{item_name}将于 {hm} 开始，签到码 {code}，请于 {early} 后到自助机签到。"),
        when - Duration::hours(1),
    )?;
    Ok(())
}

/// A cancelled appointment's reminders are not sent.
pub(super) fn cancelled_in(tx: &dyn StoreTx, appointment: i64) -> Result<()> {
    for r in tx.side(SideQuery::MessagesOf {
        case_id: None,
        appointment: Some(appointment),
    })? {
        if let SideRow::Message(mut m) = r {
            if m.state == "pending" && m.kind != "booked" {
                m.state = "dropped".into();
                tx.put(SideWrite::MessageMoved(&m))?;
            }
        }
    }
    Ok(())
}

impl Ledger {
    /// The visitor left a mobile number at the kiosk for this ticket (today's, still in the
    /// queue): 「前面还有 N 人」 once, the result ready to collect, and the one-time
    /// notification's summary will go to it. The number is a note; the event names it.
    pub fn leave_phone(&mut self, ticket: &str, phone: &str, actor: &str) -> Result<Case> {
        let phone = mobile(phone)?;
        let hall = self.hall()?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = self.store.write(self.request.take())?;
        let case = find_case_in(&*tx, &day, ticket)?;
        if case.business_day != day || !case.state.is_queued() {
            return Err(LedgerError::Invalid(format!(
                "{} is no longer waiting: messages are for a ticket still in the queue",
                case.number
            )));
        }
        let note = note_in(&*tx, case.id, "visitor_phone", &phone, &at)?;
        append_in(
            &*tx,
            &at,
            actor,
            Some(case.id),
            &EventBody::PhoneLeft { phone: note.clone() },
        )?;
        for kind in ["near", "notice", "ready"] {
            tx.put(SideWrite::Message(&row(
                kind,
                Some(case.id),
                None,
                note.note,
                String::new(),
                &at,
                "watch",
            )))?;
        }
        tx.commit()?;
        self.case_by_id(case.id)
    }

    /// Watched messages whose moment has come become due (with their words), and those whose
    /// moment can no longer come are dropped. Returns how many became due.
    pub fn messages_watch(&mut self) -> Result<usize> {
        let hall = self.hall()?;
        if !hall.notify.enabled() {
            return Ok(0);
        }
        let now = self.now();
        let at = stamp(now);
        let today = business_day(now, hall.tz()).to_string();
        // Read outside the write: the queue positions of a hall's watched tickets.
        let watched: Vec<MessageRow> = self
            .store
            .read()
            .side(SideQuery::Messages {
                state: "watch",
                due_by: None,
                limit: 10_000,
            })?
            .into_iter()
            .filter_map(|r| match r {
                SideRow::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        if watched.is_empty() {
            return Ok(0);
        }
        let mut moves = Vec::new();
        for mut m in watched {
            let Some(case) = m.case_id.and_then(|id| self.case_by_id(id).ok()) else {
                m.state = "dropped".into();
                moves.push(m);
                continue;
            };
            let item = hall.item_name(&case.item);
            let name = &hall.name;
            match m.kind.as_str() {
                "near" => {
                    if case.business_day != today || !case.state.is_queued() {
                        // Called already, or a past day's ticket: nothing left to warn of.
                        m.state = "dropped".into();
                    } else {
                        let ahead = super::issuing::estimate_in(self.store.read(), &hall, &case)?.0;
                        if ahead <= hall.notify.ahead {
                            m.state = "pending".into();
                            m.text = format!(
                                "【{name}】{} 号（{item}）：前面还有 {ahead} 人，请回到等候区留意叫号。",
                                case.number
                            );
                        }
                    }
                }
                "ready" => {
                    if case.state == CaseState::Ready {
                        m.state = "pending".into();
                        let window = case.called_window.unwrap_or(case.window);
                        m.text = format!(
                            "【{name}】您办理的{item}（{}）已办好，可以取件：请带身份证到 {window} 号窗口领取，{}–{} 办理。",
                            case.number, hall.open, hall.close
                        );
                    } else if case.state.is_finished() || matches!(case.state, CaseState::Mailed) {
                        m.state = "dropped".into();
                    }
                }
                "notice" => {
                    if case.state == CaseState::AwaitingMaterials && !case.missing.is_empty() {
                        m.state = "pending".into();
                        let window = case.called_window.unwrap_or(case.window);
                        m.text = format!(
                            "【{name}】一次性告知：办理{item}还需补齐：{}。补齐后请回 {window} 号窗口（{}–{}），不用重新取号。",
                            case.missing.join("、"),
                            hall.open,
                            hall.close
                        );
                    } else if case.state.is_finished() {
                        m.state = "dropped".into();
                    }
                }
                _ => m.state = "dropped".into(),
            }
            if m.state != "watch" {
                m.due_at = at.clone();
                moves.push(m);
            }
        }
        if moves.is_empty() {
            return Ok(0);
        }
        let due = moves.iter().filter(|m| m.state == "pending").count();
        let tx = self.store.write(None)?;
        for m in &moves {
            tx.put(SideWrite::MessageMoved(m))?;
        }
        tx.commit()?;
        Ok(due)
    }

    /// The messages due now, at most `limit`, each marked as tried once more and put back
    /// for its next try (`retry_seconds`, doubling): a sender that dies mid-message leaves it
    /// to be tried again, never lost. Report each with `message_sent`.
    pub fn messages_claim(&mut self, limit: usize) -> Result<Vec<Outgoing>> {
        let hall = self.hall()?;
        if !hall.notify.enabled() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let at = stamp(now);
        let tx = self.store.write(None)?;
        let due: Vec<MessageRow> = tx
            .side(SideQuery::Messages {
                state: "pending",
                due_by: Some(&at),
                limit,
            })?
            .into_iter()
            .filter_map(|r| match r {
                SideRow::Message(m) => Some(m),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for mut m in due {
            let phone = tx.note(m.phone_note)?.map(|n| n.body).unwrap_or_default();
            if phone.is_empty() {
                // The number was purged (or never kept): there is nobody to tell.
                m.state = "dropped".into();
                tx.put(SideWrite::MessageMoved(&m))?;
                continue;
            }
            m.attempts += 1;
            let wait = hall.notify.retry_seconds.max(1) as i64 * (1i64 << (m.attempts - 1).min(10));
            m.due_at = stamp(now + Duration::seconds(wait));
            tx.put(SideWrite::MessageMoved(&m))?;
            out.push(Outgoing {
                id: m.id,
                kind: m.kind.clone(),
                phone,
                text: m.text.clone(),
                attempt: m.attempts,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// How a try went: sent, or failed with the hook's words (given up after `attempts`).
    pub fn message_sent(&mut self, id: i64, outcome: std::result::Result<(), String>) -> Result<()> {
        let hall = self.hall()?;
        let at = stamp(self.now());
        let tx = self.store.write(None)?;
        let Some(SideRow::Message(mut m)) = tx.side(SideQuery::Message(id))?.pop() else {
            return Ok(());
        };
        if m.state != "pending" {
            return Ok(());
        }
        match outcome {
            Ok(()) => {
                m.state = "sent".into();
                m.sent_at = Some(at);
                m.last_error = None;
            }
            Err(e) => {
                m.last_error = Some(e.chars().take(500).collect());
                if m.attempts >= hall.notify.attempts.max(1) {
                    m.state = "failed".into();
                }
            }
        }
        tx.put(SideWrite::MessageMoved(&m))?;
        tx.commit()
    }

    /// The outbox as the office sees it, newest first (phones masked).
    pub fn messages(&mut self, state: &str, limit: usize) -> Result<Vec<MessageView>> {
        let store = self.store.read();
        let mut out = Vec::new();
        for r in store.side(SideQuery::Messages {
            state,
            due_by: None,
            limit,
        })? {
            let SideRow::Message(m) = r else { continue };
            let phone = store.note(m.phone_note)?.map(|n| n.body).unwrap_or_default();
            out.push(MessageView {
                id: m.id,
                kind: m.kind,
                phone: crate::mask_phone(&phone),
                text: m.text,
                state: m.state,
                attempts: m.attempts,
                due_at: m.due_at,
                sent_at: m.sent_at,
                last_error: m.last_error,
            });
        }
        Ok(out)
    }
}
