//! The management office's commands: verifying the ledger and the day's report (台账).

use std::io::{IsTerminal, Write};

use bangban::LedgerError;
use serde_json::json;

use crate::out::{print_json, say, Exit};
use crate::{Cli, ReportFormat};

pub fn verify(cli: &Cli, witness_files: &[std::path::PathBuf]) -> Result<(), Exit> {
    if cli.server.is_some() && !witness_files.is_empty() {
        return Err(Exit::usage(
            "`bangban verify --witness` reads the ledger file: run it on the server host with --db (copy the witness files there)",
        ));
    }
    // A witness file that cannot be read is a usage error, before the long verify runs.
    let mut witnessed = Vec::new();
    for f in witness_files {
        witnessed.push((
            f.display().to_string(),
            bangban::witness::read(f).map_err(|e| Exit(2, e.into()))?,
        ));
    }
    let r = if cli.server.is_some() {
        if !witnessed.is_empty() {
            // The server answers whether its chain is sound; whether a witnessed head is still
            // in it is read from the file itself.
            return Err(Exit::usage(
                "--witness is checked against the ledger file: run `bangban verify --witness FILE` on the ledger's host (--db)",
            ));
        }
        cli.client()?.verify()?
    } else {
        match bangban::open_to_verify(&cli.db_path(), cli.ledger_options()).map_err(|e| Exit(1, e.into())) {
            Ok(mut ledger) => {
                let mut r = ledger.verify_with(&mut progress_bar())?;
                if r.ok {
                    for (file, heads) in &witnessed {
                        if let Some(bad) = ledger.check_witness(file, heads, &r)? {
                            r = bad;
                            break;
                        }
                    }
                }
                r
            }
            // A file cut short or overwritten is unreadable to SQLite as a whole: then nothing
            // after the start can be vouched for, and the first bad event is the first one.
            Err(Exit(_, e)) => match e.downcast_ref::<LedgerError>() {
                Some(LedgerError::Corrupt(why)) => {
                    let problem = format!("the ledger file cannot be read at all (truncated or overwritten): {why}");
                    if cli.json {
                        print_json(&json!({ "ok": false, "first_bad_seq": 1, "problem": problem,
                            "finding": { "kind": "unreadable", "seq": 1, "table": null, "row": null, "field": null } }));
                    }
                    return Err(Exit::failed(format!("first bad sequence number 1: {problem}")));
                }
                _ => return Err(Exit(1, e)),
            },
        }
    };
    if cli.json {
        print_json(&r);
    } else if r.ok {
        say!(
            "ledger intact: {} events, {} cases, chain head {}",
            r.events,
            r.cases,
            r.head_seq
        );
        for (file, heads) in &witnessed {
            say!("witness {file}: {} chain heads, all in the chain", heads.len());
        }
    }
    if !r.ok {
        let seq = r.first_bad_seq.unwrap_or(0);
        return Err(Exit::failed(format!(
            "first bad sequence number {seq}: {}",
            r.problem.unwrap_or_default()
        )));
    }
    Ok(())
}

/// A progress bar on standard error when it is a terminal (a year of events takes a while),
/// nothing otherwise: scripts read the result, not the bar.
fn progress_bar() -> impl FnMut(i64, i64) {
    let on = std::io::stderr().is_terminal();
    let mut shown = -1i64;
    move |done, total| {
        if !on || total <= 0 {
            return;
        }
        let pct = done * 100 / total;
        if pct == shown {
            return;
        }
        shown = pct;
        let width = 30;
        let filled = (pct * width / 100) as usize;
        eprint!(
            "\rverifying [{}{}] {pct:>3}%  {done} of {total} events",
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        );
        if done >= total {
            eprint!("\r{}\r", " ".repeat(80));
        }
    }
}

pub fn report(
    cli: &Cli,
    period: &crate::Period,
    format: ReportFormat,
    out: Option<&std::path::Path>,
    chart: Option<&std::path::Path>,
) -> Result<(), Exit> {
    if format == ReportFormat::Xlsx && out.is_none() {
        return Err(Exit::usage("an XLSX report needs --out FILE.xlsx"));
    }
    let mut c = cli.client()?;
    // Today is the hall's business day (its time zone, and BANGBAN_NOW in drills).
    let (from, to) = period.days(bangban::clock::business_day(
        bangban::clock::from_env().now(),
        c.hall()?.tz(),
    ));
    let figures = Exit::usage_if_invalid(c.figures(from, to))?;
    let bytes = match format {
        _ if cli.json => (serde_json::to_string(&figures)? + "\n").into_bytes(),
        ReportFormat::Json => (serde_json::to_string(&figures)? + "\n").into_bytes(),
        ReportFormat::Csv => crate::sheets::figures_csv(&figures)?.into_bytes(),
        ReportFormat::Xlsx => crate::sheets::figures_xlsx(&figures)?,
    };
    if let Some(png) = chart {
        crate::sheets::hourly_png(&figures, png).map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", png.display()))?;
    }
    emit(out, &bytes)?;
    if let (Some(path), false) = (out, cli.json) {
        eprintln!("bangban: wrote the report for {from} to {to} to {}", path.display());
    }
    Ok(())
}

