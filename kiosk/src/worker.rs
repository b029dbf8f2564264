//! The kiosk's IO thread: it owns the ledger connection and the printer, so a locked database
//! or a silent printer never freezes the screen. The UI sends `Job`s and receives `Reply`s.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use bangban::{IssueRequest, Ledger, LedgerError, Ticket};
use bangban_printer::{PrintError, PrintTicket, PrinterTarget};

pub enum Job {
    Issue(IssueRequest),
    Print { case_id: i64, ticket: Box<PrintTicket> },
    WaitingCounts,
    Stop,
}

/// Why a ticket could not be issued, in the terms the screen distinguishes.
#[derive(Debug, Clone)]
pub enum IssueFailure {
    /// The ledger stayed locked past the busy timeout.
    Busy(String),
    Other(String),
}

pub enum Reply {
    Issued(Result<Ticket, IssueFailure>),
    Printed {
        case_id: i64,
        result: Result<(), PrintError>,
    },
    WaitingCounts(HashMap<String, i32>),
}

/// Start the worker. `wake` is called after each reply so the UI thread drains the channel.
pub fn spawn(
    mut ledger: Ledger,
    printer: PrinterTarget,
    jobs: Receiver<Job>,
    replies: Sender<Reply>,
    wake: impl Fn() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("kiosk-io".into()).spawn(move || {
        for job in jobs {
            let reply = match job {
                Job::Stop => break,
                Job::Issue(req) => Reply::Issued(ledger.issue(&req).map_err(|e| match e {
                    LedgerError::Busy(_) => IssueFailure::Busy(e.to_string()),
                    other => IssueFailure::Other(other.to_string()),
                })),
                Job::Print { case_id, ticket } => {
                    let result =
                        bangban_printer::ticket_bytes(&ticket).and_then(|b| bangban_printer::send(&printer, &b));
                    let device = printer.device_name();
                    let error = result.as_ref().err().map(|e| e.to_string());
                    // The ticket is valid either way; the ledger records whether it printed.
                    if let Err(e) = ledger.record_print(case_id, &device, error.as_deref(), ticket.reprint) {
                        tracing::error!("cannot record the print outcome of case {case_id}: {e}");
                    }
                    if let Some(err) = &error {
                        tracing::warn!("ticket {} did not print: {err}", ticket.number);
                    }
                    Reply::Printed { case_id, result }
                }
                Job::WaitingCounts => match ledger.waiting(&[]) {
                    Ok(list) => {
                        let mut counts = HashMap::new();
                        for w in list {
                            *counts.entry(w.department).or_insert(0) += 1;
                        }
                        Reply::WaitingCounts(counts)
                    }
                    Err(e) => {
                        tracing::warn!("cannot read the queues: {e}");
                        continue;
                    }
                },
            };
            if replies.send(reply).is_err() {
                break;
            }
            wake();
        }
    })
}
