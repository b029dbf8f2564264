//! Staff: PINs (argon2id, strength rules) and sign-ins with the five-tries lockout.

use super::*;

impl Ledger {
    /// 培训记录: a specialist took a course on `date` for `hours` (0.5 to 24, in half hours);
    /// the course's name is kept as a note. Recorded by `actor` (the office).
    pub fn record_training(&mut self, staff: &str, date: &str, course: &str, hours: f64, actor: &str) -> Result<i64> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| LedgerError::Invalid(format!("date {date:?}: use YYYY-MM-DD")))?;
        let now = self.now();
        if day > business_day(now, hall.tz()) {
            return Err(LedgerError::Invalid(format!(
                "date {day}: a training is recorded once it took place"
            )));
        }
        let course = course.trim();
        if course.is_empty() || course.chars().count() > 200 {
            return Err(LedgerError::Invalid(
                "course: the course's name, 1 to 200 characters".into(),
            ));
        }
        let minutes = (hours * 60.0).round();
        if !(30.0..=24.0 * 60.0).contains(&minutes) || minutes % 30.0 != 0.0 {
            return Err(LedgerError::Invalid(
                "hours: 0.5 to 24, in half hours (1.5 is an hour and a half)".into(),
            ));
        }
        let at = stamp(now);
        let tx = self.store.write(self.request.take())?;
        let course = tx.add_note(None, "training_course", course, &at)?;
        let ev = append_in(
            &*tx,
            &at,
            actor,
            None,
            &EventBody::StaffTrained {
                staff: staff.into(),
                date: day.to_string(),
                course,
                minutes: minutes as u32,
            },
        )?;
        tx.commit()?;
        Ok(ev.seq)
    }

    /// Set a staff member's PIN (6 to 12 digits, nothing trivial), stored as an argon2id hash.
    pub fn set_pin(&mut self, staff: &str, pin: &str, actor: &str) -> Result<()> {
        // Hashed before the write transaction: argon2 takes a tenth of a second on purpose,
        // and the write lock must not wait for it.
        let hash = hash_new_pin(staff, pin)?;
        self.set_pin_hash(staff, &hash, actor)
    }

    /// Store a PIN hash made by `hash_new_pin` (a server makes it off its writer thread).
    pub fn set_pin_hash(&mut self, staff: &str, hash: &str, actor: &str) -> Result<()> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        if !hash.starts_with("$argon2id$") {
            return Err(LedgerError::Invalid("a PIN is stored as an argon2id hash only".into()));
        }
        let salt = String::new();
        let now = self.now();
        let at = stamp(now);
        let tx = self.store.write(self.request.take())?;
        // A PIN change is recorded at the true time: one dated before what the ledger already
        // holds (a clock set back, `BANGBAN_NOW` in the past) would hide among old events.
        let (head_seq, _) = tx.head()?;
        if let Some(last) = tx.events(crate::store::EventQuery::Seq(head_seq))?.pop() {
            if let Some(last_at) = parse_stamp(&last.at) {
                if last_at - now > chrono::Duration::minutes(PIN_CLOCK_TOLERANCE_MIN) {
                    return Err(LedgerError::Invalid(format!(
                        "the clock says {at}, before the ledger's last event ({}): a PIN change is recorded at the true time; set the clock right and try again",
                        last.at
                    )));
                }
            }
        }
        tx.put(SideWrite::PinSet {
            staff,
            salt: &salt,
            pin_hash: hash,
        })?;
        // A new PIN ends every session signed in with the old one: a PIN reset because it
        // leaked must not leave whoever used it signed in.
        tx.put(SideWrite::SessionsEnded {
            of: crate::store::SessionsOf::Staff(staff),
            at: &at,
        })?;
        append_in(
            &*tx,
            &at,
            actor,
            None,
            &EventBody::StaffPinSet {
                staff: staff.into(),
                pin_check: Some(chain::sha256_hex(hash)),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The stored PIN of a specialist who proves who they are away from a window (a PIN
    /// change, a reply signed at the office's desk): not locked out, a PIN set.
    pub fn pin_record_of(&mut self, staff: &str) -> Result<PinRecord> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        let Some((salt, hash, _, locked_until)) = read_pin_row(self.store.read(), staff)? else {
            return Err(LedgerError::Invalid(format!(
                "staff {staff:?} has no PIN yet: the office sets one with `bangban staff set-pin {staff}`"
            )));
        };
        check_locked(&hall, staff, self.now(), locked_until.as_deref())?;
        Ok(PinRecord { salt, hash })
    }

    /// Check a PIN at a window; five wrong tries lock the login for some minutes.
    pub fn login(&mut self, staff: &str, window: u32, pin: &str) -> Result<()> {
        let stored = self.pin_record(staff, window)?;
        let checked = stored.check(pin)?;
        self.record_login(staff, window, &stored, &checked)
    }

    /// The first step of a sign-in: the stored PIN hash of a specialist allowed at this
    /// window and not locked out. Fast; the slow hash check happens outside (`PinRecord::check`)
    /// so a server can run it beside other work.
    pub fn pin_record(&mut self, staff: &str, window: u32) -> Result<PinRecord> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        check_staff_window(&hall, staff, window)?;
        let Some((salt, hash, _, locked_until)) = read_pin_row(self.store.read(), staff)? else {
            return Err(LedgerError::Invalid(format!(
                "staff {staff:?} has no PIN yet: run `bangban staff set-pin {staff}`"
            )));
        };
        check_locked(&hall, staff, self.now(), locked_until.as_deref())?;
        Ok(PinRecord { salt, hash })
    }

    /// The last step of a sign-in: count the try (five wrong ones lock the login), store a
    /// rehashed PIN, record the attempt as an event, and say whether it succeeded.
    pub fn record_login(&mut self, staff: &str, window: u32, stored: &PinRecord, checked: &PinChecked) -> Result<()> {
        let hall = self.hall()?;
        let now = self.now();
        let at = stamp(now);
        let ok = checked.ok;
        let tx = self.store.write(self.request.take())?;
        let Some((_, hash_now, failed, locked_until)) = read_pin_row(&*tx, staff)? else {
            return Err(LedgerError::Invalid(format!("staff {staff:?} has no PIN any more")));
        };
        check_locked(&hall, staff, now, locked_until.as_deref())?;
        if hash_now != stored.hash {
            return Err(LedgerError::Invalid(format!(
                "the PIN of staff {staff:?} was changed just now: sign in again"
            )));
        }
        if let Some(new_hash) = &checked.rehashed {
            tx.put(SideWrite::PinRehash {
                staff,
                pin_hash: new_hash,
            })?;
        }
        let failed = if ok { 0 } else { failed + 1 };
        let lock = (failed >= PIN_TRIES).then(|| stamp(now + chrono::Duration::minutes(PIN_LOCK_MINUTES)));
        let failed_stored = if lock.is_some() { 0 } else { failed };
        tx.put(SideWrite::PinTries {
            staff,
            failed: failed_stored,
            locked_until: lock.as_deref(),
        })?;
        append_in(
            &*tx,
            &at,
            staff,
            None,
            &EventBody::StaffLogin {
                staff: staff.into(),
                window,
                ok,
                pin_check: checked.rehashed.as_deref().map(chain::sha256_hex),
            },
        )?;
        tx.commit()?;
        if ok {
            Ok(())
        } else if let Some(until) = lock.as_deref().and_then(parse_stamp) {
            Err(LedgerError::LoginLocked(
                staff.into(),
                until.with_timezone(&hall.tz()).format("%H:%M").to_string(),
            ))
        } else {
            Err(LedgerError::WrongPin(staff.into(), PIN_TRIES - failed))
        }
    }
}

