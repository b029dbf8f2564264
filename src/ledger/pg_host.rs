//! The PostgreSQL store's host work (`crate::host::Host`) and moving a hall between the two
//! stores, row for row: `bangban migrate` copies a SQLite ledger into a database, and a
//! hall's copy the other way is both its backup (a SQLite ledger file any `bangban` opens)
//! and what `verify` checks, with the very checks the SQLite store runs.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use postgres::Client;
use rusqlite::types::Value;

use super::pg::{event_of, PgStore, EVENTS};
use crate::chain::{self, CallRow, Event, VerifyReport};
use crate::error::{LedgerError, Result};
use crate::host::Host;
use crate::model::Case;
use crate::store::{Request, StoreTx};
use crate::witness::Witnessed;

/// Every table of a hall, with its columns (true: an integer) in both stores, parents first.
/// The SQLite `chain_head` is a single row (id 1); PostgreSQL's has one row per hall.
pub(crate) const TABLES: &[(&str, &[(&str, bool)])] = &[
    (
        "hall_config",
        &[("id", true), ("sha256", false), ("body", false), ("applied_at", false)],
    ),
    (
        "events",
        &[
            ("seq", true),
            ("at", false),
            ("actor", false),
            ("kind", false),
            ("case_id", true),
            ("payload", false),
            ("prev_hash", false),
            ("hash", false),
        ],
    ),
    ("chain_head", &[("seq", true), ("hash", false)]),
    (
        "day_counters",
        &[("business_day", false), ("prefix", false), ("last", true)],
    ),
    (
        "cases",
        &[
            ("id", true),
            ("business_day", false),
            ("number", false),
            ("token", false),
            ("department", false),
            ("state", false),
            ("priority_rank", true),
            ("queued_at", false),
            ("service_end_at", false),
            ("data", false),
            ("queue_pos", true),
        ],
    ),
    (
        "notes",
        &[
            ("id", true),
            ("case_id", true),
            ("kind", false),
            ("body", false),
            ("sha256", false),
            ("at", false),
            ("salt", false),
        ],
    ),
    (
        "window_state",
        &[("window", true), ("paused", true), ("staff", false), ("since", false)],
    ),
    (
        "staff_auth",
        &[
            ("staff_id", false),
            ("salt", false),
            ("pin_hash", false),
            ("failed", true),
            ("locked_until", false),
        ],
    ),
    (
        "sessions",
        &[
            ("token_sha256", false),
            ("staff", false),
            ("device", false),
            ("window", true),
            ("created_at", false),
            ("expires_at", false),
            ("ended_at", false),
        ],
    ),
    (
        "requests",
        &[
            ("id", false),
            ("device", false),
            ("op", false),
            ("seq", true),
            ("at", false),
            ("body", false),
        ],
    ),
    (
        "calls",
        &[
            ("seq", true),
            ("business_day", false),
            ("department", false),
            ("case_id", true),
            ("recall", true),
        ],
    ),
    (
        "appointments",
        &[
            ("id", true),
            ("code", false),
            ("item", false),
            ("at", false),
            ("phone_note", true),
            ("state", false),
            ("case_id", true),
            ("booked_at", false),
            ("code_salt", false),
        ],
    ),
    (
        "feedback",
        &[
            ("id", true),
            ("kind", false),
            ("category", false),
            ("department", false),
            ("window", true),
            ("staff", false),
            ("channel", false),
            ("text_note", true),
            ("received_at", false),
            ("due", false),
            ("replied_at", false),
            ("reply_note", true),
            ("replied_by", false),
        ],
    ),
    (
        "devices",
        &[
            ("name", false),
            ("role", false),
            ("token_sha256", false),
            ("created_at", false),
            ("revoked_at", false),
            ("window", true),
        ],
    ),
    (
        "outbox",
        &[
            ("id", true),
            ("kind", false),
            ("case_id", true),
            ("appointment", true),
            ("phone_note", true),
            ("text", false),
            ("due_at", false),
            ("state", false),
            ("attempts", true),
            ("last_error", false),
            ("sent_at", false),
        ],
    ),
    (
        "sign_requests",
        &[
            ("window", true),
            ("case_id", true),
            ("form", false),
            ("staff", false),
            ("at", false),
            ("seq", true),
        ],
    ),
];

fn column_list(cols: &[(&str, bool)]) -> String {
    cols.iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One field in COPY's text format: `\N` for null, backslash escapes for the characters that
/// would end a field or a row.
fn copy_field(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"\\N"),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        Value::Text(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
        Value::Blob(b) => out.extend_from_slice(&hex::encode(b).into_bytes()),
    }
}

