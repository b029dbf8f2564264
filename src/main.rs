//! `bangban`: the operators' command line over the ledger library (and the tests' contract).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bangban::access::DeviceRole;
use bangban::api::{Act, Call, HallClient, Issue, PauseWindow, PrintOutcome, SignIn};
use bangban::hall::{import_csv, ImportKind};
use bangban::local::LocalClient;
use bangban::remote::RemoteClient;
use bangban::{CaseAction, Channel, Hall, Ledger, LedgerError, LedgerOptions, Mode};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "bangban",
    version,
    about = "帮办代办 ledger: hall setup, tickets, calls, verification and daily reports"
)]
struct Cli {
    /// The ledger database [default: $BANGBAN_DB, else the per-user data directory]
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long, global = true)]
    json: bool,
    /// How long to wait for another program's write lock, in milliseconds (0 to 600000)
    #[arg(long, global = true, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    busy_timeout_ms: u64,
    /// Who the events are attributed to when no staff id is given
    #[arg(long, global = true, default_value = "cli")]
    actor: String,
    /// Work through the hall server at this URL (http://HOST:PORT) instead of opening a ledger
    /// file; needs --token
    #[arg(long, global = true, env = "BANGBAN_SERVER", value_name = "URL")]
    server: Option<String>,
    /// This device's token, from `bangban device add` on the server host
    #[arg(
        long,
        global = true,
        env = "BANGBAN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// The acting specialist's PIN, for calls, case actions and windows (or BANGBAN_PIN)
    #[arg(long, global = true, env = "BANGBAN_PIN", value_name = "PIN", hide_env_values = true)]
    pin: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the ledger or apply a changed hall file (idempotent)
    Init {
        /// The hall file (TOML): departments, specialists, items, priority groups
        #[arg(long)]
        hall: PathBuf,
    },
    /// The item catalogue with codes
    Items,
    /// Issue a ticket (the kiosk's code path)
    Issue {
        /// The item code, as listed by `bangban items` (F01)
        #[arg(long)]
        item: String,
        /// A priority class code such as elderly, disabled, pregnant, military
        #[arg(long)]
        priority: Option<String>,
        /// How the visitor is served [default: full process for whole-chain items, else on site]
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Where the visitor asked for the ticket
        #[arg(long, value_enum, default_value = "kiosk")]
        channel: ChannelArg,
        /// Issue this many tickets, one JSON line each (load tests and drills; 1 to 100000)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        repeat: u32,
    },
    /// Call the next visitor (or a given number) to a window; exit code 3 when nobody waits
    Call {
        /// The calling window; it must be one of the hall's
        #[arg(long, value_parser = window_number)]
        window: u32,
        /// The specialist calling (the call is attributed to them)
        #[arg(long)]
        staff: String,
        /// Call this number or ticket token instead of the next in line
        #[arg(long)]
        number: Option<String>,
    },
    /// Act on one case: every counter action, by number (today) or ticket token
    Case {
        /// A012, or the token from the ticket's QR code
        case: String,
        /// The window acting [default: the window that called the case]
        #[arg(long, global = true, value_parser = window_number)]
        window: Option<u32>,
        /// The specialist acting (every action is attributed)
        #[arg(long, global = true, default_value = "")]
        staff: String,
        #[command(subcommand)]
        action: CaseCmd,
    },
    /// Today's queue, in calling order
    Waiting {
        /// Only this department's queue (its code, such as SCJ)
        #[arg(long)]
        department: Option<String>,
    },
    /// Recompute the event chain; exit 1 naming the first bad sequence number
    Verify,
    /// The day's ledger (台账) per department
    Report {
        /// The business day, YYYY-MM-DD
        #[arg(long)]
        date: chrono::NaiveDate,
        /// CSV (for Excel) or JSON
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
    },
    /// Replace the specialists or items with a filled-in attachment table (CSV)
    Import {
        /// Which table the file fills in: Attachment 1 (specialists) or 2 (items)
        #[arg(value_enum)]
        what: ImportWhat,
        /// The filled-in table as CSV (UTF-8, with or without a BOM)
        file: PathBuf,
    },
    /// Staff PINs for the counter console
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// Pause or resume a window
    Window {
        /// The window number; it must be one of the hall's
        #[arg(value_parser = window_number)]
        window: u32,
        /// pause: call nobody; resume: open again
        #[arg(value_enum)]
        state: WindowState,
        /// The specialist pausing or resuming it
        #[arg(long)]
        staff: String,
    },
    /// Rebuild the cases table from the event log
    RebuildCases,
    /// A network thermal printer simulator: saves each ticket as text and a PNG preview
    PrinterSim {
        /// The address to listen on (HOST:PORT)
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: String,
        /// Where each printed ticket is saved as ticket-NNN.txt and ticket-NNN.png
        #[arg(long)]
        out: PathBuf,
        /// Report the paper roll as empty
        #[arg(long)]
        paper_out: bool,
        /// Report the cover as open
        #[arg(long)]
        cover_open: bool,
        /// Accept connections but never answer a status request
        #[arg(long)]
        silent: bool,
        /// Read this many bytes of each ticket, then drop the connection (a printer dying
        /// mid-ticket)
        #[arg(long, value_name = "N")]
        die_after_bytes: Option<usize>,
        /// Answer the status request, then close the connection before the ticket (a printer
        /// that resets)
        #[arg(long)]
        close_after_status: bool,
    },
    /// Take a consistent, verified copy of the ledger while the hall is running
    Backup {
        /// The backup file to write (must not exist yet)
        #[arg(long)]
        to: PathBuf,
    },
    /// Serve the ledger to the hall's kiosks, boards, counters and phones over HTTP
    Serve {
        /// The address to listen on, HOST:PORT (port 0 picks a free one)
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Status-page look-ups allowed per client address and minute
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        lookups_per_minute: u32,
    },
    /// A simulated hall day against a fresh `bangban serve` on loopback: kiosks, counters and
    /// boards at speed; prints latencies and memory, then checks numbers, calls and the chain
    Loadtest {
        /// Tickets issued over the day
        #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        tickets: u64,
        /// Counters signed in and calling (at most 325)
        #[arg(long, default_value_t = 320, value_parser = clap::value_parser!(u64).range(1..=325))]
        counters: u64,
        /// Kiosks issuing
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
        kiosks: u64,
        /// Boards following the call stream
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(0..=64))]
        boards: u64,
        /// Simulated seconds per real second
        #[arg(long, default_value_t = 10.0)]
        speed: f64,
        /// Opening hours of the simulated day
        #[arg(long, default_value_t = 8.0)]
        hours: f64,
        /// Stop after this many real minutes whatever is left
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
        max_minutes: u64,
        /// Keep the scratch ledger in this directory [default: a temporary one, removed after]
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Seed of the simulated arrivals
        #[arg(long, default_value_t = 20261127)]
        seed: u64,
    },
    /// Enrol, list and revoke the devices that may reach the server (on the server host)
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Reprint a ticket (marked 补打) and record it in the ledger
    Reprint {
        /// Today's number (A012) or the ticket token
        number: String,
        /// tcp://HOST:PORT, file:PATH, serial:/dev/… [default: the hall file's printer]
        #[arg(long)]
        printer: Option<String>,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Enrol a device and print its token (shown once; only a hash is kept)
    Add {
        /// The device's name, e.g. kiosk-1, board-east, counter-12
        name: String,
        /// What the device may do
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// The enrolled devices, with their roles and whether they are revoked
    List,
    /// Revoke a device: its token stops working at once
    Revoke {
        /// The device's name
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Issues tickets and records print outcomes
    Kiosk,
    /// Reads and follows calls; changes nothing
    Board,
    /// Acts for a specialist signed in on it with their PIN
    Counter,
    /// Every operation (the office's scripts); staff actions still need the PIN
    Admin,
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Set a staff member's PIN (read from --pin or the first line of standard input)
    SetPin {
        /// The staff id (S602)
        staff: String,
        /// (Give the new PIN with the global --pin on the command line, or on standard input:
        /// 6 to 12 digits, not trivial)
        #[arg(long = "new-pin", hide = true)]
        new_pin: Option<String>,
    },
}

#[derive(Subcommand)]
enum CaseCmd {
    /// Show the case and its events
    Show,
    /// Call the number again (重呼)
    Recall,
    /// The visitor arrived at the counter
    Start,
    /// The visitor did not come after a recall (过号)
    NoShow,
    /// Put the case aside at the counter (暂挂)
    Hold,
    /// Take a held case up again
    Resume,
    /// Send the case to another department's queue (转办)
    Transfer {
        /// The receiving department's code
        #[arg(long)]
        department: String,
        /// The receiving window [default: the department's first]
        #[arg(long = "to-window", value_parser = window_number)]
        to_window: Option<u32>,
        /// Why, for the receiving specialist
        #[arg(long)]
        note: Option<String>,
    },
    /// 咨询辅导: record the question and the answer (or defer it)
    Consult {
        /// The visitor's question
        #[arg(long)]
        question: String,
        /// The answer given
        #[arg(long)]
        answer: Option<String>,
        /// The question needs study; it stays open until answered
        #[arg(long)]
        deferred: bool,
    },
    /// Answer a deferred question
    Answer {
        /// The answer given
        #[arg(long)]
        answer: String,
    },
    /// 一次性告知: the materials still missing
    Notify {
        /// A missing material (repeat the flag for each)
        #[arg(long = "missing", required = true)]
        missing: Vec<String>,
    },
    /// The visitor came back with the missing materials
    Returned,
    /// 受理委托: materials handed over and power of attorney signed
    Accept {
        /// A material handed over (repeat the flag for each)
        #[arg(long = "material", required = true)]
        materials: Vec<String>,
        /// The power of attorney (委托书) is signed
        #[arg(long)]
        poa: bool,
    },
    /// Start the proxy work (代办中)
    StartWork,
    /// The result is ready to deliver (办结待交付)
    Ready,
    /// 结果交付 in person, completion slip signed
    Deliver {
        /// The visitor signed the completion slip (办结单)
        #[arg(long)]
        signed: bool,
    },
    /// 结果交付 by post
    Mail {
        /// The postal tracking number
        #[arg(long)]
        tracking: String,
    },
    /// The visitor confirmed receipt of the mailed result
    ConfirmReceipt,
    /// 资料归档
    Archive {
        /// The hand-over and filing note
        #[arg(long)]
        handover: Option<String>,
    },
    /// Cancel the case
    Cancel {
        /// Why (kept in the notes, not in the event log)
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    /// 现场帮办: a specialist helps at the hall
    Onsite,
    /// 网上帮办: help with an online application
    Online,
    /// 全程代办: the specialist handles the whole matter
    Fullprocess,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    /// The lobby kiosk
    Kiosk,
    /// A counter, for a walk-in
    Counter,
    /// A phone request
    Phone,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ReportFormat {
    /// Comma-separated values
    Csv,
    /// One JSON object
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportWhat {
    /// Attachment 1: the specialists (帮办代办专员)
    Specialists,
    /// Attachment 2: the service items (事项清单)
    Items,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum WindowState {
    /// Stop calling at this window
    Pause,
    /// Open the window again
    Resume,
}

/// A window number as typed: 1 to 9999 (whether the hall has it is checked by the ledger).
fn window_number(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(w) if (1..=9999).contains(&w) => Ok(w),
        _ => Err(format!("{s:?} is not a window number (1 to 9999)")),
    }
}

/// Print a line to standard output. When the reader has gone away (`bangban report | head`)
/// the program stops quietly with the shell's broken-pipe status instead of panicking.
macro_rules! say {
    ($($t:tt)*) => { emit(&format!($($t)*)) };
}

fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
        stdout_failed(&e);
    }
}

/// Standard output cannot be written: a closed pipe ends the program as `head` expects, any
/// other failure (a full disk behind a redirect) is an error.
fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(BROKEN_PIPE_EXIT);
    }
    eprintln!("bangban: cannot write to standard output: {e}");
    std::process::exit(1);
}

/// The status a shell reports for a program ended by SIGPIPE (128 + 13).
const BROKEN_PIPE_EXIT: i32 = 141;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<csv::Error>().is_some_and(
                |ce| matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe),
            )
    })
}

