//! The counter's commands: call, act on a case, pause a window. Each signs the specialist in
//! with their PIN, does one thing, and signs out again.

use bangban::api::{Act, Call, PauseWindow};
use serde_json::json;

use crate::args::CaseArg;
use crate::out::{print_json, say, Exit};
use crate::{Cli, WindowState};

/// 来电咨询, 网上帮办, 提前介入: a case the specialist opens without a ticket.
pub fn open_case(cli: &Cli, req: &bangban::OpenCase, window: u32, staff: &str) -> Result<(), Exit> {
    let mut c = cli.client()?;
    cli.sign_in(c.as_mut(), staff, window)?;
    let result = c.open_case(req);
    let _ = c.sign_out();
    let case = result?;
    if cli.json {
        print_json(&case);
    } else {
        say!(
            "{} {} {} · {}{}",
            case.number,
            case.state.label_zh(),
            case.channel.as_str(),
            case.item,
            if case.parts.is_empty() {
                String::new()
            } else {
                format!("  全链条分项 {} 个", case.parts.len())
            }
        );
    }
    Ok(())
}

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
        Err(e) if e.kind() == bangban::ErrorKind::NobodyWaiting => return Err(Exit(3, e.into())),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub fn case(
    cli: &Cli,
    case: &str,
    window: Option<u32>,
    staff: &str,
    print: Option<&str>,
    action: &CaseArg,
) -> Result<(), Exit> {
    let mut c = cli.client()?;
    let printer = match print {
        None => None,
        Some(spec) => match bangban_printer::PrinterTarget::parse(spec).map_err(Exit::usage)? {
            bangban_printer::PrinterTarget::None => {
                return Err(Exit::usage("--print needs a printer (tcp://HOST:9100 or file:PATH)"))
            }
            t => Some(t),
        },
    };
    let action = match action {
        CaseArg::Show => {
            let v = c.case(case)?;
            if let Some(target) = &printer {
                // A second copy of the slip: the case's missing materials as recorded.
                if v.case.missing.is_empty() {
                    return Err(Exit::usage(format!(
                        "case {} has no missing materials recorded: nothing to print",
                        v.case.number
                    )));
                }
                let notifier = v
                    .events
                    .iter()
                    .rev()
                    .find(|e| e.kind == "materials_missing")
                    .map(|e| e.actor.clone())
                    .unwrap_or_default();
                let window = window.or(v.case.called_window).unwrap_or(v.case.window);
                print_slip(cli, c.as_mut(), &v.case, &notifier, window, target)?;
            }
            return show(cli, c.as_mut(), v);
        }
        CaseArg::Act(a) => a.clone(),
    };
    if printer.is_some() && !matches!(action, bangban::CaseAction::NotifyMissing { .. }) {
        return Err(Exit::usage(
            "--print goes with notify (the one-time notification slip) or show",
        ));
    }
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
    if let Some(target) = &printer {
        print_slip(cli, c.as_mut(), &done, staff, window, target)?;
    }
    Ok(())
}

/// Print the one-time notification slip of a case. The notification itself is already in
/// the ledger: a printer failure says so and how to print the slip again.
fn print_slip(
    cli: &Cli,
    c: &mut dyn bangban::api::HallClient,
    case: &bangban::Case,
    staff: &str,
    window: u32,
    target: &bangban_printer::PrinterTarget,
) -> Result<(), Exit> {
    let hall = c.hall()?;
    let slip = bangban_printer::Slip::of(&hall, case, staff, window, bangban::clock::from_env().now());
    match bangban_printer::print_slip(target, &slip) {
        Ok(()) if cli.json => Ok(()),
        Ok(()) => {
            eprintln!("bangban: printed the one-time notification slip of {} on {}", case.number, target.device_name());
            Ok(())
        }
        Err(e) => Err(Exit::failed(format!(
            "the notification of {} is recorded, but its slip did not print on {}: {e} (print it again with `bangban case {} show --print PRINTER`)",
            case.number,
            target.device_name(),
            case.number
        ))),
    }
}

