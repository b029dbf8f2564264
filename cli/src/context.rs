//! The global options every subcommand shares, and what they open: the hall through the server
//! (`--server`) or the ledger file (`--db`), and the acting specialist's sign-in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bangban::api::{HallClient, SignIn};
use bangban::connect::Door;
use bangban::{Ledger, LedgerOptions};

use crate::out::Exit;
use crate::Cli;

/// Whether `--pin` was typed on the command line (not taken from BANGBAN_PIN): only then may
/// `staff set-pin` use it as the new PIN.
static PIN_ON_COMMAND_LINE: AtomicBool = AtomicBool::new(false);

pub fn set_pin_typed(typed: bool) {
    PIN_ON_COMMAND_LINE.store(typed, Ordering::Relaxed);
}

pub fn pin_typed() -> bool {
    PIN_ON_COMMAND_LINE.load(Ordering::Relaxed)
}

impl Cli {
    /// The hall through the server (`--server`) or the ledger file (`--db`).
    pub fn client(&self) -> Result<Box<dyn HallClient>, Exit> {
        if self.server.is_none() && !bangban::ledger::ledger_exists(&self.db_path()) {
            // Only `init` may create a ledger: a mistyped `--db` is an error, not a new one.
            return Err(no_ledger(&self.db_path()));
        }
        let door = Door::from_flags(
            self.server.as_deref(),
            self.token.as_deref(),
            self.ca.as_deref(),
            self.db_path(),
            self.ledger_options(),
            &self.actor,
        );
        Ok(bangban::connect::connect(door)?)
    }

    /// Commands that by nature run where the ledger file lives (serve, init, restore …).
    pub fn local_only(&self, what: &str) -> Result<(), Exit> {
        if self.server.is_some() {
            return Err(Exit(2, bangban::LedgerError::HostOnly(what.to_string()).into()));
        }
        Ok(())
    }

    /// Send one op of the protocol through the client (`--server`, or the ledger file).
    pub fn send<O: bangban::ops::Op>(&self, op: O) -> Result<O::Reply, Exit> {
        let mut c = self.client()?;
        Ok(c.send(op)?)
    }

    /// Sign the acting specialist in at `window` with their PIN (both modes need it).
    pub fn sign_in(&self, client: &mut dyn HallClient, staff: &str, window: u32) -> Result<(), Exit> {
        let pin = self.pin.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
            Exit::usage(format!(
                "acting for specialist {staff} needs their PIN: pass --pin or set BANGBAN_PIN"
            ))
        })?;
        client.sign_in(&SignIn {
            staff: staff.to_string(),
            pin,
            window,
        })?;
        Ok(())
    }

    /// Open the ledger; only `init` may create it, so a mistyped `--db` is an error, not a new
    /// empty ledger.
    pub fn open(&self, create: bool) -> Result<Ledger, Exit> {
        let path = self.db_path();
        if !create && !bangban::ledger::ledger_exists(&path) {
            return Err(no_ledger(&path));
        }
        Ok(Ledger::open(&path, self.ledger_options())?)
    }

    /// Open the ledger for `bangban init`: a PostgreSQL store registers the hall `code` (the
    /// hall file's) when its database does not hold it yet.
    pub fn open_for_init(&self, code: &str) -> Result<Ledger, Exit> {
        let url_hall = bangban::ledger::pg_at(&self.db_path())?.and_then(|a| a.hall);
        let code = Some(code.to_string()).filter(|c| !c.is_empty()).or(url_hall);
        if bangban::ledger::pg_at(&self.db_path())?.is_some() && code.is_none() {
            return Err(Exit::usage(
                "a PostgreSQL store holds many halls: give the hall a code ([hall] code = \"zz-smzx\" in the hall file) or name it in the URL (?hall=CODE)".to_string(),
            ));
        }
        Ok(Ledger::open_registering(
            &self.db_path(),
            self.ledger_options(),
            code.as_deref(),
        )?)
    }

    /// The ledger: `--store URL` (a hall in PostgreSQL), else `--db FILE`, else the default
    /// file. A URL stands wherever a ledger path does (`Ledger::open` tells them apart).
    pub fn db_path(&self) -> std::path::PathBuf {
        if let Some(url) = &self.store {
            return std::path::PathBuf::from(url);
        }
        self.db.clone().unwrap_or_else(bangban::default_db_path)
    }

    pub fn ledger_options(&self) -> LedgerOptions {
        LedgerOptions {
            busy_timeout: Duration::from_millis(self.busy_timeout_ms),
            ..LedgerOptions::default()
        }
    }
}

fn no_ledger(path: &std::path::Path) -> Exit {
    Exit::failed(format!(
        "no ledger at {}: run `bangban init --hall FILE` first",
        path.display()
    ))
}