/// One field of COPY's text output back to a value of the column's kind.
fn parse_field(field: &[u8], int: bool) -> Result<Value> {
    if field == b"\\N" {
        return Ok(Value::Null);
    }
    let mut s = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 1 < field.len() {
            s.push(match field[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                other => other,
            });
            i += 2;
        } else {
            s.push(field[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(s).map_err(|e| LedgerError::Corrupt(format!("a copied row is not UTF-8: {e}")))?;
    if int {
        s.parse::<i64>()
            .map(Value::Integer)
            .map_err(|e| LedgerError::Corrupt(format!("a copied integer {s:?}: {e}")))
    } else {
        Ok(Value::Text(s))
    }
}

/// Copy the SQLite ledger `from` into the database as hall `hall`, which it must not hold yet.
/// Every table is copied in one transaction: a copy cut short leaves nothing behind.
pub fn copy_into_pg(from: &rusqlite::Connection, client: &mut Client, hall: &str) -> Result<u64> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock(4242424243)", &[])?;
    if tx.query_opt("SELECT 1 FROM halls WHERE code = $1", &[&hall])?.is_some() {
        return Err(LedgerError::Invalid(format!(
            "the database already holds hall {hall}: refusing to copy over it (move a hall once; `bangban verify --store URL?hall={hall}` checks the copy)"
        )));
    }
    let at = crate::clock::stamp(chrono::Utc::now());
    tx.execute("INSERT INTO halls (code, registered_at) VALUES ($1, $2)", &[&hall, &at])?;
    let mut rows_copied = 0u64;
    for (table, cols) in TABLES {
        let select = if *table == "chain_head" {
            "SELECT seq, hash FROM chain_head WHERE id = 1".to_string()
        } else {
            format!("SELECT {} FROM \"{table}\"", column_list(cols))
        };
        let mut stmt = from.prepare(&select)?;
        let mut rows = stmt.query([])?;
        let mut writer = tx.copy_in(&format!("COPY \"{table}\" (hall, {}) FROM STDIN", column_list(cols)))?;
        let mut line = Vec::with_capacity(4096);
        while let Some(r) = rows.next()? {
            line.clear();
            copy_field(&mut line, &Value::Text(hall.to_string()));
            for i in 0..cols.len() {
                line.push(b'\t');
                let v: Value = r.get(i)?;
                copy_field(&mut line, &v);
            }
            line.push(b'\n');
            writer
                .write_all(&line)
                .map_err(|e| LedgerError::StoreDown(format!("copying {table}: {e}")))?;
            rows_copied += 1;
        }
        writer.finish()?;
    }
    tx.commit()?;
    Ok(rows_copied)
}

/// Copy hall `hall` of the database into a new SQLite ledger at `dest` (created with the
/// SQLite store's schema), in one read snapshot of the database.
pub fn copy_into_sqlite(client: &mut Client, hall: &str, dest: &Path) -> Result<()> {
    let mut conn = crate::db::open(dest, std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    let mut read = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    for (table, cols) in TABLES {
        let reader = read.copy_out(&format!(
            "COPY (SELECT {} FROM \"{table}\" WHERE hall = '{hall}') TO STDOUT",
            column_list(cols)
        ))?;
        let insert = if *table == "chain_head" {
            "INSERT OR REPLACE INTO chain_head (id, seq, hash) VALUES (1, ?1, ?2)".to_string()
        } else {
            let marks = (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>();
            format!(
                "INSERT INTO \"{table}\" ({}) VALUES ({})",
                column_list(cols),
                marks.join(", ")
            )
        };
        let mut stmt = tx.prepare(&insert)?;
        let mut reader = std::io::BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| LedgerError::StoreDown(format!("reading {table}: {e}")))?;
            if n == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let fields: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
            if fields.len() != cols.len() {
                return Err(LedgerError::Corrupt(format!(
                    "a row of {table} has {} fields, expected {}",
                    fields.len(),
                    cols.len()
                )));
            }
            let values = fields
                .iter()
                .zip(cols.iter())
                .map(|(f, (_, int))| parse_field(f, *int))
                .collect::<Result<Vec<_>>>()?;
            stmt.execute(rusqlite::params_from_iter(values))?;
        }
    }
    read.commit()?;
    tx.commit()?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// A scratch file for a hall's copy, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(hall: &str) -> Scratch {
        let mut name = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut name);
        Scratch(std::env::temp_dir().join(format!("bangban-{hall}-{}.sqlite3", hex::encode(name))))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}

impl PgStore {
    /// The hall copied into a scratch SQLite ledger, opened.
    fn scratch_copy(&mut self) -> Result<(Scratch, rusqlite::Connection)> {
        let hall = self.hall().to_string();
        let scratch = Scratch::new(&hall);
        copy_into_sqlite(self.client(), &hall, &scratch.0)?;
        let conn = crate::db::open(&scratch.0, std::time::Duration::from_secs(5))?;
        Ok((scratch, conn))
    }
}

impl Host for PgStore {
    fn set_durable(&self, durable: bool) -> Result<()> {
        self.pg.exec(
            if durable {
                "SET synchronous_commit = on"
            } else {
                "SET synchronous_commit = off"
            },
            &[],
        )?;
        Ok(())
    }

    /// The hall's chain head: it moves with every commit of any server.
    fn data_version(&self) -> Result<i64> {
        Ok(self.pg.head()?.0)
    }

    /// PostgreSQL checkpoints its own log; there is nothing for bangban to restart.
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    fn verify(&mut self, evict_after: i64, batch: usize, progress: &mut dyn FnMut(i64, i64)) -> Result<VerifyReport> {
        let (_scratch, mut conn) = self.scratch_copy()?;
        chain::verify_evicting(&mut conn, evict_after, batch, progress)
    }

    fn check_witness(
        &self,
        file: &str,
        witnessed: &[Witnessed],
        report: &VerifyReport,
    ) -> Result<Option<VerifyReport>> {
        chain::check_witness_with(
            &mut |seq| {
                Ok(self
                    .pg
                    .rows(
                        "SELECT hash FROM events WHERE hall = $1 AND seq = $2",
                        &[&self.pg.hall, &seq],
                    )?
                    .first()
                    .map(|r| r.get(0)))
            },
            file,
            witnessed,
            report.head_seq,
            report.events,
            report.cases,
        )
    }

    /// A PostgreSQL hall's backup is a SQLite ledger file: verified before it takes its name,
    /// and a ledger any `bangban --db` opens (and `bangban migrate` moves back).
    fn backup_to(&self, dest: &Path) -> Result<VerifyReport> {
        if dest.exists() {
            return Err(LedgerError::Invalid(format!(
                "{} already exists; choose a new file for the backup",
                dest.display()
            )));
        }
        let tmp = dest.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        let mut client = self.fresh_client()?;
        let copied = copy_into_sqlite(&mut client, self.hall(), &tmp);
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(if crate::disk::is_full(&tmp) {
                LedgerError::DiskFull
            } else {
                e
            });
        }
        super::sqlite_host::verified_into_place(&tmp, dest)
    }

    fn all_events(&self) -> Result<Vec<Event>> {
        Ok(self
            .pg
            .rows(&format!("{EVENTS} WHERE hall = $1 ORDER BY seq"), &[&self.pg.hall])?
            .iter()
            .map(event_of)
            .collect())
    }

    fn stored_cases(&self) -> Result<BTreeMap<i64, Case>> {
        let mut out = BTreeMap::new();
        for r in self.pg.rows(
            "SELECT id, data FROM cases WHERE hall = $1 ORDER BY id",
            &[&self.pg.hall],
        )? {
            let id: i64 = r.get(0);
            out.insert(id, super::sqlite::parse_case_row(id, r.get::<_, &str>(1))?);
        }
        Ok(out)
    }

    fn rebuild(&mut self, request: Option<Request>, cases: &BTreeMap<i64, Case>, calls: &[CallRow]) -> Result<()> {
        let tx = self.raw_write(request)?;
        tx.exec("DELETE FROM cases WHERE hall = $1", &[&tx.hall])?;
        for c in cases.values() {
            tx.save_case(None, c, None)?;
        }
        tx.exec("DELETE FROM calls WHERE hall = $1", &[&tx.hall])?;
        for k in calls {
            tx.exec(
                "INSERT INTO calls (hall, seq, business_day, department, case_id, recall) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &tx.hall,
                    &k.seq,
                    &k.business_day,
                    &k.department,
                    &k.case_id,
                    &(k.recall as i64),
                ],
            )?;
        }
        Box::new(tx).commit_tx()
    }

    fn audit_numbers(&self, since: &str) -> Result<(Vec<String>, i64)> {
        let h = &self.pg.hall;
        let mut gaps = Vec::new();
        for r in self.pg.rows(
            "SELECT business_day, rtrim(number, '0123456789') AS prefix, count(*),
             max(substr(number, length(rtrim(number, '0123456789')) + 1)::bigint) FROM cases
             WHERE hall = $1 AND business_day >= $2 GROUP BY 1, 2 ORDER BY 1, 2",
            &[h, &since],
        )? {
            let (day, prefix, n, max): (String, String, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
            if n != max {
                gaps.push(format!("{day} {prefix}: {n} tickets up to number {max}"));
            }
        }
        let twice: i64 = self.pg.rows(
            "SELECT count(*) FROM (SELECT case_id FROM calls WHERE hall = $1 AND business_day >= $2 AND recall = 0
             GROUP BY case_id HAVING count(*) > 1) t",
            &[h, &since],
        )?[0]
            .get(0);
        Ok((gaps, twice))
    }

    fn query_plans(&self) -> Result<Vec<(&'static str, &'static str, Vec<String>)>> {
        let mut out = Vec::new();
        for (name, sql, index) in super::pg::hot::PLANNED {
            // A generic plan (the one a prepared statement gets) for made-up arguments of the
            // columns' types: the hall, a day, a department, numbers.
            let n = (1..=9).rev().find(|i| sql.contains(&format!("${i}"))).unwrap_or(0);
            let args: Vec<String> = (1..=n)
                .map(|i| match i {
                    1 => "'zz'".to_string(),
                    2 => "'2026-11-27'".to_string(),
                    3 if sql.contains("department = $3") => "'SCJG'".to_string(),
                    3 if sql.contains("= $3 AND") && !sql.contains("rank") => "'10'".to_string(),
                    _ => "10".to_string(),
                })
                .collect();
            let mut text = sql.to_string();
            for (i, a) in args.iter().enumerate().rev() {
                text = text.replace(&format!("${}", i + 1), a);
            }
            let lines = self
                .pg
                .rows(&format!("EXPLAIN {text}"), &[])?
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect();
            out.push((*name, *index, lines));
        }
        Ok(out)
    }
}

