//! The kiosk's IO thread: it owns the hall client (the ledger file or the hall server) and
//! the printer, so a locked database, a slow network or a silent printer never freezes the
//! screen. The UI sends `Job`s and receives `Reply`s.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use bangban::api::{HallClient, Issue, PrintOutcome};
use bangban::{ErrorKind, Ticket};
use bangban_printer::{PrintError, PrintTicket, PrinterTarget};

pub enum Job {
    /// Issue a ticket and print it straight away (the screen shows it as soon as it is issued).
    Issue(Issue),
    /// 预约签到: the appointment's code; the ticket comes back as `Issued` (or `Refused`).
    CheckIn(String),
    /// 好差评 for a visit.
    Rate(bangban::api::Rate),
    /// 找茬吐槽 from the kiosk.
    Feedback(bangban::NewFeedback),
    /// 短信提醒: the visitor's mobile number for messages about their ticket (its token).
    LeavePhone {
        ticket: String,
        phone: String,
    },
    WaitingCounts,
    /// Is the hall server still there? (Remote kiosks ask every few seconds.)
    Check,
    Stop,
}

/// Why a ticket could not be issued, in the terms the screen distinguishes.
#[derive(Debug, Clone)]
pub enum IssueFailure {
    /// The ledger stayed locked past the busy timeout.
    Busy(String),
    /// The hall server cannot be reached: tickets are paused until it is back.
    Unreachable(String),
    /// Today's business day has been closed (日结): no more numbers today.
    DayClosed(String),
    /// The request was refused for a reason the screen explains (a check-in code unknown,
    /// used, early or expired; outside the hall's hours; the item's quota taken): the kind
    /// and the ledger's words.
    Refused(ErrorKind, String),
    Other(String),
}

impl IssueFailure {
    fn of(e: &bangban::LedgerError) -> IssueFailure {
        if e.is_busy() {
            IssueFailure::Busy(e.to_string())
        } else {
            match e.kind() {
                ErrorKind::Unreachable => IssueFailure::Unreachable(e.to_string()),
                ErrorKind::DayClosed => IssueFailure::DayClosed(e.to_string()),
                kind if kind.is_code_refusal() || matches!(kind, ErrorKind::OutsideHours | ErrorKind::QuotaReached) => {
                    IssueFailure::Refused(kind, e.to_string())
                }
                _ => IssueFailure::Other(e.to_string()),
            }
        }
    }
}

pub enum Reply {
    Issued(Result<Ticket, IssueFailure>),
    Printed {
        case_id: i64,
        result: Result<(), PrintError>,
    },
    /// Waiting visitors per department, and today's tickets per item (item, count).
    WaitingCounts(HashMap<String, i32>, Vec<(String, u32)>),
    /// Whether the hall can be reached (true for a kiosk on the ledger file).
    Reachable(bool),
    Rated(Result<bangban::api::Rated, (ErrorKind, String)>),
    FeedbackSent(Result<bangban::api::FeedbackReceipt, (ErrorKind, String)>),
    PhoneLeft(Result<(), (ErrorKind, String)>),
}

/// The one ticketing path (the kiosk's tickets and `bangban reprint`): send the ticket to the
/// printer, then record in the ledger whether it printed. The ticket is valid either way.
pub fn print_and_record(
    client: &mut dyn HallClient,
    printer: &PrinterTarget,
    case_id: i64,
    job: &PrintTicket,
) -> Result<(), PrintError> {
    let result = bangban_printer::print(printer, job);
    let error = result.as_ref().err().map(|e| e.to_string());
    let outcome = PrintOutcome {
        case_id,
        printer: printer.device_name(),
        error: error.clone(),
        failure: result.as_ref().err().map(|e| e.failure()),
        reprint: job.reprint,
    };
    if let Err(e) = client.record_print(&outcome) {
        tracing::error!("cannot record the print outcome of case {case_id}: {e}");
    }
    if let Some(err) = &error {
        tracing::warn!("ticket {} did not print: {err}", job.ticket.number);
    }
    result
}

/// Start the worker. `wake` is called after each reply so the UI thread drains the channel.
pub fn spawn(
    mut client: Box<dyn HallClient>,
    printer: PrinterTarget,
    jobs: Receiver<Job>,
    replies: Sender<Reply>,
    mut witness: bangban::witness::Witness,
    wake: impl Fn() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("kiosk-io".into()).spawn(move || {
        for job in jobs {
            // The chain heads this kiosk saw, kept outside the ledger (at most every 30 s).
            bangban::witness::keep(&mut witness, client.as_mut());
            let reply = match job {
                Job::Stop => break,
                Job::Rate(req) => Reply::Rated(client.rate(&req).map_err(|e| (e.kind(), e.to_string()))),
                Job::Feedback(req) => Reply::FeedbackSent(client.feedback(&req).map_err(|e| (e.kind(), e.to_string()))),
                Job::LeavePhone { ticket, phone } => Reply::PhoneLeft(
                    client
                        .send(bangban::ops::LeavePhone { ticket, phone })
                        .map(|_| ())
                        .map_err(|e| (e.kind(), e.to_string())),
                ),
                job @ (Job::Issue(_) | Job::CheckIn(_)) => {
                    let issued = match &job {
                        Job::CheckIn(code) => client.check_in(&if code.len() == 11 {
                            // The keypad's eleven digits are the phone the visit was booked with.
                            bangban::api::CheckIn {
                                code: String::new(),
                                phone: Some(code.clone()),
                            }
                        } else {
                            bangban::api::CheckIn {
                                code: code.clone(),
                                phone: None,
                            }
                        }),
                        Job::Issue(req) => client.issue(req),
                        _ => unreachable!("matched above"),
                    }
                    .map_err(|e| IssueFailure::of(&e));
                    let ticket = issued.as_ref().ok().cloned();
                    // The number goes on screen first; the printer may take seconds to fail.
                    if replies.send(Reply::Issued(issued)).is_err() {
                        break;
                    }
                    wake();
                    match ticket {
                        Some(t) if printer != PrinterTarget::None => {
                            let job = bangban_printer::PrintTicket::of(&t, false);
                            let result = print_and_record(client.as_mut(), &printer, t.case_id, &job);
                            Reply::Printed {
                                case_id: t.case_id,
                                result,
                            }
                        }
                        _ => continue,
                    }
                }
                Job::WaitingCounts => match client.queues() {
                    Ok(list) => {
                        let issued = list.iter().flat_map(|q| q.issued.iter().cloned()).collect();
                        Reply::WaitingCounts(
                            list.into_iter().map(|q| (q.department, q.waiting as i32)).collect(),
                            issued,
                        )
                    }
                    Err(e) => {
                        tracing::warn!("cannot read the queues: {e}");
                        continue;
                    }
                },
                Job::Check => Reply::Reachable(client.reachable()),
            };
            if replies.send(reply).is_err() {
                break;
            }
            wake();
        }
    })
}
