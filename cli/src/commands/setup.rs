//! The server host's setup commands: the hall file, the attachment imports, staff PINs,
//! devices, backups and rebuilding the cases table. They open the ledger file directly.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bangban::hall::ImportKind;
use bangban::Hall;
use serde_json::json;

use crate::commands::office::write_atomically;
use crate::out::{print_json, say, Exit};
use crate::{Cli, DeviceCmd};

pub fn init(cli: &Cli, hall: &Path, drop: bool) -> Result<(), Exit> {
    cli.local_only("init")?;
    // Check the file completely before touching the ledger, so a broken file writes nothing.
    let parsed = Hall::from_path(hall)?;
    let mut ledger = cli.open_for_init(&parsed.code)?;
    let applied = ledger.apply_hall_file(&parsed, &cli.actor, &hall.display().to_string(), drop)?;
    let out = &applied.outcome;
    if cli.json {
        print_json(
            &json!({ "db": ledger.shown_path(), "changed": out.changed, "sha256": out.sha256,
            "departments": out.departments, "specialists": out.specialists, "items": out.items,
            "kept": applied.kept, "dropped": applied.dropped }),
        );
        return Ok(());
    }
    if !applied.kept.is_empty() {
        say!(
            "kept what was imported since the last hall file and {} does not name: {} (`bangban hall export` writes the hall in force; --drop removes them)",
            hall.display(),
            applied.kept.join(", ")
        );
    }
    if !applied.dropped.is_empty() {
        say!("removed: {}", applied.dropped.join(", "));
    }
    if out.changed {
        say!(
            "applied {} ({} departments, {} specialists, {} items) to {}",
            hall.display(),
            out.departments,
            out.specialists,
            out.items,
            ledger.shown_path()
        );
    } else {
        say!(
            "{} is already in force in {}; nothing changed",
            hall.display(),
            ledger.shown_path()
        );
    }
    Ok(())
}

pub fn import(cli: &Cli, kind: ImportKind, files: &[PathBuf], department: Option<&str>) -> Result<(), Exit> {
    let mut client = cli.client()?;
    let hall = client.hall()?;
    crate::args::known_department(&hall, department)?;
    let mut sheets = Vec::new();
    for file in files {
        for sheet in crate::sheets::read_table(file)? {
            // A workbook of every department's form, imported for one department, gives that
            // department's sheet; a sheet that names another department is left alone.
            let other = department.is_some()
                && bangban::attachments::form_department(&hall, &sheet).is_some_and(|d| Some(d.as_str()) != department);
            let workbook = sheet.file.ends_with(']');
            if !(sheet.rows.is_empty() || workbook && other) {
                sheets.push(sheet);
            }
        }
    }
    if sheets.is_empty() {
        return Err(Exit::usage("the files hold no table to import"));
    }
    let source = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let imported = client.send(bangban::ops::Import {
        kind,
        sheets,
        department: department.map(str::to_string),
        source: source.clone(),
    })?;
    let out = &imported.configured;
    if cli.json {
        print_json(&json!({ "changed": out.changed, "sha256": out.sha256,
            "departments": imported.departments, "rows": imported.rows,
            "assigned": imported.assigned.iter().map(|(f, l, name, id)| json!({ "file": f, "row": l, "name": name, "id": id })).collect::<Vec<_>>(),
            "specialists": out.specialists, "items": out.items }));
    } else {
        for (f, l, name, id) in &imported.assigned {
            say!(
                "{f}:{l}: {name} is new and gets {} {id}",
                match kind {
                    ImportKind::Specialists => "staff id",
                    ImportKind::Items => "item code",
                }
            );
        }
        let scope = if imported.departments.is_empty() {
            "the whole table".to_string()
        } else {
            imported.departments.join(", ")
        };
        say!(
            "imported {source} ({} rows for {scope}): {} specialists, {} items in force{}",
            imported.rows,
            out.specialists,
            out.items,
            if out.changed { "" } else { "; nothing changed" }
        );
    }
    Ok(())
}

pub fn set_pin(cli: &Cli, staff: &str, old_pin: Option<String>) -> Result<(), Exit> {
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
    let done = cli.send(bangban::ops::SetPin::new(staff, old_pin.filter(|p| !p.is_empty()), pin))?;
    if cli.json {
        print_json(&json!({ "staff": done.staff, "pin_set": true, "own": done.own }));
    } else if done.own {
        say!("PIN changed for {}", done.staff);
    } else {
        say!("PIN set for {}", done.staff);
    }
    Ok(())
}

