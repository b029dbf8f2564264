//! The PostgreSQL store: the storage port (`crate::store`) over one database that holds every
//! hall of a city, each row tagged with its hall. Like the SQLite store it knows no rule; the
//! rules above the port are the same code for both.
//!
//! Writers of one hall are serialized by the hall's chain head: a write transaction begins by
//! locking that row (`SELECT … FOR UPDATE`), so several `bangban serve` on one database append
//! to one gap-free chain, and every read the rules make inside the write sees the latest
//! committed state (READ COMMITTED takes a fresh snapshot per statement, after the lock).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

use crate::chain::{event_hash, CallRow, Event};
use crate::error::{LedgerError, Result};
use crate::model::{Case, EventBody, Note, NoteRef};
use crate::store::*;

/// The schema, in order; migration N brings `bangban_schema.version` to N.
pub const PG_MIGRATIONS: &[&str] = &[include_str!("../../sql/pg/001_schema.sql")];

/// Where a PostgreSQL hall lives: the database's URL (as libpq and the driver read it, without
/// our own `hall` parameter) and the hall's code when the URL names one (`?hall=CODE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgAt {
    pub url: String,
    pub hall: Option<String>,
}

impl PgAt {
    /// Read a `postgres://` or `postgresql://` URL; `hall=CODE` among its query parameters picks
    /// the hall (the rest go to the driver: `host=/run/postgresql`, `target_session_attrs` …).
    pub fn parse(url: &str) -> Result<PgAt> {
        if !is_pg_url(url) {
            return Err(LedgerError::Invalid(format!(
                "{}: not a PostgreSQL URL (postgres://USER@HOST/DB?hall=CODE)",
                masked(url)
            )));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut hall = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("hall", code)) => {
                    let code = percent_decode(code);
                    check_hall_code(&code)?;
                    hall = Some(code);
                }
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok(PgAt { url, hall })
    }

    /// The URL with the hall in it again, as `Ledger::open` takes it (a second connection of
    /// the same hall opens with this).
    pub fn url_with_hall(&self) -> String {
        match &self.hall {
            Some(h) => format!("{}{}hall={h}", self.url, if self.url.contains('?') { "&" } else { "?" }),
            None => self.url.clone(),
        }
    }

    /// The driver's settings for this URL, with a 5 s connect timeout unless the URL gives one:
    /// every connection bangban makes to the database starts here.
    pub fn config(&self) -> Result<postgres::Config> {
        let mut config: postgres::Config = self
            .url
            .parse()
            .map_err(|e| LedgerError::Invalid(format!("{}: {e}", self.shown())))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        Ok(config)
    }

    /// The URL as messages show it: the password replaced by `***`.
    pub fn shown(&self) -> String {
        let mut s = masked(&self.url);
        if let Some(h) = &self.hall {
            s.push_str(if s.contains('?') { "&hall=" } else { "?hall=" });
            s.push_str(h);
        }
        s
    }
}

/// Whether a store location is a PostgreSQL URL rather than a ledger file.
pub fn is_pg_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A hall's code, as the database and URLs carry it: letters, digits, `-` and `_`, 1–32.
pub fn check_hall_code(code: &str) -> Result<()> {
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(LedgerError::Invalid(format!(
            "hall code {code:?}: use 1 to 32 letters, digits, '-' or '_' (e.g. zz-smzx)"
        )));
    }
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let v = (hi * 16 + lo) as u8;
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A URL with its password (`user:secret@`) replaced by `***`.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, tail) = match rest.find('@') {
        Some(i) if !rest[..i].contains('/') => (&rest[..i], &rest[i..]),
        _ => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{tail}"),
        None => url.to_string(),
    }
}

impl From<postgres::Error> for LedgerError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        if e.is_closed() || e.as_db_error().is_none() && e.code().is_none() && is_connection(&e) {
            return LedgerError::StoreDown(full(&e));
        }
        match e.code() {
            Some(c) if *c == SqlState::DISK_FULL => LedgerError::DiskFull,
            Some(c)
                if *c == SqlState::LOCK_NOT_AVAILABLE
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::QUERY_CANCELED =>
            {
                LedgerError::Busy
            }
            Some(c)
                if *c == SqlState::ADMIN_SHUTDOWN
                    || *c == SqlState::CRASH_SHUTDOWN
                    || *c == SqlState::CANNOT_CONNECT_NOW
                    || *c == SqlState::READ_ONLY_SQL_TRANSACTION =>
            {
                LedgerError::StoreDown(e.to_string())
            }
            _ => LedgerError::Pg(match e.as_db_error() {
                Some(db) => format!("{}: {}", db.code().code(), db.message()),
                None => full(&e),
            }),
        }
    }
}