/// An error with the exit code it maps to.
struct Exit(u8, anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Exit {
    fn from(e: E) -> Self {
        Exit(1, e.into())
    }
}

fn main() -> ExitCode {
    // Warnings (a clock that stepped back, a printer that failed) go to stderr, never stdout,
    // which carries the JSON a script reads.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let matches = Cli::command().get_matches();
    PIN_ON_COMMAND_LINE.store(
        matches!(
            matches.value_source("pin"),
            Some(clap::parser::ValueSource::CommandLine)
        ),
        std::sync::atomic::Ordering::Relaxed,
    );
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(_, e)) if is_broken_pipe(&e) => std::process::exit(BROKEN_PIPE_EXIT),
        Err(Exit(code, e)) => {
            let msg = format!("{e:#}");
            if json && !PRINTED_JSON.load(std::sync::atomic::Ordering::Relaxed) {
                say!("{}", json!({ "error": msg, "exit": code }));
            }
            eprintln!("bangban: {msg}");
            ExitCode::from(code)
        }
    }
}

/// Whether `--pin` was typed on the command line (not taken from BANGBAN_PIN): only then may
/// `staff set-pin` use it as the new PIN.
static PIN_ON_COMMAND_LINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The hall through the server (`--server`) or the ledger file (`--db`).
fn client(cli: &Cli) -> Result<Box<dyn HallClient>, Exit> {
    match &cli.server {
        Some(url) => Ok(Box::new(RemoteClient::new(url, cli.token.as_deref().unwrap_or(""))?)),
        None => Ok(Box::new(LocalClient::new(open(cli, false)?, &cli.actor))),
    }
}

