//! Issuing: numbering a ticket, what the ticket and the visitor's phone show, and whether it printed.

use super::reports::mean;
use super::*;
use crate::api::PrintFailure;

impl Ledger {
    /// What a visitor's phone may see of a ticket, by its token (never by number: numbers are
    /// easy to guess, tokens are not).
    pub fn ticket_status(&mut self, token: &str) -> Result<crate::api::TicketStatus> {
        let hall = self.hall()?;
        let case = self
            .store
            .read()
            .case(CaseKey::Token(token))?
            .ok_or_else(|| LedgerError::UnknownCase("no such ticket".into()))?;
        let (ahead, est) = estimate_in(self.store.read(), &hall, &case)?;
        use CaseState as S;
        // 中止 / 终止: the reason given in writing, and when the work should resume.
        let stopped = if matches!(case.state, S::Suspended | S::Terminated) {
            let store = self.store.read();
            let events = store.events(EventQuery::OfCase {
                case_id: case.id,
                before: i64::MAX,
            })?;
            let last = events
                .iter()
                .rev()
                .find_map(|e| match serde_json::from_str::<EventBody>(&e.payload).ok()? {
                    EventBody::CaseSuspended { reason, until, .. } => Some((reason, until)),
                    EventBody::CaseTerminated { reason, .. } => Some((reason, None)),
                    _ => None,
                });
            match last {
                Some((r, until)) => Some((store.note(r.note)?.map(|n| n.body).unwrap_or_default(), until)),
                None => None,
            }
        } else {
            None
        };
        let stage = match case.state {
            S::Waiting | S::Transferred | S::Called | S::NoShow | S::Cancelled | S::Expired => 0,
            S::Serving | S::OnHold | S::Consulted | S::AwaitingMaterials => 1,
            S::Accepted | S::InProgress | S::Suspended => 2,
            S::Ready | S::Delivered | S::Mailed | S::ReceiptConfirmed => 3,
            S::Archived | S::Terminated => 4,
        };
        Ok(crate::api::TicketStatus {
            number: case.number.clone(),
            hall_name: hall.name.clone(),
            department_name: hall.department_name(&case.department),
            item_name: hall.item_name(&case.item),
            department_name_en: english_department(&hall, &case.department),
            item_name_en: hall
                .item(&case.item)
                .map(|i| i.english_name())
                .unwrap_or_else(|| hall.item_name(&case.item)),
            state: case.state.as_str().into(),
            stage,
            ahead,
            estimated_wait_min: est,
            window: if matches!(case.state, S::Called | S::Serving | S::OnHold) {
                case.called_window
            } else {
                None
            },
            business_day: case.business_day.clone(),
            seq: self.head_seq()?,
            can_rate: case.rating.is_none()
                && case.started_at.is_some()
                && !matches!(
                    case.state,
                    S::Waiting | S::Called | S::Transferred | S::Cancelled | S::Expired
                ),
            rating: case.rating,
            today: business_day(self.now(), hall.tz()).to_string(),
            missing: if case.state == S::AwaitingMaterials {
                case.missing
                    .iter()
                    .map(|m| crate::api::MissingOnPage {
                        material: m.clone(),
                        from: hall.material_sources.get(m).cloned().unwrap_or_default(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            return_window: if matches!(case.state, S::AwaitingMaterials | S::Ready) {
                case.called_window.or(Some(case.window)).filter(|w| *w > 0)
            } else {
                None
            },
            coordinating: case.under_coordination,
            reason: stopped.as_ref().map(|s| s.0.clone()),
            resume_by: stopped.and_then(|s| s.1),
            parts: case
                .parts
                .iter()
                .map(|p| crate::api::PartOnPage {
                    department_name: hall.department_name(&p.department),
                    department_name_en: english_department(&hall, &p.department),
                    done: p.state == crate::model::PartState::Done,
                })
                .collect(),
            finished: matches!(case.state, S::Delivered | S::ReceiptConfirmed | S::Archived),
            // A matter with materials to hand over has a guide; a consultation has none.
            guide: hall
                .item(&case.item)
                .filter(|i| !i.materials.is_empty())
                .map(|i| crate::api::GuideOnPage {
                    time_limit_days: i.time_limit(&hall.deadlines),
                    legal_basis: i.legal_basis.clone(),
                    process: i.process.clone(),
                    fees: i.fees.clone(),
                }),
        })
    }

    /// Issue a ticket: number, case and event in one immediate transaction.
    pub fn issue(&mut self, req: &IssueRequest) -> Result<Ticket> {
        let hall = self.hall()?;
        let item = hall
            .item(&req.item)
            .ok_or_else(|| LedgerError::UnknownItem(req.item.clone()))?
            .clone();
        if req.priority.as_deref() == Some(crate::hall::APPOINTMENT) {
            return Err(LedgerError::Invalid(
                "the appointment priority comes with an appointment's check-in code (预约签到), not with a walk-in ticket".into(),
            ));
        }
        let prio = match req.priority.as_deref().filter(|p| !p.is_empty() && *p != "none") {
            Some(p) => Some(
                hall.priority(p)
                    .ok_or_else(|| LedgerError::UnknownPriority {
                        code: p.to_string(),
                        known: hall
                            .priority_classes
                            .iter()
                            .map(|c| format!("{} ({})", c.code, c.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
                    .clone(),
            ),
            None => None,
        };
        // Whole-chain matters get full-process service unless the visitor chose otherwise (rule 5).
        let mode = req.mode.unwrap_or(item.default_mode());
        let now = self.now();
        if !hall.issues_at(now) {
            return Err(LedgerError::OutsideHours {
                open: hall.open.clone(),
                last: hall.last_ticket_time().to_string(),
                close: hall.close.clone(),
            });
        }
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = self.store.write(self.request.take())?;
        // Counted under the write lock: two kiosks cannot both take the quota's last ticket.
        if item.daily_quota > 0
            && tx.count(CountQuery::ItemTickets {
                day: &day,
                item: &item.code,
            })? >= item.daily_quota as i64
        {
            return Err(LedgerError::QuotaReached {
                item: item.code.clone(),
                quota: item.daily_quota,
            });
        }
        let case = issue_in(
            &*tx,
            &IssueParts {
                item: &item,
                hall: &hall,
                day: &day,
                at: &at,
                actor: &req.actor,
                priority: prio.as_ref().map(|p| (p.code.clone(), p.rank)),
                mode,
                channel: req.channel,
            },
        )?;
        tx.commit()?;
        self.ticket_of(&hall, &case)
    }

    /// The ticket of a case just issued, with the queue ahead of it. The estimate only reads:
    /// after the commit, so the write lock is held for the write alone.
    pub(super) fn ticket_of(&self, hall: &Hall, case: &Case) -> Result<Ticket> {
        let (ahead, est) = estimate_in(self.store.read(), hall, case)?;
        Ok(ticket_view(hall, case, ahead, est))
    }

    /// Open a case at the counter without a ticket (see `OpenCase`), attributed to `staff` at
    /// `window`, who owns it. A phone consultation ends recorded (answered, or deferred when
    /// no answer is given); online help and an early intervention wait on hold at the
    /// specialist's counter, so the window goes on calling its queue; a whole-chain item's
    /// intervention opens its parts at once.
    pub fn open_case(&mut self, req: &super::OpenCase, staff: &str, window: u32) -> Result<Case> {
        let hall = self.hall()?;
        let s = hall
            .specialist(staff)
            .ok_or_else(|| LedgerError::UnknownStaff(staff.into()))?;
        super::check_staff_window(&hall, staff, window)?;
        let item = hall
            .item(&req.item)
            .ok_or_else(|| LedgerError::UnknownItem(req.item.clone()))?
            .clone();
        if item.department != s.department {
            return Err(LedgerError::Forbidden(format!(
                "item {} is {}'s: open it at that department's counter",
                item.code,
                hall.department_name(&item.department)
            )));
        }
        let text = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let (question, answer, project) = (text(&req.question), text(&req.answer), text(&req.project));
        let caller = match text(&req.caller_phone) {
            Some(p) if req.channel == Channel::Phone => Some(caller_number(&p)?),
            Some(_) => {
                return Err(LedgerError::Invalid(
                    "a caller's number belongs to a phone consultation (channel phone)".into(),
                ))
            }
            None => None,
        };
        let mode = match req.channel {
            Channel::Phone => {
                if question.is_none() {
                    return Err(LedgerError::Invalid("a phone consultation records the caller's question (--question)".into()));
                }
                Mode::Onsite
            }
            Channel::Online => Mode::Online,
            Channel::Intervention => {
                if project.is_none() {
                    return Err(LedgerError::Invalid("an early intervention names its key project (--project)".into()));
                }
                Mode::Fullprocess
            }
            Channel::Kiosk | Channel::Counter => {
                return Err(LedgerError::Invalid(
                    "a case opened at the counter is a phone consultation, online help or an early intervention (channel phone, online or intervention)".into(),
                ))
            }
        };
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = self.store.write(self.request.take())?;
        let case = issue_in(
            &*tx,
            &IssueParts {
                item: &item,
                hall: &hall,
                day: &day,
                at: &at,
                actor: staff,
                priority: None,
                mode,
                channel: req.channel,
            },
        )?;
        let project = match project {
            Some(p) => Some(note_in(&*tx, case.id, "project", &p, &at)?),
            None => None,
        };
        let caller = match &caller {
            Some(p) => Some(note_in(&*tx, case.id, "phone", p, &at)?),
            None => None,
        };
        let opened = EventBody::CaseOpened {
            staff: staff.into(),
            window,
            project,
            caller,
        };
        let mut case = record_in(&*tx, Some(&case), case.id, &at, staff, &opened)?;
        let next = match req.channel {
            Channel::Phone => {
                let q = note_in(&*tx, case.id, "question", question.as_deref().unwrap_or_default(), &at)?;
                let a = match &answer {
                    Some(t) => Some(note_in(&*tx, case.id, "answer", t, &at)?),
                    None => None,
                };
                EventBody::ConsultationRecorded {
                    staff: staff.into(),
                    resolved: a.is_some(),
                    question: q,
                    answer: a,
                }
            }
            _ => EventBody::CaseHeld { staff: staff.into() },
        };
        case = record_in(&*tx, Some(&case), case.id, &at, staff, &next)?;
        if let Some(parts) = super::calling::parts_to_open(&hall, &case, staff) {
            case = record_in(&*tx, Some(&case), case.id, &at, staff, &parts)?;
        }
        tx.commit()?;
        Ok(case)
    }

    /// The ticket of an existing case (today's number or its token), with the queue as it is
    /// now: for reprints (补打) and the ticket screen.
    pub fn ticket_for(&mut self, case_ref: &str) -> Result<Ticket> {
        let hall = self.hall()?;
        let case = self.find_case(case_ref)?;
        let (ahead, est) = estimate_in(self.store.read(), &hall, &case)?;
        Ok(ticket_view(&hall, &case, ahead, est))
    }

    /// Record a print outcome for a case's ticket (a side fact; the case does not move).
    /// 好差评: the visitor rates the visit (1 非常不满意 … 5 非常满意) by ticket token or
    /// today's number, once per case; `channel` says where (kiosk, status page, counter).
    pub fn rate(&mut self, case_ref: &str, level: u8, channel: &str, actor: &str) -> Result<Case> {
        let hall = self.hall()?;
        let now = self.now();
        let at = stamp(now);
        let day = business_day(now, hall.tz()).to_string();
        let tx = self.store.write(self.request.take())?;
        let case = find_case_in(&*tx, &day, case_ref)?;
        let body = EventBody::CaseRated {
            level,
            channel: channel.into(),
            reasons: Vec::new(),
        };
        let next = record_in(&*tx, Some(&case), case.id, &at, actor, &body)?;
        tx.commit()?;
        Ok(next)
    }

    /// Record whether case `case_id`'s ticket printed on `device`: on failure, its code in the
    /// event and the printer's own words (if any) as a note of the case.
    pub fn record_print(
        &mut self,
        case_id: i64,
        device: &str,
        failure: Option<(PrintFailure, &str)>,
        reprint: bool,
    ) -> Result<Event> {
        check_device_name(device)?;
        let at = stamp(self.now());
        let tx = self.store.write(self.request.take())?;
        if tx.case(CaseKey::Id(case_id))?.is_none() {
            return Err(LedgerError::UnknownCase(format!("#{case_id}")));
        }
        let body = match failure {
            None => EventBody::TicketPrinted {
                device: device.into(),
                reprint,
            },
            Some((code, words)) => EventBody::PrintFailed {
                device: device.into(),
                error: code.as_str().into(),
                reprint,
                detail: match words.trim() {
                    "" => None,
                    w => Some(note_in(&*tx, case_id, "print_error", w, &at)?),
                },
            },
        };
        let ev = append_in(&*tx, &at, device, Some(case_id), &body)?;
        tx.commit()?;
        Ok(ev)
    }
}

/// (ahead, estimated minutes) for a queued case: recent average service time × ahead ÷ open windows.
pub(super) fn estimate_in(tx: &dyn StoreTx, hall: &Hall, case: &Case) -> Result<(u32, u32)> {
    if !case.state.is_queued() {
        return Ok((0, 0));
    }
    let ahead = tx.count(CountQuery::Ahead {
        day: &case.business_day,
        department: &case.department,
        rank: case.priority_rank as i64,
        position: case.queue_key(),
    })? as u32;
    if ahead == 0 {
        return Ok((0, 0));
    }
    let mut minutes = Vec::new();
    for c in tx.cases(CaseQuery::RecentServices {
        department: &case.department,
        limit: ESTIMATE_WINDOW,
    })? {
        if let (Some(a), Some(b)) = (
            c.started_at.as_deref().and_then(parse_stamp),
            c.service_end_at.as_deref().and_then(parse_stamp),
        ) {
            minutes.push(((b - a).num_milliseconds() as f64 / 60_000.0).max(0.0));
        }
    }
    let avg = mean(&minutes).unwrap_or(hall.default_service_min as f64).max(0.5);
    let windows = hall
        .department(&case.department)
        .map(|d| d.windows.clone())
        .unwrap_or_default();
    let mut open = 0;
    for w in &windows {
        if !window_paused_in(tx, *w)? {
            open += 1;
        }
    }
    let est = (avg * ahead as f64 / open.max(1) as f64).ceil() as u32;
    Ok((ahead, est))
}

fn ticket_view(hall: &Hall, case: &Case, ahead: u32, est: u32) -> Ticket {
    let item = hall.item(&case.item);
    let prio = case.priority.as_deref().and_then(|p| hall.priority(p));
    let issued_local = clock::local_minute(&case.issued_at, hall.tz()).unwrap_or_default();
    Ticket {
        number: case.number.clone(),
        case_id: case.id,
        token: case.token.clone(),
        department: case.department.clone(),
        department_name: hall.department_name(&case.department),
        item: case.item.clone(),
        item_name: hall.item_name(&case.item),
        window: case.window,
        windows: hall
            .department(&case.department)
            .map(|d| d.windows.clone())
            .unwrap_or_else(|| vec![case.window]),
        specialist_name: item.map(|i| hall.specialist_name(&i.specialist)).unwrap_or_default(),
        office_phone: item.map(|i| i.phone.clone()).unwrap_or_default(),
        priority: case.priority.clone(),
        priority_name: prio.map(|p| p.name.clone()),
        mode: case.mode,
        ahead,
        estimated_wait_min: est,
        issued_at: case.issued_at.clone(),
        business_day: case.business_day.clone(),
        materials: item.map(|i| i.materials.clone()).unwrap_or_default(),
        hall_name: hall.name.clone(),
        qr_payload: hall.qr_payload(&case.token),
        issued_local,
    }
}

/// What a new case is issued with.
pub(super) struct IssueParts<'a> {
    pub hall: &'a Hall,
    pub item: &'a crate::hall::Item,
    pub day: &'a str,
    pub at: &'a str,
    pub actor: &'a str,
    /// The priority's code and rank.
    pub priority: Option<(String, u32)>,
    pub mode: Mode,
    pub channel: Channel,
}

/// Number and open a case today (refused once the day is closed).
pub(super) fn issue_in(tx: &dyn StoreTx, p: &IssueParts<'_>) -> Result<Case> {
    super::closing::refuse_closed_in(tx, p.day)?;
    let dept = p
        .hall
        .department(&p.item.department)
        .ok_or_else(|| LedgerError::UnknownDepartment(p.item.department.clone()))?;
    // A case opened without a ticket takes no place in the queue: its number counts the day's
    // phone consultations (来电001), online help (网上001) or interventions (介入001) instead of
    // the department's tickets, so the tickets stay gap-free and the board never calls it.
    let prefix = match p.channel {
        Channel::Phone => "来电",
        Channel::Online => "网上",
        Channel::Intervention => "介入",
        Channel::Kiosk | Channel::Counter => dept.prefix.as_str(),
    };
    let number = next_number_in(tx, p.day, prefix)?;
    let case_id = tx.next_id(IdOf::Case)?;
    let body = EventBody::CaseIssued {
        business_day: p.day.to_string(),
        number,
        token: new_token(),
        item: p.item.code.clone(),
        department: p.item.department.clone(),
        window: p.item.window,
        priority: p.priority.as_ref().map(|(c, _)| c.clone()),
        priority_rank: p.priority.as_ref().map(|(_, r)| *r).unwrap_or(0),
        mode: p.mode,
        channel: p.channel,
    };
    record_in(tx, None, case_id, p.at, p.actor, &body)
}

/// A caller's number as typed (spaces and dashes allowed): 7 to 15 digits, a mobile or a
/// landline with its area code. The error never repeats what was typed.
fn caller_number(typed: &str) -> Result<String> {
    let digits: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(LedgerError::Invalid(
            "caller phone: 7 to 15 digits (a mobile, or a landline with its area code)".into(),
        ))
    }
}

pub(super) fn new_token() -> String {
    // 128 random bits: unguessable, so the QR code cannot be forged from a number.
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A printer's name as `PrinterTarget::device_name` writes it, after the kiosk's name. It goes
/// into the event, so it must be a device name and not text: at most 160 characters of
/// letters, digits and `:/._-[]@`.
fn check_device_name(device: &str) -> Result<()> {
    let ok = !device.is_empty()
        && device.len() <= 160
        && device
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._-[]@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(LedgerError::Invalid(format!(
            "printer {:?}: not a printer's device name (letters, digits and :/._-[]@, at most 160)",
            device.chars().take(40).collect::<String>()
        )))
    }
}

/// A department's English name from the hall file, else its Chinese name.
fn english_department(hall: &Hall, code: &str) -> String {
    hall.department(code)
        .map(|d| d.english_name())
        .unwrap_or_else(|| hall.department_name(code))
}
