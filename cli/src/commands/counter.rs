//! The counter's commands: call, act on a case, pause a window. Each signs the specialist in
//! with their PIN, does one thing, and signs out again.

use bangban::api::{Act, Call, PauseWindow};
use serde_json::json;

use crate::args::CaseArg;
use crate::out::{print_json, say, Exit};
use crate::{Cli, WindowState};

pub fn call(cli: &Cli, window: u32, staff: &str, number: Option<&str>) -> Result<(), Exit> {
    let mut c = cli.client()?;
    cli.sign_in(c.as_mut(), staff, window)?;
    let result = c.call(&Call {
        number: number.map(str::to_string),
    });
    let _ = c.sign_out();
    match result {
        Ok(called) if cli.json => print_json(&called),
        Ok(called) => say!("{}", called.text),
        Err(e) if e.kind() == "nobody_waiting" => return Err(Exit(3, e.into())),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub fn case(cli: &Cli, case: &str, window: Option<u32>, staff: &str, action: &CaseArg) -> Result<(), Exit> {
    let mut c = cli.client()?;
    let action = match action {
        CaseArg::Show => return show(cli, c.case(case)?),
        CaseArg::Act(a) => a.clone(),
    };
    if staff.is_empty() {
        return Err(Exit::usage("counter actions need --staff ID"));
    }
    let window = match window {
        Some(w) => w,
        None => {
            let current = c.case(case)?.case;
            current.called_window.unwrap_or(current.window)
        }
    };
    cli.sign_in(c.as_mut(), staff, window)?;
    let result = c.act(&Act {
        case: case.to_string(),
        action,
    });
    let _ = c.sign_out();
    let done = result?;
    if cli.json {
        print_json(&done);
    } else {
        say!("{} {} ({})", done.number, done.state.label_zh(), done.state.as_str());
    }
    Ok(())
}

fn show(cli: &Cli, v: bangban::api::CaseView) -> Result<(), Exit> {
    if cli.json {
        print_json(&json!({ "case": v.case, "events": v.events }));
    } else {
        say!(
            "{} {} {} · {}",
            v.case.number,
            v.case.state.label_zh(),
            v.case.department,
            v.case.item
        );
        for e in v.events {
            say!("  #{} {} {} {}", e.seq, e.at, e.actor, e.kind);
        }
    }
    Ok(())
}

pub fn window(cli: &Cli, window: u32, state: WindowState, staff: &str) -> Result<(), Exit> {
    let mut c = cli.client()?;
    cli.sign_in(c.as_mut(), staff, window)?;
    let paused = state == WindowState::Pause;
    let result = c.pause_window(&PauseWindow { paused });
    let _ = c.sign_out();
    result?;
    if cli.json {
        print_json(&json!({ "window": window, "paused": paused }));
    } else {
        say!("window {window} {}", if paused { "paused" } else { "open" });
    }
    Ok(())
}