/// The driver's error with its cause ("invalid configuration: invalid number of ports").
fn full(e: &postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// An error of the driver that is not the database's answer: the connection failed or broke.
fn is_connection(e: &postgres::Error) -> bool {
    let s = e.to_string();
    s.contains("connect") || s.contains("connection") || s.contains("closed") || s.contains("timed out")
}

/// Prepared statements of one connection, by their text (a transaction uses its client's).
type Cache = Arc<Mutex<HashMap<String, Statement>>>;

/// A connection (or a transaction on one) seen through the port, for one hall.
pub struct Pg<C> {
    pub(crate) c: RefCell<C>,
    pub(crate) hall: String,
    request: RefCell<Option<Request>>,
    cache: Cache,
    /// Whether this transaction appended an event (its commit then tells the other servers).
    appended: std::cell::Cell<bool>,
    /// How to connect again when the connection broke (a store's own connection; a
    /// transaction's dies with it).
    revive: Option<(postgres::Config, Duration)>,
    /// A write transaction's chain head, read with its lock: (sequence number, hash, the head
    /// event's time). Appends move it here; the row is written once, at commit, with the
    /// notification (one round trip instead of three per event).
    locked_head: RefCell<Option<LockedHead>>,
}

/// The chain head a write transaction locked: where it began and where its appends took it.
#[derive(Debug, Clone)]
struct LockedHead {
    began: i64,
    seq: i64,
    hash: String,
    at: Option<String>,
}

/// A connection that may be made again once it broke, or a transaction, which may not.
pub trait Revive: Sized {
    /// Replace a broken connection with a new one (with the store's busy timeout); true when
    /// it did.
    fn revive(_cell: &RefCell<Self>, _config: &postgres::Config, _busy_timeout: Duration) -> bool {
        false
    }
}

impl Revive for Client {
    fn revive(cell: &RefCell<Self>, config: &postgres::Config, busy_timeout: Duration) -> bool {
        if !cell.borrow().is_closed() {
            return false;
        }
        match connect(config, busy_timeout) {
            Ok(c) => {
                *cell.borrow_mut() = c;
                true
            }
            Err(_) => false,
        }
    }
}

impl Revive for Transaction<'_> {}

/// The PostgreSQL store of one hall: a connection for reads and write transactions.
pub struct PgStore {
    pub(crate) at: PgAt,
    pub(crate) pg: Pg<Client>,
}

fn connect(config: &postgres::Config, busy_timeout: Duration) -> Result<Client> {
    let mut client = config.connect(NoTls)?;
    // A write waits for another server's write of the same hall at most this long, then is
    // `busy` (nothing written), as with SQLite's busy timeout.
    client.batch_execute(&format!(
        "SET lock_timeout = '{}ms'; SET application_name = 'bangban'",
        busy_timeout.as_millis().max(1)
    ))?;
    Ok(client)
}

/// Bring the database's schema up to `PG_MIGRATIONS`, in one transaction under an advisory lock
/// so two servers starting together migrate once.
fn migrate(client: &mut Client, shown: &str) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(4242424242);
         CREATE TABLE IF NOT EXISTS bangban_schema (version bigint NOT NULL);",
    )?;
    let version: i64 = match tx.query_opt("SELECT version FROM bangban_schema", &[])? {
        Some(r) => r.get(0),
        None => {
            tx.execute("INSERT INTO bangban_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    let supported = PG_MIGRATIONS.len() as i64;
    if version > supported {
        return Err(LedgerError::TooNew {
            path: shown.to_string(),
            found: version,
            supported,
        });
    }
    for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute("UPDATE bangban_schema SET version = $1", &[&((i + 1) as i64)])?;
    }
    tx.commit()?;
    Ok(())
}

/// The halls of the database `at` names (its schema brought up to date first), by code.
pub fn halls_of(at: &PgAt) -> Result<Vec<String>> {
    let mut client = PgStore::connect_schema(at)?;
    halls_in(&mut client)
}

/// The halls a database holds, by code.
pub fn halls_in(client: &mut Client) -> Result<Vec<String>> {
    Ok(client
        .query("SELECT code FROM halls ORDER BY code", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

impl PgStore {
    /// Open the hall `at` names in its database (migrating the schema first). Without a hall
    /// in the URL, the database's only hall; `register` (from `bangban init`'s hall file) adds
    /// the hall when the database does not hold it yet.
    pub fn open(at: &PgAt, busy_timeout: Duration, register: Option<&str>) -> Result<PgStore> {
        let config = at.config()?;
        let mut client = connect(&config, busy_timeout).map_err(|e| match e {
            LedgerError::StoreDown(why) | LedgerError::Pg(why) => LedgerError::Open {
                path: at.shown(),
                reason: why,
            },
            e => e,
        })?;
        migrate(&mut client, &at.shown())?;
        let halls = halls_in(&mut client)?;
        let hall = match (&at.hall, register) {
            (Some(h), Some(r)) if h != r => {
                return Err(LedgerError::Invalid(format!(
                    "the URL names hall {h} but the hall file's code is {r}: make them agree"
                )))
            }
            (Some(h), _) => h.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => match halls.as_slice() {
                [one] => one.clone(),
                [] => return Err(LedgerError::NotInitialised(at.shown())),
                many => {
                    return Err(LedgerError::Invalid(format!(
                        "{} holds {} halls ({}): name one in the URL with ?hall=CODE",
                        at.shown(),
                        many.len(),
                        many.join(", ")
                    )))
                }
            },
        };
        if !halls.contains(&hall) {
            match register {
                Some(_) => register_hall(&mut client, &hall)?,
                None if at.hall.is_some() => {
                    return Err(LedgerError::NotInitialised(format!(
                        "{} (no hall {hall} in it; halls: {})",
                        at.shown(),
                        if halls.is_empty() {
                            "none".to_string()
                        } else {
                            halls.join(", ")
                        }
                    )))
                }
                None => return Err(LedgerError::NotInitialised(at.shown())),
            }
        }
        let mut at = at.clone();
        at.hall = Some(hall.clone());
        Ok(PgStore {
            at,
            pg: Pg {
                c: RefCell::new(client),
                hall,
                request: RefCell::new(None),
                cache: Cache::default(),
                appended: Default::default(),
                revive: Some((config.clone(), busy_timeout)),
                locked_head: RefCell::new(None),
            },
        })
    }

    /// A connection to the database at `at` with its schema brought up to date, no hall picked
    /// (`bangban migrate` registers the hall it copies).
    pub fn connect_schema(at: &PgAt) -> Result<Client> {
        let mut client = connect(&at.config()?, Duration::from_secs(5))?;
        migrate(&mut client, &at.shown())?;
        Ok(client)
    }

    /// The hall this store reads and writes.
    pub fn hall(&self) -> &str {
        &self.pg.hall
    }

    /// The connection's client, for the host's own work.
    pub(crate) fn client(&mut self) -> &mut Client {
        self.reconnect_if_closed();
        self.pg.c.get_mut()
    }

    /// A connection that broke (the primary failed over, the network dropped) is replaced by
    /// a new one on the next use; the URL may list several hosts (`host=a,b` and
    /// `target_session_attrs=read-write`), so the new one finds the promoted primary.
    fn reconnect_if_closed(&mut self) {
        self.pg.revive_if_closed();
    }

    /// A write transaction that the host's own work may also run SQL in.
    pub(crate) fn raw_write(&mut self, request: Option<Request>) -> Result<Pg<Transaction<'_>>> {
        self.reconnect_if_closed();
        let hall = self.pg.hall.clone();
        let cache = self.pg.cache.clone();
        let mut tx = self.pg.c.get_mut().transaction()?;
        // The guard is let go before the statement is prepared (which takes it again).
        let cached = cache.lock().unwrap().get(LOCK_HEAD).cloned();
        let lock = match cached {
            Some(st) => st,
            None => {
                let st = tx.prepare(LOCK_HEAD)?;
                cache.lock().unwrap().insert(LOCK_HEAD.to_string(), st.clone());
                st
            }
        };
        let Some(row) = tx.query_opt(&lock, &[&hall])? else {
            return Err(LedgerError::Corrupt(format!("hall {hall} has no chain head")));
        };
        let seq: i64 = row.get(0);
        let head = LockedHead {
            began: seq,
            seq,
            hash: row.get(1),
            at: row.get(2),
        };
        Ok(Pg {
            c: RefCell::new(tx),
            hall,
            request: RefCell::new(request),
            cache,
            appended: Default::default(),
            revive: None,
            locked_head: RefCell::new(Some(head)),
        })
    }
}

/// Add a hall to the database: its row and an empty chain.
fn register_hall(client: &mut Client, hall: &str) -> Result<()> {
    let mut tx = client.transaction()?;
    let at = crate::clock::stamp(chrono::Utc::now());
    tx.execute(
        "INSERT INTO halls (code, registered_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&hall, &at],
    )?;
    tx.execute(
        "INSERT INTO chain_head (hall, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        &[&hall, &crate::chain::GENESIS],
    )?;
    tx.commit()?;
    Ok(())
}

impl Store for PgStore {
    fn write(&mut self, request: Option<Request>) -> Result<Box<dyn WriteTx + '_>> {
        Ok(Box::new(self.raw_write(request)?))
    }

    fn read(&self) -> &dyn StoreTx {
        &self.pg
    }
}

/// The hall's chain head, locked for a write transaction, with the head event's time.
const LOCK_HEAD: &str = "SELECT h.seq, h.hash, e.at FROM chain_head h
     LEFT JOIN events e ON e.hall = h.hall AND e.seq = h.seq WHERE h.hall = $1 FOR UPDATE OF h";

impl WriteTx for Pg<Transaction<'_>> {
    fn commit(self: Box<Self>) -> Result<()> {
        let head = self.locked_head.borrow().clone();
        if let (true, Some(head)) = (self.appended.get(), head) {
            // The head moves once per transaction, and the notification is delivered when
            // (and only if) the transaction commits: every server of the hall listening on the
            // channel reads the new events and tells its boards.
            let moved: i64 = self.rows(
                "WITH moved AS (UPDATE chain_head SET seq = $2, hash = $3 WHERE hall = $1 AND seq = $4 RETURNING 1),
                      told AS (SELECT pg_notify('bangban_events', $1))
                 SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM told)",
                &[&self.hall, &head.seq, &head.hash, &head.began],
            )?[0]
                .get(0);
            if moved != 1 {
                return Err(LedgerError::Corrupt(
                    "the chain head moved inside a write transaction".into(),
                ));
            }
        }
        Ok(self.c.into_inner().commit()?)
    }
}

