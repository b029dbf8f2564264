//! Calling and case actions: the next in line (priority with a cap), every counter action, windows.

use super::*;

impl Ledger {
    /// Call the next visitor for a window (or a given number): one conditional update in an
    /// immediate transaction, so two counters never get the same case.
    pub fn call(&mut self, req: &CallRequest) -> Result<Called> {
        let hall = self.hall()?;
        let depts: Vec<String> = hall
            .departments_at_window(req.window)
            .iter()
            .map(|d| d.code.clone())
            .collect();
        if depts.is_empty() {
            return Err(LedgerError::UnknownWindow(req.window));
        }
        if hall.specialist(&req.staff).is_none() {
            return Err(LedgerError::UnknownStaff(req.staff.clone()));
        }
        check_staff_window(&hall, &req.staff, req.window)?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        // A counter polling an empty queue is answered from a read, without the write lock, so
        // twenty polling counters never keep a kiosk waiting.
        if req.number.is_none() && !anyone_waiting(self.store.read(), &day, &depts)? {
            if window_paused_in(self.store.read(), req.window)? {
                return Err(LedgerError::WindowPaused(req.window));
            }
            return Err(LedgerError::NobodyWaiting(req.window));
        }
        let tx = self.store.write(self.request.take())?;
        if window_paused_in(&*tx, req.window)? {
            return Err(LedgerError::WindowPaused(req.window));
        }
        // One visitor at a time: what became of the one this window called comes first.
        if let Some(current) = unsettled_at_in(&*tx, &day, req.window)? {
            return Err(LedgerError::WindowBusy {
                window: req.window,
                number: current.number.clone(),
                state: current.state.label_zh().to_string(),
            });
        }
        let case = match &req.number {
            // A case someone of this department already serves (on hold, awaiting materials)
            // is theirs to call back (首问负责).
            Some(n) => {
                let case = find_case_in(&*tx, &day, n)?;
                // A window calls its own departments' visitors (or a whole-chain case's
                // visitor for its department's part): a number from another department's queue
                // would be announced to the wrong counter and stall this window.
                let part_here = case.parts.iter().any(|p| depts.contains(&p.department));
                if !depts.contains(&case.department) && !part_here {
                    return Err(LedgerError::Forbidden(format!(
                        "ticket {} is for {} ({}); window {} serves {}: that department's windows call it",
                        case.number,
                        hall.department_name(&case.department),
                        case.department,
                        req.window,
                        depts
                            .iter()
                            .map(|d| hall.department_name(d))
                            .collect::<Vec<_>>()
                            .join("、")
                    )));
                }
                check_owner(&hall, &case, &req.staff, &CaseAction::Recall)?;
                case
            }
            None => next_in_line_in(&*tx, &hall, &day, &depts)?.ok_or(LedgerError::NobodyWaiting(req.window))?,
        };
        check_today(&case, &day)?;
        let body = EventBody::CaseCalled {
            window: req.window,
            staff: req.staff.clone(),
            number: case.number.clone(),
            department: case.department.clone(),
        };
        let called = record_in(&*tx, Some(&case), case.id, &at, &req.staff, &body)?;
        let out = called_view(&hall, &called, req.window, false, &req.staff, &at);
        tx.commit()?;
        Ok(out)
    }

