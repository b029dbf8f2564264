//! Appointments (网上服务 / 预约): booking one with a six-digit check-in code, and checking in
//! at the kiosk, which issues the ticket ahead of the walk-ins of its slot.

use chrono::{Duration, NaiveTime, Timelike};
use rand::Rng;

use super::issuing::{issue_in, IssueParts};
use super::*;
use crate::hall::APPOINTMENT;

/// A code is taken from this long before the appointment …
pub const CHECK_IN_EARLY_MIN: i64 = 30;
/// … until this long after it.
pub const CHECK_IN_LATE_MIN: i64 = 15;

/// One appointment as the desk and the office see it (the phone masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: i64,
    pub code: String,
    pub item: String,
    pub item_name: String,
    /// The appointment's time, stamped UTC, and in the hall's time zone.
    pub at: String,
    pub local_time: String,
    /// From when to when the code checks in, hall time (HH:MM).
    pub check_in_from: String,
    pub check_in_until: String,
    pub phone: String,
    /// booked, checked_in
    pub state: String,
    /// The ticket number issued at check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// Why a check-in code was refused; each says plainly what to do (the kiosk shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// No open appointment has this code.
    Unknown,
    /// The code has checked in already.
    Used,
    /// It is earlier than half an hour before the appointment.
    Early,
    /// The appointment's check-in time is over.
    Expired,
}

impl CodeRefusal {
    pub fn kind(self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            CodeRefusal::Unknown => ErrorKind::CodeUnknown,
            CodeRefusal::Used => ErrorKind::CodeUsed,
            CodeRefusal::Early => ErrorKind::CodeEarly,
            CodeRefusal::Expired => ErrorKind::CodeExpired,
        }
    }
}

fn refused(refusal: CodeRefusal, detail: String) -> LedgerError {
    LedgerError::CodeRefused { refusal, detail }
}

/// A booking's code as typed (spaces trimmed), if it is six digits at all.
fn six_digits(code: &str) -> Result<&str> {
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(refused(
            CodeRefusal::Unknown,
            "a check-in code is six digits: see the booking message".into(),
        ));
    }
    Ok(code)
}

/// The open appointment with this code, or else the newest used or cancelled one (to say
/// so): (id, item, time, state).
fn booking_by_code(tx: &dyn StoreTx, code: &str) -> Result<(i64, String, String, String)> {
    match tx.side(SideQuery::AppointmentByCode(code))?.pop() {
        Some(SideRow::Appointment(a)) => Some((a.id, a.item, a.at, a.state)),
        _ => None,
    }
    .ok_or_else(|| {
        refused(
            CodeRefusal::Unknown,
            format!("no appointment has the code {code}: check the six digits"),
        )
    })
}

/// A phone number as a visitor gives it: digits, maybe a dash or spaces; 7 to 12 digits.
fn clean_phone(phone: &str) -> Result<String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if !(7..=12).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(LedgerError::Invalid(
            "phone: give the visitor's phone number (7 to 12 digits), for the reminder and the code".into(),
        ));
    }
    Ok(digits)
}

impl Ledger {
    /// Book an appointment for an item at a time in the hall's opening hours; returns it with
    /// its new six-digit code. `channel` says how it was booked (counter, phone, online).
    pub fn book_appointment(
        &mut self,
        item: &str,
        at: &str,
        phone: &str,
        actor: &str,
        channel: &str,
    ) -> Result<Appointment> {
        self.book_appointment_from(item, at, phone, actor, channel, None)
    }

