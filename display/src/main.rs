//! `display`: the waiting-area board (`display board`) and the counter console
//! (`display counter --window N`). Flags only; everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use slint::ComponentHandle;

#[derive(Parser)]
#[command(name = "display", version, about = "帮办代办 wall board and counter console")]
struct Cli {
    /// The ledger database [default: $BANGBAN_DB, else the per-user data directory]
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Follow the hall server at this URL (http://HOST:PORT) instead of a ledger file
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
    /// Read the device token from this file (mode 600) instead of --token
    #[arg(long, global = true, env = "BANGBAN_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Trust only this CA (PEM, from `bangban ca export` on the server host) for an https://
    /// --server: the hall's own CA
    #[arg(long, global = true, env = "BANGBAN_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The waiting-area board: calls, recent calls, queues; calls are spoken aloud
    Board {
        /// Print one JSON line per announcement instead of drawing
        #[arg(long)]
        headless: bool,
        /// Render the board to a PNG file (demo data if the ledger is empty) and exit
        #[arg(long, value_name = "FILE.png")]
        render: Option<PathBuf>,
        /// The TTS command; the text is its last argument [default: espeak-ng -v cmn]
        #[arg(long)]
        tts: Option<String>,
        /// No chime and no voice
        #[arg(long)]
        no_voice: bool,
        /// Window or render size, WxH [default: 1920x1080]
        #[arg(long, value_parser = bangban_headless::parse_size)]
        size: Option<(u32, u32)>,
        /// Run in a window instead of fullscreen (for development)
        #[arg(long)]
        windowed: bool,
        /// A zone's board: only these departments' calls and queues (codes from the hall file,
        /// comma-separated) [default: the whole hall]
        #[arg(long, value_name = "CODE,…", value_delimiter = ',')]
        departments: Vec<String>,
    },
    /// The specialist's console for one window
    Counter {
        /// The window this console serves; it must be one of the hall's (1 to 9999)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9999))]
        window: u32,
        /// Render the console to a PNG file and exit
        #[arg(long, value_name = "FILE.png")]
        render: Option<PathBuf>,
        /// Window or render size, WxH [default: 1366x768]
        #[arg(long, value_parser = bangban_headless::parse_size)]
        size: Option<(u32, u32)>,
        /// How long an action waits for a locked ledger before saying so, in milliseconds
        /// (0 to 600000)
        #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
        busy_timeout_ms: u64,
        /// The counter's printer for the one-time notification slip (一次性告知书):
        /// tcp://HOST:9100 or file:/dev/usb/lp0 [default: none]
        #[arg(long, value_name = "PRINTER", value_parser = |s: &str| bangban_printer::PrinterTarget::parse(s))]
        printer: Option<bangban_printer::PrinterTarget>,
        /// The hall's A4 printer for the forms (委托书, 受理单 …): lp:PRINTER (a CUPS printer,
        /// printed with `lp -d`) or dir:PATH (saved there) [default: none]
        #[arg(long, value_name = "TARGET", value_parser = |s: &str| display::desk::A4Target::parse(s))]
        a4: Option<display::desk::A4Target>,
        /// With --render: put this case (today's number, DATE/NUMBER or token) on the panel
        #[arg(long, value_name = "CASE")]
        show: Option<String>,
        /// With --render: preview as this specialist (their department's parts and alerts)
        #[arg(long, value_name = "STAFF")]
        staff: Option<String>,
        /// With --render: the case panel's tab (0 the four stages, 1 parts and coordination,
        /// 2 cases without a ticket, 3 the principal, forms and signatures, 中止 / 终止)
        #[arg(long, value_parser = clap::value_parser!(i32).range(0..=3))]
        tab: Option<i32>,
        /// The console's language: zh (中文) or en
        #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
        lang: String,
    },
    /// The counter's rating pad (评价器), the small screen facing the visitor: who serves
    /// them, and five faces to rate the visit right after it
    Rate {
        /// The window this pad belongs to (its device token must be bound to it)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9999))]
        window: u32,
        /// Render the pad to a PNG file and exit (with --state, as it looks then)
        #[arg(long, value_name = "FILE.png")]
        render: Option<PathBuf>,
        /// With --render: idle, serving, rate, reasons or thanks [default: what the window shows]
        #[arg(long, value_parser = ["idle", "serving", "rate", "reasons", "thanks"])]
        state: Option<String>,
        /// Window or render size, WxH [default: 1024x600]
        #[arg(long, value_parser = bangban_headless::parse_size)]
        size: Option<(u32, u32)>,
        /// Run in a window instead of fullscreen (for development)
        #[arg(long)]
        windowed: bool,
        /// The language the pad starts in: zh (中文) or en; the visitor can switch
        #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
        lang: String,
    },
    /// The counter's signature pad (a small touchscreen beside the counter): when the
    /// console asks for the visitor's signature on a form, 「请在此签名」 and a canvas;
    /// the strokes become the PNG kept with the case and the `form_signed` event
    Sign {
        /// The window this pad belongs to (its device token must be bound to it)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9999))]
        window: u32,
        /// Render the pad to a PNG file and exit (with --state, as it looks then)
        #[arg(long, value_name = "FILE.png")]
        render: Option<PathBuf>,
        /// With --render: idle, sign or signed [default: what the window shows]
        #[arg(long, value_parser = ["idle", "sign", "signed"])]
        state: Option<String>,
        /// Window or render size, WxH [default: 1024x600]
        #[arg(long, value_parser = bangban_headless::parse_size)]
        size: Option<(u32, u32)>,
        /// Run in a window instead of fullscreen (for development)
        #[arg(long)]
        windowed: bool,
        /// The language the pad starts in: zh (中文) or en; the visitor can switch
        #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
        lang: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let mut cli = Cli::parse();
    if let Some(warning) = bangban::connect::secrets_on_command_line(std::env::args_os().skip(1)) {
        tracing::warn!("{warning}");
    }
    match bangban::connect::device_token(cli.token.take(), cli.token_file.as_deref()) {
        Ok(t) => cli.token = t,
        Err(e) => {
            eprintln!("display: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("display: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn voice(no_voice: bool, tts: Option<String>) -> Option<display::voice::Voice> {
    if no_voice {
        return None;
    }
    let cmd = match tts {
        Some(t) => bangban_headless::voice::parse_command(&t),
        None => display::voice::default_tts(),
    };
    Some(display::voice::Voice::start(cmd, true))
}

/// The board's feed: the hall server when `--server` is given, else the ledger file.
fn feed(cli: &Cli, db: &std::path::Path) -> anyhow::Result<display::Feed> {
    let mut feed = match &cli.server {
        Some(url) => {
            display::Feed::connect_trusting(url, cli.token.as_deref().unwrap_or(""), cli.ca.as_deref(), || {})?
        }
        None => display::Feed::open(db)?,
    };
    if let Cmd::Board { departments, .. } = &cli.cmd {
        if !departments.is_empty() {
            // A typo would leave a zone's board empty all day: refuse it, naming the codes.
            let hall = feed.client().hall()?;
            for code in departments {
                if hall.department(code).is_none() {
                    let known: Vec<&str> = hall.departments.iter().map(|d| d.code.as_str()).collect();
                    anyhow::bail!(
                        "--departments: the hall has no department {code:?} (its codes: {})",
                        known.join(", ")
                    );
                }
            }
            feed = feed.only(departments.clone());
        }
    }
    Ok(feed)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let db = cli.db.clone().unwrap_or_else(bangban::default_db_path);
    // The board and the console never create a ledger: a missing or empty file is refused
    // before SQLite could write a fresh schema into it.
    if cli.server.is_none() && std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) == 0 {
        anyhow::bail!("{}", bangban::LedgerError::NoLedger(db.display().to_string()));
    }
    bangban_headless::stop::on_terminate()?;
    match &cli.cmd {
        Cmd::Board {
            headless: true,
            no_voice,
            tts,
            ..
        } => display::run_headless(
            feed(&cli, &db)?,
            voice(*no_voice, tts.clone()),
            std::io::stdout().lock(),
        ),
        Cmd::Board {
            render: Some(file),
            size,
            ..
        } => {
            let window = bangban_headless::install()?;
            let b = display::board(feed(&cli, &db)?, None)?;
            let (w, h) = size.unwrap_or((1920, 1080));
            b.ui.set_landscape(w > h);
            b.ui.show()?;
            bangban_headless::snapshot(&window, (w, h), &file)?;
            println!("rendered the board to {}", file.display());
            Ok(())
        }
        Cmd::Board {
            no_voice,
            tts,
            size,
            windowed,
            ..
        } => {
            let b = display::board(feed(&cli, &db)?, voice(*no_voice, tts.clone()))?;
            let (w, h) = size.unwrap_or((1920, 1080));
            b.ui.set_landscape(w > h);
            b.ui.window().set_size(slint::PhysicalSize::new(w, h));
            if !windowed {
                b.ui.window().set_fullscreen(true);
            }
            b.ui.run()?;
            Ok(())
        }
        Cmd::Counter {
            window,
            render,
            size,
            busy_timeout_ms,
            printer,
            a4,
            show,
            staff,
            lang,
            tab,
        } => {
            let headless = match &render {
                Some(_) => Some(bangban_headless::install()?),
                None => None,
            };
            let source = match &cli.server {
                Some(url) => display::counter::Source::Server {
                    url: url.clone(),
                    token: cli.token.clone().unwrap_or_default(),
                    ca: cli.ca.clone(),
                },
                None => display::counter::Source::Ledger(db.clone(), Duration::from_millis(*busy_timeout_ms)),
            };
            let c = display::counter::counter_with(source, *window, printer.clone(), a4.clone())?;
            c.set_language(lang);
            let (w, h) = size.unwrap_or((1366, 768));
            if let (Some(file), Some(win)) = (render, headless) {
                c.ui.show()?;
                bangban_headless::snapshot(&win, (w, h), &file)?;
                // Then the console itself, on the ledger's real queue, as a specialist sees it.
                display::counter::show_for_render(&c, show.clone(), staff.clone());
                if let Some(t) = tab {
                    c.ui.global::<display::CasePanelAdapter>().set_tab(*t);
                }
                let console = file.with_file_name(format!(
                    "{}-console.png",
                    file.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
                ));
                bangban_headless::snapshot(&win, (w, h), &console)?;
                println!(
                    "rendered the counter console to {} and {}",
                    file.display(),
                    console.display()
                );
                return Ok(());
            }
            c.ui.window().set_size(slint::PhysicalSize::new(w, h));
            c.ui.run()?;
            Ok(())
        }
        Cmd::Rate {
            window,
            render,
            state,
            size,
            windowed,
            lang,
        }
        | Cmd::Sign {
            window,
            render,
            state,
            size,
            windowed,
            lang,
        } => {
            let signing_only = matches!(cli.cmd, Cmd::Sign { .. });
            let headless = match &render {
                Some(_) => Some(bangban_headless::install()?),
                None => None,
            };
            let source = match &cli.server {
                Some(url) => display::pad::Source::Server {
                    url: url.clone(),
                    token: cli.token.clone().unwrap_or_default(),
                    ca: cli.ca.clone(),
                },
                None => display::pad::Source::Ledger(db.clone(), Duration::from_secs(3)),
            };
            let p = display::pad::pad(source, *window)?;
            p.set_signing_only(signing_only);
            p.set_language(lang);
            let (w, h) = size.unwrap_or((1024, 600));
            if let (Some(file), Some(win)) = (render, headless) {
                p.ask();
                p.settle(Duration::from_secs(10));
                if let Some(state) = state {
                    display::pad::preview(&p, state);
                }
                p.ui.show()?;
                bangban_headless::snapshot(&win, (w, h), &file)?;
                println!(
                    "rendered the {} pad to {}",
                    if signing_only { "signature" } else { "rating" },
                    file.display()
                );
                return Ok(());
            }
            p.ui.window().set_size(slint::PhysicalSize::new(w, h));
            if !windowed {
                p.ui.window().set_fullscreen(true);
            }
            p.ui.run()?;
            Ok(())
        }
    }
}