impl PgStore {
    /// A second connection of the same hall, for work beside the store's own (a backup while
    /// the server writes).
    fn fresh_client(&self) -> Result<Client> {
        Ok(self.at.config()?.connect(postgres::NoTls)?)
    }
}

impl super::pg::Pg<postgres::Transaction<'_>> {
    pub(crate) fn commit_tx(self: Box<Self>) -> Result<()> {
        crate::store::WriteTx::commit(self)
    }
}

/// `bangban migrate --from FILE --to URL`: the SQLite ledger `from` copied into the database as
/// one hall (the URL's `?hall=`, else the hall file's code); both sides are verified and must
/// end at the same chain head. Returns (hall, rows copied, the source's report, the copy's).
/// What `bangban migrate` did: the hall, the rows copied, the chain head both sides end at, and
/// both sides' verify reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Migrated {
    pub hall: String,
    pub rows: u64,
    pub head_seq: i64,
    pub head_hash: String,
    pub source: VerifyReport,
    pub copy: VerifyReport,
}

pub fn migrate_file(from: &Path, to: &str) -> Result<Migrated> {
    let at = super::pg::PgAt::parse(to)?;
    if !from.exists() {
        return Err(LedgerError::NoLedger(from.display().to_string()));
    }
    let mut src = crate::db::open(from, std::time::Duration::from_secs(5))?;
    let source_report = chain::verify(&mut src)?;
    let source_head: (i64, String) = src.query_row("SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    if !source_report.ok {
        return Err(LedgerError::Corrupt(format!(
            "{} does not verify (first bad event {:?}): {}; mend it before moving it",
            from.display(),
            source_report.first_bad_seq,
            source_report.problem.clone().unwrap_or_default()
        )));
    }
    let hall = match &at.hall {
        Some(h) => h.clone(),
        None => {
            let body: Option<String> = src
                .query_row("SELECT body FROM hall_config ORDER BY id DESC LIMIT 1", [], |r| {
                    r.get(0)
                })
                .ok();
            let code = body
                .and_then(|b| serde_json::from_str::<crate::hall::Hall>(&b).ok())
                .map(|h| h.code)
                .unwrap_or_default();
            if code.is_empty() {
                return Err(LedgerError::Invalid(format!(
                    "{} has no hall code: name the hall in the URL (…?hall=CODE)",
                    from.display()
                )));
            }
            code
        }
    };
    super::pg::check_hall_code(&hall)?;
    // Open (and migrate) the database's schema without picking a hall, then copy.
    let mut client = super::pg::PgStore::connect_schema(&at)?;
    // The source is read in one transaction: a program still writing to it would be copied up
    // to one point and not beyond.
    let read = src.transaction()?;
    let rows = copy_into_pg(&read, &mut client, &hall)?;
    read.commit()?;
    let mut at = at;
    at.hall = Some(hall.clone());
    let mut store = super::pg::PgStore::open(&at, std::time::Duration::from_secs(5), None)?;
    let copy_report = store.verify(crate::chain::EVICT_AFTER, crate::chain::BATCH, &mut |_, _| {})?;
    let copy_head = store.pg.head()?;
    if !copy_report.ok || copy_head != source_head {
        return Err(LedgerError::Corrupt(format!(
            "the copy of hall {hall} ends at event {} ({}), the file at {} ({}){}",
            copy_head.0,
            copy_head.1,
            source_head.0,
            source_head.1,
            copy_report.problem.map(|p| format!(": {p}")).unwrap_or_default()
        )));
    }
    Ok(Migrated {
        hall,
        rows,
        head_seq: copy_head.0,
        head_hash: copy_head.1,
        source: source_report,
        copy: copy_report,
    })
}