    /// `book_appointment` from a case (a phone consultation, 来电咨询, by number, DATE/NUMBER
    /// or token): the booking is an event of that case, so the case shows it.
    pub fn book_appointment_from(
        &mut self,
        item: &str,
        at: &str,
        phone: &str,
        actor: &str,
        channel: &str,
        from_case: Option<&str>,
    ) -> Result<Appointment> {
        let from = match from_case {
            Some(r) => Some(self.find_case(r)?.id),
            None => None,
        };
        let hall = self.hall()?;
        let item = hall
            .item(item)
            .ok_or_else(|| LedgerError::UnknownItem(item.into()))?
            .clone();
        let tz = hall.tz();
        let when = clock::parse_local_time(at, tz).ok_or_else(|| {
            LedgerError::Invalid(format!(
                "appointment time {at:?}: use RFC 3339 (2026-11-27T10:00:00+08:00) or YYYY-MM-DD HH:MM"
            ))
        })?;
        let now = self.now();
        if when <= now {
            return Err(LedgerError::Invalid(format!("appointment time {at} has passed")));
        }
        let local = when.with_timezone(&tz);
        let hm = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
        if let (Some(open), Some(close)) = (hm(&hall.open), hm(&hall.close)) {
            if local.time() < open || local.time() >= close {
                return Err(LedgerError::Invalid(format!(
                    "appointment time {}: the hall is open {}–{}",
                    local.format("%H:%M"),
                    hall.open,
                    hall.close
                )));
            }
        }
        if !hall.calendar.is_working_day(local.date_naive()) {
            return Err(LedgerError::Invalid(format!(
                "{}: the hall is closed that day (a weekend or a holiday of the [calendar]): choose a working day",
                local.format("%Y-%m-%d")
            )));
        }
        let phone = clean_phone(phone)?;
        if !matches!(channel, "counter" | "phone" | "online") {
            return Err(LedgerError::Invalid(format!(
                "booked by {channel:?}: use counter, phone or online"
            )));
        }
        // The slot the time falls in, from midnight in the hall's time zone.
        let slot = hall.appointments.slot_minutes.clamp(5, 24 * 60) as i64;
        let minute = local.time().signed_duration_since(NaiveTime::MIN).num_minutes();
        let slot_start = local - Duration::minutes(minute % slot) - Duration::seconds(local.time().second() as i64);
        let slot_end = slot_start + Duration::minutes(slot);
        let booked_at = stamp(now);
        let tx = self.store.write(self.request.take())?;
        let taken: Vec<String> = tx
            .side(SideQuery::Appointments {
                from: &stamp(slot_start.with_timezone(&Utc)),
                to: &stamp(slot_end.with_timezone(&Utc)),
            })?
            .into_iter()
            .filter_map(|r| match r {
                SideRow::Appointment(a) if a.state != "cancelled" => Some(a.item),
                _ => None,
            })
            .collect();
        let same_department = taken
            .iter()
            .filter(|code| hall.item(code).is_some_and(|i| i.department == item.department))
            .count();
        if same_department as u32 >= hall.appointments.per_slot {
            return Err(LedgerError::Invalid(format!(
                "the {}–{} slot of {} is full ({} booked): choose another time",
                slot_start.format("%H:%M"),
                slot_end.format("%H:%M"),
                hall.department_name(&item.department),
                same_department
            )));
        }
        // A code no open appointment holds (the unique index would refuse a clash anyway).
        let code = loop {
            let c = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
            let taken = matches!(
                tx.side(SideQuery::AppointmentByCode(&c))?.pop(),
                Some(SideRow::Appointment(a)) if a.state == "booked"
            );
            if !taken {
                break c;
            }
        };
        let id = tx.next_id(IdOf::Appointment)?;
        let phone_note = note_in(&*tx, None, "appointment_phone", &phone, &booked_at)?;
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let code_salt = hex::encode(salt);
        let body = EventBody::AppointmentBooked {
            appointment: id,
            item: item.code.clone(),
            at: stamp(when),
            code_sha256: hex::encode(chain::note_sha256(&code_salt, &code)),
            phone: phone_note.clone(),
            channel: channel.into(),
        };
        append_in(&*tx, &booked_at, actor, from, &body)?;
        super::notify::booked_in(
            &*tx,
            &hall,
            id,
            phone_note.note,
            &hall.item_name(&item.code),
            when,
            &code,
            now,
        )?;
        tx.put(SideWrite::Appointment(&crate::store::AppointmentRow {
            id,
            code,
            code_salt,
            item: item.code.clone(),
            at: stamp(when),
            phone_note: Some(phone_note.note),
            state: "booked".into(),
            booked_at: booked_at.clone(),
            case_id: None,
        }))?;
        tx.commit()?;
        self.appointment(id)
    }