/// `bangban report --all-halls`: the same figures for every hall of a PostgreSQL database, each
/// hall's period in its own time zone, for the city office that oversees the district centres.
pub fn report_all_halls(
    cli: &Cli,
    period: &crate::Period,
    format: ReportFormat,
    out: Option<&std::path::Path>,
) -> Result<(), Exit> {
    cli.local_only("report --all-halls")?;
    let url = match (&cli.store, &cli.db) {
        (Some(url), _) => url.clone(),
        (None, Some(db)) if bangban::ledger::is_pg_url(&db.display().to_string()) => db.display().to_string(),
        _ => return Err(Exit::usage(
            "--all-halls reads every hall of a PostgreSQL database: give --store URL (a ledger file holds one hall)",
        )),
    };
    let mut at = bangban::ledger::PgAt::parse(&url)?;
    if at.hall.is_some() {
        return Err(Exit::usage(
            "--all-halls: leave ?hall= out of the URL (every hall of the database is reported)",
        ));
    }
    if format == ReportFormat::Xlsx {
        return Err(Exit::usage(
            "--all-halls writes CSV (a first `hall` column) or JSON; for one hall's workbook add ?hall=CODE and drop --all-halls",
        ));
    }
    let halls = bangban::ledger::pg::halls_of(&at)?;
    if halls.is_empty() {
        return Err(Exit::failed(format!(
            "{} holds no hall yet: `bangban init --hall FILE --store URL?hall=CODE` registers one",
            at.shown()
        )));
    }
    use bangban::api::HallClient as _;
    let mut entries = Vec::new();
    let mut csv = String::new();
    for code in &halls {
        at.hall = Some(code.clone());
        let path = std::path::PathBuf::from(at.url_with_hall());
        let ledger = match bangban::open_existing(&path, cli.ledger_options()) {
            Ok(l) => l,
            // Registered a moment ago, its hall file not applied yet: nothing to report.
            Err(LedgerError::NotInitialised(_)) => {
                eprintln!("bangban: hall {code} has no hall configuration yet; left out");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut c = bangban::local::LocalClient::new(ledger, &cli.actor);
        let hall = c.hall()?;
        let (from, to) = period.days(bangban::clock::business_day(
            bangban::clock::from_env().now(),
            hall.tz(),
        ));
        let figures = Exit::usage_if_invalid(c.figures(from, to))?;
        if format == ReportFormat::Csv && !cli.json {
            // One table: each hall's rows with its code first, one header for all.
            let text = crate::sheets::figures_csv(&figures)?;
            for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
                if i == 0 {
                    if csv.is_empty() {
                        csv.push('\u{feff}');
                        csv.push_str("hall,");
                        csv.push_str(line);
                        csv.push('\n');
                    }
                    continue;
                }
                csv.push_str(code);
                csv.push(',');
                csv.push_str(line);
                csv.push('\n');
            }
        }
        entries.push(serde_json::json!({ "hall": code, "name": hall.name, "figures": figures }));
    }
    let bytes = if cli.json || format == ReportFormat::Json {
        (serde_json::to_string(&serde_json::json!({ "halls": entries }))? + "\n").into_bytes()
    } else {
        csv.into_bytes()
    };
    emit(out, &bytes)?;
    if let (Some(path), false) = (out, cli.json) {
        eprintln!(
            "bangban: wrote the report of {} halls ({}) to {}",
            halls.len(),
            halls.join(", "),
            path.display()
        );
    }
    Ok(())
}

/// Write to the file (atomically) or to standard output.
fn emit(out: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => write_atomically(path, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            Ok(stdout.flush()?)
        }
    }
}

/// Written beside, then renamed: a full disk or a crash never leaves half a file.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        })
}