    /// Apply a counter action to a case (by number or token), attributed to `staff` at `window`.
    pub fn act(&mut self, case_ref: &str, window: u32, staff: &str, action: &CaseAction) -> Result<Case> {
        let hall = self.hall()?;
        if hall.specialist(staff).is_none() {
            return Err(LedgerError::UnknownStaff(staff.into()));
        }
        // The window is announced and recorded: one the hall does not have would send a
        // visitor to a counter that does not exist.
        if !hall.all_windows().contains(&window) {
            return Err(LedgerError::UnknownWindow(window));
        }
        check_staff_window(&hall, staff, window)?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = self.store.write(self.request.take())?;
        let case = find_case_in(&*tx, &day, case_ref)?;
        check_department(&hall, &case, staff, action)?;
        check_called_window(&case, window, action)?;
        check_owner(&hall, &case, staff, action)?;
        check_coordination(&hall, &case, staff, action)?;
        let staff_dept = hall.specialist(staff).map(|s| s.department.clone()).unwrap_or_default();
        let staff_s = staff.to_string();
        let note = |kind: &str, text: &str| note_in(&*tx, case.id, kind, text, &at);
        // An optional text, kept as a note when something was typed.
        let maybe_note =
            |kind: &str, text: &Option<String>| match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => note(kind, t).map(Some),
                None => Ok(None),
            };
        let body = match action {
            CaseAction::Recall => {
                check_today(&case, &day)?;
                EventBody::CaseRecalled {
                    window,
                    staff: staff_s,
                    number: case.number.clone(),
                    department: case.department.clone(),
                }
            }
            CaseAction::Return => {
                super::closing::refuse_closed_in(&*tx, &day)?;
                let d = hall
                    .department(&case.department)
                    .ok_or_else(|| LedgerError::UnknownDepartment(case.department.clone()))?;
                // After every ticket issued so far today, before the next one (see `Case::queue_key`).
                let queue_pos = tx.next_id(IdOf::QueuePosition { day: &day })?;
                EventBody::CaseReturned {
                    business_day: day.clone(),
                    number: next_number_in(&*tx, &day, &d.prefix)?,
                    window: case.window,
                    staff: staff_s,
                    queue_pos,
                }
            }
            CaseAction::Start => EventBody::CaseStarted { window, staff: staff_s },
            CaseAction::NoShow => EventBody::CaseNoShow { staff: staff_s },
            CaseAction::Hold => EventBody::CaseHeld { staff: staff_s },
            CaseAction::Resume => EventBody::CaseResumed { window, staff: staff_s },
            CaseAction::Transfer {
                department,
                window: to_window,
                note: text,
            } => {
                let d = hall
                    .department(department)
                    .ok_or_else(|| LedgerError::UnknownDepartment(department.clone()))?;
                let to_window = match to_window {
                    Some(w) if d.windows.contains(w) => *w,
                    Some(w) => return Err(LedgerError::UnknownWindow(*w)),
                    None => d.windows[0],
                };
                let note = match text.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("transfer_note", t)?),
                    None => None,
                };
                EventBody::CaseTransferred {
                    staff: staff_s,
                    from_department: case.department.clone(),
                    to_department: d.code.clone(),
                    to_window,
                    note,
                }
            }
            CaseAction::Consult {
                question,
                answer,
                resolved,
            } => {
                if question.trim().is_empty() {
                    return Err(LedgerError::Invalid("a consultation record needs the question".into()));
                }
                if *resolved && answer.as_deref().map(str::trim).unwrap_or("").is_empty() {
                    return Err(LedgerError::Invalid(
                        "a resolved consultation needs the answer given".into(),
                    ));
                }
                let q = note("question", question)?;
                let a = match answer.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("answer", t)?),
                    None => None,
                };
                EventBody::ConsultationRecorded {
                    staff: staff_s,
                    question: q,
                    answer: a,
                    resolved: *resolved,
                }
            }
            CaseAction::Answer { answer } => {
                if answer.trim().is_empty() {
                    return Err(LedgerError::Invalid("the answer is empty".into()));
                }
                EventBody::QuestionAnswered {
                    staff: staff_s,
                    answer: note("answer", answer)?,
                }
            }
            CaseAction::NotifyMissing { missing } => {
                check_materials(&hall, &case, missing)?;
                EventBody::MaterialsMissing {
                    staff: staff_s,
                    missing: missing.clone(),
                }
            }
            CaseAction::MaterialsReturned => EventBody::MaterialsReturned { window, staff: staff_s },
            // Signed forms move the case: the 委托书 before acceptance, the 办结单 before a
            // delivery in person (on the pad, or 纸质签署 with the form's number).
            CaseAction::Accept {
                materials,
                missing,
                supply_by,
            } => {
                check_materials(&hall, &case, materials)?;
                check_materials(&hall, &case, missing)?;
                check_signed(&case, crate::forms::FormKind::Poa, "acceptance")?;
                let missing = tolerated(&hall, &case, materials, missing, supply_by.as_deref(), &day)?;
                EventBody::CaseAccepted {
                    staff: staff_s,
                    materials: materials.clone(),
                    power_of_attorney: true,
                    missing,
                }
            }
            CaseAction::StartWork => EventBody::WorkStarted { staff: staff_s },
            CaseAction::Ready => EventBody::ResultReady { staff: staff_s },
            CaseAction::DeliverInPerson => {
                check_signed(&case, crate::forms::FormKind::Completion, "delivery in person")?;
                EventBody::DeliveredInPerson {
                    staff: staff_s,
                    completion_slip_signed: true,
                }
            }
            CaseAction::Mail {
                tracking,
                recipient,
                courier,
                address,
                sent_on,
            } => {
                if tracking.trim().is_empty() || recipient.trim().is_empty() || courier.trim().is_empty() {
                    return Err(LedgerError::Invalid(
                        "a mailing records the tracking number (--tracking), the recipient (--recipient) and the courier (--courier)".into(),
                    ));
                }
                let sent_on = match sent_on.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                    Some(d) => {
                        let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|_| LedgerError::Invalid(format!("sent on {d:?}: use YYYY-MM-DD")))?
                            .to_string();
                        if date > day {
                            return Err(LedgerError::Invalid(format!("sent on {date}: a day still to come")));
                        }
                        date
                    }
                    None => day.clone(),
                };
                let address = maybe_note("address", address)?;
                EventBody::Mailed {
                    staff: staff_s,
                    tracking: note("tracking", tracking.trim())?,
                    recipient: Some(note("recipient", recipient.trim())?),
                    courier: Some(note("courier", courier.trim())?),
                    address,
                    sent_on: Some(sent_on),
                }
            }
            CaseAction::ConfirmReceipt => EventBody::ReceiptConfirmed { staff: staff_s },
            CaseAction::Archive { handover, receiver } => {
                let text = |t: &Option<String>| {
                    t.as_deref()
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                };
                let (Some(handover), Some(receiver)) = (text(handover), text(receiver)) else {
                    return Err(LedgerError::Invalid(
                        "archiving records what was handed over (--handover) and to whom (--receiver)".into(),
                    ));
                };
                EventBody::Archived {
                    staff: staff_s,
                    handover: Some(note("handover", &handover)?),
                    receiver: Some(note("receiver", &receiver)?),
                }
            }
            CaseAction::Accompany {
                to_window,
                result: text,
            } => {
                if !hall.all_windows().contains(to_window) {
                    return Err(LedgerError::UnknownWindow(*to_window));
                }
                let result = match text.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("accompany_result", t)?),
                    None => None,
                };
                EventBody::Accompanied {
                    staff: staff_s,
                    to_window: *to_window,
                    result,
                }
            }
            CaseAction::RatingReply { reply } => {
                if !hall.coordinates(staff, &case.department) {
                    return Err(LedgerError::Forbidden(format!(
                        "a bad rating's follow-up is the coordinator's of {}",
                        hall.department_name(&case.department)
                    )));
                }
                if reply.trim().is_empty() {
                    return Err(LedgerError::Invalid("the reply is empty".into()));
                }
                EventBody::RatingReplied {
                    staff: staff_s,
                    reply: note("rating_reply", reply)?,
                }
            }
            CaseAction::AccompanyResult { result } => {
                if result.trim().is_empty() {
                    return Err(LedgerError::Invalid(
                        "say how the walk to the window ended (--result)".into(),
                    ));
                }
                EventBody::AccompanyResult {
                    staff: staff_s,
                    result: note("accompany_result", result)?,
                }
            }
            CaseAction::Escalate { reason } => {
                if reason.trim().is_empty() {
                    return Err(LedgerError::Invalid("say why the case is stuck (--reason)".into()));
                }
                EventBody::CoordinationRequested {
                    staff: staff_s,
                    reason: note("coordination_reason", reason)?,
                }
            }
            CaseAction::Meeting {
                held_at,
                participants,
                minutes,
                decision,
                follow_up,
                chiefs,
                outside,
            } => {
                let held = crate::clock::parse_local_time(held_at, hall.tz()).ok_or_else(|| {
                    LedgerError::Invalid(format!(
                        "meeting time {held_at:?}: use RFC 3339 (2026-11-27T15:00:00+08:00) or YYYY-MM-DD HH:MM"
                    ))
                })?;
                if let Some(p) = participants.iter().find(|p| hall.specialist(p).is_none()) {
                    return Err(LedgerError::UnknownStaff(p.clone()));
                }
                if participants.is_empty() || minutes.trim().is_empty() || decision.trim().is_empty() {
                    return Err(LedgerError::Invalid(
                        "a coordination meeting needs its participants, minutes and decision".into(),
                    ));
                }
                let follow_up = match follow_up.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
                    Some(f) => Some(
                        chrono::NaiveDate::parse_from_str(f, "%Y-%m-%d")
                            .map_err(|_| LedgerError::Invalid(format!("follow-up date {f:?}: use YYYY-MM-DD")))?
                            .to_string(),
                    ),
                    None => None,
                };
                EventBody::CoordinationMeeting {
                    staff: staff_s,
                    held_at: stamp(held),
                    participants: participants.clone(),
                    minutes: note("meeting_minutes", minutes)?,
                    decision: note("meeting_decision", decision)?,
                    follow_up,
                    chiefs: maybe_note("meeting_chiefs", chiefs)?,
                    outside: maybe_note("meeting_outside", outside)?,
                }
            }
            CaseAction::Resolve { outcome } => {
                if outcome.trim().is_empty() {
                    return Err(LedgerError::Invalid(
                        "record the coordination's outcome (--outcome)".into(),
                    ));
                }
                EventBody::CoordinationResolved {
                    staff: staff_s,
                    outcome: note("coordination_outcome", outcome)?,
                }
            }
            CaseAction::SetMode { mode } => EventBody::ModeChanged {
                staff: staff_s,
                mode: *mode,
            },
            CaseAction::Handover { to, note: text } => {
                let Some(target) = hall.specialist(to) else {
                    return Err(LedgerError::UnknownStaff(to.clone()));
                };
                if target.department != case.department {
                    return Err(LedgerError::Invalid(format!(
                        "{to} is not a specialist of {}: hand the case over within its department, or transfer it",
                        hall.department_name(&case.department)
                    )));
                }
                let note = match text.as_deref().filter(|t| !t.trim().is_empty()) {
                    Some(t) => Some(note("handover_note", t)?),
                    None => None,
                };
                EventBody::CaseHandedOver {
                    staff: staff_s,
                    to: to.clone(),
                    note,
                }
            }
            CaseAction::Claim => EventBody::PartClaimed {
                staff: staff_s,
                department: staff_dept,
            },
            CaseAction::Part {
                state,
                missing,
                supply_by,
            } => {
                check_hall_materials(&hall, missing)?;
                let missing = match (missing.is_empty(), supply_by.as_deref().map(str::trim)) {
                    (true, _) => vec![],
                    (false, Some(d)) if !d.is_empty() => {
                        let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|_| LedgerError::Invalid(format!("supply-by date {d:?}: use YYYY-MM-DD")))?;
                        if date.to_string().as_str() < day.as_str() {
                            return Err(LedgerError::Invalid(format!(
                                "supply-by date {date} has passed: give the day the visitor will bring the materials"
                            )));
                        }
                        missing
                            .iter()
                            .map(|m| crate::model::MissingMaterial {
                                material: m.clone(),
                                supply_by: date.to_string(),
                            })
                            .collect()
                    }
                    (false, _) => return Err(LedgerError::Invalid(
                        "容缺受理 needs the date the missing materials are to be supplied by (--supply-by YYYY-MM-DD)"
                            .into(),
                    )),
                };
                EventBody::PartMoved {
                    staff: staff_s,
                    department: staff_dept,
                    state: *state,
                    missing,
                }
            }
            CaseAction::Supplied { material } => EventBody::PartMaterialSupplied {
                staff: staff_s,
                department: staff_dept,
                material: material.clone(),
            },
            CaseAction::Suspend { reason, until } => {
                if reason.trim().is_empty() {
                    return Err(LedgerError::Invalid("say why the work is suspended (--reason)".into()));
                }
                let until = match until.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                    Some(u) => {
                        let date = chrono::NaiveDate::parse_from_str(u, "%Y-%m-%d")
                            .map_err(|_| LedgerError::Invalid(format!("until {u:?}: use YYYY-MM-DD")))?;
                        if date.to_string().as_str() < day.as_str() {
                            return Err(LedgerError::Invalid(format!(
                                "until {date} has passed: give the day the work is expected to resume"
                            )));
                        }
                        Some(date.to_string())
                    }
                    None => None,
                };
                EventBody::CaseSuspended {
                    staff: staff_s,
                    reason: note("suspension_reason", reason.trim())?,
                    until,
                }
            }
            CaseAction::ResumeWork => EventBody::SuspensionLifted { staff: staff_s },
            CaseAction::Terminate { reason } => {
                if reason.trim().is_empty() {
                    return Err(LedgerError::Invalid("say why the case is terminated (--reason)".into()));
                }
                EventBody::CaseTerminated {
                    staff: staff_s,
                    reason: note("termination_reason", reason.trim())?,
                }
            }
            CaseAction::Principal { name, id_number, phone } => {
                let name = crate::principal::name(name)?;
                let id_number = crate::principal::id_number(id_number)?;
                let phone = match phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                    Some(p) => Some(super::notify::mobile(p)?),
                    None => None,
                };
                if case.state.is_finished() {
                    return Err(LedgerError::IllegalTransition {
                        number: case.number.clone(),
                        state: case.state.as_str().into(),
                        action: "record the principal of".into(),
                    });
                }
                EventBody::PrincipalRecorded {
                    staff: staff_s,
                    name: note("principal_name", &name)?,
                    id_number: note("principal_id", &id_number)?,
                    phone: match phone {
                        Some(p) => Some(note("principal_phone", &p)?),
                        None => None,
                    },
                }
            }
            CaseAction::RequestSignature { form } => {
                let kind = crate::forms::FormKind::parse(form)
                    .ok_or_else(|| LedgerError::Invalid(format!("no form {form:?}")))?;
                if kind == crate::forms::FormKind::Poa && super::signing::principal_in(&*tx, &case)?.is_none() {
                    return Err(LedgerError::Invalid(format!(
                        "case {}: record the principal (name, ID number) before the 委托书 is signed",
                        case.number
                    )));
                }
                EventBody::SignatureRequested {
                    window,
                    staff: staff_s,
                    form: kind.as_str().into(),
                }
            }
            CaseAction::OnlineStep { note: text } => {
                if case.channel != Channel::Online && case.mode != Mode::Online {
                    return Err(LedgerError::Invalid(format!(
                        "case {} is not 网上帮办: a remote step is recorded on online help (open-case --channel online, or mode online)",
                        case.number
                    )));
                }
                if text.trim().is_empty() {
                    return Err(LedgerError::Invalid("say what was done remotely (--note)".into()));
                }
                EventBody::OnlineStep {
                    staff: staff_s,
                    note: note("online_step", text.trim())?,
                }
            }
            CaseAction::SignedOnPaper { form, number } => {
                let kind = crate::forms::FormKind::parse(form)
                    .ok_or_else(|| LedgerError::Invalid(format!("no form {form:?}")))?;
                let expected = crate::forms::form_number(kind, &case);
                if number.trim() != expected {
                    return Err(LedgerError::Invalid(format!(
                        "form number {:?} is not case {}'s {} (its number is {expected})",
                        number.trim(),
                        case.number,
                        kind.title()
                    )));
                }
                EventBody::FormSigned {
                    form: kind.as_str().into(),
                    staff: staff_s,
                    window: Some(window),
                    content: None,
                    signature: None,
                    signature_sha256: None,
                    paper: Some(expected),
                }
            }
            // The reason is free text: it goes to the notes, the event keeps its id and hash.
            CaseAction::Cancel { reason }
                if matches!(case.state, CaseState::Serving | CaseState::Consulted) && reason.trim().is_empty() =>
            {
                return Err(LedgerError::Invalid(format!(
                    "case {} is in service: a visitor who walked away is cancelled with the reason (--reason)",
                    case.number
                )));
            }
            CaseAction::Cancel { reason } => EventBody::CaseCancelled {
                actor: staff_s,
                reason: String::new(),
                reason_note: match reason.trim() {
                    "" => None,
                    text => Some(note_in(&*tx, case.id, "cancel_reason", text, &at)?),
                },
            },
        };
        // A side fact of the case (the principal's details, a signature asked of the pad)
        // leaves the case as it stands.
        if !body.moves_case() {
            let ev = append_in(&*tx, &at, staff, Some(case.id), &body)?;
            if let EventBody::SignatureRequested { form, .. } = &body {
                tx.put(SideWrite::SignRequest(&crate::store::SignRequestRow {
                    window,
                    case_id: case.id,
                    form: form.clone(),
                    staff: staff.into(),
                    at: at.clone(),
                    seq: ev.seq,
                }))?;
            }
            tx.commit()?;
            return Ok(case);
        }
        let mut next = record_in(&*tx, Some(&case), case.id, &at, staff, &body)?;
        if let Some(opened) = parts_to_open(&hall, &next, staff) {
            next = record_in(&*tx, Some(&next), case.id, &at, staff, &opened)?;
        }
        tx.commit()?;
        Ok(next)
    }

    /// The announcement for the case a window has called, after a recall.
    pub fn recall(&mut self, case_ref: &str, window: u32, staff: &str) -> Result<Called> {
        let case = self.act(case_ref, window, staff, &CaseAction::Recall)?;
        let hall = self.hall()?;
        let seq = case.last_seq;
        let mut c = called_view(&hall, &case, window, true, staff, &case.updated_at);
        c.seq = seq;
        Ok(c)
    }

    /// Pause or resume a window; a paused window calls nobody and does not count in estimates.
    pub fn set_window_paused(&mut self, window: u32, staff: &str, paused: bool) -> Result<()> {
        let hall = self.hall()?;
        check_staff_window(&hall, staff, window)?;
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        if window_paused_in(&*tx, window)? == paused {
            return Err(LedgerError::Invalid(format!(
                "window {window} is already {}",
                if paused { "paused" } else { "open" }
            )));
        }
        tx.put(SideWrite::Window(&crate::store::WindowRow {
            window,
            paused,
            staff: staff.into(),
            since: at.clone(),
        }))?;
        let body = if paused {
            EventBody::WindowPaused {
                window,
                staff: staff.into(),
            }
        } else {
            EventBody::WindowResumed {
                window,
                staff: staff.into(),
            }
        };
        append_in(&*tx, &at, staff, None, &body)?;
        tx.commit()?;
        Ok(())
    }

    pub fn window_paused(&self, window: u32) -> Result<bool> {
        window_paused_in(self.store.read(), window)
    }
}