    /// Check in with an appointment's code: the ticket is issued now, with the appointment's
    /// priority over the walk-ins (`appointment`, rank 1), attributed to `actor` (the kiosk).
    pub fn check_in(&mut self, code: &str, actor: &str) -> Result<Ticket> {
        let hall = self.hall()?;
        let tz = hall.tz();
        let code = six_digits(code)?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, tz).to_string();
        let tx = self.store.write(self.request.take())?;
        let (id, item_code, when, state) = booking_by_code(&*tx, code)?;
        if state == "cancelled" {
            return Err(refused(
                CodeRefusal::Unknown,
                format!("the appointment with code {code} was cancelled: book again"),
            ));
        }
        if state != "booked" {
            return Err(refused(
                CodeRefusal::Used,
                format!("the code {code} has checked in already: one ticket per appointment"),
            ));
        }
        let when = parse_stamp(&when).ok_or_else(|| LedgerError::Corrupt(format!("appointment {id}: bad time")))?;
        let hm = |t: DateTime<Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
        let from = when - Duration::minutes(CHECK_IN_EARLY_MIN);
        let until = when + Duration::minutes(CHECK_IN_LATE_MIN);
        if now < from {
            let date = when.with_timezone(&tz).format("%Y-%m-%d");
            return Err(refused(
                CodeRefusal::Early,
                format!("the appointment is at {date} {}: check in from {}", hm(when), hm(from)),
            ));
        }
        if now > until {
            return Err(refused(
                CodeRefusal::Expired,
                format!(
                    "the appointment at {} could be checked in until {}: take an ordinary ticket",
                    hm(when),
                    hm(until)
                ),
            ));
        }
        let item = hall
            .item(&item_code)
            .ok_or_else(|| LedgerError::UnknownItem(item_code.clone()))?
            .clone();
        let appointment = hall.priority(APPOINTMENT).map(|p| (p.code.clone(), p.rank));
        let case = issue_in(
            &*tx,
            &IssueParts {
                item: &item,
                hall: &hall,
                day: &day,
                at: &at,
                actor,
                priority: appointment,
                mode: item.default_mode(),
                channel: Channel::Kiosk,
            },
        )?;
        append_in(
            &*tx,
            &at,
            actor,
            Some(case.id),
            &EventBody::AppointmentCheckedIn { appointment: id },
        )?;
        let n = tx.put(SideWrite::AppointmentMoved {
            id,
            state: "checked_in",
            case_id: Some(case.id),
        })?;
        if n != 1 {
            return Err(LedgerError::Conflict(code.into()));
        }
        tx.commit()?;
        self.ticket_of(&hall, &case)
    }

    /// Check in with the mobile number the appointment was booked with, instead of its code:
    /// today's open appointment of that number whose check-in time it is (the earliest, if
    /// two are). The number is compared with the booking's note and kept nowhere new.
    pub fn check_in_by_phone(&mut self, phone: &str, actor: &str) -> Result<Ticket> {
        let phone = super::notify::mobile(phone)?;
        let now = self.now();
        let today = business_day(now, self.hall()?.tz());
        let mut open = Vec::new();
        let mut later = None;
        let mut earlier = None;
        let rows = {
            let hall = self.hall()?;
            let local_midnight = super::reports::local_midnight;
            let start = stamp(local_midnight(hall.tz(), today));
            let end = stamp(local_midnight(hall.tz(), today.succ_opt().unwrap_or(today)));
            self.store
                .read()
                .side(SideQuery::Appointments { from: &start, to: &end })?
        };
        for row in rows {
            let SideRow::Appointment(a) = row else { continue };
            if a.state != "booked" {
                continue;
            }
            let Some(note) = a.phone_note else { continue };
            let theirs = self.store.read().note(note)?.map(|n| n.body).unwrap_or_default();
            if theirs != phone {
                continue;
            }
            let Some(at) = parse_stamp(&a.at) else { continue };
            if now < at - Duration::minutes(CHECK_IN_EARLY_MIN) {
                later.get_or_insert(at);
            } else if now > at + Duration::minutes(CHECK_IN_LATE_MIN) {
                earlier = Some(at);
            } else {
                open.push((at, a.code));
            }
        }
        open.sort();
        if let Some((_, code)) = open.into_iter().next() {
            return self.check_in(&code, actor);
        }
        let tz = self.hall()?.tz();
        let hm = |t: DateTime<Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
        Err(match (later, earlier) {
            (Some(at), _) => refused(
                CodeRefusal::Early,
                format!(
                    "the appointment is at {}: check in from {}",
                    hm(at),
                    hm(at - Duration::minutes(CHECK_IN_EARLY_MIN))
                ),
            ),
            (None, Some(at)) => refused(
                CodeRefusal::Expired,
                format!(
                    "the appointment at {} could be checked in until {}: take an ordinary ticket",
                    hm(at),
                    hm(at + Duration::minutes(CHECK_IN_LATE_MIN))
                ),
            ),
            (None, None) => refused(
                CodeRefusal::Unknown,
                "no appointment today was booked with this number: check it, or use the code".into(),
            ),
        })
    }

    /// Cancel a booked appointment by its code: the visitor called it off. A used or unknown
    /// code is refused as at check-in; the slot is free again.
    pub fn cancel_appointment(&mut self, code: &str, actor: &str) -> Result<Appointment> {
        let code = six_digits(code)?;
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        let (id, _, _, state) = booking_by_code(&*tx, code)?;
        if state != "booked" {
            return Err(refused(
                CodeRefusal::Used,
                format!("the appointment with code {code} is {state} already: nothing to cancel"),
            ));
        }
        append_in(
            &*tx,
            &at,
            actor,
            None,
            &EventBody::AppointmentCancelled { appointment: id },
        )?;
        tx.put(SideWrite::AppointmentMoved {
            id,
            state: "cancelled",
            case_id: None,
        })?;
        super::notify::cancelled_in(&*tx, id)?;
        tx.commit()?;
        self.appointment(id)
    }

    /// One appointment by id.
    pub fn appointment(&mut self, id: i64) -> Result<Appointment> {
        let rows = self.store.read().side(SideQuery::Appointment(id))?;
        self.appointments_of(rows)?
            .pop()
            .ok_or_else(|| LedgerError::Invalid(format!("no appointment {id}")))
    }

    /// The appointments of one business day, in time order.
    pub fn appointments_on(&mut self, day: NaiveDate) -> Result<Vec<Appointment>> {
        let hall = self.hall()?;
        let tz = hall.tz();
        let local_midnight = super::reports::local_midnight;
        let start = stamp(local_midnight(tz, day));
        let end = stamp(local_midnight(tz, day.succ_opt().unwrap_or(day)));
        let rows = self
            .store
            .read()
            .side(SideQuery::Appointments { from: &start, to: &end })?;
        self.appointments_of(rows)
    }

    fn appointments_of(&mut self, rows: Vec<SideRow>) -> Result<Vec<Appointment>> {
        let hall = self.hall()?;
        let tz = hall.tz();
        let store = self.store.read();
        let mut out = Vec::new();
        for row in rows {
            let SideRow::Appointment(a) = row else { continue };
            let phone = match a.phone_note {
                Some(n) => store.note(n)?.map(|n| n.body),
                None => None,
            };
            let number = match a.case_id {
                Some(c) => store.case(CaseKey::Id(c))?.map(|c| c.number),
                None => None,
            };
            let crate::store::AppointmentRow {
                id,
                code,
                item,
                at,
                state,
                ..
            } = a;
            let t = parse_stamp(&at);
            let hm = |m: i64| {
                t.map(|t| {
                    (t + Duration::minutes(m))
                        .with_timezone(&tz)
                        .format("%H:%M")
                        .to_string()
                })
                .unwrap_or_default()
            };
            out.push(Appointment {
                id,
                code,
                item_name: hall.item_name(&item),
                item,
                local_time: clock::local_minute(&at, tz).unwrap_or_default(),
                at,
                check_in_from: hm(-CHECK_IN_EARLY_MIN),
                check_in_until: hm(CHECK_IN_LATE_MIN),
                phone: crate::mask_phone(phone.as_deref().unwrap_or("")),
                state,
                number,
            });
        }
        Ok(out)
    }
}