/// 日结: close a business day on the server host and file its report beside the ledger.
/// 培训记录: a specialist's training, recorded by the office.
pub fn training_add(cli: &Cli, staff: &str, date: &str, course: &str, hours: f64) -> Result<(), Exit> {
    let added = cli.send(bangban::ops::TrainingAdd {
        staff: staff.into(),
        date: date.into(),
        course: course.into(),
        hours,
    })?;
    if cli.json {
        print_json(&json!({ "seq": added.seq, "staff": staff, "date": date, "hours": hours }));
    } else {
        say!(
            "recorded the training of {staff} on {date} ({hours} h) as event #{}",
            added.seq
        );
    }
    Ok(())
}

pub fn close_day(cli: &Cli, date: Option<chrono::NaiveDate>, out_dir: Option<&std::path::Path>) -> Result<(), Exit> {
    let mut client = cli.client()?;
    let closed = match client.send(bangban::ops::CloseDay { date }) {
        Err(e) if e.kind() == bangban::ErrorKind::DayClosed => return Err(Exit(2, e.into())),
        r => r?,
    };
    let day: chrono::NaiveDate = closed
        .business_day
        .parse()
        .map_err(|_| Exit::failed(format!("the hall answered an unreadable day {:?}", closed.business_day)))?;
    let dir = match (out_dir, &cli.server) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(_)) => "reports".into(),
        (None, None) => cli
            .db_path()
            .parent()
            .map(|p| p.join("reports"))
            .unwrap_or_else(|| "reports".into()),
    };
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let csv_path = dir.join(format!("report-{day}.csv"));
    write_atomically(&csv_path, crate::sheets::figures_csv(&closed.report)?.as_bytes())?;
    let json_path = dir.join(format!("report-{day}.json"));
    write_atomically(
        &json_path,
        (serde_json::to_string_pretty(&closed.report)? + "\n").as_bytes(),
    )?;
    let xlsx_path = dir.join(format!("report-{day}.xlsx"));
    write_atomically(&xlsx_path, &crate::sheets::figures_xlsx(&closed.report)?)?;
    // The day's registers, with the notes' text, a sheet each: what the office prints and files.
    let mut registers = Vec::new();
    for kind in bangban::RecordKind::ALL {
        registers.push((
            kind,
            client.send(bangban::ops::Records {
                kind,
                from: day,
                to: day,
            })?,
        ));
    }
    let registers_path = dir.join(format!("registers-{day}.xlsx"));
    write_atomically(&registers_path, &crate::sheets::registers_xlsx(&registers, day, day)?)?;
    let files = [&csv_path, &json_path, &xlsx_path, &registers_path];
    if cli.json {
        let mut v = serde_json::to_value(&closed)?;
        v["files"] = json!(files);
        print_json(&v);
    } else {
        say!("closed {day}: {} tickets expired", closed.expired);
        say!(
            "chain head at the close: seq {} hash {}",
            closed.head_seq,
            closed.head_hash
        );
        say!(
            "anchor (file it with the day's records): seq {} hash {}",
            closed.anchor_seq,
            closed.anchor_hash
        );
        say!("figures sha256 {}", closed.figures_sha256);
        for f in files {
            say!("wrote {}", f.display());
        }
    }
    Ok(())
}

/// A register (登记) of the rules: consultations, notifications, acceptances, deliveries, mail,
/// archives or transfers, with the notes' text. On the server host: the notes hold personal data.
pub fn records(
    cli: &Cli,
    kind: bangban::RecordKind,
    period: &crate::Period,
    format: crate::RecordsFormat,
    out: Option<&std::path::Path>,
) -> Result<(), Exit> {
    use crate::RecordsFormat as F;
    if format == F::Xlsx && out.is_none() {
        return Err(Exit::usage("an XLSX register needs --out FILE.xlsx"));
    }
    let mut client = cli.client()?;
    let hall = client.hall()?;
    let (from, to) = period.days(bangban::clock::business_day(
        bangban::clock::from_env().now(),
        hall.tz(),
    ));
    let rows = Exit::usage_if_invalid(client.send(bangban::ops::Records { kind, from, to }))?;
    let bytes = match format {
        _ if cli.json => (serde_json::to_string(&rows)? + "\n").into_bytes(),
        F::Text => {
            let period = if from == to {
                from.to_string()
            } else {
                format!("{from} 至 {to}")
            };
            let mut t = format!(
                "{}（{}） {period}  共 {} 条\n",
                kind.title_zh(),
                kind.as_str(),
                rows.len()
            );
            for r in &rows {
                t.push_str(&format!(
                    "{}  {} {}  {}·{}  {} {}{}  {}{}\n",
                    r.time,
                    r.channel,
                    r.number,
                    r.department,
                    r.item,
                    r.staff,
                    r.staff_name,
                    r.window.map(|w| format!(" {w}号窗口")).unwrap_or_default(),
                    r.what,
                    if r.detail.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", r.detail)
                    }
                ));
            }
            t.into_bytes()
        }
        F::Csv => crate::sheets::records_csv(&rows)?.into_bytes(),
        F::Xlsx => crate::sheets::records_xlsx(kind, from, to, &rows)?,
    };
    emit(out, &bytes)?;
    Ok(())
}

