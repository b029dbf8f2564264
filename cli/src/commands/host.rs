//! The server host's services: `serve` (the hall's one door to the ledger), `loadtest` (a
//! simulated day against it) and `printer-sim` (a network printer for tests and drills).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::out::{say, Exit};
use crate::{Cli, Cmd};

pub fn serve(cli: &Cli, listen: &str, lookups_per_minute: u32) -> Result<(), Exit> {
    cli.local_only("serve")?;
    let opts = bangban_server::ServeOptions {
        db: cli.db_path(),
        listen: listen.to_string(),
        busy_timeout: Duration::from_millis(cli.busy_timeout_ms),
        lookups_per_minute,
    };
    bangban_server::serve(opts, |addr| {
        say!("listening on http://{addr}");
    })?;
    eprintln!("bangban: server stopped; the ledger is closed");
    Ok(())
}

pub fn loadtest(cli: &Cli) -> Result<(), Exit> {
    let Cmd::Loadtest {
        tickets,
        counters,
        kiosks,
        boards,
        speed,
        hours,
        max_minutes,
        dir,
        seed,
        base,
        sign_in_at_once,
    } = &cli.cmd
    else {
        unreachable!("called for the loadtest command only")
    };
    cli.local_only("loadtest")?;
    if !(0.1..=3600.0).contains(speed) || !(0.1..=24.0).contains(hours) {
        return Err(Exit::usage("--speed must be 0.1 to 3600 and --hours 0.1 to 24"));
    }
    let opts = crate::loadtest::LoadOptions {
        tickets: *tickets as usize,
        counters: *counters as usize,
        kiosks: *kiosks as usize,
        boards: *boards as usize,
        speed: *speed,
        hours: *hours,
        max_real: Duration::from_secs(max_minutes * 60),
        dir: dir.clone(),
        seed: *seed,
        base: base.clone(),
        sign_in_at_once: *sign_in_at_once,
    };
    if !crate::loadtest::run(&opts, &mut std::io::stdout().lock())? {
        return Err(Exit::failed(
            "the load test found errors or a broken ledger (see above)",
        ));
    }
    Ok(())
}

pub fn printer_sim(listen: &str, out: &Path, condition: bangban_printer::sim::Condition) -> Result<(), Exit> {
    eprintln!(
        "printer-sim: listening on {listen}, tickets go to {} ({condition:?})",
        out.display()
    );
    // SIGTERM and Ctrl+C stop it (`scripts/demo` stops it so when the demo ends).
    bangban_printer::sim::run_until(listen, out, condition, crate::stopping, |txt, png| {
        say!("{} {}", txt.display(), png.display());
        std::io::stdout().flush().ok();
    })
    .with_context(|| format!("printer-sim cannot listen on {listen}"))?;
    eprintln!("printer-sim: stopped");
    Ok(())
}
