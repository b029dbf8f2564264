//! `LocalClient`: the hall protocol served in-process from the SQLite ledger (the embedded
//! default, `--db FILE`). Staff actions need a sign-in with the specialist's PIN here too.

use std::sync::Arc;

use crate::api::*;
use crate::chain::VerifyReport;
use crate::error::{LedgerError, Result};
use crate::hall::Hall;
use crate::ledger::{DayReport, Ledger, Ticket, WaitingEntry};
use crate::model::Case;
use crate::Called;

pub struct LocalClient {
    ledger: Ledger,
    /// Who this program is in the ledger's events (kiosk-1, cli …).
    actor: String,
    signed_in: Option<SignedIn>,
}

impl LocalClient {
    pub fn new(ledger: Ledger, actor: &str) -> LocalClient {
        LocalClient {
            ledger,
            actor: actor.to_string(),
            signed_in: None,
        }
    }

    /// The ledger itself, for what only the server host does (init, backup, devices).
    pub fn ledger(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// Run one op of the protocol's table here, as the server would for a device: whoever
    /// holds the ledger file is the host's administrator, acting as the specialist signed in.
    fn run<O: crate::ops::Op>(&mut self, op: O) -> Result<O::Reply> {
        let by = self.caller();
        crate::ops::run_here(op, &mut self.ledger, &by)
    }

    fn caller(&self) -> crate::ops::Caller {
        crate::ops::Caller {
            actor: self.actor.clone(),
            role: crate::access::DeviceRole::Admin,
            staff: self.signed_in.clone(),
            window: None,
        }
    }
}

impl HallClient for LocalClient {
    fn hall(&mut self) -> Result<Arc<Hall>> {
        self.ledger.hall()
    }

    fn issue(&mut self, req: &Issue) -> Result<Ticket> {
        self.run(req.clone())
    }

    fn check_in(&mut self, req: &crate::api::CheckIn) -> Result<Ticket> {
        self.run(req.clone())
    }

    fn rate(&mut self, req: &crate::api::Rate) -> Result<crate::api::Rated> {
        self.run(req.clone())
    }

    fn feedback(&mut self, req: &crate::ledger::NewFeedback) -> Result<crate::api::FeedbackReceipt> {
        self.run(req.clone())
    }

    fn record_print(&mut self, o: &PrintOutcome) -> Result<()> {
        self.run(o.clone())
    }

    fn queues(&mut self) -> Result<Vec<QueueLine>> {
        self.ledger.queues()
    }

    fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        self.ledger.waiting(departments)
    }

    fn sign_in(&mut self, req: &SignIn) -> Result<SignedIn> {
        self.ledger.login(req.staff.trim(), req.window, &req.pin)?;
        let expires = self.ledger.now() + chrono::Duration::hours(crate::access::SESSION_HOURS);
        let s = SignedIn {
            staff: req.staff.trim().to_string(),
            window: req.window,
            expires_at: crate::clock::stamp(expires),
        };
        self.signed_in = Some(s.clone());
        Ok(s)
    }

    fn sign_out(&mut self) -> Result<()> {
        self.signed_in = None;
        Ok(())
    }

    fn call(&mut self, req: &Call) -> Result<Called> {
        self.run(req.clone())
    }

    fn act(&mut self, req: &Act) -> Result<Case> {
        self.run(req.clone())
    }

    fn open_case(&mut self, req: &crate::ledger::OpenCase) -> Result<Case> {
        self.run(req.clone())
    }

    fn pause_window(&mut self, req: &PauseWindow) -> Result<()> {
        self.run(req.clone())
    }

    fn window_paused(&mut self, window: u32) -> Result<bool> {
        self.ledger.window_paused(window)
    }

    fn case(&mut self, case_ref: &str) -> Result<CaseView> {
        self.ledger.case_view(case_ref)
    }

    fn ticket(&mut self, case_ref: &str) -> Result<Ticket> {
        self.ledger.ticket_for(case_ref)
    }

    fn at_window(&mut self, window: u32) -> Result<Vec<Case>> {
        self.ledger.at_window(window)
    }