/// 好差评 for the national platform (`bangban export ratings`): every rating of the period with
/// channel, level, time, item, case number, department, specialist, reasons and follow-up.
pub fn export_ratings(
    cli: &Cli,
    period: &crate::Period,
    format: Option<crate::ExportFormat>,
    out: Option<&std::path::Path>,
) -> Result<(), Exit> {
    use crate::ExportFormat as F;
    let mut client = cli.client()?;
    let hall = client.hall()?;
    let (from, to) = period.days(bangban::clock::business_day(
        bangban::clock::from_env().now(),
        hall.tz(),
    ));
    let rows = Exit::usage_if_invalid(client.send(bangban::ops::RatingsExport { from, to }))?;
    let csv_file = out
        .and_then(|o| o.extension())
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let format = format.unwrap_or(if csv_file { F::Csv } else { F::Json });
    let bytes = match format {
        F::Json => (serde_json::to_string_pretty(&rows)? + "\n").into_bytes(),
        F::Csv => crate::sheets::ratings_csv(&rows)?.into_bytes(),
    };
    emit(out, &bytes)?;
    if out.is_some() && !cli.json {
        say!("wrote {} ratings of {from} to {to}", rows.len());
    }
    Ok(())
}

/// Attachment 1 or 2 in the official layout, for filing with the centre (登记备案).
pub fn export(
    cli: &Cli,
    kind: bangban::hall::ImportKind,
    out: Option<&std::path::Path>,
    department: Option<&str>,
    period: &crate::Period,
) -> Result<(), Exit> {
    let Some(out) = out else {
        return Err(Exit::usage(
            "an attachment is written to a file: give --out FILE.xlsx (or FILE.csv with --department)",
        ));
    };
    let (date, other) = (period.date(), period.days(chrono::NaiveDate::MIN));
    if date.is_none() && other.0 != chrono::NaiveDate::MIN {
        return Err(Exit::usage(
            "an attachment carries one date: give --date, not --from/--to",
        ));
    }
    let mut c = cli.client()?;
    let hall = c.hall()?;
    let date = date.unwrap_or_else(|| bangban::clock::business_day(bangban::clock::from_env().now(), hall.tz()));
    crate::args::known_department(&hall, department)?;
    let departments: Vec<&str> = match department {
        Some(d) => vec![d],
        None => hall.departments.iter().map(|d| d.code.as_str()).collect(),
    };
    let forms: Vec<_> = departments
        .iter()
        .filter_map(|d| bangban::attachments::form(&hall, kind, d, date))
        .collect();
    let csv = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let bytes = if csv {
        match forms.as_slice() {
            [one] => crate::sheets::attachment_csv(one)?.into_bytes(),
            _ => {
                return Err(Exit::usage(
                    "a CSV file holds one department's form: give --department CODE, or write FILE.xlsx for every department",
                ))
            }
        }
    } else {
        crate::sheets::attachment_xlsx(&forms)?
    };
    write_atomically(out, &bytes)?;
    let rows: usize = forms.iter().map(|f| f.rows.len()).sum();
    if cli.json {
        print_json(&json!({ "out": out, "attachment": kind.attachment(), "departments": forms.len(), "rows": rows }));
    } else {
        say!(
            "wrote {} ({}: {} {}, {rows} rows, dated {date}) to {}",
            kind.attachment(),
            kind.title(),
            forms.len(),
            if forms.len() == 1 { "department" } else { "departments" },
            out.display()
        );
    }
    Ok(())
}

