//! The store seam: every operation the hall's two doors (`LocalClient` in-process and the
//! server) need from a ledger, as one trait. `Ledger` (SQLite, `src/ledger/` and its `sql/`)
//! is today's store; a city-wide PostgreSQL store implements the same trait later without
//! touching any app, client or server handler. Nothing outside a store's own module sees SQL.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::access::{Device, Session};
use crate::api::{CallsAfter, QueueLine, TicketStatus};
use crate::chain::{Event, VerifyReport};
use crate::error::Result;
use crate::hall::Hall;
use crate::ledger::{
    CallRequest, Called, CaseAction, DayReport, IssueRequest, Ledger, PinChecked, PinRecord, Ticket, WaitingEntry,
};
use crate::model::Case;

pub trait Store: Send {
    /// The store's clock (injectable in tests).
    fn now(&self) -> DateTime<Utc>;
    fn hall(&mut self) -> Result<Arc<Hall>>;
    /// Grows with each applied hall configuration, so clients can cache the hall.
    fn hall_id(&self) -> Result<i64>;

    // Issuing and printing.
    fn issue(&mut self, req: &IssueRequest) -> Result<Ticket>;
    fn check_in(&mut self, code: &str, actor: &str) -> Result<Ticket>;
    fn rate(&mut self, case_ref: &str, level: u8, channel: &str, actor: &str) -> Result<Case>;
    fn add_feedback(&mut self, new: &crate::ledger::NewFeedback, actor: &str) -> Result<crate::ledger::Feedback>;
    fn record_print(&mut self, case_id: i64, device: &str, error: Option<&str>, reprint: bool) -> Result<Event>;
    fn ticket_for(&mut self, case_ref: &str) -> Result<Ticket>;
    fn ticket_status(&mut self, token: &str) -> Result<TicketStatus>;

    // Calling and case actions.
    fn call(&mut self, req: &CallRequest) -> Result<Called>;
    fn act(&mut self, case_ref: &str, window: u32, staff: &str, action: &CaseAction) -> Result<Case>;
    fn open_case(&mut self, req: &crate::ledger::OpenCase, staff: &str, window: u32) -> Result<Case>;
    fn set_window_paused(&mut self, window: u32, staff: &str, paused: bool) -> Result<()>;

    // Queues and cases.
    fn queues(&mut self) -> Result<Vec<QueueLine>>;
    fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>>;
    fn window_paused(&self, window: u32) -> Result<bool>;
    fn at_window(&mut self, window: u32) -> Result<Vec<Case>>;
    fn overdue(&mut self, department: Option<&str>) -> Result<Vec<crate::ledger::Overdue>>;
    fn find_case(&mut self, case_ref: &str) -> Result<Case>;
    fn case_by_id(&self, id: i64) -> Result<Case>;
    fn case_events(&self, case_id: i64) -> Result<Vec<Event>>;
    fn note(&self, id: i64) -> Result<String>;

    // The event feed.
    fn head_seq(&self) -> Result<i64>;
    fn chain_head(&self) -> Result<crate::witness::ChainHead>;
    fn event(&self, seq: i64) -> Result<Option<Event>>;
    fn calls_after(&mut self, seq: i64) -> Result<CallsAfter>;
    fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>>;

    // Reports and integrity.
    fn report(&mut self, date: NaiveDate) -> Result<DayReport>;
    fn figures(&mut self, from: NaiveDate, to: NaiveDate) -> Result<crate::Figures>;
    fn verify(&mut self) -> Result<VerifyReport>;
    /// Make everything written durable in the main file before a clean shutdown.
    fn checkpoint(&self) -> Result<()>;

    // Staff and devices.
    fn login(&mut self, staff: &str, window: u32, pin: &str) -> Result<()>;
    fn pin_record(&mut self, staff: &str, window: u32) -> Result<PinRecord>;
    fn record_login(&mut self, staff: &str, window: u32, stored: &PinRecord, checked: &PinChecked) -> Result<()>;
    fn start_session(&mut self, staff: &str, device: &str, window: u32) -> Result<Session>;
    fn session(&self, token: &str) -> Result<Option<Session>>;
    fn end_session(&mut self, token: &str) -> Result<()>;
    fn device_for_token(&self, token: &str) -> Result<Option<Device>>;

    // Client request ids: the first event a request wrote, so a retry is answered, not redone.
    fn request_outcome(&self, id: &str) -> Result<Option<(String, i64)>>;
    /// Remember the next event written under this request id (cleared by `end_request`).
    fn begin_request(&mut self, id: &str, device: &str, op: &str);
    fn end_request(&mut self);
}

