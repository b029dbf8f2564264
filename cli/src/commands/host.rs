//! The server host's services: `serve` (the hall's one door to the ledger), `loadtest` (a
//! simulated day against it) and `printer-sim` (a network printer for tests and drills).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::out::{say, Exit};
use crate::{Cli, Cmd};

pub fn serve(cli: &Cli) -> Result<(), Exit> {
    let Cmd::Serve {
        listen,
        lookups_per_minute,
        tls,
        tls_cert,
        tls_key,
        tls_dir,
        tls_names,
    } = &cli.cmd
    else {
        unreachable!("called for the serve command only")
    };
    cli.local_only("serve")?;
    let db = cli.db_path();
    let tls = match (tls.as_deref(), tls_cert, tls_key) {
        (Some(_auto), _, _) => Some(bangban_server::tls::Tls::Auto {
            dir: tls_dir.clone().unwrap_or_else(|| bangban::tls::default_dir(&db)),
            names: tls_names.clone(),
        }),
        (None, Some(cert), Some(key)) => Some(bangban_server::tls::Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    if tls.is_none() && !listen_is_loopback(listen) {
        eprintln!(
            "bangban: warning: serving plain HTTP on {listen}: device tokens and PINs cross the hall's network in clear; use --tls auto (see deploy/README.md)"
        );
    }
    let opts = bangban_server::ServeOptions {
        db,
        listen: listen.to_string(),
        busy_timeout: Duration::from_millis(cli.busy_timeout_ms),
        lookups_per_minute: *lookups_per_minute,
        tls,
    };
    bangban_server::serve(opts, |l| {
        if let Some(fp) = &l.ca_fingerprint {
            eprintln!("bangban: hall CA SHA-256 {fp}");
            eprintln!("bangban: the certificate names {}", l.names.join(", "));
        }
        say!("listening on {}://{}", l.scheme, l.addr);
    })?;
    eprintln!("bangban: server stopped; the ledger is closed");
    Ok(())
}

/// Whether a listen address is this machine only (plain HTTP there crosses no network).
fn listen_is_loopback(listen: &str) -> bool {
    bangban::tls::is_loopback_url(&format!("http://{listen}"))
}

/// `bangban ca export`: the hall CA's certificate for the devices.
pub fn ca_export(cli: &Cli, out: Option<&Path>, tls_dir: Option<&Path>) -> Result<(), Exit> {
    cli.local_only("ca export")?;
    let dir = tls_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| bangban::tls::default_dir(&cli.db_path()));
    let path = dir.join(bangban::tls::CA_FILE);
    if !path.exists() {
        return Err(Exit::failed(format!(
            "no hall CA in {}: start `bangban serve --tls auto` once (it makes one there), or name its directory with --tls-dir",
            dir.display()
        )));
    }
    let certs = bangban::tls::read_certs(&path)?;
    let pem = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let fingerprint = bangban::tls::fingerprint(&certs[0]);
    if let Some(out) = out {
        std::fs::write(out, &pem).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if cli.json {
        say!(
            "{}",
            serde_json::json!({ "ca": pem, "sha256": fingerprint, "file": path, "out": out })
        );
    } else {
        if out.is_none() {
            print!("{pem}");
        }
        eprintln!("hall CA {} SHA-256 {fingerprint}", path.display());
    }
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
        servers,
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
        store: cli.store.clone(),
        servers: *servers as usize,
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