fn read_pin_row(tx: &dyn StoreTx, staff: &str) -> Result<Option<PinRow>> {
    Ok(match tx.side(SideQuery::Pin(staff))?.pop() {
        Some(SideRow::Pin(p)) => Some((p.salt, p.pin_hash, p.failed, p.locked_until)),
        _ => None,
    })
}

fn check_locked(hall: &Hall, staff: &str, now: DateTime<Utc>, locked_until: Option<&str>) -> Result<()> {
    match locked_until.and_then(parse_stamp) {
        Some(until) if until > now => {
            let local = until.with_timezone(&hall.tz()).format("%H:%M").to_string();
            Err(LedgerError::LoginLocked(staff.into(), local))
        }
        _ => Ok(()),
    }
}

/// Check a new PIN's strength and hash it (the slow part, a tenth of a second): outside any
/// transaction and, in the server, outside the writer thread.
pub fn hash_new_pin(staff: &str, pin: &str) -> Result<String> {
    crate::pin::check_strength(staff, pin).map_err(LedgerError::Invalid)?;
    crate::pin::hash(pin).map_err(LedgerError::Invalid)
}

/// How far behind the ledger's last event the clock may be for a PIN change (minutes): a
/// server's clock corrected by a few minutes still lets the office reset a PIN.
const PIN_CLOCK_TOLERANCE_MIN: i64 = 10;