/// Everything about a case: its state, every event, and the text of every note its events name
/// (questions, answers, tracking numbers, hand-over and transfer notes, reasons).
fn show(cli: &Cli, c: &mut dyn bangban::api::HallClient, v: bangban::api::CaseView) -> Result<(), Exit> {
    let hall = c.hall()?;
    // The hall's own clock time, as the counter and the visitor read it (the log keeps UTC).
    let local = |at: &str| {
        bangban::clock::parse_stamp(at)
            .map(|t| t.with_timezone(&hall.tz()).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| at.to_string())
    };
    let mut notes = serde_json::Map::new();
    let mut lines = Vec::new();
    for e in &v.events {
        let body: Option<bangban::EventBody> = serde_json::from_str(&e.payload).ok();
        let mut texts = Vec::new();
        // A meeting's participants by role and its follow-up day (the rest are its notes).
        if let Some(bangban::EventBody::CoordinationMeeting {
            participants,
            follow_up,
            held_at,
            ..
        }) = &body
        {
            texts.push(format!(
                "{}；参会：{}{}",
                local(held_at),
                participants
                    .iter()
                    .map(|p| hall.participant(p))
                    .collect::<Vec<_>>()
                    .join("、"),
                follow_up.as_deref().map(|f| format!("；跟进 {f}")).unwrap_or_default()
            ));
        }
        for r in body.as_ref().map(|b| b.note_refs()).unwrap_or_default() {
            let text = match c.note(r.note) {
                Ok(t) if t.is_empty() => "（已按保存期限删除）".to_string(),
                Ok(t) => t,
                Err(e) => format!("（{e}）"),
            };
            notes.insert(r.note.to_string(), json!(text));
            texts.push(text);
        }
        lines.push(format!(
            "  #{} {} {} {}{}",
            e.seq,
            local(&e.at),
            e.actor,
            e.kind,
            if texts.is_empty() {
                String::new()
            } else {
                format!("  「{}」", texts.join("」「"))
            }
        ));
    }
    if cli.json {
        print_json(
            &json!({ "case": v.case, "events": v.events, "notes": notes, "forms": v.forms, "principal": v.principal }),
        );
    } else {
        let k = &v.case;
        say!(
            "{} {} {} · {}  ({} {})",
            k.number,
            k.state.label_zh(),
            k.department,
            k.item,
            k.business_day,
            k.token
        );
        if let Some(o) = &k.owner {
            say!("  首问负责：{o}");
        }
        if k.under_coordination {
            say!("  协调中：待管办记录协调结果");
        }
        if !k.parts.is_empty() {
            say!(
                "  全链条分项（{}）：",
                if k.parts_in_series {
                    "依次办理"
                } else {
                    "并联办理"
                }
            );
            for p in &k.parts {
                let missing: Vec<String> = p
                    .missing
                    .iter()
                    .map(|m| format!("{}（{} 前补齐）", m.material, m.supply_by))
                    .collect();
                say!(
                    "    {} {}{}{}",
                    p.department,
                    p.state.label_zh(),
                    p.owner.as_deref().map(|o| format!(" · {o}")).unwrap_or_default(),
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(" · 容缺：{}", missing.join("、"))
                    }
                );
            }
        }
        if !k.missing.is_empty() {
            say!("  缺：{}", k.missing.join("、"));
        }
        if !k.materials.is_empty() {
            say!("  收：{}", k.materials.join("、"));
        }
        if let Some(p) = &v.principal {
            say!(
                "  委托人：{} · {}{}",
                p.name,
                p.id_number,
                p.phone.as_deref().map(|x| format!(" · {x}")).unwrap_or_default()
            );
        }
        for f in &v.forms {
            say!(
                "  {} {}：{}",
                f.title,
                f.number,
                match f.signed.as_deref() {
                    Some("pad") => "已签（签名板）",
                    Some("paper") => "已签（纸质）",
                    _ => "未签",
                }
            );
        }
        for l in lines {
            say!("{l}");
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
