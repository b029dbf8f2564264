//! Call-to-announcement latency: from a call committed by another process until the headless
//! board printed its announcement line. Prints a table.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bangban::{CallRequest, Channel, IssueRequest, Ledger, LedgerOptions};

const N: usize = 200;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.sqlite3");
    let mut l = bangban::open_or_demo(&db, LedgerOptions::default(), "bench")?;
    for _ in 0..N {
        l.issue(&IssueRequest {
            item: "C01".into(),
            priority: None,
            mode: None,
            channel: Channel::Kiosk,
            actor: "bench".into(),
        })?;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_display"))
        .args(["board", "--headless", "--no-voice", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line)?;
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lat = Vec::with_capacity(N);
    for i in 0..N {
        let window = 6 + (i % 2) as u32;
        let staff = if window == 6 { "S302" } else { "S301" };
        let c = l.call(&CallRequest {
            window,
            staff: staff.into(),
            number: None,
        })?;
        let committed = Instant::now();
        line.clear();
        out.read_line(&mut line)?;
        lat.push(committed.elapsed());
        anyhow::ensure!(
            line.contains(&c.number),
            "announcement {line:?} is not for {}",
            c.number
        );
        // The window settles the visitor before its next call (not timed).
        l.act(&c.number, window, staff, &bangban::CaseAction::Hold)?;
        // Calls in a real hall are seconds apart; do not measure a backlog.
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().ok();
    child.wait().ok();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    let _: &Ledger = &l;
    println!(
        "display benchmark: {N} calls, board polling every {} ms",
        display::POLL.as_millis()
    );
    println!(
        "{:<44} {:>10} {:>10}",
        "call committed → announcement line", "p50 ms", "p99 ms"
    );
    println!("{:<44} {:>10.1} {:>10.1}", "display board --headless", p(0.5), p(0.99));
    Ok(())
}