/// The next case for some departments: priority first, FIFO within a rank, but after
/// `priority_cap` priority calls in a row a regular visitor goes next so nobody starves.
fn next_in_line_in(tx: &dyn StoreTx, hall: &Hall, day: &str, depts: &[String]) -> Result<Option<Case>> {
    let first = |priority: bool| {
        tx.case(CaseKey::FirstWaiting {
            day,
            departments: depts,
            priority,
        })
    };
    let prio = first(true)?;
    let regular = first(false)?;
    match (prio, regular) {
        (Some(p), Some(r)) => {
            let cap = hall.priority_cap as usize;
            if cap > 0 && priority_streak_in(tx, day, depts, cap)? >= cap {
                Ok(Some(r))
            } else {
                Ok(Some(p))
            }
        }
        (p, r) => Ok(p.or(r)),
    }
}

/// How many of the latest calls in these departments today went to priority visitors in a row
/// (looking back at most `cap` calls, in event order).
fn priority_streak_in(tx: &dyn StoreTx, day: &str, depts: &[String], cap: usize) -> Result<usize> {
    // The latest first calls of each department today (an index range each, never the past
    // days), merged newest first.
    let mut latest: Vec<(i64, i64)> = Vec::new();
    for d in depts {
        for t in tx.tally(TallyQuery::LatestCallRanks {
            day,
            department: d,
            limit: cap,
        })? {
            latest.push((t.n, t.m));
        }
    }
    latest.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(latest.iter().take(cap).take_while(|(_, rank)| *rank > 0).count())
}