/// One appointment slot of a day as the booking page offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreeSlot {
    /// The slot's start, hall time `HH:MM`.
    pub time: String,
    /// Places left for the item's department (0: full).
    pub free: u32,
}

impl Ledger {
    /// The slots of `day` for `item` from opening to closing, with the places left in each:
    /// none on a day the hall is closed (weekend, holiday), and none already begun.
    pub fn free_slots(&mut self, item: &str, day: NaiveDate) -> Result<Vec<FreeSlot>> {
        let hall = self.hall()?;
        let item = hall
            .item(item)
            .ok_or_else(|| LedgerError::UnknownItem(item.into()))?
            .clone();
        if !hall.calendar.is_working_day(day) {
            return Ok(Vec::new());
        }
        let tz = hall.tz();
        let hm = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").ok();
        let (Some(open), Some(close)) = (hm(&hall.open), hm(&hall.close)) else {
            return Ok(Vec::new());
        };
        let slot = hall.appointments.slot_minutes.clamp(5, 24 * 60) as i64;
        let now = self.now();
        let booked: Vec<(DateTime<Utc>, String)> = self
            .appointments_on(day)?
            .into_iter()
            .filter(|a| a.state != "cancelled")
            .filter_map(|a| parse_stamp(&a.at).map(|t| (t, a.item)))
            .collect();
        let mut out = Vec::new();
        // Slots from midnight, as booking counts them.
        let mut start = NaiveTime::MIN
            + Duration::minutes((open.signed_duration_since(NaiveTime::MIN).num_minutes() / slot) * slot);
        while start < close {
            let from = start.max(open);
            let Some(at) = day.and_time(from).and_local_timezone(tz).single() else {
                break;
            };
            let at = at.with_timezone(&Utc);
            let end = at + Duration::minutes(slot) - Duration::minutes(from.signed_duration_since(start).num_minutes());
            if at > now {
                let taken = booked
                    .iter()
                    .filter(|(t, code)| {
                        *t >= at && *t < end && hall.item(code).is_some_and(|i| i.department == item.department)
                    })
                    .count() as u32;
                out.push(FreeSlot {
                    time: from.format("%H:%M").to_string(),
                    free: hall.appointments.per_slot.saturating_sub(taken),
                });
            }
            let next = start + Duration::minutes(slot);
            if next <= start {
                break;
            }
            start = next;
        }
        Ok(out)
    }
}