/// What is overdue or due soon, most overdue first (the office's and the departments' list).
pub fn overdue(cli: &Cli, department: Option<&str>) -> Result<(), Exit> {
    let mut client = cli.client()?;
    let hall = client.hall()?;
    crate::args::known_department(&hall, department)?;
    let list = client.overdue(department)?;
    if cli.json {
        print_json(&json!({ "items": list }));
        return Ok(());
    }
    if list.is_empty() {
        say!("nothing overdue or due soon");
        return Ok(());
    }
    let local = |s: &str| bangban::clock::local_minute(s, hall.tz()).unwrap_or_default();
    for o in &list {
        if o.kind == bangban::ledger::DeadlineKind::UnclosedDay {
            say!(
                "超期    {:<14} {}  the day was not closed: `bangban close-day --date {}` (the server closes it at the next opening)",
                o.kind.label_zh(),
                o.business_day,
                o.business_day
            );
            continue;
        }
        say!(
            "{}  {:<14} {}/{} {}{}  {}  since {}  due {}",
            match (o.overdue, o.kind) {
                (true, _) => "超期  ",
                (
                    false,
                    bangban::ledger::DeadlineKind::PriorityArrived | bangban::ledger::DeadlineKind::PartUnclaimed,
                ) => "待处理  ",
                (false, _) => "即将到期",
            },
            o.kind.label_zh(),
            o.business_day,
            o.number,
            o.department,
            o.material.as_deref().map(|m| format!(" 缺 {m}")).unwrap_or_default(),
            o.owner.as_deref().unwrap_or("-"),
            local(&o.since),
            local(&o.due)
        );
    }
    Ok(())
}

/// 好差评: a visit's rating, once; a bad one opens the coordinator's follow-up.
pub fn rate(cli: &Cli, case: &str, level: u8, channel: &str) -> Result<(), Exit> {
    let rated = cli.send(bangban::ops::RateVisit {
        case: case.to_string(),
        level,
        channel: channel.to_string(),
    })?;
    if cli.json {
        print_json(&rated);
    } else {
        let words = ["", "非常不满意", "不满意", "一般", "满意", "非常满意"][level as usize];
        say!("{} rated {level} ({words})", rated.number);
        if rated.follow_up_open {
            say!(
                "a follow-up is open for the department's coordinator: `bangban case {} rating-reply --reply …`",
                rated.number
            );
        }
    }
    Ok(())
}

