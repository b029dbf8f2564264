//! Ledger latency: issuing a ticket and calling the next visitor, next to a bare
//! INSERT + COMMIT with the same pragmas in the same run. Prints a table.

use std::time::{Duration, Instant};

use bangban::{CallRequest, Channel, Hall, IssueRequest, Ledger, LedgerOptions};

const N: usize = 2000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summarize(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (percentile(&v, 0.50), percentile(&v, 0.99))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    // The baseline: one small row per immediate transaction, same pragmas as the ledger.
    let bare_path = dir.path().join("bare.sqlite3");
    let mut bare = rusqlite::Connection::open(&bare_path)?;
    bare.busy_timeout(Duration::from_secs(5))?;
    bare.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    bare.pragma_update(None, "synchronous", "FULL")?;
    bare.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")?;
    let mut bare_lat = Vec::with_capacity(N);
    for i in 0..N {
        let t = Instant::now();
        let tx = bare.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("INSERT INTO t (body) VALUES (?1)", [format!("row {i}")])?;
        tx.commit()?;
        bare_lat.push(t.elapsed());
    }

    let path = dir.path().join("ledger.sqlite3");
    let mut ledger = Ledger::open(&path, LedgerOptions::default())?;
    let hall = Hall::from_toml(bangban::DEMO_HALL, "demo-hall.toml")?;
    ledger.configure(&hall, "bench", "demo")?;
    let req = IssueRequest {
        item: "A01".into(),
        priority: None,
        mode: None,
        channel: Channel::Kiosk,
        actor: "bench".into(),
    };
    let mut issue_lat = Vec::with_capacity(N);
    for i in 0..N {
        let mut r = req.clone();
        // One in five declares a priority group, as in a real hall.
        if i % 5 == 0 {
            r.priority = Some("elderly".into());
        }
        let t = Instant::now();
        ledger.issue(&r)?;
        issue_lat.push(t.elapsed());
    }
    let mut call_lat = Vec::with_capacity(N);
    for i in 0..N {
        let call = CallRequest {
            window: 1 + (i % 3) as u32,
            staff: "S101".into(),
            number: None,
        };
        let t = Instant::now();
        let called = ledger.call(&call)?;
        call_lat.push(t.elapsed());
        // The window settles the visitor before its next call (not timed).
        ledger.act(&called.number, call.window, "S101", &bangban::CaseAction::Hold)?;
    }
    let verify_t = Instant::now();
    let report = ledger.verify()?;
    let verify_time = verify_t.elapsed();
    assert!(report.ok);

    let (b50, b99) = summarize(bare_lat);
    println!("ledger benchmark: {N} operations each, WAL + synchronous=FULL, BEGIN IMMEDIATE");
    println!(
        "{:<28} {:>10} {:>10} {:>12}",
        "operation", "p50 µs", "p99 µs", "p50 / bare"
    );
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>12.2}",
        "bare INSERT+COMMIT",
        us(b50),
        us(b99),
        1.0
    );
    for (name, lat) in [("issue ticket", issue_lat), ("call next (queue of 2000)", call_lat)] {
        let (p50, p99) = summarize(lat);
        println!(
            "{:<28} {:>10.1} {:>10.1} {:>12.2}",
            name,
            us(p50),
            us(p99),
            us(p50) / us(b50)
        );
    }
    println!(
        "verify {} events: {:.1} ms",
        report.events,
        verify_time.as_secs_f64() * 1e3
    );

    // A PIN check costs a guesser as much as a specialist: argon2id, measured here so the
    // parameters in `bangban::pin` stay at 50 ms or more per try on the hall's server.
    ledger.set_pin("S101", "482915", "bench")?;
    let mut pin_lat = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let ok = bangban::pin::verify(&bangban::pin::hash("482915")?, "", "482915");
        assert!(ok.ok);
        pin_lat.push(t.elapsed() / 2);
    }
    let (p50, p99) = summarize(pin_lat);
    println!(
        "PIN check (argon2id m={} MiB t={}): p50 {:.1} ms, p99 {:.1} ms per try",
        bangban::pin::MEMORY_KIB / 1024,
        bangban::pin::PASSES,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    Ok(())
}