/// Follow the hall's chain head as every server moves it: `LISTEN` on the channel each write's
/// commit notifies, calling `moved(head)` after each notification for the hall and at least
/// once a second (a notification sent while the connection was being made again is not lost
/// then). A broken connection (the primary failed over) is made again, every half second,
/// until `stop` is set.
pub fn follow_head(at: &PgAt, stop: &std::sync::atomic::AtomicBool, mut moved: impl FnMut(i64)) {
    use std::sync::atomic::Ordering;
    let Some(hall) = at.hall.clone() else { return };
    let Ok(config) = at.config() else { return };
    while !stop.load(Ordering::Relaxed) {
        let mut client = match connect(&config, Duration::from_secs(5)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot follow the hall's database: {e}");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        if client.batch_execute("LISTEN bangban_events").is_err() {
            continue;
        }
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match client.query_opt("SELECT seq FROM chain_head WHERE hall = $1", &[&hall]) {
                Ok(Some(r)) => moved(r.get(0)),
                Ok(None) => {}
                Err(_) => break,
            }
            let mut notes = client.notifications();
            let mut it = notes.timeout_iter(Duration::from_secs(1));
            use postgres::fallible_iterator::FallibleIterator;
            match it.next() {
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if !stop.load(Ordering::Relaxed) {
            tracing::warn!("lost the hall's database; connecting again");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

type P<'a> = &'a (dyn ToSql + Sync);

impl<C: GenericClient + Revive> Pg<C> {
    /// A store's own connection that broke is made again (a transaction's is not).
    fn revive_if_closed(&self) {
        if let Some((config, busy_timeout)) = &self.revive {
            if C::revive(&self.c, config, *busy_timeout) {
                // The statements were the broken connection's.
                self.cache.lock().unwrap().clear();
            }
        }
    }

    fn stmt(&self, sql: &str) -> Result<Statement> {
        self.revive_if_closed();
        if let Some(s) = self.cache.lock().unwrap().get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.borrow_mut().prepare(sql)?;
        self.cache.lock().unwrap().insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn rows(&self, sql: &str, args: &[P<'_>]) -> Result<Vec<Row>> {
        let st = self.stmt(sql)?;
        Ok(self.c.borrow_mut().query(&st, args)?)
    }

    pub(crate) fn exec(&self, sql: &str, args: &[P<'_>]) -> Result<usize> {
        let st = self.stmt(sql)?;
        Ok(self.c.borrow_mut().execute(&st, args)? as usize)
    }

    fn one_case(&self, sql: &str, args: &[P<'_>]) -> Result<Option<Case>> {
        match self.rows(sql, args)?.first() {
            Some(r) => Ok(Some(super::sqlite::parse_case(r.get::<_, &str>(0))?)),
            None => Ok(None),
        }
    }

    fn many_cases(&self, sql: &str, args: &[P<'_>]) -> Result<Vec<Case>> {
        self.rows(sql, args)?
            .iter()
            .map(|r| super::sqlite::parse_case(r.get::<_, &str>(0)))
            .collect()
    }

    fn many_events(&self, sql: &str, args: &[P<'_>]) -> Result<Vec<Event>> {
        Ok(self.rows(sql, args)?.iter().map(event_of).collect())
    }

    fn insert_call(&self, row: &CallRow) -> Result<usize> {
        self.exec(
            "INSERT INTO calls (hall, seq, business_day, department, case_id, recall) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &self.hall,
                &row.seq,
                &row.business_day,
                &row.department,
                &row.case_id,
                &(row.recall as i64),
            ],
        )
    }
}

pub(crate) const EVENTS: &str = "SELECT seq, at, actor, kind, case_id, payload, prev_hash, hash FROM events";

pub(crate) fn event_of(r: &Row) -> Event {
    Event {
        seq: r.get(0),
        at: r.get(1),
        actor: r.get(2),
        kind: r.get(3),
        case_id: r.get(4),
        payload: r.get(5),
        prev_hash: r.get(6),
        hash: r.get(7),
    }
}

fn u(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

fn ou(v: Option<i64>) -> Option<u32> {
    v.map(u)
}

/// The hot queries in PostgreSQL's words: the same reads as `hot.rs`, through the same
/// indexes (each with the hall first).
pub(crate) mod hot {
    pub const RECENT_CALLS: &str = "SELECT e.seq, e.at, e.actor, e.kind, e.case_id, e.payload, e.prev_hash, e.hash
         FROM calls k JOIN events e ON e.hall = k.hall AND e.seq = k.seq
         WHERE k.hall = $1 AND k.business_day = $2 ORDER BY k.seq DESC LIMIT $3";
    pub const LATEST_CALL_RANKS: &str =
        "SELECT '', '', k.seq, c.priority_rank FROM calls k JOIN cases c ON c.hall = k.hall AND c.id = k.case_id
         WHERE k.hall = $1 AND k.business_day = $2 AND k.department = $3 AND k.recall = 0 ORDER BY k.seq DESC LIMIT $4";
    pub const ANYONE_WAITING: &str = "SELECT 1 FROM cases WHERE hall = $1 AND business_day = $2 AND department = $3
         AND state IN ('waiting', 'transferred') LIMIT 1";
    pub const AHEAD: &str = "SELECT count(*) FROM cases WHERE hall = $1 AND business_day = $2 AND department = $3
         AND state IN ('waiting', 'transferred')
         AND (priority_rank > $4 OR (priority_rank = $4 AND coalesce(queue_pos, id * 1024) < $5))";
    pub const RECENT_SERVICES: &str = "SELECT data FROM cases WHERE hall = $1 AND department = $2
         AND service_end_at IS NOT NULL ORDER BY service_end_at DESC LIMIT $3";
    pub const WAITING: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day = $2
         AND state IN ('waiting', 'transferred') ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024)";
    pub const WAITING_IN: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day = $2 AND department = $3
         AND state IN ('waiting', 'transferred') ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024)";
    pub const AT_COUNTERS: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day = $2
         AND state IN ('called', 'serving', 'on_hold') ORDER BY id";
    pub const ISSUED_TODAY: &str =
        "SELECT department, coalesce((data::jsonb) ->> 'item', '') AS item, count(*), 0::bigint
         FROM cases WHERE hall = $1 AND business_day = $2 GROUP BY department, item";
    pub const UNSETTLED_AT_WINDOW: &str = "SELECT data FROM cases WHERE hall = $1 AND state IN ('called', 'serving')
         AND ((data::jsonb) ->> 'called_window') = $3 AND business_day = $2 LIMIT 1";
    pub const PRIORITY_WAITING: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day = $2
         AND state IN ('waiting', 'transferred') AND priority_rank > 0";
    pub const QUEUE_SIZES: &str =
        "SELECT department, '', count(*), count(*) FILTER (WHERE priority_rank > 0) FROM cases
         WHERE hall = $1 AND business_day = $2 AND state IN ('waiting', 'transferred') GROUP BY department";
    pub const WATCHED: &str = "SELECT data FROM cases WHERE hall = $1 AND (
        state IN ('ready', 'mailed', 'delivered', 'receipt_confirmed', 'accepted', 'in_progress', 'suspended')
        OR (state IN ('consulted', 'serving', 'on_hold', 'accepted', 'in_progress', 'awaiting_materials')
            AND (data::jsonb) @> '{\"open_question\": true}')
        OR (data::jsonb) @> '{\"follow_up_open\": true}'
        OR (state IN ('accepted', 'in_progress', 'on_hold') AND coalesce(jsonb_typeof((data::jsonb) -> 'parts'), 'null') <> 'null')
        OR (data::jsonb) @> '{\"under_coordination\": true}') ORDER BY id";
    pub const DAY_CASES: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day = $2 ORDER BY id";
    pub const ITEM_TICKETS: &str = "SELECT count(*) FROM cases WHERE hall = $1 AND business_day = $2
         AND ((data::jsonb) ->> 'item') = $3 AND ((data::jsonb) ->> 'channel') IN ('kiosk', 'counter')";
    pub const LATEST_BEFORE: &str = "SELECT data FROM cases WHERE hall = $1 AND business_day < $2
         ORDER BY business_day DESC, number DESC LIMIT 1";

    /// Each hot query and the index its plan must use.
    pub const PLANNED: &[(&str, &str, &str)] = &[
        ("board recent calls", RECENT_CALLS, "calls_day"),
        ("priority cap look-back", LATEST_CALL_RANKS, "calls_day_department"),
        ("anyone waiting", ANYONE_WAITING, "cases_queue"),
        ("ahead count", AHEAD, "cases_queue"),
        ("recent service times", RECENT_SERVICES, "cases_service"),
        (
            "waiting list",
            WAITING,
            "cases_queue|cases_hall_business_day_number_key",
        ),
        ("a department's waiting list", WAITING_IN, "cases_queue"),
        ("console view", AT_COUNTERS, "cases_hall_business_day_number_key"),
        ("day report", DAY_CASES, "cases_hall_business_day_number_key"),
        (
            "issued today per item",
            ISSUED_TODAY,
            "cases_hall_business_day_number_key",
        ),
        (
            "an item's tickets today",
            ITEM_TICKETS,
            "cases_hall_business_day_number_key",
        ),
        (
            "the last day worked",
            LATEST_BEFORE,
            "cases_hall_business_day_number_key",
        ),
        ("window's unsettled case", UNSETTLED_AT_WINDOW, "cases_at_window"),
        ("deadline alerts", WATCHED, "cases_watched"),
    ];
}

const FEEDBACK: &str = "SELECT id, kind, category, department, \"window\", staff, channel, text_note, received_at, due,
     replied_at, reply_note, replied_by FROM feedback";
const DEVICE: &str = "SELECT name, role, token_sha256, created_at, revoked_at, \"window\" FROM devices";
const APPOINTMENT: &str =
    "SELECT id, code, item, at, phone_note, state, booked_at, case_id, code_salt FROM appointments";
const MESSAGE: &str =
    "SELECT id, kind, case_id, appointment, phone_note, text, due_at, state, attempts, last_error, sent_at FROM outbox";

pub(crate) fn feedback_row(r: &Row) -> FeedbackRow {
    FeedbackRow {
        id: r.get(0),
        kind: r.get(1),
        category: r.get(2),
        department: r.get(3),
        window: ou(r.get(4)),
        staff: r.get(5),
        channel: r.get(6),
        text_note: r.get(7),
        received_at: r.get(8),
        due: r.get(9),
        replied_at: r.get(10),
        reply_note: r.get(11),
        replied_by: r.get(12),
    }
}

fn device_row(r: &Row) -> DeviceRow {
    DeviceRow {
        name: r.get(0),
        role: r.get(1),
        token_sha256: r.get(2),
        created_at: r.get(3),
        revoked_at: r.get(4),
        window: ou(r.get(5)),
    }
}

fn appointment_row(r: &Row) -> AppointmentRow {
    AppointmentRow {
        id: r.get(0),
        code: r.get(1),
        item: r.get(2),
        at: r.get(3),
        phone_note: r.get(4),
        state: r.get(5),
        booked_at: r.get(6),
        case_id: r.get(7),
        code_salt: r.get(8),
    }
}

fn message_row(r: &Row) -> MessageRow {
    MessageRow {
        id: r.get(0),
        kind: r.get(1),
        case_id: r.get(2),
        appointment: r.get(3),
        phone_note: r.get(4),
        text: r.get(5),
        due_at: r.get(6),
        state: r.get(7),
        attempts: u(r.get(8)),
        last_error: r.get(9),
        sent_at: r.get(10),
    }
}

fn config_row(r: &Row) -> ConfigRow {
    ConfigRow {
        id: r.get(0),
        sha256: r.get(1),
        body: r.get(2),
    }
}

impl<C: GenericClient + Revive> StoreTx for Pg<C> {
    fn append(&self, at: &str, actor: &str, case_id: Option<i64>, body: &EventBody) -> Result<Event> {
        let h = &self.hall;
        let locked = self.locked_head.borrow().clone();
        let Some(locked) = locked else {
            return Err(LedgerError::Corrupt(
                "an event appended outside a write transaction".into(),
            ));
        };
        let (head_seq, head_hash) = (locked.seq, locked.hash.clone());
        let seq = head_seq + 1;
        if let (Some(last), Some(now)) = (
            locked.at.as_deref().and_then(crate::clock::parse_stamp),
            crate::clock::parse_stamp(at),
        ) {
            crate::clock::note_step_back(now, last);
        }
        let kind = body.kind();
        let payload =
            serde_json::to_string(body).map_err(|e| LedgerError::Corrupt(format!("cannot serialise: {e}")))?;
        let hash = event_hash(seq, at, actor, kind, case_id, &payload, &head_hash);
        self.appended.set(true);
        self.exec(
            "INSERT INTO events (hall, seq, at, actor, kind, case_id, payload, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[h, &seq, &at, &actor, &kind, &case_id, &payload, &head_hash, &hash],
        )?;
        if let Some(r) = self.request.borrow_mut().take() {
            self.exec(
                "INSERT INTO requests (hall, id, device, op, seq, at, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[h, &r.id, &r.device, &r.op, &seq, &at, &r.body],
            )?;
        }
        *self.locked_head.borrow_mut() = Some(LockedHead {
            began: locked.began,
            seq,
            hash: hash.clone(),
            at: Some(at.to_string()),
        });
        Ok(Event {
            seq,
            at: at.into(),
            actor: actor.into(),
            kind: kind.to_string(),
            case_id,
            payload,
            prev_hash: head_hash,
            hash,
        })
    }

    fn head(&self) -> Result<(i64, String)> {
        if let Some(h) = self.locked_head.borrow().as_ref() {
            return Ok((h.seq, h.hash.clone()));
        }
        let rows = self.rows("SELECT seq, hash FROM chain_head WHERE hall = $1", &[&self.hall])?;
        match rows.first() {
            Some(r) => Ok((r.get(0), r.get(1))),
            None => Err(LedgerError::Corrupt(format!("hall {} has no chain head", self.hall))),
        }
    }

    fn events(&self, q: EventQuery<'_>) -> Result<Vec<Event>> {
        let h = &self.hall;
        match q {
            EventQuery::After { seq, limit } => self.many_events(
                &format!("{EVENTS} WHERE hall = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
                &[h, &seq, &(limit.min(i64::MAX as usize) as i64)],
            ),
            EventQuery::Seq(seq) => self.many_events(&format!("{EVENTS} WHERE hall = $1 AND seq = $2"), &[h, &seq]),
            EventQuery::OfCase { case_id, before } => self.many_events(
                &format!("{EVENTS} WHERE hall = $1 AND case_id = $2 AND seq < $3 ORDER BY seq"),
                &[h, &case_id, &before],
            ),
            EventQuery::RecentCalls { day, limit } => {
                self.many_events(hot::RECENT_CALLS, &[h, &day, &(limit as i64)])
            }
            EventQuery::Period {
                from,
                to,
                kinds,
                after,
                limit,
            } => {
                let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
                self.many_events(
                    &format!(
                        "{EVENTS} WHERE hall = $1 AND at >= $2 AND at < $3 AND seq > $4
                         AND (cardinality($5::text[]) = 0 OR kind = ANY($5)) ORDER BY seq LIMIT $6"
                    ),
                    &[h, &from, &to, &after, &kinds, &(limit.min(i64::MAX as usize) as i64)],
                )
            }
            EventQuery::DayClosed { day } => self.many_events(
                &format!(
                    "{EVENTS} WHERE hall = $1 AND kind = 'day_closed' AND ((payload::jsonb) ->> 'business_day') = $2 ORDER BY seq"
                ),
                &[h, &day],
            ),
            EventQuery::LastCallAt { day, window } => self.many_events(
                "SELECT e.seq, e.at, e.actor, e.kind, e.case_id, e.payload, e.prev_hash, e.hash
                 FROM calls k JOIN events e ON e.hall = k.hall AND e.seq = k.seq
                 WHERE k.hall = $1 AND k.business_day = $2 AND ((e.payload::jsonb) ->> 'window') = $3
                 ORDER BY k.seq DESC LIMIT 1",
                &[h, &day, &window.to_string()],
            ),
        }
    }

    fn case(&self, key: CaseKey<'_>) -> Result<Option<Case>> {
        let h = &self.hall;
        match key {
            CaseKey::Id(id) => self.one_case("SELECT data FROM cases WHERE hall = $1 AND id = $2", &[h, &id]),
            CaseKey::Token(t) => self.one_case("SELECT data FROM cases WHERE hall = $1 AND token = $2", &[h, &t]),
            CaseKey::Ref { day, text } => self.one_case(
                "SELECT data FROM cases WHERE hall = $1 AND (token = $2 OR (business_day = $3 AND number = upper($2)))
                 ORDER BY id DESC LIMIT 1",
                &[h, &text, &day],
            ),
            CaseKey::UnsettledAt { day, window } => {
                self.one_case(hot::UNSETTLED_AT_WINDOW, &[h, &day, &window.to_string()])
            }
            CaseKey::LatestBefore { day } => self.one_case(hot::LATEST_BEFORE, &[h, &day]),
            CaseKey::FirstWaiting {
                day,
                departments,
                priority,
            } => {
                let sql = format!(
                    "SELECT data FROM cases WHERE hall = $1 AND business_day = $2 AND state IN ('waiting', 'transferred')
                     AND department = ANY($3) AND priority_rank {} 0
                     ORDER BY priority_rank DESC, coalesce(queue_pos, id * 1024) LIMIT 1",
                    if priority { ">" } else { "=" }
                );
                self.one_case(&sql, &[h, &day, &departments])
            }
        }
    }

    fn cases(&self, q: CaseQuery<'_>) -> Result<Vec<Case>> {
        let h = &self.hall;
        match q {
            CaseQuery::Waiting { day } => self.many_cases(hot::WAITING, &[h, &day]),
            CaseQuery::WaitingIn { day, department } => self.many_cases(hot::WAITING_IN, &[h, &day, &department]),
            CaseQuery::PriorityWaiting { day } => {
                self.many_cases(&format!("{} ORDER BY id", hot::PRIORITY_WAITING), &[h, &day])
            }
            CaseQuery::AtCounters { day } => self.many_cases(hot::AT_COUNTERS, &[h, &day]),
            CaseQuery::OpenAtClose { day } => self.many_cases(
                "SELECT data FROM cases WHERE hall = $1 AND business_day = $2
                 AND state IN ('waiting', 'transferred', 'called', 'on_hold') ORDER BY id",
                &[h, &day],
            ),
            CaseQuery::Day { day } => self.many_cases(hot::DAY_CASES, &[h, &day]),
            CaseQuery::Watched => self.many_cases(hot::WATCHED, &[h]),
            CaseQuery::RecentServices { department, limit } => {
                self.many_cases(hot::RECENT_SERVICES, &[h, &department, &(limit as i64)])
            }
        }
    }

    fn save_case(&self, old: Option<&Case>, c: &Case, call: Option<&CallRow>) -> Result<()> {
        let h = &self.hall;
        let data = serde_json::to_string(c).map_err(|e| LedgerError::Corrupt(format!("cannot serialise: {e}")))?;
        let rank = c.priority_rank as i64;
        match old {
            None => {
                self.exec(
                    "INSERT INTO cases (hall, id, business_day, number, token, department, state, priority_rank, queued_at,
                     service_end_at, queue_pos, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    &[
                        h,
                        &c.id,
                        &c.business_day,
                        &c.number,
                        &c.token,
                        &c.department,
                        &c.state.as_str(),
                        &rank,
                        &c.queued_at,
                        &c.service_end_at,
                        &c.queue_pos,
                        &data,
                    ],
                )?;
            }
            Some(o) => {
                let n = self.exec(
                    "UPDATE cases SET department = $3, state = $4, priority_rank = $5, queued_at = $6, service_end_at = $7,
                     data = $8, business_day = $10, number = $11, queue_pos = $12 WHERE hall = $1 AND id = $2 AND state = $9",
                    &[
                        h,
                        &c.id,
                        &c.department,
                        &c.state.as_str(),
                        &rank,
                        &c.queued_at,
                        &c.service_end_at,
                        &data,
                        &o.state.as_str(),
                        &c.business_day,
                        &c.number,
                        &c.queue_pos,
                    ],
                )?;
                if n != 1 {
                    return Err(LedgerError::Conflict(c.number.clone()));
                }
            }
        }
        if let Some(row) = call {
            self.insert_call(row)?;
        }
        Ok(())
    }

    fn count(&self, q: CountQuery<'_>) -> Result<i64> {
        let h = &self.hall;
        let n = |sql: &str, args: &[P<'_>]| -> Result<i64> {
            Ok(self.rows(sql, args)?.first().map(|r| r.get::<_, i64>(0)).unwrap_or(0))
        };
        match q {
            CountQuery::AnyoneWaiting { day, department } => {
                Ok(self.rows(hot::ANYONE_WAITING, &[h, &day, &department])?.len() as i64)
            }
            CountQuery::Ahead {
                day,
                department,
                rank,
                position,
            } => n(hot::AHEAD, &[h, &day, &department, &rank, &position]),
            CountQuery::ItemTickets { day, item } => n(hot::ITEM_TICKETS, &[h, &day, &item]),
            CountQuery::OwnedBy { staff } => n(
                "SELECT count(*) FROM cases WHERE hall = $1 AND ((data::jsonb) ->> 'owner') = $2",
                &[h, &staff],
            ),
            CountQuery::OfItem { item } => n(
                "SELECT count(*) FROM cases WHERE hall = $1 AND ((data::jsonb) ->> 'item') = $2",
                &[h, &item],
            ),
        }
    }

    fn tally(&self, q: TallyQuery<'_>) -> Result<Vec<Tally>> {
        let h = &self.hall;
        let rows = match q {
            TallyQuery::QueueSizes { day } => self.rows(hot::QUEUE_SIZES, &[h, &day])?,
            TallyQuery::IssuedToday { day } => self.rows(hot::ISSUED_TODAY, &[h, &day])?,
            TallyQuery::LatestCallRanks { day, department, limit } => {
                self.rows(hot::LATEST_CALL_RANKS, &[h, &day, &department, &(limit as i64)])?
            }
        };
        Ok(rows
            .iter()
            .map(|r| Tally {
                key: r.get(0),
                sub: r.get(1),
                n: r.get(2),
                m: r.get(3),
            })
            .collect())
    }

    fn next_number(&self, day: &str, prefix: &str) -> Result<i64> {
        let rows = self.rows(
            "INSERT INTO day_counters (hall, business_day, prefix, last) VALUES ($1, $2, $3, 1)
             ON CONFLICT (hall, business_day, prefix) DO UPDATE SET last = day_counters.last + 1 RETURNING last",
            &[&self.hall, &day, &prefix],
        )?;
        Ok(rows[0].get(0))
    }

    fn next_id(&self, of: IdOf<'_>) -> Result<i64> {
        let h = &self.hall;
        let rows = match of {
            IdOf::Case => self.rows("SELECT coalesce(max(id), 0) + 1 FROM cases WHERE hall = $1", &[h])?,
            IdOf::Appointment => self.rows(
                "SELECT coalesce(max(id), 0) + 1 FROM appointments WHERE hall = $1",
                &[h],
            )?,
            IdOf::Feedback => self.rows("SELECT coalesce(max(id), 0) + 1 FROM feedback WHERE hall = $1", &[h])?,
            IdOf::QueuePosition { day } => self.rows(
                "SELECT greatest(coalesce((SELECT max(id) FROM cases WHERE hall = $1), 0) * 1024,
                        coalesce((SELECT max(queue_pos) FROM cases WHERE hall = $1 AND business_day = $2), 0)) + 1",
                &[h, &day],
            )?,
        };
        Ok(rows[0].get(0))
    }

    fn add_note(&self, case_id: Option<i64>, kind: &str, text: &str, at: &str) -> Result<NoteRef> {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let salt = hex::encode(salt);
        let sha = hex::encode(crate::chain::note_sha256(&salt, text));
        let rows = self.rows(
            "INSERT INTO notes (hall, id, case_id, kind, body, sha256, at, salt)
             VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM notes WHERE hall = $1), $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&self.hall, &case_id, &kind, &text, &sha, &at, &salt],
        )?;
        Ok(NoteRef {
            note: rows[0].get(0),
            sha256: sha,
        })
    }

    fn note(&self, id: i64) -> Result<Option<Note>> {
        Ok(self
            .rows(
                "SELECT case_id, kind, body FROM notes WHERE hall = $1 AND id = $2",
                &[&self.hall, &id],
            )?
            .first()
            .map(|r| Note {
                case_id: r.get(0),
                kind: r.get(1),
                body: r.get(2),
            }))
    }

    fn side(&self, q: SideQuery<'_>) -> Result<Vec<SideRow>> {
        let h = &self.hall;
        let map = |rows: Vec<Row>, f: &dyn Fn(&Row) -> SideRow| -> Vec<SideRow> { rows.iter().map(f).collect() };
        Ok(match q {
            SideQuery::Messages { state, due_by, limit } => map(
                self.rows(
                    &format!(
                        "{MESSAGE} WHERE hall = $1 AND state = $2 AND ($3::text IS NULL OR due_at <= $3) ORDER BY due_at, id LIMIT $4"
                    ),
                    &[h, &state, &due_by, &(limit.min(i64::MAX as usize) as i64)],
                )?,
                &|r| SideRow::Message(message_row(r)),
            ),
            SideQuery::Message(id) => map(
                self.rows(&format!("{MESSAGE} WHERE hall = $1 AND id = $2"), &[h, &id])?,
                &|r| SideRow::Message(message_row(r)),
            ),
            SideQuery::MessagesOf { case_id, appointment } => map(
                self.rows(
                    &format!(
                        "{MESSAGE} WHERE hall = $1 AND (($2::bigint IS NOT NULL AND case_id = $2) OR ($3::bigint IS NOT NULL AND appointment = $3)) ORDER BY id"
                    ),
                    &[h, &case_id, &appointment],
                )?,
                &|r| SideRow::Message(message_row(r)),
            ),
            SideQuery::SignRequest(window) => map(
                self.rows(
                    "SELECT \"window\", case_id, form, staff, at, seq FROM sign_requests WHERE hall = $1 AND \"window\" = $2",
                    &[h, &(window as i64)],
                )?,
                &|r| {
                    SideRow::SignRequest(SignRequestRow {
                        window: u(r.get(0)),
                        case_id: r.get(1),
                        form: r.get(2),
                        staff: r.get(3),
                        at: r.get(4),
                        seq: r.get(5),
                    })
                },
            ),
            SideQuery::Window(window) => map(
                self.rows(
                    "SELECT \"window\", paused, staff, since FROM window_state WHERE hall = $1 AND \"window\" = $2",
                    &[h, &(window as i64)],
                )?,
                &|r| {
                    SideRow::Window(WindowRow {
                        window: u(r.get(0)),
                        paused: r.get::<_, i64>(1) != 0,
                        staff: r.get(2),
                        since: r.get(3),
                    })
                },
            ),
            SideQuery::Pin(staff) => map(
                self.rows(
                    "SELECT staff_id, salt, pin_hash, failed, locked_until FROM staff_auth WHERE hall = $1 AND staff_id = $2",
                    &[h, &staff],
                )?,
                &|r| {
                    SideRow::Pin(StoredPin {
                        staff: r.get(0),
                        salt: r.get(1),
                        pin_hash: r.get(2),
                        failed: u(r.get(3)),
                        locked_until: r.get(4),
                    })
                },
            ),
            SideQuery::Config { body } => map(
                self.rows(
                    if body {
                        "SELECT id, sha256, body FROM hall_config WHERE hall = $1 ORDER BY id DESC LIMIT 1"
                    } else {
                        "SELECT id, sha256, '' FROM hall_config WHERE hall = $1 ORDER BY id DESC LIMIT 1"
                    },
                    &[h],
                )?,
                &|r| SideRow::Config(config_row(r)),
            ),
            SideQuery::ConfigBySha(sha) => map(
                self.rows(
                    "SELECT id, sha256, body FROM hall_config WHERE hall = $1 AND sha256 = $2 ORDER BY id DESC LIMIT 1",
                    &[h, &sha],
                )?,
                &|r| SideRow::Config(config_row(r)),
            ),
            SideQuery::Device(name) => map(
                self.rows(&format!("{DEVICE} WHERE hall = $1 AND name = $2"), &[h, &name])?,
                &|r| SideRow::Device(device_row(r)),
            ),
            SideQuery::DeviceByToken { token_sha256 } => map(
                self.rows(
                    &format!("{DEVICE} WHERE hall = $1 AND token_sha256 = $2 AND revoked_at IS NULL"),
                    &[h, &token_sha256],
                )?,
                &|r| SideRow::Device(device_row(r)),
            ),
            SideQuery::DeviceElsewhere { token_sha256 } => map(
                self.rows(
                    "SELECT hall FROM devices WHERE token_sha256 = $2 AND hall <> $1 AND revoked_at IS NULL LIMIT 1",
                    &[h, &token_sha256],
                )?,
                &|r| SideRow::Hall(r.get(0)),
            ),
            SideQuery::Devices => map(
                self.rows(&format!("{DEVICE} WHERE hall = $1 ORDER BY name"), &[h])?,
                &|r| SideRow::Device(device_row(r)),
            ),
            SideQuery::Session { token_sha256 } => map(
                self.rows(
                    "SELECT token_sha256, staff, device, \"window\", created_at, expires_at, ended_at FROM sessions
                     WHERE hall = $1 AND token_sha256 = $2",
                    &[h, &token_sha256],
                )?,
                &|r| {
                    SideRow::Session(SessionRow {
                        token_sha256: r.get(0),
                        staff: r.get(1),
                        device: r.get(2),
                        window: u(r.get(3)),
                        created_at: r.get(4),
                        expires_at: r.get(5),
                        ended_at: r.get(6),
                    })
                },
            ),
            SideQuery::Appointment(id) => map(
                self.rows(&format!("{APPOINTMENT} WHERE hall = $1 AND id = $2"), &[h, &id])?,
                &|r| SideRow::Appointment(appointment_row(r)),
            ),
            SideQuery::AppointmentByCode(code) => map(
                self.rows(
                    &format!("{APPOINTMENT} WHERE hall = $1 AND code = $2 ORDER BY state = 'booked' DESC, id DESC LIMIT 1"),
                    &[h, &code],
                )?,
                &|r| SideRow::Appointment(appointment_row(r)),
            ),
            SideQuery::Appointments { from, to } => map(
                self.rows(
                    &format!("{APPOINTMENT} WHERE hall = $1 AND at >= $2 AND at < $3 ORDER BY at, id"),
                    &[h, &from, &to],
                )?,
                &|r| SideRow::Appointment(appointment_row(r)),
            ),
            SideQuery::Feedback(id) => map(
                self.rows(&format!("{FEEDBACK} WHERE hall = $1 AND id = $2"), &[h, &id])?,
                &|r| SideRow::Feedback(feedback_row(r)),
            ),
            SideQuery::FeedbackAll { open } => map(
                self.rows(
                    &format!(
                        "{FEEDBACK} WHERE hall = $1 {} ORDER BY id",
                        if open { "AND replied_at IS NULL" } else { "" }
                    ),
                    &[h],
                )?,
                &|r| SideRow::Feedback(feedback_row(r)),
            ),
            SideQuery::LastNoteBefore { at } => {
                let rows = self.rows(
                    "SELECT coalesce((SELECT min(id) FROM notes WHERE hall = $1 AND at >= $2) - 1,
                                     (SELECT max(id) FROM notes WHERE hall = $1))",
                    &[h, &at],
                )?;
                vec![SideRow::Note(rows[0].get::<_, Option<i64>>(0).unwrap_or(0))]
            }
        })
    }

    fn put(&self, w: SideWrite<'_>) -> Result<usize> {
        let h = &self.hall;
        match w {
            SideWrite::Window(row) => self.exec(
                "INSERT INTO window_state (hall, \"window\", paused, staff, since) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hall, \"window\") DO UPDATE SET paused = excluded.paused, staff = excluded.staff, since = excluded.since",
                &[h, &(row.window as i64), &(row.paused as i64), &row.staff, &row.since],
            ),
            SideWrite::SignRequest(row) => self.exec(
                "INSERT INTO sign_requests (hall, \"window\", case_id, form, staff, at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (hall, \"window\") DO UPDATE SET case_id = excluded.case_id, form = excluded.form,
                     staff = excluded.staff, at = excluded.at, seq = excluded.seq",
                &[h, &(row.window as i64), &row.case_id, &row.form, &row.staff, &row.at, &row.seq],
            ),
            SideWrite::SignRequestDone { window, seq } => self.exec(
                "DELETE FROM sign_requests WHERE hall = $1 AND \"window\" = $2 AND seq = $3",
                &[h, &(window as i64), &seq],
            ),
            SideWrite::PinSet { staff, salt, pin_hash } => self.exec(
                "INSERT INTO staff_auth (hall, staff_id, salt, pin_hash, failed, locked_until) VALUES ($1, $2, $3, $4, 0, NULL)
                 ON CONFLICT (hall, staff_id) DO UPDATE SET salt = excluded.salt, pin_hash = excluded.pin_hash,
                 failed = 0, locked_until = NULL",
                &[h, &staff, &salt, &pin_hash],
            ),
            SideWrite::PinRehash { staff, pin_hash } => self.exec(
                "UPDATE staff_auth SET salt = '', pin_hash = $3 WHERE hall = $1 AND staff_id = $2",
                &[h, &staff, &pin_hash],
            ),
            SideWrite::PinTries {
                staff,
                failed,
                locked_until,
            } => self.exec(
                "UPDATE staff_auth SET failed = $3, locked_until = $4 WHERE hall = $1 AND staff_id = $2",
                &[h, &staff, &(failed as i64), &locked_until],
            ),
            SideWrite::Config { sha256, body, at } => self.exec(
                "INSERT INTO hall_config (hall, id, sha256, body, applied_at)
                 VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM hall_config WHERE hall = $1), $2, $3, $4)",
                &[h, &sha256, &body, &at],
            ),
            SideWrite::Device(d) => self.exec(
                "INSERT INTO devices (hall, name, role, token_sha256, created_at, revoked_at, \"window\")
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (hall, name) DO UPDATE SET role = excluded.role, token_sha256 = excluded.token_sha256,
                 created_at = excluded.created_at, revoked_at = excluded.revoked_at, \"window\" = excluded.\"window\"",
                &[
                    h,
                    &d.name,
                    &d.role,
                    &d.token_sha256,
                    &d.created_at,
                    &d.revoked_at,
                    &d.window.map(|w| w as i64),
                ],
            ),
            SideWrite::DeviceRevoked { name, at } => self.exec(
                "UPDATE devices SET revoked_at = $3 WHERE hall = $1 AND name = $2 AND revoked_at IS NULL",
                &[h, &name, &at],
            ),
            SideWrite::SessionStarted(s) => self.exec(
                "INSERT INTO sessions (hall, token_sha256, staff, device, \"window\", created_at, expires_at, ended_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    h,
                    &s.token_sha256,
                    &s.staff,
                    &s.device,
                    &(s.window as i64),
                    &s.created_at,
                    &s.expires_at,
                    &s.ended_at,
                ],
            ),
            SideWrite::SessionsEnded { of, at } => match of {
                SessionsOf::Token { token_sha256 } => self.exec(
                    "UPDATE sessions SET ended_at = $3 WHERE hall = $1 AND token_sha256 = $2 AND ended_at IS NULL",
                    &[h, &token_sha256, &at],
                ),
                SessionsOf::Device(device) => self.exec(
                    "UPDATE sessions SET ended_at = $3 WHERE hall = $1 AND device = $2 AND ended_at IS NULL",
                    &[h, &device, &at],
                ),
                SessionsOf::Staff(staff) => self.exec(
                    "UPDATE sessions SET ended_at = $3 WHERE hall = $1 AND staff = $2 AND ended_at IS NULL",
                    &[h, &staff, &at],
                ),
                SessionsOf::DeviceAt { device, window } => self.exec(
                    "UPDATE sessions SET ended_at = $4 WHERE hall = $1 AND device = $2 AND \"window\" = $3 AND ended_at IS NULL",
                    &[h, &device, &(window as i64), &at],
                ),
            },
            SideWrite::Appointment(a) => self.exec(
                "INSERT INTO appointments (hall, id, code, item, at, phone_note, state, booked_at, case_id, code_salt)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    h,
                    &a.id,
                    &a.code,
                    &a.item,
                    &a.at,
                    &a.phone_note,
                    &a.state,
                    &a.booked_at,
                    &a.case_id,
                    &a.code_salt,
                ],
            ),
            SideWrite::Message(m) => self.exec(
                "INSERT INTO outbox (hall, id, kind, case_id, appointment, phone_note, text, due_at, state, attempts)
                 VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM outbox WHERE hall = $1), $2, $3, $4, $5, $6, $7, $8, 0)
                 ON CONFLICT DO NOTHING",
                &[
                    h,
                    &m.kind,
                    &m.case_id,
                    &m.appointment,
                    &m.phone_note,
                    &m.text,
                    &m.due_at,
                    &m.state,
                ],
            ),
            SideWrite::MessageMoved(m) => self.exec(
                "UPDATE outbox SET state = $3, text = $4, due_at = $5, attempts = $6, last_error = $7, sent_at = $8
                 WHERE hall = $1 AND id = $2",
                &[
                    h,
                    &m.id,
                    &m.state,
                    &m.text,
                    &m.due_at,
                    &(m.attempts as i64),
                    &m.last_error,
                    &m.sent_at,
                ],
            ),
            SideWrite::AppointmentMoved { id, state, case_id } => self.exec(
                "UPDATE appointments SET state = $3, case_id = coalesce($4, case_id) WHERE hall = $1 AND id = $2 AND state = 'booked'",
                &[h, &id, &state, &case_id],
            ),
            SideWrite::Feedback(f) => self.exec(
                "INSERT INTO feedback (hall, id, kind, category, department, \"window\", staff, channel, text_note, received_at,
                 due, replied_at, reply_note, replied_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                &[
                    h,
                    &f.id,
                    &f.kind,
                    &f.category,
                    &f.department,
                    &f.window.map(|w| w as i64),
                    &f.staff,
                    &f.channel,
                    &f.text_note,
                    &f.received_at,
                    &f.due,
                    &f.replied_at,
                    &f.reply_note,
                    &f.replied_by,
                ],
            ),
            SideWrite::FeedbackReplied { id, at, note, by } => self.exec(
                "UPDATE feedback SET replied_at = $3, reply_note = $4, replied_by = $5
                 WHERE hall = $1 AND id = $2 AND replied_at IS NULL",
                &[h, &id, &at, &note, &by],
            ),
            SideWrite::AppointmentCodesErased { before } => self.exec(
                "UPDATE appointments SET code = '', code_salt = ''
                 WHERE hall = $1 AND at < $2 AND state != 'booked' AND (code != '' OR code_salt != '')",
                &[h, &before],
            ),
            SideWrite::NotesErased { up_to } => self.exec(
                "UPDATE notes SET body = '', salt = '' WHERE hall = $1 AND id <= $2 AND (body != '' OR salt != '')",
                &[h, &up_to],
            ),
        }
    }

    fn request(&self, id: &str) -> Result<Option<RequestRow>> {
        Ok(self
            .rows(
                "SELECT op, seq, device, body FROM requests WHERE hall = $1 AND id = $2",
                &[&self.hall, &id],
            )?
            .first()
            .map(|r| RequestRow {
                op: r.get(0),
                seq: r.get(1),
                device: r.get(2),
                body: r.get(3),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_url_gives_its_hall_to_bangban_and_the_rest_to_the_driver() {
        let at =
            PgAt::parse("postgres://bangban:s3cret@db1,db2/city?target_session_attrs=read-write&hall=zz-smzx").unwrap();
        assert_eq!(at.hall.as_deref(), Some("zz-smzx"));
        assert_eq!(
            at.url,
            "postgres://bangban:s3cret@db1,db2/city?target_session_attrs=read-write"
        );
        assert_eq!(
            at.shown(),
            "postgres://bangban:***@db1,db2/city?target_session_attrs=read-write&hall=zz-smzx"
        );
        assert!(
            PgAt::parse("postgres:///city?hall=a%20b").is_err(),
            "a hall code with a space is refused"
        );
        assert!(PgAt::parse("/var/lib/bangban/ledger.sqlite3").is_err());
    }
}

/// The database's own floor for a write: `n` transactions of one `INSERT` each, committed one
/// at a time as the store commits (durably, and to the synchronous standby when there is one),
/// into a scratch table that is dropped afterwards. `bangban loadtest --store` sets a ticket's
/// issue beside it.
pub fn bare_commits(at: &PgAt, n: usize) -> Result<Vec<Duration>> {
    let mut client = connect(&at.config()?, Duration::from_secs(5))?;
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS bangban_bare_commit (id bigserial PRIMARY KEY, at text NOT NULL)")?;
    let insert = client.prepare("INSERT INTO bangban_bare_commit (at) VALUES ($1)")?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = std::time::Instant::now();
        let mut tx = client.transaction()?;
        tx.execute(&insert, &[&i.to_string()])?;
        tx.commit()?;
        out.push(t.elapsed());
    }
    client.batch_execute("DROP TABLE bangban_bare_commit")?;
    Ok(out)
}