/// 找茬吐槽 / 意见箱 / 合理化建议: record, reply, list.
pub fn feedback(cli: &Cli, cmd: &crate::FeedbackCmd) -> Result<(), Exit> {
    let mut client = cli.client()?;
    let hall = client.hall()?;
    let local = |s: &str| bangban::clock::local_minute(s, hall.tz()).unwrap_or_default();
    match cmd {
        crate::FeedbackCmd::Add {
            kind,
            category,
            department,
            window,
            text,
            channel,
        } => {
            crate::args::known_department(&hall, department.as_deref())?;
            let kind = bangban::FeedbackKind::parse(kind).ok_or_else(|| {
                Exit::usage(format!(
                    "--kind {kind:?}: use complaint, suggestion or department_suggestion"
                ))
            })?;
            let f = client.send(bangban::ops::FeedbackAdd {
                feedback: bangban::NewFeedback {
                    kind,
                    category: category.clone(),
                    department: department.clone(),
                    window: *window,
                    channel: channel.clone(),
                    text: text.clone(),
                },
            })?;
            if cli.json {
                print_json(&f);
            } else {
                say!(
                    "#{} {} · {}  reply due {}",
                    f.id,
                    f.kind.label_zh(),
                    f.category_name,
                    local(&f.due)
                );
            }
        }
        crate::FeedbackCmd::Reply {
            id,
            reply,
            staff,
            window,
        } => {
            // The replier proves who they are with their PIN, at a window of their department.
            let window = match window {
                Some(w) => *w,
                None => hall
                    .specialist(staff)
                    .and_then(|s| hall.department(&s.department))
                    .and_then(|d| d.windows.first().copied())
                    .ok_or_else(|| Exit::usage(format!("unknown staff {staff:?}")))?,
            };
            cli.sign_in(client.as_mut(), staff, window)?;
            let f = client.send(bangban::ops::FeedbackReply {
                id: *id,
                reply: reply.clone(),
            });
            let _ = client.sign_out();
            let f = f?;
            if cli.json {
                print_json(&f);
            } else {
                say!("#{} replied by {staff}", f.id);
            }
        }
        crate::FeedbackCmd::List { open, department } => {
            crate::args::known_department(&hall, department.as_deref())?;
            let list = client.send(bangban::ops::FeedbackList {
                open: *open,
                department: department.clone(),
            })?;
            if cli.json {
                print_json(&json!({ "items": list }));
            } else if list.is_empty() {
                say!("nothing to list");
            } else {
                for f in list {
                    say!(
                        "#{} {} {} · {} {}{}  {}  due {}  {}",
                        f.id,
                        local(&f.received_at),
                        f.kind.label_zh(),
                        f.category_name,
                        f.department.as_deref().unwrap_or("-"),
                        f.window.map(|w| format!(" {w}号窗口")).unwrap_or_default(),
                        f.text.as_deref().unwrap_or(""),
                        local(&f.due),
                        match (&f.replied_by, &f.reply) {
                            (Some(by), Some(r)) => format!("已回复（{by}）：{r}"),
                            _ => "待回复".to_string(),
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

/// A form of a case as an A4 PDF (`bangban form KIND CASE --out FILE.pdf`): its words from
/// the ledger (the signed ones once the visitor signed on the pad), drawn here; with
/// `--server`, read through the server. `bangban form verify FILE.pdf` checks a signed PDF.
pub fn form(cli: &Cli, kind: &str, case: &str, out: Option<&std::path::Path>, unsigned: bool) -> Result<(), Exit> {
    if kind == "verify" {
        return form_verify(cli, std::path::Path::new(case));
    }
    let kind = bangban_forms::FormKind::parse(kind).ok_or_else(|| Exit::usage(format!("no form {kind:?}")))?;
    let out = out.ok_or_else(|| Exit::usage("bangban form KIND CASE needs --out FILE.pdf".to_string()))?;
    let mut c = cli.client()?;
    let hall = c.hall()?;
    let signed = if unsigned {
        None
    } else {
        c.send(bangban::ops::SignedFormFind {
            seq: None,
            kind: Some(kind),
            case: Some(case.to_string()),
        })?
    };
    let (pdf, case_ref, seq) = match &signed {
        Some(s) => (bangban_forms::render_signed(s, &hall)?, s.case_ref.clone(), Some(s.seq)),
        None => {
            let content = c.send(bangban::ops::FormShow {
                kind,
                case: case.to_string(),
            })?;
            (bangban_forms::render(&content, None)?, content.case_ref, None)
        }
    };
    write_atomically(out, &pdf)?;
    if cli.json {
        print_json(
            &json!({ "out": out, "form": kind.as_str(), "case": case_ref, "bytes": pdf.len(), "signed_seq": seq }),
        );
    } else {
        say!(
            "wrote the {}（{}）of {} to {}{}",
            kind.title(),
            kind.as_str(),
            case_ref,
            out.display(),
            match seq {
                Some(s) => format!(", as the visitor signed it (event {s})"),
                None => String::new(),
            }
        );
    }
    Ok(())
}

fn local_minute(at: &str, hall: &bangban::Hall) -> String {
    bangban::clock::local_minute(at, hall.tz()).unwrap_or_else(|| at.to_string())
}

/// `bangban form verify FILE.pdf`: the signed form the file names, made again from the ledger,
/// must be the file byte for byte.
fn form_verify(cli: &Cli, file: &std::path::Path) -> Result<(), Exit> {
    let pdf = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let name = file.display().to_string();
    let Some((seq, form_sha256)) = bangban_forms::signed_mark(&pdf) else {
        return Err(Exit::failed(format!(
            "{name}: not a form signed on bangban's signature pad (no signing mark in it)"
        )));
    };
    let mut c = cli.client()?;
    let hall = c.hall()?;
    let signed = match c.send(bangban::ops::SignedFormFind {
        seq: Some(seq),
        kind: None,
        case: None,
    }) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(Exit::failed(format!(
                "{name}: the ledger has no signed form of event {seq}"
            )))
        }
        Err(e) => return Err(Exit::failed(format!("{name}: {e}"))),
    };
    if signed.form_sha256 != form_sha256 {
        return Err(Exit::failed(format!(
            "{name}: names event {seq}, whose form has another hash: the file was altered"
        )));
    }
    bangban_forms::verify(&pdf, &signed, &hall, &name).map_err(|e| Exit::failed(format!("{e}")))?;
    if cli.json {
        print_json(
            &json!({ "file": file, "valid": true, "seq": seq, "case": signed.case_ref, "form": signed.content.kind.as_str(), "signed_at": signed.at }),
        );
    } else {
        say!(
            "{name}: the {} of case {} as signed on the pad in event {seq} ({}), unaltered",
            signed.content.title,
            signed.case_ref,
            local_minute(&signed.at, &hall)
        );
    }
    Ok(())
}
