//! The host's work on a store: what runs only where the ledger lives and knows the store's
//! engine, and decides no rule — verifying the chain against the tables, backups, checkpoints,
//! rebuilding the projections, number audits and the hot queries' plans.
//!
//! `Ledger` holds a `Box<dyn HallStore>`: the rules reach the store through `crate::store`
//! only, and the host's commands (`verify`, `backup`, `rebuild-cases` …) through this trait.

use std::collections::BTreeMap;
use std::path::Path;

use crate::chain::{CallRow, Event, VerifyReport};
use crate::error::Result;
use crate::model::Case;
use crate::store::{Request, Store};
use crate::witness::Witnessed;

pub trait Host {
    /// Stop flushing commits to disk: only for building synthetic ledgers in benchmarks.
    fn set_durable(&self, durable: bool) -> Result<()>;
    /// A number that changes whenever another connection commits (how a follower on the same
    /// host notices new events without polling the log).
    fn data_version(&self) -> Result<i64>;
    /// Copy the write-ahead log back and start it over.
    fn checkpoint(&self) -> Result<()>;
    /// Recompute the chain and compare every projection, reading `batch` events at a time and
    /// letting go of cases idle for `evict_after` events.
    fn verify(&mut self, evict_after: i64, batch: usize, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport>;
    /// Check the heads a witness file saw against the log.
    fn check_witness(&self, file: &str, witnessed: &[Witnessed], report: &VerifyReport)
        -> Result<Option<VerifyReport>>;
    /// A consistent, verified copy while the hall keeps running.
    fn backup_to(&self, dest: &Path) -> Result<VerifyReport>;
    /// The whole log, oldest first.
    fn all_events(&self) -> Result<Vec<Event>>;
    /// The cases table as stored.
    fn stored_cases(&self) -> Result<BTreeMap<i64, Case>>;
    /// Replace the cases and calls tables with these (replayed from the log).
    fn rebuild(&mut self, request: Option<Request>, cases: &BTreeMap<i64, Case>, calls: &[CallRow]) -> Result<()>;
    /// Per day and prefix from `since` on, the numbers that are not gap-free, and how many
    /// cases were first-called more than once.
    fn audit_numbers(&self, since: &str) -> Result<(Vec<String>, i64)>;
    /// Each hot query's plan: (name, the index it must use, the plan's lines).
    fn query_plans(&self) -> Result<Vec<(&'static str, &'static str, Vec<String>)>>;
}

/// A store the hall runs on: the rules' port and the host's work.
pub trait HallStore: Store + Host {}

impl<T: Store + Host> HallStore for T {}