/// Commands that change the ledger file itself run on the server host only.
fn local_only(cli: &Cli, what: &str) -> Result<(), Exit> {
    if cli.server.is_some() {
        return Err(Exit(
            2,
            anyhow::anyhow!("`bangban {what}` works on the server host with --db, not through --server"),
        ));
    }
    Ok(())
}

/// Sign the acting specialist in at `window` with their PIN (both modes need it).
fn sign_in(cli: &Cli, client: &mut dyn HallClient, staff: &str, window: u32) -> Result<(), Exit> {
    let pin = cli.pin.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
        Exit(
            2,
            anyhow::anyhow!("acting for specialist {staff} needs their PIN: pass --pin or set BANGBAN_PIN"),
        )
    })?;
    client.sign_in(&SignIn {
        staff: staff.to_string(),
        pin,
        window,
    })?;
    Ok(())
}

/// Open the ledger; only `init` may create it, so a mistyped `--db` is an error, not a new empty ledger.
fn open(cli: &Cli, create: bool) -> Result<Ledger, Exit> {
    let path = cli.db.clone().unwrap_or_else(bangban::default_db_path);
    if !create && !path.exists() {
        return Err(Exit(
            1,
            anyhow::anyhow!("no ledger at {}: run `bangban init --hall FILE` first", path.display()),
        ));
    }
    let opts = LedgerOptions {
        busy_timeout: Duration::from_millis(cli.busy_timeout_ms),
        ..LedgerOptions::default()
    };
    Ok(Ledger::open(&path, opts)?)
}