    fn overdue(&mut self, department: Option<&str>) -> Result<Vec<crate::ledger::Overdue>> {
        self.ledger.overdue(department)
    }

    fn figures(&mut self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<crate::Figures> {
        self.ledger.figures(from, to)
    }

    fn report(&mut self, date: chrono::NaiveDate) -> Result<DayReport> {
        self.ledger.report(date)
    }

    fn verify(&mut self) -> Result<VerifyReport> {
        self.ledger.verify()
    }

    fn calls_after(&mut self, seq: i64) -> Result<CallsAfter> {
        self.ledger.calls_after(seq)
    }

    fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>> {
        self.ledger.recent_calls(limit)
    }

    fn head_seq(&mut self) -> Result<i64> {
        self.ledger.head_seq()
    }

    fn chain_head(&mut self) -> Result<crate::witness::ChainHead> {
        self.ledger.chain_head()
    }

    fn note(&mut self, id: i64) -> Result<String> {
        let n = self.ledger.note(id)?;
        Ok(crate::principal::shown_note(&n.kind, &n.body))
    }

    fn send_json(&mut self, path: &'static str, body: serde_json::Value) -> Result<serde_json::Value> {
        let by = self.caller();
        crate::ops::run_json(path, body, &mut self.ledger, &by)
    }

    fn backup(&mut self, to: &std::path::Path) -> Result<VerifyReport> {
        self.ledger.backup_to(to)
    }

    fn follow(&mut self, after: i64, wake: Box<dyn Fn() + Send>) -> Result<crate::remote::Follower> {
        follow_file(self.ledger.path(), self.ledger.clock(), after, wake)
    }
}

/// How often a follower of the ledger file asks whether anyone committed.
pub const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(25);

/// Follow the ledger file's calls after `after` on a thread with a reading connection of its
/// own: `PRAGMA data_version` says in microseconds whether another connection committed, and
/// only then are the new events read. The file never goes away, so `Lost` is said only when a
/// read fails (a locked or damaged file), and `Connected` when reads work again.
fn follow_file(
    path: &std::path::Path,
    clock: Arc<dyn crate::clock::Clock>,
    after: i64,
    wake: Box<dyn Fn() + Send>,
) -> Result<crate::remote::Follower> {
    use crate::remote::Heard;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut reader = Ledger::open_reader(
        path,
        crate::ledger::LedgerOptions {
            clock,
            ..Default::default()
        },
    )?;
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let handle = std::thread::Builder::new()
        .name("bangban-follow-file".into())
        .spawn(move || {
            let mut seq = after;
            let mut version = None;
            let mut up = true;
            let mut queues = None;
            while !stopped.load(Ordering::Relaxed) {
                let step = reader.data_version().and_then(|v| {
                    if version == Some(v) {
                        return Ok(None);
                    }
                    let got = reader.calls_after(seq)?;
                    let now = reader.queues_for_boards()?;
                    version = Some(v);
                    Ok(Some((got, now)))
                });
                let mut said = Vec::new();
                match step {
                    Ok(found) => {
                        if !up {
                            up = true;
                            said.push(Heard::Connected);
                        }
                        if let Some((found, now)) = found {
                            for c in found.calls {
                                said.push(Heard::Call(c));
                            }
                            if found.last_seq > seq {
                                seq = found.last_seq;
                                said.push(Heard::Head(seq));
                            }
                            if queues.as_ref() != Some(&now) {
                                queues = Some(now.clone());
                                said.push(Heard::Queues(now));
                            }
                        }
                    }
                    Err(e) => {
                        if up {
                            up = false;
                            said.push(Heard::Lost(e.to_string()));
                        }
                    }
                }
                let any = !said.is_empty();
                for h in said {
                    if tx.send(h).is_err() {
                        return;
                    }
                }
                if any {
                    wake();
                }
                std::thread::sleep(FOLLOW_POLL);
            }
        })
        .map_err(|e| LedgerError::Invalid(format!("cannot start following the ledger: {e}")))?;
    Ok(crate::remote::Follower::new(rx, stop, Some(handle)))
}
