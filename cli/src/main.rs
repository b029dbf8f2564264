//! `bangban`: the operators' command line over the ledger library (and the tests' contract).
//! This file only declares the commands; each one is a function in `commands/`.

mod args;
mod commands;
mod context;
mod loadtest;
mod out;
mod sheets;

use std::path::PathBuf;
use std::process::ExitCode;

use bangban::access::DeviceRole;
use bangban::hall::ImportKind;
use bangban::{Channel, Mode};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::json;

use args::{one_of, window_number, CaseArg};

/// mimalloc instead of the system allocator: `verify` over a year of events and the server's
/// many threads allocate small strings by the million, where glibc's arenas cost a third of
/// the time (measured: verify of 6.4M events 20.2 s → 13.9 s).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use out::{say, Exit};

#[derive(Parser)]
#[command(
    name = "bangban",
    version,
    about = "帮办代办 ledger: hall setup, tickets, calls, verification and daily reports"
)]
pub struct Cli {
    /// The ledger database [default: $BANGBAN_DB, else the per-user data directory]
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// The hall in a PostgreSQL database instead of a ledger file (postgres://USER@HOST/DB?hall=CODE;
    /// `hall=` may be left out when the database holds one hall): accepted wherever --db is
    #[arg(
        long,
        global = true,
        env = "BANGBAN_STORE",
        value_name = "URL",
        conflicts_with = "db"
    )]
    pub store: Option<String>,
    /// Print one JSON object instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// How long to wait for another program's write lock, in milliseconds (0 to 600000)
    #[arg(long, global = true, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub busy_timeout_ms: u64,
    /// Who the events are attributed to when no staff id is given
    #[arg(long, global = true, default_value = "cli")]
    pub actor: String,
    /// Work through the hall server at this URL (http://HOST:PORT) instead of opening a ledger
    /// file; needs --token
    #[arg(long, global = true, env = "BANGBAN_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// This device's token, from `bangban device add` on the server host
    #[arg(
        long,
        global = true,
        env = "BANGBAN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Read this device's token from a file (mode 600) instead: nothing secret on the command
    /// line, where every user of the machine can read it
    #[arg(long, global = true, env = "BANGBAN_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust only this CA (PEM, from `bangban ca export` on the server host) for an https://
    /// --server: the hall's own CA
    #[arg(long, global = true, env = "BANGBAN_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The acting specialist's PIN, for calls, case actions and windows (or BANGBAN_PIN)
    #[arg(long, global = true, env = "BANGBAN_PIN", value_name = "PIN", hide_env_values = true)]
    pub pin: Option<String>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Create the ledger or apply a changed hall file (idempotent). Runs on the ledger's host
    /// only (--db), never through --server
    Init {
        /// The hall file (TOML): departments, specialists, items, priority groups
        #[arg(long)]
        hall: PathBuf,
        /// Remove the people and items the file leaves out even when cases refer to them or
        /// they were imported (Attachment 1 or 2) since the last hall file
        #[arg(long)]
        drop: bool,
    },
    /// The hall in force, as the ledger owns it (hall file and imports)
    Hall {
        #[command(subcommand)]
        cmd: HallCmd,
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
        /// How the visitor is served: onsite (现场帮办), online (网上帮办), fullprocess (全程代办)
        /// [default: fullprocess for whole-chain items, else onsite]
        #[arg(long, value_parser = one_of(&Mode::ALL, Mode::as_str))]
        mode: Option<Mode>,
        /// Where the visitor asked for the ticket: kiosk, counter (a walk-in) or phone
        #[arg(long, default_value = "kiosk", value_parser = one_of(&Channel::ALL, Channel::as_str))]
        channel: Channel,
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
    /// Open a case without a ticket: a phone consultation (来电咨询), online help (网上帮办)
    /// or a key project's early intervention (提前介入); the specialist owns it
    OpenCase {
        /// The item's code (A01)
        #[arg(long)]
        item: String,
        /// phone (with --question [--answer]), online, or intervention (with --project)
        #[arg(long, value_parser = one_of(&[Channel::Phone, Channel::Online, Channel::Intervention], Channel::as_str))]
        channel: Channel,
        /// The key project's name (kept as a note)
        #[arg(long)]
        project: Option<String>,
        /// The caller's question (kept as a note)
        #[arg(long)]
        question: Option<String>,
        /// The answer given; without it the question is deferred (待研究)
        #[arg(long)]
        answer: Option<String>,
        /// The caller's number for the call-back (来电; kept as personal data, shown masked)
        #[arg(long)]
        caller_phone: Option<String>,
        /// The specialist's window
        #[arg(long, value_parser = window_number)]
        window: u32,
        /// The specialist who opens the case and owns it
        #[arg(long)]
        staff: String,
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
        /// With `notify` (or `show` of a case awaiting materials): print the one-time
        /// notification slip (一次性告知书) on this printer (tcp://HOST:9100, file:/dev/usb/lp0)
        #[arg(long, global = true, value_name = "PRINTER")]
        print: Option<String>,
        #[command(subcommand)]
        action: CaseArg,
    },
    /// Today's queue, in calling order
    Waiting {
        /// Only this department's queue (its code, such as SCJ)
        #[arg(long)]
        department: Option<String>,
    },
    /// Recompute the event chain; exit 1 naming the first bad sequence number
    Verify {
        /// A witness file of chain heads a board, console, kiosk or this CLI has seen (each
        /// program keeps one; see ARCHITECTURE.md): each head must still be in the chain.
        /// Repeat the flag for several files
        #[arg(long, value_name = "FILE")]
        witness: Vec<PathBuf>,
    },
    /// The ledger's figures (台账) per department and per specialist, from the event log
    Report {
        #[command(flatten)]
        period: Period,
        /// CSV (UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it), JSON, or
        /// XLSX (sheets 部门, 专员 and 分时 with a chart, then 考核, 减少跑腿, 分类 and 超期清单; needs --out)
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        /// Write the report to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also draw the hourly arrivals-vs-served chart to this PNG file
        #[arg(long, value_name = "FILE.png")]
        chart: Option<PathBuf>,
        /// Every hall of the PostgreSQL database (--store URL; `?hall=` left out), for the city
        /// office: CSV with a first `hall` column, or JSON with one entry per hall. Runs on a
        /// host that reaches the database
        #[arg(long, conflicts_with = "chart")]
        all_halls: bool,
    },
    /// Replace the specialists (Attachment 1) or items (Attachment 2) with filled-in attachment
    /// tables: the official layout (title, 进驻部门单位, 序号 …) or a plain table, CSV or XLSX.
    /// A form that names its department replaces only that department's rows
    Import {
        /// Which table the files fill in: specialists (attachment1) or items (attachment2)
        #[arg(value_parser = crate::args::attachment_kind())]
        what: ImportKind,
        /// The filled-in tables: .csv (UTF-8, with or without a BOM) or .xlsx (every sheet)
        #[arg(required = true, value_name = "FILE")]
        file: Vec<PathBuf>,
        /// Replace only this department's rows (its code); the files must be its forms
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
    },
    /// A form of the case as an A4 PDF, to print and sign: poa (委托书), acceptance (受理单),
    /// notice (一次性告知书), suspension (中止告知单), termination (终止告知单), completion
    /// (办结单) or handover (材料交接单); what is not known yet is a line to fill in by hand
    /// Once the visitor signed a form on the pad, the PDF is the signed one (its words as
    /// signed, the signature in the box); `bangban form verify FILE.pdf` checks a signed PDF
    /// against the ledger (the same bytes made again from the `form_signed` event)
    Form {
        #[arg(value_parser = ["poa", "acceptance", "notice", "suspension", "termination", "completion", "handover", "verify"])]
        kind: String,
        /// The case: today's number, DATE/NUMBER or its token (for verify: the signed PDF)
        case: String,
        /// The PDF to write
        #[arg(long, value_name = "FILE.pdf")]
        out: Option<PathBuf>,
        /// The form as it stands now, unsigned, even when the visitor signed it on the pad
        #[arg(long)]
        unsigned: bool,
    },
    /// 好差评: record the visitor's rating of a served visit, once (1 非常不满意 … 5 非常满意);
    /// 1 or 2 opens a follow-up for the department's coordinator
    Rate {
        /// The ticket's token (from its QR code), or today's number
        case: String,
        /// 1 非常不满意, 2 不满意, 3 一般, 4 满意, 5 非常满意
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        level: u8,
        /// Where the rating was given
        #[arg(long, default_value = "counter")]
        channel: String,
    },
    /// What is overdue or due soon against the hall file's deadlines: priority visitors
    /// waiting, deferred consultations, ready results, posted results, archiving
    Overdue {
        /// Only this department (its code)
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
    },
    /// Write Attachment 1 (specialists) or Attachment 2 (items) in the official layout for
    /// filing with the centre (登记备案): one sheet per department
    Export {
        /// attachment1 (specialists) or attachment2 (items) in the official layout; or ratings:
        /// the 好差评 of a period with the data items the national platform collects
        #[arg(value_parser = crate::args::export_what())]
        what: crate::args::ExportWhat,
        /// The file to write: an attachment as .xlsx (a sheet per department) or .csv (needs
        /// --department); ratings as JSON or CSV [default for ratings: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only this department's form
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
        /// The business days of the ratings (--date, or --from and --to); for an attachment,
        /// --date is the date printed on the forms [default: today in the hall's time zone]
        #[command(flatten)]
        period: Period,
        /// The ratings as json (an array) or csv (with a byte-order mark) [default: json, or
        /// csv for an --out FILE.csv]
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
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
    /// Write a busy morning in the demo hall into a new ledger file (--db): 60 and more
    /// waiting in ten departments, calls, a recall, a no-show, a transfer, an escalation, a
    /// whole-chain case and names beyond GB2312 — for screenshots, layout checks and training.
    /// Never into an existing ledger
    DemoDay {
        /// The day [default: today]; its clock stands at 10:30 (BANGBAN_NOW shows it so)
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
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
    /// Take a consistent, verified copy of the ledger while the hall is running; with
    /// --server (an admin device) the copy is made on the server host and streamed here
    Backup {
        /// The backup file to write (must not exist yet)
        #[arg(long)]
        to: PathBuf,
    },
    /// Serve the ledger to the hall's kiosks, boards, counters and phones over HTTP. Runs on
    /// the ledger's host only (--db)
    Serve {
        /// The address to listen on, HOST:PORT (port 0 picks a free one)
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Status-page look-ups allowed per client address and minute
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        lookups_per_minute: u32,
        /// `auto`: serve HTTPS with the hall's own CA, made in --tls-dir on the first start
        /// (give its certificate to every device: `bangban ca export`)
        #[arg(long, value_name = "MODE", value_parser = ["auto"], conflicts_with_all = ["tls_cert", "tls_key"])]
        tls: Option<String>,
        /// Serve HTTPS with this certificate chain (PEM, the server's certificate first)
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Where --tls auto keeps the hall CA [default: a `tls` directory beside the ledger]
        #[arg(long, value_name = "DIR")]
        tls_dir: Option<PathBuf>,
        /// Another name or address devices use for this host, added to the server's
        /// certificate (repeat for several); its host name and addresses are always in it
        #[arg(long = "tls-name", value_name = "NAME")]
        tls_names: Vec<String>,
    },
    /// The hall CA that `bangban serve --tls auto` made, for the devices (on the server host)
    Ca {
        #[command(subcommand)]
        cmd: CaCmd,
    },
    /// A simulated hall day against a fresh `bangban serve` on loopback: kiosks, counters and
    /// boards at speed; prints latencies and memory, then checks numbers, calls and the chain.
    /// Runs on the host it measures (it starts its own server), never through --server
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
        /// Boards following the call stream (each holds a stream open; up to 2000)
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(0..=2000))]
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
        /// Start from a copy of this ledger instead of an empty one: a hall day on a year of
        /// history (the ledgers `cargo bench --bench history` keeps in target/history/)
        #[arg(long, value_name = "LEDGER")]
        base: Option<PathBuf>,
        /// Every counter signs in at the opening bell at once (instead of over the first half
        /// hour): prints when the last of them got in
        #[arg(long)]
        sign_in_at_once: bool,
        /// Servers sharing the hall (1 to 4); more than one needs --store URL (a PostgreSQL
        /// database: the day runs in a hall of its own there); devices are spread over them
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4))]
        servers: u64,
    },
    /// Erase the text of notes past their retention period (hall file: retention_years,
    /// default 3), keeping their hashes so the log still verifies; recorded as one event
    Purge {
        /// Erase notes written before this business day, YYYY-MM-DD [default: the latest day
        /// the retention period allows]
        #[arg(long)]
        before: Option<chrono::NaiveDate>,
    },
    /// The registers the rules require, with what was typed at the counter (the office's
    /// desks: an office or admin device with --server)
    Records {
        /// consultations, notifications, acceptances, deliveries, mail, archives, transfers or
        /// suspensions (中止 / 恢复 / 终止)
        #[arg(value_parser = one_of(&bangban::RecordKind::ALL, bangban::RecordKind::as_str))]
        kind: bangban::RecordKind,
        #[command(flatten)]
        period: Period,
        /// text (aligned lines), csv (with a byte-order mark) or xlsx (needs --out)
        #[arg(long, value_enum, default_value = "text")]
        format: RecordsFormat,
        /// Write the register to this file instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The daily close (日结): expire the day's unserved tickets, record the chain head and the
    /// figures' hash, and write the day's report (an office or admin device with --server)
    CloseDay {
        /// The business day to close, YYYY-MM-DD [default: today once the hall has closed, else yesterday]
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Where the day's report files go [default: `reports/` beside the ledger, or in the
        /// current directory with --server]
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Put a backup in place of the ledger (--db): refused while any program has the ledger
    /// open; the backup is verified first and the replaced file is kept beside it. Runs on the
    /// ledger's host only
    Restore {
        /// The backup file (from `bangban backup --to FILE`)
        file: PathBuf,
    },
    /// Move a hall from its SQLite ledger file into a PostgreSQL database with its whole history:
    /// every table copied in one transaction, both sides verified, the same chain head on both;
    /// a database that already holds the hall is refused. Runs on the ledger's host only
    Migrate {
        /// The SQLite ledger file to copy (it is read, never changed)
        #[arg(long)]
        from: PathBuf,
        /// The database (postgres://USER@HOST/DB; `?hall=CODE` names the hall, else the hall
        /// file's [hall] code)
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Enrol, list and revoke the devices that may reach the server (on the server host)
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Appointments (预约): book one with a check-in code, list a day's
    Appointment {
        #[command(subcommand)]
        cmd: AppointmentCmd,
    },
    /// 预约签到: check in with an appointment's six-digit code and take its ticket
    CheckIn {
        /// The six-digit code of the booking
        code: String,
    },
    /// Complaints and suggestions (找茬吐槽, 意见箱, 合理化建议), tracked to a reply
    Feedback {
        #[command(subcommand)]
        cmd: FeedbackCmd,
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
pub enum AppointmentCmd {
    /// Book an appointment (预约) and print its six-digit check-in code
    Add {
        /// The item's code (A01)
        #[arg(long)]
        item: String,
        /// When: RFC 3339 (2026-11-27T10:00:00+08:00) or YYYY-MM-DD HH:MM in the hall's time zone
        #[arg(long)]
        at: String,
        /// The visitor's phone, for the reminder (kept as a note, shown masked)
        #[arg(long)]
        phone: String,
        /// How it was booked: counter, phone (来电) or online
        #[arg(long, default_value = "counter")]
        channel: String,
        /// The phone consultation (来电咨询) it was booked from: its number, DATE/NUMBER or token
        #[arg(long, value_name = "CASE")]
        from_case: Option<String>,
    },
    /// The appointments of a day
    List {
        /// The day, YYYY-MM-DD [default: today]
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Cancel a booked appointment by its six-digit code (the visitor called it off); the
    /// slot is free again and the code checks in no more
    Cancel {
        /// The six-digit code of the booking
        code: String,
    },
}

#[derive(Subcommand)]
pub enum FeedbackCmd {
    /// Record a complaint (找茬吐槽 / 意见箱) or suggestion handed in at the desk
    Add {
        /// complaint, suggestion, or department_suggestion (合理化建议, from the office)
        #[arg(long, default_value = "complaint")]
        kind: String,
        /// What a complaint is about: wait, attitude, guidance, efficiency, materials,
        /// facilities, other
        #[arg(long, default_value = "other")]
        category: String,
        /// The department it names (its code)
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
        /// The window it names
        #[arg(long)]
        window: Option<u32>,
        /// What was said (kept as a note, never in the event log)
        #[arg(long)]
        text: Option<String>,
        /// Where it came in: desk, office, kiosk
        #[arg(long, default_value = "desk")]
        channel: String,
    },
    /// Record the reply, as the named department's coordinator or the management office (PIN)
    Reply {
        /// The number `feedback add` printed
        id: i64,
        /// The reply given (kept as a note)
        #[arg(long)]
        reply: String,
        /// Who replies: the named department's coordinator or the management office (signs
        /// in with --pin)
        #[arg(long)]
        staff: String,
        /// The window to sign in at [default: the specialist's department's first window]
        #[arg(long)]
        window: Option<u32>,
    },
    /// Complaints and suggestions, newest first
    List {
        /// Only those still waiting for a reply
        #[arg(long)]
        open: bool,
        /// Only those naming this department (its code)
        #[arg(long, value_name = "CODE")]
        department: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum CaCmd {
    /// Print the hall CA's certificate (PEM) for the devices' --ca / BANGBAN_CA, and its
    /// fingerprint on stderr to compare with the one `bangban serve` printed
    Export {
        /// Write the certificate to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The directory `bangban serve --tls-dir` uses [default: a `tls` directory beside the
        /// ledger]
        #[arg(long, value_name = "DIR")]
        tls_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum DeviceCmd {
    /// Enrol a device and print its token (shown once; only a hash is kept)
    Add {
        /// The device's name, e.g. kiosk-1, board-east, counter-12
        name: String,
        /// What the device may do: kiosk (issue, print), board (read, follow calls), counter (act for
        /// a specialist signed in with their PIN), office (the office's desks), pad (a counter's
        /// rating pad, with --window), admin (everything; staff actions still need a PIN)
        #[arg(long, value_parser = one_of(&DeviceRole::ALL, DeviceRole::as_str))]
        role: DeviceRole,
        /// Bind a counter to its window (a specialist signs in on it there only), or a rating
        /// pad to the window it faces (required for a pad)
        #[arg(long)]
        window: Option<u32>,
    },
    /// The enrolled devices, with their roles and whether they are revoked
    List,
    /// Revoke a device: its token stops working at once
    Revoke {
        /// The device's name
        name: String,
    },
}

#[derive(Subcommand)]
pub enum StaffCmd {
    /// Set a staff member's PIN (read from --pin or the first line of standard input). A
    /// specialist changes their own from any desk with --old-pin; an admin device (or the
    /// ledger's host with --db) resets anyone's
    SetPin {
        /// The staff id (S602)
        staff: String,
        /// The specialist's current PIN (or BANGBAN_OLD_PIN), to change one's own PIN from a
        /// counter or office device
        #[arg(long = "old-pin", env = "BANGBAN_OLD_PIN", hide_env_values = true)]
        old_pin: Option<String>,
        /// (Give the new PIN with the global --pin on the command line, or on standard input:
        /// 6 to 12 digits, not trivial)
        #[arg(long = "new-pin", hide = true)]
        new_pin: Option<String>,
    },
    /// 培训记录: the specialists' training (an office or admin device with --server; the list
    /// is `bangban records training`)
    Training {
        #[command(subcommand)]
        cmd: TrainingCmd,
    },
}

#[derive(Subcommand)]
pub enum HallCmd {
    /// Write the hall in force back as a hall file (with the imported people and items), to
    /// edit and apply with `init --hall` (on the ledger's host)
    Export {
        /// The hall file to write (TOML)
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum TrainingCmd {
    /// Record a specialist's training: the day, the course and its hours
    Add {
        /// The staff id (S101)
        staff: String,
        /// The day of the training, YYYY-MM-DD
        #[arg(long)]
        date: String,
        /// The course's name
        #[arg(long)]
        course: String,
        /// Its length in hours (0.5 to 24, in half hours)
        #[arg(long)]
        hours: f64,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum ReportFormat {
    /// Comma-separated values
    Csv,
    /// One JSON object
    Json,
    /// An Excel workbook
    Xlsx,
}

/// The business days a report or register covers: `--date D`, or `--from D --to D`.
#[derive(clap::Args, Clone, Copy)]
pub struct Period {
    /// One business day, YYYY-MM-DD [default: today in the hall's time zone]
    #[arg(long, conflicts_with_all = ["from", "to"])]
    date: Option<chrono::NaiveDate>,
    /// The first business day of a period (with --to)
    #[arg(long, requires = "to")]
    from: Option<chrono::NaiveDate>,
    /// The last business day of a period (with --from)
    #[arg(long, requires = "from")]
    to: Option<chrono::NaiveDate>,
}

impl Period {
    /// The one day given with --date, if any.
    pub fn date(&self) -> Option<chrono::NaiveDate> {
        self.date
    }
    /// (first, last) business day; neither flag means `today`.
    pub fn days(&self, today: chrono::NaiveDate) -> (chrono::NaiveDate, chrono::NaiveDate) {
        match (self.date, self.from.zip(self.to)) {
            (Some(d), _) => (d, d),
            (None, Some(p)) => p,
            (None, None) => (today, today),
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum RecordsFormat {
    Text,
    Csv,
    Xlsx,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum WindowState {
    /// Stop calling at this window
    Pause,
    /// Open the window again
    Resume,
}

/// Set by SIGTERM or SIGINT: long commands stop at the next step.
pub static STOP: std::sync::LazyLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::LazyLock::new(Default::default);

/// Whether a stop signal arrived.
pub fn stopping() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
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
    context::set_pin_typed(matches!(
        matches.value_source("pin"),
        Some(clap::parser::ValueSource::CommandLine)
    ));
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Some(warning) = bangban::connect::secrets_on_command_line(std::env::args_os().skip(1)) {
        eprintln!("bangban: warning: {warning}");
    }
    match bangban::connect::device_token(cli.token.take(), cli.token_file.as_deref()) {
        Ok(t) => cli.token = t,
        Err(e) => {
            eprintln!("bangban: {e}");
            return ExitCode::from(2);
        }
    }
    // SIGTERM and SIGINT end a command between two writes, never inside one: the ledger is
    // then closed normally and no -wal is left behind. (The server has its own shutdown.)
    if !matches!(cli.cmd, Cmd::Serve { .. }) {
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            let _ = signal_hook::flag::register(sig, STOP.clone());
        }
    }
    let result = run(&cli);
    if result.is_ok() {
        keep_witness(&cli);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(_, e)) if out::is_broken_pipe(&e) => std::process::exit(out::BROKEN_PIPE_EXIT),
        Err(Exit(code, e)) => {
            let msg = format!("{e:#}");
            if cli.json && !out::printed_json() {
                say!("{}", json!({ "error": msg, "exit": code }));
            }
            eprintln!("bangban: {msg}");
            ExitCode::from(code)
        }
    }
}

/// One function per subcommand, grouped by who uses it (see `commands/`).
fn run(cli: &Cli) -> Result<(), Exit> {
    use commands::*;
    match &cli.cmd {
        Cmd::Init { hall, drop } => setup::init(cli, hall, *drop),
        Cmd::Hall {
            cmd: HallCmd::Export { out },
        } => setup::hall_export(cli, out),
        Cmd::Import { what, file, department } => setup::import(cli, *what, file, department.as_deref()),
        Cmd::Export {
            what: crate::args::ExportWhat::Attachment(kind),
            out,
            department,
            period,
            ..
        } => office::export(cli, *kind, out.as_deref(), department.as_deref(), period),
        Cmd::Export {
            what: crate::args::ExportWhat::Ratings,
            out,
            period,
            format,
            ..
        } => office::export_ratings(cli, period, *format, out.as_deref()),
        Cmd::Overdue { department } => office::overdue(cli, department.as_deref()),
        Cmd::Form {
            kind,
            case,
            out,
            unsigned,
        } => office::form(cli, kind, case, out.as_deref(), *unsigned),
        Cmd::Rate { case, level, channel } => office::rate(cli, case, *level, channel),
        Cmd::Staff {
            cmd: StaffCmd::SetPin { staff, old_pin, .. },
        } => setup::set_pin(cli, staff, old_pin.clone()),
        Cmd::Staff {
            cmd:
                StaffCmd::Training {
                    cmd:
                        TrainingCmd::Add {
                            staff,
                            date,
                            course,
                            hours,
                        },
                },
        } => office::training_add(cli, staff, date, course, *hours),
        Cmd::Device { cmd } => setup::device(cli, cmd),
        Cmd::Backup { to } => setup::backup(cli, to),
        Cmd::Restore { file } => setup::restore(cli, file),
        Cmd::Migrate { from, to } => setup::migrate(cli, from, to),
        Cmd::RebuildCases => setup::rebuild_cases(cli),
        Cmd::DemoDay { date } => setup::demo_day(cli, *date),
        Cmd::Purge { before } => setup::purge(cli, *before),
        Cmd::Items => visitor::items(cli),
        Cmd::Issue {
            item,
            priority,
            mode,
            channel,
            repeat,
        } => visitor::issue(cli, item, priority.as_deref(), *mode, *channel, *repeat),
        Cmd::Waiting { department } => visitor::waiting(cli, department.as_deref()),
        Cmd::Reprint { number, printer } => visitor::reprint(cli, number, printer.as_deref()),
        Cmd::Appointment { cmd } => visitor::appointment(cli, cmd),
        Cmd::CheckIn { code } => visitor::check_in(cli, code),
        Cmd::Feedback { cmd } => office::feedback(cli, cmd),
        Cmd::Call { window, staff, number } => counter::call(cli, *window, staff, number.as_deref()),
        Cmd::OpenCase {
            item,
            channel,
            project,
            question,
            answer,
            caller_phone,
            window,
            staff,
        } => counter::open_case(
            cli,
            &bangban::OpenCase {
                item: item.clone(),
                channel: *channel,
                project: project.clone(),
                question: question.clone(),
                answer: answer.clone(),
                caller_phone: caller_phone.clone(),
            },
            *window,
            staff,
        ),
        Cmd::Case {
            case,
            window,
            staff,
            print,
            action,
        } => counter::case(cli, case, *window, staff, print.as_deref(), action),
        Cmd::Window { window, state, staff } => counter::window(cli, *window, *state, staff),
        Cmd::Verify { witness } => office::verify(cli, witness),
        Cmd::Report {
            period,
            format,
            out,
            chart,
            all_halls: true,
        } => {
            let _ = chart;
            office::report_all_halls(cli, period, *format, out.as_deref())
        }
        Cmd::Report {
            period,
            format,
            out,
            chart,
            all_halls: false,
        } => office::report(cli, period, *format, out.as_deref(), chart.as_deref()),
        Cmd::Records {
            kind,
            period,
            format,
            out,
        } => office::records(cli, *kind, period, *format, out.as_deref()),
        Cmd::CloseDay { date, out_dir } => office::close_day(cli, *date, out_dir.as_deref()),
        Cmd::PrinterSim {
            listen,
            out,
            paper_out,
            cover_open,
            silent,
            die_after_bytes,
            close_after_status,
        } => host::printer_sim(
            listen,
            out,
            bangban_printer::sim::Condition {
                paper_out: *paper_out,
                cover_open: *cover_open,
                silent: *silent,
                die_after_bytes: *die_after_bytes,
                close_after_status: *close_after_status,
            },
        ),
        Cmd::Serve { .. } => host::serve(cli),
        Cmd::Ca {
            cmd: CaCmd::Export { out, tls_dir },
        } => host::ca_export(cli, out.as_deref(), tls_dir.as_deref()),
        Cmd::Loadtest { .. } => host::loadtest(cli),
    }
}

/// Write the chain head down in this program's witness file after a command that used the
/// hall (`BANGBAN_WITNESS`, else beside the ledger or per server; see `bangban::witness`). A
/// witness that cannot be written is a warning: the command itself succeeded.
fn keep_witness(cli: &Cli) {
    let used_hall = matches!(
        cli.cmd,
        Cmd::Init { .. }
            | Cmd::Hall { .. }
            | Cmd::Import { .. }
            | Cmd::Export { .. }
            | Cmd::Overdue { .. }
            | Cmd::Form { .. }
            | Cmd::Rate { .. }
            | Cmd::Appointment { .. }
            | Cmd::CheckIn { .. }
            | Cmd::Feedback { .. }
            | Cmd::Items
            | Cmd::Issue { .. }
            | Cmd::Call { .. }
            | Cmd::OpenCase { .. }
            | Cmd::Case { .. }
            | Cmd::Window { .. }
            | Cmd::Waiting { .. }
            | Cmd::Reprint { .. }
            | Cmd::Report { .. }
            | Cmd::CloseDay { .. }
            | Cmd::Records { .. }
            | Cmd::Verify { .. }
            | Cmd::Purge { .. }
    );
    if !used_hall {
        return;
    }
    let mut witness = bangban::witness::for_program("cli", Some(&cli.db_path()), cli.server.as_deref());
    match cli.client() {
        Ok(mut c) => bangban::witness::keep(&mut witness, c.as_mut()),
        Err(e) => tracing::warn!("cannot keep the witness file {}: {}", witness.path().display(), e.1),
    }
}