pub fn device(cli: &Cli, cmd: &DeviceCmd) -> Result<(), Exit> {
    let mut client = cli.client()?;
    match cmd {
        DeviceCmd::Add { name, role, window } => {
            let token = client
                .send(bangban::ops::DeviceAdd {
                    name: name.clone(),
                    role: *role,
                    window: *window,
                })?
                .token;
            if cli.json {
                print_json(&json!({ "name": name, "role": role.as_str(), "token": token }));
            } else {
                say!("{token}");
                eprintln!(
                    "bangban: enrolled {name} as a {}; the token above is shown only now: give it to the device in a file of mode 600 (--token-file FILE or BANGBAN_TOKEN_FILE) or BANGBAN_TOKEN",
                    role.as_str()
                );
            }
        }
        DeviceCmd::List => {
            let list = client.send(bangban::ops::DeviceList {})?;
            if cli.json {
                print_json(&json!({ "devices": list }));
            } else {
                for d in list {
                    say!(
                        "{:<20} {:<8} enrolled {}{}{}",
                        d.name,
                        d.role.as_str(),
                        d.created_at,
                        d.window.map(|w| format!("  window {w} only")).unwrap_or_default(),
                        d.revoked_at.map(|r| format!("  REVOKED {r}")).unwrap_or_default()
                    );
                }
            }
        }
        DeviceCmd::Revoke { name } => {
            client.send(bangban::ops::DeviceRevoke { name: name.clone() })?;
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
    let r = cli.client()?.backup(to)?;
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
    let r = Exit::usage_if_invalid(bangban::restore::restore(file, &cli.db_path(), &stamp))?;
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

/// `bangban migrate --from FILE --to URL`.
pub fn migrate(cli: &Cli, from: &Path, to: &str) -> Result<(), Exit> {
    cli.local_only("migrate")?;
    let m = Exit::usage_if_invalid(bangban::ledger::migrate_file(from, to))?;
    if cli.json {
        print_json(&m);
    } else {
        say!(
            "moved hall {} from {} into {}: {} rows, {} events, {} cases; both verify and end at event {} ({})",
            m.hall,
            from.display(),
            bangban::ledger::pg::masked(to),
            m.rows,
            m.copy.events,
            m.copy.cases,
            m.head_seq,
            m.head_hash
        );
    }
    Ok(())
}

pub fn rebuild_cases(cli: &Cli) -> Result<(), Exit> {
    let n = cli.send(bangban::ops::RebuildCases {})?;
    say!("rebuilt {n} cases from the event log");
    Ok(())
}

pub fn demo_day(cli: &Cli, date: Option<chrono::NaiveDate>) -> Result<(), Exit> {
    cli.local_only("demo-day")?;
    let db = cli.db_path();
    let hall = bangban::demo_day::hall()?;
    let date = date.unwrap_or_else(|| bangban::clock::business_day(chrono::Utc::now(), hall.tz()));
    let bangban::demo_day::BusyDay { mut ledger, clock } = bangban::demo_day::build(&db, date)?;
    let waiting: u32 = ledger.queues()?.iter().map(|q| q.waiting).sum();
    let calls = ledger.recent_calls(1000)?.len();
    let at = bangban::clock::stamp(bangban::clock::Clock::now(&clock));
    if cli.json {
        say!(
            "{}",
            serde_json::json!({ "db": db, "date": date, "now": at, "waiting": waiting, "calls": calls })
        );
    } else {
        say!(
            "wrote the busy morning of {date} into {}: {waiting} waiting, {calls} calls; look at it with BANGBAN_NOW={at}",
            db.display()
        );
    }
    Ok(())
}

pub fn purge(cli: &Cli, before: Option<chrono::NaiveDate>) -> Result<(), Exit> {
    let done = Exit::usage_if_invalid(cli.client()?.send(bangban::ops::Purge { before }))?;
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

/// `bangban hall export --out FILE.toml`: the hall in force as a hall file. On the host only:
/// devices are sent the hall with phones masked, and this file is the hall itself.
pub fn hall_export(cli: &Cli, out: &Path) -> Result<(), Exit> {
    cli.local_only("hall export")?;
    let mut ledger = cli.open(false)?;
    let hall = ledger.hall()?;
    let text = format!(
        "# {} — the hall in force in {}, written by `bangban hall export`.\n# Edit it and apply it with `bangban init --hall FILE`.\n\n{}",
        hall.name,
        ledger.path().display(),
        hall.to_toml()
    );
    // Written whole or not at all: a half-written hall file would be applied half.
    write_atomically(out, text.as_bytes())?;
    if cli.json {
        print_json(
            &json!({ "out": out, "departments": hall.departments.len(), "specialists": hall.specialists.len(), "items": hall.items.len() }),
        );
    } else {
        say!(
            "wrote {} ({} departments, {} specialists, {} items)",
            out.display(),
            hall.departments.len(),
            hall.specialists.len(),
            hall.items.len()
        );
    }
    Ok(())
}