/// Whether anybody waits today for any of these departments (a read, outside any write).
fn anyone_waiting(tx: &dyn StoreTx, day: &str, depts: &[String]) -> Result<bool> {
    for department in depts {
        if tx.count(CountQuery::AnyoneWaiting { day, department })? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Materials named at the counter must come from the item's list in the hall file: whatever is
/// named goes into the append-only log, so nothing typed freely may (a visitor's phone or ID
/// number typed there could never be removed).
fn check_materials(hall: &Hall, case: &Case, list: &[String]) -> Result<()> {
    let item = hall.item(&case.item);
    let known = item.map(|i| i.materials.as_slice()).unwrap_or(&[]);
    if let Some(bad) = list.iter().find(|m| !known.contains(m)) {
        return Err(LedgerError::Invalid(if known.is_empty() {
            format!(
                "item {} has no materials list in the hall file, so {bad:?} cannot be recorded: add the list (Attachment 2) first",
                case.item
            )
        } else {
            format!("{bad:?} is not on the materials list of item {}", case.item)
        }));
    }
    Ok(())
}

pub(super) fn called_view(hall: &Hall, case: &Case, window: u32, recall: bool, staff: &str, at: &str) -> Called {
    Called {
        case_id: case.id,
        number: case.number.clone(),
        window,
        department: case.department.clone(),
        department_name: hall.department_name(&case.department),
        item_name: hall.item_name(&case.item),
        priority: case.priority.clone(),
        recall,
        recalls: case.recalls,
        staff: staff.into(),
        staff_name: hall.specialist_name(staff),
        badge: hall
            .specialists
            .iter()
            .find(|s| s.staff_id == staff)
            .map(|s| s.badge.clone())
            .unwrap_or_default(),
        at: at.into(),
        seq: case.last_seq,
        text: announcement(&case.number, window, recall),
    }
}

/// The case a window has called or is serving today, if any.
fn unsettled_at_in(tx: &dyn StoreTx, day: &str, window: u32) -> Result<Option<Case>> {
    tx.case(CaseKey::UnsettledAt { day, window })
}

/// 全链条: a whole-chain item's case in 全程 mode opens one part per department (the lead's
/// first) once the lead department has accepted it, or at once for an early intervention.
pub(super) fn parts_to_open(hall: &Hall, case: &Case, staff: &str) -> Option<EventBody> {
    let item = hall.item(&case.item)?;
    // Accepted by the lead, or a key project taken up before the visitor comes; a visitor
    // merely put aside at the counter (暂挂) has not been accepted yet.
    let ready = matches!(case.state, CaseState::Accepted | CaseState::InProgress)
        || (case.channel == crate::model::Channel::Intervention && !case.state.is_finished());
    if !item.is_whole_chain() || case.mode != crate::model::Mode::Fullprocess || !case.parts.is_empty() || !ready {
        return None;
    }
    let lead = if item.lead.is_empty() {
        &item.department
    } else {
        &item.lead
    };
    let mut departments = vec![lead.clone()];
    for d in &item.involved {
        if !departments.contains(d) {
            departments.push(d.clone());
        }
    }
    Some(EventBody::PartsOpened {
        staff: staff.into(),
        departments,
        in_series: item.in_series,
    })
}

/// Materials named for a part (容缺) come from the hall's lists: any department's item may
/// ask for them, and nothing typed freely enters the log.
fn check_hall_materials(hall: &Hall, list: &[String]) -> Result<()> {
    if let Some(bad) = list
        .iter()
        .find(|m| !hall.items.iter().any(|i| i.materials.contains(m)))
    {
        return Err(LedgerError::Invalid(format!(
            "{bad:?} is on no item's materials list in the hall file"
        )));
    }
    Ok(())
}

/// A specialist acts on the cases of their own department; on a whole-chain case a specialist
/// of an involved department acts on that department's part (and may escalate it); the
/// management office coordinates any case.
fn check_department(hall: &Hall, case: &Case, staff: &str, action: &CaseAction) -> Result<()> {
    let Some(s) = hall.specialist(staff) else {
        return Err(LedgerError::UnknownStaff(staff.into()));
    };
    let part = case.parts.iter().find(|p| p.department == s.department);
    if action.is_part_action(case) {
        let Some(part) = part else {
            return Err(LedgerError::Forbidden(if case.parts.is_empty() {
                format!(
                    "case {} has no parts: only a whole-chain case in 全程 mode has them, once accepted",
                    case.number
                )
            } else {
                format!(
                    "case {} has no part for {}",
                    case.number,
                    hall.department_name(&s.department)
                )
            }));
        };
        let owns = part.owner.as_deref().map_or(true, |o| o == staff) || hall.coordinates(staff, &part.department);
        if !matches!(action, CaseAction::Claim) && !owns {
            return Err(LedgerError::NotOwner {
                number: case.number.clone(),
                owner: part.owner.clone().unwrap_or_default(),
            });
        }
        return Ok(());
    }
    // Putting a past day's visitor back in line (重新排队) is any counter's to do: the case
    // queues again in its own department.
    if s.department == case.department || s.role == crate::hall::Role::Office || matches!(action, CaseAction::Return) {
        return Ok(());
    }
    if part.is_some() && matches!(action, CaseAction::Escalate { .. }) {
        return Ok(());
    }
    Err(LedgerError::Forbidden(format!(
        "case {} is {}'s: a specialist of {} acts on it only {}",
        case.number,
        hall.department_name(&case.department),
        hall.department_name(&s.department),
        if part.is_some() {
            "through the department's part (claim, part, supplied)"
        } else {
            "after a transfer"
        }
    )))
}

/// 容缺受理 at acceptance: the item's materials are the checklist, each handed over or accepted
/// without (with the day it is due); one both handed over and missing is a typing error.
fn tolerated(
    hall: &Hall,
    case: &Case,
    materials: &[String],
    missing: &[String],
    supply_by: Option<&str>,
    today: &str,
) -> Result<Vec<crate::model::MissingMaterial>> {
    if let Some(m) = missing.iter().find(|m| materials.contains(m)) {
        return Err(LedgerError::Invalid(format!(
            "{m} is both handed over and missing: name it once"
        )));
    }
    if let Some(item) = hall.item(&case.item) {
        if let Some(m) = item
            .materials
            .iter()
            .find(|m| !materials.contains(m) && !missing.contains(m))
        {
            return Err(LedgerError::Invalid(format!(
                "{m} is neither handed over nor accepted without (容缺): name it with --material, or with --missing and --supply-by"
            )));
        }
    }
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let by = supply_by.map(str::trim).filter(|d| !d.is_empty()).ok_or_else(|| {
        LedgerError::Invalid("容缺受理 names the day the missing materials are due (--supply-by YYYY-MM-DD)".into())
    })?;
    let date = chrono::NaiveDate::parse_from_str(by, "%Y-%m-%d")
        .map_err(|_| LedgerError::Invalid(format!("supply-by {by:?}: use YYYY-MM-DD")))?
        .to_string();
    if date.as_str() < today {
        return Err(LedgerError::Invalid(format!("supply-by {date} has passed")));
    }
    Ok(missing
        .iter()
        .map(|m| crate::model::MissingMaterial {
            material: m.clone(),
            supply_by: date.clone(),
        })
        .collect())
}

/// A called visitor goes to the window the board sent them to: what is done with the visitor
/// there (recall, start, no-show, hold, transfer, consult, tell what is missing, accept) is
/// that window's. Another window starting the case would serve one visitor at two windows,
/// and leave the called window holding a case it can no longer settle.
fn check_called_window(case: &Case, window: u32, action: &CaseAction) -> Result<()> {
    let at_the_window = matches!(
        action,
        CaseAction::Recall
            | CaseAction::Start
            | CaseAction::NoShow
            | CaseAction::Hold
            | CaseAction::Transfer { .. }
            | CaseAction::Consult { .. }
            | CaseAction::NotifyMissing { .. }
            | CaseAction::Accept { .. }
    );
    match case.called_window {
        Some(called) if case.state == CaseState::Called && called != window && at_the_window => {
            Err(LedgerError::Conflict(format!(
                "case {} was called to window {called}: it is served there, not at window {window}",
                case.number
            )))
        }
        _ => Ok(()),
    }
}

/// 协调会议: a case under coordination waits for the office's outcome (held or transferred
/// meanwhile, never worked on); only the office records meetings and outcomes, and only the
/// owner or the department's coordinator escalates.
fn check_coordination(hall: &Hall, case: &Case, staff: &str, action: &CaseAction) -> Result<()> {
    let role = hall.specialist(staff).map(|s| s.role);
    match action {
        CaseAction::Meeting { .. } | CaseAction::Resolve { .. } if role != Some(crate::hall::Role::Office) => {
            Err(LedgerError::Forbidden(format!(
                "{staff} is not of the management office (role office in the hall file): only the office records coordination meetings and their outcome"
            )))
        }
        // A case waiting for the meeting does not stall its window: it is held (暂挂) or
        // transferred, and the window calls the next visitor; the escalation stays pending.
        CaseAction::Meeting { .. }
        | CaseAction::Resolve { .. }
        | CaseAction::Consult { .. }
        | CaseAction::Handover { .. }
        | CaseAction::RatingReply { .. }
        | CaseAction::Hold
        | CaseAction::Transfer { .. } => Ok(()),
        CaseAction::Escalate { .. } => {
            let part_owner = case
                .parts
                .iter()
                .any(|p| p.owner.as_deref() == Some(staff) || hall.coordinates(staff, &p.department));
            if case.owner.as_deref() == Some(staff) || hall.coordinates(staff, &case.department) || part_owner {
                Ok(())
            } else {
                Err(LedgerError::Forbidden(format!(
                    "only the case's owner or its department's coordinator escalates case {}",
                    case.number
                )))
            }
        }
        _ if case.under_coordination => Err(LedgerError::UnderCoordination(case.number.clone())),
        _ => Ok(()),
    }
}

/// 首问负责制: once a specialist has served a case, another specialist of the same department
/// acts on it only after a handover. The owner, and the department's coordinator, may hand it
/// over; a case in another department than its owner's (after a transfer) is that
/// department's to serve.
fn check_owner(hall: &Hall, case: &Case, staff: &str, action: &CaseAction) -> Result<()> {
    // A part belongs to whoever claimed it (checked with the department).
    if action.is_part_action(case) {
        return Ok(());
    }
    let Some(owner) = case.owner.as_deref().filter(|o| *o != staff) else {
        return Ok(());
    };
    let dept_of = |s: &str| hall.specialist(s).map(|s| s.department.clone());
    let same = dept_of(owner).as_deref() == Some(case.department.as_str())
        && dept_of(staff).as_deref() == Some(case.department.as_str());
    let coordinator = hall.coordinates(staff, &case.department);
    let allowed = !same
        || matches!(action, CaseAction::Return)
        || (coordinator
            && matches!(
                action,
                CaseAction::Handover { .. } | CaseAction::Escalate { .. } | CaseAction::RatingReply { .. }
            ));
    if allowed {
        Ok(())
    } else {
        Err(LedgerError::NotOwner {
            number: case.number.clone(),
            owner: owner.to_string(),
        })
    }
}

/// A step the visitor's signature on a form allows: refused, saying how to get it, until the
/// form is signed on the pad or on paper.
fn check_signed(case: &Case, kind: crate::forms::FormKind, step: &str) -> Result<()> {
    if case.signed.iter().any(|f| f == kind.as_str()) {
        return Ok(());
    }
    Err(LedgerError::Invalid(format!(
        "{step} needs the visitor's signature on the {} ({}): ask the pad (request-signature --form {}) or record the signed paper form (signed-on-paper --form {} --number {})",
        kind.title(),
        kind.as_str(),
        kind.as_str(),
        kind.as_str(),
        crate::forms::form_number(kind, case)
    )))
}

/// A number is only ever today's: calling a past day's number would send today's holder of
/// the same number to the counter.
fn check_today(case: &Case, day: &str) -> Result<()> {
    if case.business_day != day {
        return Err(LedgerError::PastDay {
            number: case.number.clone(),
            day: case.business_day.clone(),
        });
    }
    Ok(())
}
