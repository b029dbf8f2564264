//! The visitor's side: the item catalogue, issuing tickets, appointments and their check-in,
//! the waiting list and reprints.

use bangban::api::{Issue, PrintOutcome};
use bangban::{Channel, Mode};
use bangban_printer::{PrintTicket, PrinterTarget};
use serde_json::json;

use crate::out::{print_json, say, Exit};
use crate::Cli;

pub fn items(cli: &Cli) -> Result<(), Exit> {
    let hall = cli.client()?.hall()?;
    if cli.json {
        let items: Vec<_> = hall
            .items
            .iter()
            .map(|i| {
                json!({
                    "code": i.code, "department": i.department,
                    "department_name": hall.department(&i.department).map(|d| d.name.clone()),
                    "main": i.main, "sub": i.sub, "name": i.display_name(), "name_en": i.name_en,
                    "window": i.window, "specialist": i.specialist, "phone": bangban::mask_phone(&i.phone),
                    "materials": i.materials, "tags": i.tags, "lead": i.lead, "involved": i.involved,
                })
            })
            .collect();
        print_json(&json!({ "hall": hall.name, "items": items }));
    } else {
        for d in &hall.departments {
            say!("{} {} (prefix {}, windows {:?})", d.code, d.name, d.prefix, d.windows);
            for i in hall.items.iter().filter(|i| i.department == d.code) {
                say!("  {:<5} {}  [{}号窗口]", i.code, i.display_name(), i.window);
            }
        }
    }
    Ok(())
}

pub fn issue(
    cli: &Cli,
    item: &str,
    priority: Option<&str>,
    mode: Option<Mode>,
    channel: Channel,
    repeat: u32,
) -> Result<(), Exit> {
    let mut c = cli.client()?;
    let req = Issue {
        item: item.to_string(),
        priority: priority.map(str::to_string),
        mode,
        channel,
    };
    for _ in 0..repeat {
        if crate::stopping() {
            break;
        }
        let t = c.issue(&req)?;
        if cli.json {
            print_json(&t);
        } else {
            say!(
                "{}  {} · {}  请到{}号窗口  前方等待{}人  预计{}分钟",
                t.number,
                t.department_name,
                t.item_name,
                t.window,
                t.ahead,
                t.estimated_wait_min
            );
        }
    }
    Ok(())
}

pub fn waiting(cli: &Cli, department: Option<&str>) -> Result<(), Exit> {
    let depts: Vec<String> = department.iter().map(|d| d.to_string()).collect();
    let list = cli.client()?.waiting(&depts)?;
    if cli.json {
        print_json(&json!({ "waiting": list }));
    } else {
        for w in list {
            say!(
                "{} {} {} {}分钟{}",
                w.number,
                w.department,
                w.item_name,
                w.waited_min,
                w.priority_name.map(|p| format!(" 优先:{p}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Reprint a ticket (补打) on the given printer or the hall's, and record the outcome.
pub fn reprint(cli: &Cli, number: &str, printer: Option<&str>) -> Result<(), Exit> {
    let mut c = cli.client()?;
    let hall = c.hall()?;
    let spec = printer.map(str::to_string).unwrap_or_else(|| hall.printer.clone());
    let target = PrinterTarget::parse(&spec).map_err(anyhow::Error::msg)?;
    if target == PrinterTarget::None {
        return Err(Exit::failed(
            "no printer configured: pass --printer tcp://HOST:9100 or set printer in the hall file",
        ));
    }
    let t = c.ticket(number)?;
    let result = bangban_printer::print(&target, &PrintTicket::of(&t, true));
    let error = result.as_ref().err().map(|e| e.to_string());
    c.record_print(&PrintOutcome {
        case_id: t.case_id,
        printer: target.device_name(),
        error: error.clone(),
        failure: result.as_ref().err().map(|e| e.failure()),
        reprint: true,
    })?;
    match error {
        None if cli.json => {
            print_json(&json!({ "number": t.number, "reprinted": true, "printer": target.device_name() }))
        }
        None => say!("reprinted {} (补打) on {}", t.number, target.device_name()),
        Some(e) => return Err(Exit::failed(format!("ticket {} did not print: {e}", t.number))),
    }
    Ok(())
}

pub fn appointment(cli: &Cli, cmd: &crate::AppointmentCmd) -> Result<(), Exit> {
    let mut client = cli.client()?;
    match cmd {
        crate::AppointmentCmd::Add {
            item,
            at,
            phone,
            channel,
            from_case,
        } => {
            let a = client.send(bangban::ops::AppointmentAdd {
                item: item.clone(),
                at: at.clone(),
                phone: phone.clone(),
                channel: channel.clone(),
                from_case: from_case.clone(),
            })?;
            if cli.json {
                print_json(&a);
            } else {
                say!(
                    "预约码 {}  {} · {}  签到 {}–{}  {}",
                    a.code,
                    a.local_time,
                    a.item_name,
                    a.check_in_from,
                    a.check_in_until,
                    a.phone
                );
            }
        }
        crate::AppointmentCmd::List { date } => {
            let bangban::ops::Appointments {
                date: day,
                appointments: list,
            } = client.send(bangban::ops::AppointmentList { date: *date })?;
            if cli.json {
                print_json(&json!({ "date": day.to_string(), "appointments": list }));
            } else if list.is_empty() {
                say!("no appointments on {day}");
            } else {
                for a in list {
                    say!(
                        "{}  {}  {}  {}  {}",
                        a.local_time,
                        a.item_name,
                        a.phone,
                        match a.state.as_str() {
                            "booked" => "已预约",
                            "cancelled" => "已取消",
                            _ => "已签到",
                        },
                        a.number.unwrap_or_default()
                    );
                }
            }
        }
        crate::AppointmentCmd::Cancel { code } => {
            let a = client.send(bangban::ops::AppointmentCancel { code: code.clone() })?;
            if cli.json {
                print_json(&a);
            } else {
                say!("cancelled {} · {}  {}", a.local_time, a.item_name, a.phone);
            }
        }
    }
    Ok(())
}

pub fn check_in(cli: &Cli, code: &str) -> Result<(), Exit> {
    let t = cli.client()?.check_in(&bangban::api::CheckIn {
        code: code.into(),
        phone: None,
    })?;
    if cli.json {
        print_json(&t);
    } else {
        say!(
            "{}  {} · {}  预约优先  前方等待{}人",
            t.number,
            t.department_name,
            t.item_name,
            t.ahead
        );
    }
    Ok(())
}