/// The SQLite ledger is a store.
impl Store for Ledger {
    fn now(&self) -> DateTime<Utc> {
        Ledger::now(self)
    }
    fn hall(&mut self) -> Result<Arc<Hall>> {
        Ledger::hall(self)
    }
    fn hall_id(&self) -> Result<i64> {
        Ledger::hall_id(self)
    }
    fn issue(&mut self, req: &IssueRequest) -> Result<Ticket> {
        Ledger::issue(self, req)
    }
    fn check_in(&mut self, code: &str, actor: &str) -> Result<Ticket> {
        Ledger::check_in(self, code, actor)
    }
    fn rate(&mut self, case_ref: &str, level: u8, channel: &str, actor: &str) -> Result<Case> {
        Ledger::rate(self, case_ref, level, channel, actor)
    }
    fn add_feedback(&mut self, new: &crate::ledger::NewFeedback, actor: &str) -> Result<crate::ledger::Feedback> {
        Ledger::add_feedback(self, new, actor)
    }
    fn record_print(&mut self, case_id: i64, device: &str, error: Option<&str>, reprint: bool) -> Result<Event> {
        Ledger::record_print(self, case_id, device, error, reprint)
    }
    fn ticket_for(&mut self, case_ref: &str) -> Result<Ticket> {
        Ledger::ticket_for(self, case_ref)
    }
    fn ticket_status(&mut self, token: &str) -> Result<TicketStatus> {
        Ledger::ticket_status(self, token)
    }
    fn call(&mut self, req: &CallRequest) -> Result<Called> {
        Ledger::call(self, req)
    }
    fn act(&mut self, case_ref: &str, window: u32, staff: &str, action: &CaseAction) -> Result<Case> {
        Ledger::act(self, case_ref, window, staff, action)
    }
    fn open_case(&mut self, req: &crate::ledger::OpenCase, staff: &str, window: u32) -> Result<Case> {
        Ledger::open_case(self, req, staff, window)
    }
    fn set_window_paused(&mut self, window: u32, staff: &str, paused: bool) -> Result<()> {
        Ledger::set_window_paused(self, window, staff, paused)
    }
    fn queues(&mut self) -> Result<Vec<QueueLine>> {
        Ledger::queues(self)
    }
    fn waiting(&mut self, departments: &[String]) -> Result<Vec<WaitingEntry>> {
        Ledger::waiting(self, departments)
    }
    fn window_paused(&self, window: u32) -> Result<bool> {
        Ledger::window_paused(self, window)
    }
    fn at_window(&mut self, window: u32) -> Result<Vec<Case>> {
        Ledger::at_window(self, window)
    }
    fn overdue(&mut self, department: Option<&str>) -> Result<Vec<crate::ledger::Overdue>> {
        Ledger::overdue(self, department)
    }
    fn find_case(&mut self, case_ref: &str) -> Result<Case> {
        Ledger::find_case(self, case_ref)
    }
    fn case_by_id(&self, id: i64) -> Result<Case> {
        Ledger::case_by_id(self, id)
    }
    fn case_events(&self, case_id: i64) -> Result<Vec<Event>> {
        Ledger::case_events(self, case_id)
    }
    fn note(&self, id: i64) -> Result<String> {
        Ledger::note(self, id)
    }
    fn chain_head(&self) -> Result<crate::witness::ChainHead> {
        Ledger::chain_head(self)
    }
    fn head_seq(&self) -> Result<i64> {
        Ledger::head_seq(self)
    }
    fn event(&self, seq: i64) -> Result<Option<Event>> {
        Ledger::event(self, seq)
    }
    fn calls_after(&mut self, seq: i64) -> Result<CallsAfter> {
        Ledger::calls_after(self, seq)
    }
    fn recent_calls(&mut self, limit: usize) -> Result<Vec<Called>> {
        Ledger::recent_calls(self, limit)
    }
    fn figures(&mut self, from: NaiveDate, to: NaiveDate) -> Result<crate::Figures> {
        Ledger::figures(self, from, to)
    }
    fn report(&mut self, date: NaiveDate) -> Result<DayReport> {
        Ledger::report(self, date)
    }
    fn verify(&mut self) -> Result<VerifyReport> {
        Ledger::verify(self)
    }
    fn checkpoint(&self) -> Result<()> {
        Ledger::checkpoint(self)
    }
    fn login(&mut self, staff: &str, window: u32, pin: &str) -> Result<()> {
        Ledger::login(self, staff, window, pin)
    }
    fn pin_record(&mut self, staff: &str, window: u32) -> Result<PinRecord> {
        Ledger::pin_record(self, staff, window)
    }
    fn record_login(&mut self, staff: &str, window: u32, stored: &PinRecord, checked: &PinChecked) -> Result<()> {
        Ledger::record_login(self, staff, window, stored, checked)
    }
    fn start_session(&mut self, staff: &str, device: &str, window: u32) -> Result<Session> {
        Ledger::start_session(self, staff, device, window)
    }
    fn session(&self, token: &str) -> Result<Option<Session>> {
        Ledger::session(self, token)
    }
    fn end_session(&mut self, token: &str) -> Result<()> {
        Ledger::end_session(self, token)
    }
    fn device_for_token(&self, token: &str) -> Result<Option<Device>> {
        Ledger::device_for_token(self, token)
    }
    fn request_outcome(&self, id: &str) -> Result<Option<(String, i64)>> {
        Ledger::request_outcome(self, id)
    }
    fn begin_request(&mut self, id: &str, device: &str, op: &str) {
        crate::chain::begin_request(id, device, op)
    }
    fn end_request(&mut self) {
        crate::chain::end_request()
    }
}
