//! The server host's setup commands: the hall file, the attachment imports, staff PINs,
//! devices, backups and rebuilding the cases table. They open the ledger file directly.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use bangban::hall::{import_csv, ImportKind};
use bangban::Hall;
use serde_json::json;

use crate::out::{print_json, say, Exit};
use crate::{Cli, DeviceCmd};

pub fn init(cli: &Cli, hall: &Path) -> Result<(), Exit> {
    cli.local_only("init")?;
    // Check the file completely before touching the ledger, so a broken file writes nothing.
    let parsed = Hall::from_path(hall)?;
    let mut ledger = cli.open(true)?;
    let out = ledger.configure(&parsed, &cli.actor, &hall.display().to_string())?;
    if cli.json {
        print_json(
            &json!({ "db": ledger.path(), "changed": out.changed, "sha256": out.sha256,
            "departments": out.departments, "specialists": out.specialists, "items": out.items }),
        );
    } else if out.changed {
        say!(
            "applied {} ({} departments, {} specialists, {} items) to {}",
            hall.display(),
            out.departments,
            out.specialists,
            out.items,
            ledger.path().display()
        );
    } else {
        say!(
            "{} is already in force in {}; nothing changed",
            hall.display(),
            ledger.path().display()
        );
    }
    Ok(())
}

pub fn import(cli: &Cli, kind: ImportKind, file: &Path) -> Result<(), Exit> {
    cli.local_only("import")?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let src = bangban::hall::utf8(&bytes, &file.display().to_string())?;
    let mut ledger = cli.open(false)?;
    let hall = ledger.hall()?;
    let new = import_csv(&hall, kind, src, &file.display().to_string())?;
    let out = ledger.configure(&new, &cli.actor, &file.display().to_string())?;
    if cli.json {
        print_json(&json!({ "changed": out.changed, "sha256": out.sha256,
            "specialists": out.specialists, "items": out.items }));
    } else {
        say!(
            "imported {}: {} specialists, {} items in force",
            file.display(),
            out.specialists,
            out.items
        );
    }
    Ok(())
}

pub fn set_pin(cli: &Cli, staff: &str) -> Result<(), Exit> {
    cli.local_only("staff set-pin")?;
    // Only a PIN typed on this command line is the new PIN: BANGBAN_PIN in the environment is
    // the operator's own and must never become someone else's.
    let pin = match cli.pin.clone().filter(|_| crate::context::pin_typed()) {
        Some(p) => p,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the PIN from standard input")?;
            s.lines().next().unwrap_or("").trim().to_string()
        }
    };
    let mut ledger = cli.open(false)?;
    ledger.set_pin(staff, &pin, &cli.actor)?;
    if cli.json {
        print_json(&json!({ "staff": staff, "pin_set": true }));
    } else {
        say!("PIN set for {staff}");
    }
    Ok(())
}

pub fn device(cli: &Cli, cmd: &DeviceCmd) -> Result<(), Exit> {
    cli.local_only("device")?;
    let mut ledger = cli.open(false)?;
    match cmd {
        DeviceCmd::Add { name, role } => {
            let token = ledger.add_device(name, *role, &cli.actor)?;
            if cli.json {
                print_json(&json!({ "name": name, "role": role.as_str(), "token": token }));
            } else {
                say!("{token}");
                eprintln!(
                    "bangban: enrolled {name} as a {}; the token above is shown only now: give it to the device (--token or BANGBAN_TOKEN)",
                    role.as_str()
                );
            }
        }
        DeviceCmd::List => {
            let list = ledger.list_devices()?;
            if cli.json {
                print_json(&json!({ "devices": list }));
            } else {
                for d in list {
                    say!(
                        "{:<20} {:<8} enrolled {}{}",
                        d.name,
                        d.role.as_str(),
                        d.created_at,
                        d.revoked_at.map(|r| format!("  REVOKED {r}")).unwrap_or_default()
                    );
                }
            }
        }
        DeviceCmd::Revoke { name } => {
            ledger.revoke_device(name, &cli.actor)?;
            if cli.json {
                print_json(&json!({ "name": name, "revoked": true }));
            } else {
                say!("revoked {name}");
            }
        }
    }
    Ok(())
}

pub fn backup(cli: &Cli, to: &Path) -> Result<(), Exit> {
    cli.local_only("backup")?;
    let ledger = cli.open(false)?;
    let r = ledger.backup_to(to)?;
    if cli.json {
        print_json(&json!({ "backup": to, "ok": r.ok, "events": r.events, "cases": r.cases }));
    } else {
        say!(
            "backed up to {}: {} events, {} cases, chain verified",
            to.display(),
            r.events,
            r.cases
        );
    }
    Ok(())
}

pub fn restore(cli: &Cli, file: &Path) -> Result<(), Exit> {
    cli.local_only("restore")?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let r = match bangban::restore::restore(file, &cli.db_path(), &stamp) {
        Err(bangban::LedgerError::Invalid(why)) => return Err(Exit::usage(why)),
        r => r?,
    };
    if cli.json {
        print_json(&r);
    } else {
        say!(
            "restored {} from {}: {} events, {} cases, chain verified",
            r.ledger.display(),
            r.from.display(),
            r.report.events,
            r.report.cases
        );
        if let Some(old) = &r.replaced {
            say!("the replaced ledger is kept at {}", old.display());
        }
    }
    Ok(())
}

pub fn rebuild_cases(cli: &Cli) -> Result<(), Exit> {
    cli.local_only("rebuild-cases")?;
    let mut ledger = cli.open(false)?;
    let before = ledger.verify()?;
    let only_projection = before.finding.as_ref().is_some_and(|f| f.kind.is_projection());
    if !before.ok && !only_projection {
        return Err(Exit::failed(
            "the event log itself does not verify; refusing to rebuild from it",
        ));
    }
    let n = ledger.rebuild_cases()?;
    say!("rebuilt {n} cases from the event log");
    Ok(())
}

pub fn purge(cli: &Cli, before: Option<chrono::NaiveDate>) -> Result<(), Exit> {
    cli.local_only("purge")?;
    let mut ledger = cli.open(false)?;
    let before = match before {
        Some(d) => d,
        None => ledger.purge_limit()?,
    };
    let done = match ledger.purge_notes(before, &cli.actor) {
        Err(bangban::LedgerError::Invalid(why)) => return Err(Exit::usage(why)),
        other => other?,
    };
    if cli.json {
        print_json(&done);
    } else {
        say!(
            "erased the text of {} notes written before {} (their hashes stay; the log still verifies)",
            done.notes,
            done.before
        );
    }
    Ok(())
}