/// Set once a JSON object went to stdout, so an error does not print a second one.
static PRINTED_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn print_json(v: &impl serde::Serialize) {
    PRINTED_JSON.store(true, std::sync::atomic::Ordering::Relaxed);
    say!(
        "{}",
        serde_json::to_string(v).unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string())
    );
}

/// The printed form of a ledger ticket (the kiosk fills in the same fields).
fn print_ticket(t: &bangban::Ticket, reprint: bool) -> bangban_printer::PrintTicket {
    bangban_printer::PrintTicket {
        hall_name: t.hall_name.clone(),
        number: t.number.clone(),
        window: t.window,
        department_name: t.department_name.clone(),
        item_name: t.item_name.clone(),
        priority_name: t.priority_name.clone(),
        mode_label: t.mode.label_zh().into(),
        ahead: t.ahead,
        estimated_wait_min: t.estimated_wait_min,
        issued_local: t.issued_local.clone(),
        materials: t.materials.clone(),
        qr_payload: t.qr_payload.clone(),
        reprint,
    }
}

fn run(cli: Cli) -> Result<(), Exit> {
    match &cli.cmd {
        Cmd::Init { hall } => {
            local_only(&cli, "init")?;
            // Check the file completely before touching the ledger, so a broken file writes nothing.
            let parsed = Hall::from_path(hall)?;
            let mut ledger = open(&cli, true)?;
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
        }
        Cmd::Items => {
            let mut c = client(&cli)?;
            let hall = c.hall()?;
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
        }
        Cmd::Issue {
            item,
            priority,
            mode,
            channel,
            repeat,
        } => {
            let mut c = client(&cli)?;
            let req = Issue {
                item: item.clone(),
                priority: priority.clone(),
                mode: mode.map(|m| match m {
                    ModeArg::Onsite => Mode::Onsite,
                    ModeArg::Online => Mode::Online,
                    ModeArg::Fullprocess => Mode::Fullprocess,
                }),
                channel: match channel {
                    ChannelArg::Kiosk => Channel::Kiosk,
                    ChannelArg::Counter => Channel::Counter,
                    ChannelArg::Phone => Channel::Phone,
                },
            };
            for _ in 0..*repeat {
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
        }
        Cmd::Call { window, staff, number } => {
            let mut c = client(&cli)?;
            sign_in(&cli, c.as_mut(), staff, *window)?;
            let result = c.call(&Call { number: number.clone() });
            let _ = c.sign_out();
            match result {
                Ok(called) => {
                    if cli.json {
                        print_json(&called);
                    } else {
                        say!("{}", called.text);
                    }
                }
                Err(e) if e.kind() == "nobody_waiting" => return Err(Exit(3, anyhow::anyhow!("{e}"))),
                Err(e) => return Err(e.into()),
            }
        }
        Cmd::Case {
            case,
            window,
            staff,
            action,
        } => {
            let mut c = client(&cli)?;
            if let CaseCmd::Show = action {
                let v = c.case(case)?;
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
                return Ok(());
            }
            if staff.is_empty() {
                return Err(Exit(2, anyhow::anyhow!("counter actions need --staff ID")));
            }
            let window = match window {
                Some(w) => *w,
                None => {
                    let current = c.case(case)?.case;
                    current.called_window.unwrap_or(current.window)
                }
            };
            let act = case_action(action);
            sign_in(&cli, c.as_mut(), staff, window)?;
            let result = c.act(&Act {
                case: case.clone(),
                action: act,
            });
            let _ = c.sign_out();
            let done = result?;
            if cli.json {
                print_json(&done);
            } else {
                say!("{} {} ({})", done.number, done.state.label_zh(), done.state.as_str());
            }
        }
        Cmd::Waiting { department } => {
            let mut c = client(&cli)?;
            let depts: Vec<String> = department.iter().cloned().collect();
            let list = c.waiting(&depts)?;
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
        }
        Cmd::Verify => {
            let r = if cli.server.is_some() {
                client(&cli)?.verify()?
            } else {
                let opened = open(&cli, false);
                // A file cut short or overwritten is unreadable to SQLite as a whole: then nothing
                // after the start can be vouched for, and the first bad event is the first one.
                if let Err(Exit(_, e)) = &opened {
                    if let Some(LedgerError::Corrupt(why)) = e.downcast_ref::<LedgerError>() {
                        let problem =
                            format!("the ledger file cannot be read at all (truncated or overwritten): {why}");
                        if cli.json {
                            print_json(&json!({ "ok": false, "first_bad_seq": 1, "problem": problem }));
                        }
                        return Err(Exit(1, anyhow::anyhow!("first bad sequence number 1: {problem}")));
                    }
                }
                opened?.verify()?
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
            }
            if !r.ok {
                let seq = r.first_bad_seq.unwrap_or(0);
                return Err(Exit(
                    1,
                    anyhow::anyhow!("first bad sequence number {seq}: {}", r.problem.unwrap_or_default()),
                ));
            }
        }
        Cmd::Report { date, format } => {
            let r = client(&cli)?.report(*date)?;
            if *format == ReportFormat::Json || cli.json {
                print_json(&r);
            } else {
                let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                w.write_record([
                    "date",
                    "department",
                    "name",
                    "issued",
                    "served",
                    "no_shows",
                    "avg_wait_min",
                    "avg_service_min",
                ])?;
                let f = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
                for d in r.departments.iter().chain(std::iter::once(&r.total)) {
                    w.write_record([
                        r.date.clone(),
                        d.department.clone(),
                        d.name.clone(),
                        d.issued.to_string(),
                        d.served.to_string(),
                        d.no_shows.to_string(),
                        f(d.avg_wait_min),
                        f(d.avg_service_min),
                    ])?;
                }
                w.flush()?;
            }
        }
        Cmd::Import { what, file } => {
            local_only(&cli, "import")?;
            let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let src = bangban::hall::utf8(&bytes, &file.display().to_string())?;
            let mut ledger = open(&cli, false)?;
            let hall = ledger.hall()?;
            let kind = match what {
                ImportWhat::Specialists => ImportKind::Specialists,
                ImportWhat::Items => ImportKind::Items,
            };
            let new = import_csv(&hall, kind, src, &file.display().to_string())?;
            let out = ledger.configure(&new, &cli.actor, &file.display().to_string())?;
            if cli.json {
                print_json(
                    &json!({ "changed": out.changed, "sha256": out.sha256, "specialists": out.specialists, "items": out.items }),
                );
            } else {
                say!(
                    "imported {}: {} specialists, {} items in force",
                    file.display(),
                    out.specialists,
                    out.items
                );
            }
        }
        Cmd::Staff {
            cmd: StaffCmd::SetPin { staff, .. },
        } => {
            local_only(&cli, "staff set-pin")?;
            // Only a PIN typed on this command line is the new PIN: BANGBAN_PIN in the
            // environment is the operator's own and must never become someone else's.
            let typed = PIN_ON_COMMAND_LINE.load(std::sync::atomic::Ordering::Relaxed);
            let pin = match cli.pin.clone().filter(|_| typed) {
                Some(p) => p,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("cannot read the PIN from standard input")?;
                    s.lines().next().unwrap_or("").trim().to_string()
                }
            };
            let mut ledger = open(&cli, false)?;
            ledger.set_pin(staff, &pin, &cli.actor)?;
            if cli.json {
                print_json(&json!({ "staff": staff, "pin_set": true }));
            } else {
                say!("PIN set for {staff}");
            }
        }
        Cmd::Window { window, state, staff } => {
            let mut c = client(&cli)?;
            sign_in(&cli, c.as_mut(), staff, *window)?;
            let paused = *state == WindowState::Pause;
            let result = c.pause_window(&PauseWindow { paused });
            let _ = c.sign_out();
            result?;
            if cli.json {
                print_json(&json!({ "window": window, "paused": paused }));
            } else {
                say!("window {window} {}", if paused { "paused" } else { "open" });
            }
        }
        Cmd::PrinterSim {
            listen,
            out,
            paper_out,
            cover_open,
            silent,
            die_after_bytes,
            close_after_status,
        } => {
            let condition = bangban_printer::sim::Condition {
                paper_out: *paper_out,
                cover_open: *cover_open,
                silent: *silent,
                die_after_bytes: *die_after_bytes,
                close_after_status: *close_after_status,
            };
            eprintln!(
                "printer-sim: listening on {listen}, tickets go to {} ({condition:?})",
                out.display()
            );
            bangban_printer::sim::run(listen, out, condition, |txt, png| {
                say!("{} {}", txt.display(), png.display());
                std::io::stdout().flush().ok();
            })
            .with_context(|| format!("printer-sim cannot listen on {listen}"))?;
        }
        Cmd::Backup { to } => {
            local_only(&cli, "backup")?;
            let ledger = open(&cli, false)?;
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
        }
        Cmd::Serve {
            listen,
            lookups_per_minute,
        } => {
            local_only(&cli, "serve")?;
            let opts = bangban::server::ServeOptions {
                db: cli.db.clone().unwrap_or_else(bangban::default_db_path),
                listen: listen.clone(),
                busy_timeout: Duration::from_millis(cli.busy_timeout_ms),
                lookups_per_minute: *lookups_per_minute,
            };
            bangban::server::serve(opts, |addr| {
                say!("listening on http://{addr}");
            })?;
            eprintln!("bangban: server stopped; the ledger is closed");
        }
        Cmd::Loadtest {
            tickets,
            counters,
            kiosks,
            boards,
            speed,
            hours,
            max_minutes,
            dir,
            seed,
        } => {
            local_only(&cli, "loadtest")?;
            if !(0.1..=3600.0).contains(speed) || !(0.1..=24.0).contains(hours) {
                return Err(Exit(
                    2,
                    anyhow::anyhow!("--speed must be 0.1 to 3600 and --hours 0.1 to 24"),
                ));
            }
            let opts = bangban::loadtest::LoadOptions {
                tickets: *tickets as usize,
                counters: *counters as usize,
                kiosks: *kiosks as usize,
                boards: *boards as usize,
                speed: *speed,
                hours: *hours,
                max_real: Duration::from_secs(max_minutes * 60),
                dir: dir.clone(),
                seed: *seed,
            };
            let ok = bangban::loadtest::run(&opts, &mut std::io::stdout().lock())?;
            if !ok {
                return Err(Exit(
                    1,
                    anyhow::anyhow!("the load test found errors or a broken ledger (see above)"),
                ));
            }
        }
        Cmd::Device { cmd } => {
            local_only(&cli, "device")?;
            let mut ledger = open(&cli, false)?;
            match cmd {
                DeviceCmd::Add { name, role } => {
                    let role = match role {
                        RoleArg::Kiosk => DeviceRole::Kiosk,
                        RoleArg::Board => DeviceRole::Board,
                        RoleArg::Counter => DeviceRole::Counter,
                        RoleArg::Admin => DeviceRole::Admin,
                    };
                    let token = ledger.add_device(name, role, &cli.actor)?;
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
        }
        Cmd::Reprint { number, printer } => {
            let mut c = client(&cli)?;
            let hall = c.hall()?;
            let spec = printer.clone().unwrap_or_else(|| hall.printer.clone());
            let target = bangban_printer::PrinterTarget::parse(&spec).map_err(anyhow::Error::msg)?;
            if target == bangban_printer::PrinterTarget::None {
                return Err(Exit(
                    1,
                    anyhow::anyhow!(
                        "no printer configured: pass --printer tcp://HOST:9100 or set printer in the hall file"
                    ),
                ));
            }
            let t = c.ticket(number)?;
            let job = print_ticket(&t, true);
            let result = bangban_printer::print(&target, &job);
            let error = result.as_ref().err().map(|e| e.to_string());
            c.record_print(&PrintOutcome {
                case_id: t.case_id,
                printer: target.device_name(),
                error: error.clone(),
                reprint: true,
            })?;
            match error {
                None => {
                    if cli.json {
                        print_json(&json!({ "number": t.number, "reprinted": true, "printer": target.device_name() }));
                    } else {
                        say!("reprinted {} (补打) on {}", t.number, target.device_name());
                    }
                }
                Some(e) => return Err(Exit(1, anyhow::anyhow!("ticket {} did not print: {e}", t.number))),
            }
        }
        Cmd::RebuildCases => {
            local_only(&cli, "rebuild-cases")?;
            let mut ledger = open(&cli, false)?;
            let before = ledger.verify()?;
            if !before.ok
                && before
                    .problem
                    .as_deref()
                    .map(|p| !p.contains("cases table"))
                    .unwrap_or(true)
            {
                return Err(Exit(
                    1,
                    anyhow::anyhow!("the event log itself does not verify; refusing to rebuild from it"),
                ));
            }
            let n = ledger.rebuild_cases()?;
            say!("rebuilt {n} cases from the event log");
        }
    }
    std::io::stdout().flush().ok();
    Ok(())
}

/// The library's action for a `bangban case` subcommand.
fn case_action(action: &CaseCmd) -> CaseAction {
    match action {
        CaseCmd::Show => unreachable!("show is handled before any action"),
        CaseCmd::Recall => CaseAction::Recall,
        CaseCmd::Start => CaseAction::Start,
        CaseCmd::NoShow => CaseAction::NoShow,
        CaseCmd::Hold => CaseAction::Hold,
        CaseCmd::Resume => CaseAction::Resume,
        CaseCmd::Transfer {
            department,
            to_window,
            note,
        } => CaseAction::Transfer {
            department: department.clone(),
            window: *to_window,
            note: note.clone(),
        },
        CaseCmd::Consult {
            question,
            answer,
            deferred,
        } => CaseAction::Consult {
            question: question.clone(),
            answer: answer.clone(),
            resolved: !deferred,
        },
        CaseCmd::Answer { answer } => CaseAction::Answer { answer: answer.clone() },
        CaseCmd::Notify { missing } => CaseAction::NotifyMissing {
            missing: missing.clone(),
        },
        CaseCmd::Returned => CaseAction::MaterialsReturned,
        CaseCmd::Accept { materials, poa } => CaseAction::Accept {
            materials: materials.clone(),
            power_of_attorney: *poa,
        },
        CaseCmd::StartWork => CaseAction::StartWork,
        CaseCmd::Ready => CaseAction::Ready,
        CaseCmd::Deliver { signed } => CaseAction::DeliverInPerson {
            completion_slip_signed: *signed,
        },
        CaseCmd::Mail { tracking } => CaseAction::Mail {
            tracking: tracking.clone(),
        },
        CaseCmd::ConfirmReceipt => CaseAction::ConfirmReceipt,
        CaseCmd::Archive { handover } => CaseAction::Archive {
            handover: handover.clone(),
        },
        CaseCmd::Cancel { reason } => CaseAction::Cancel { reason: reason.clone() },
    }
}
