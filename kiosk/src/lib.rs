//! The lobby kiosk: a visitor picks a matter and gets a queue ticket (screen + printed slip).
//! `init` builds the window and its controllers; `main` only parses flags and runs it.

slint::include_modules!();

pub mod flow;
pub mod idcard;
pub mod qr;
pub mod render;
pub mod worker;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bangban::api::HallClient;
use bangban::connect::Door;
use bangban::{Hall, LedgerOptions};
use bangban_printer::PrinterTarget;
use slint::ComponentHandle;

/// How the kiosk is set up (flags of the `kiosk` binary).
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// The ledger database [default: $BANGBAN_DB, else the per-user data directory]
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Issue through the hall server at this URL (http://HOST:PORT) instead of a ledger file
    #[arg(long, env = "BANGBAN_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// This kiosk's device token, from `bangban device add kiosk-1 --role kiosk`
    #[arg(long, env = "BANGBAN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the device token from this file (mode 600) instead of --token
    #[arg(long, env = "BANGBAN_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Trust only this CA (PEM, from `bangban ca export` on the server host) for an https://
    /// --server: the hall's own CA
    #[arg(long, env = "BANGBAN_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A hall file to apply at start to the existing ledger (a changed file takes effect)
    #[arg(long)]
    pub hall: Option<PathBuf>,
    /// Try the kiosk out: create the ledger with the demo hall when the file is missing or
    /// empty. Never in a real hall, where a missing ledger must stop the kiosk rather than
    /// restart the numbering at A001
    #[arg(long)]
    pub demo: bool,
    /// tcp://HOST:PORT, file:PATH, serial:/dev/…, or none [default: the hall file's printer]
    #[arg(long)]
    pub printer: Option<String>,
    /// Seconds without a tap before any screen returns to the welcome screen (10 to 3600)
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub idle_seconds: u64,
    /// Seconds the ticket screen stays before returning to the welcome screen (5 to 600)
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=600))]
    pub ticket_seconds: u64,
    /// This kiosk's device id, recorded on every ticket it issues (its enrolled name)
    #[arg(long, env = "BANGBAN_DEVICE", default_value = "kiosk-1")]
    pub device: String,
    /// How long to wait for a locked ledger before telling the visitor it could not issue,
    /// in milliseconds (0 to 600000)
    #[arg(long, default_value_t = 15_000, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub busy_timeout_ms: u64,
    /// The item for 「不知道办什么？」 [default: the first item named …咨询]
    #[arg(long)]
    pub consult_item: Option<String>,
    /// The TTS command for the spoken prompts; the text is its last argument
    /// [default: espeak-ng -v cmn when installed]
    #[arg(long, value_name = "COMMAND")]
    pub tts: Option<String>,
    /// Speak from the start for every visitor [default: the hall file's `voice`]; the
    /// 「语音」 button turns it on or off
    #[arg(long)]
    pub voice: bool,
}

impl Config {
    /// A configuration for tests and renders: a given ledger (the demo hall when new), no printer.
    pub fn for_ledger(db: PathBuf) -> Config {
        Config {
            db: Some(db),
            server: None,
            token: None,
            token_file: None,
            ca: None,
            hall: None,
            demo: true,
            printer: Some("none".into()),
            idle_seconds: 60,
            ticket_seconds: 30,
            device: "kiosk-test".into(),
            busy_timeout_ms: 15_000,
            consult_item: None,
            // Tests and renders never speak unless they ask to.
            tts: Some(String::new()),
            voice: false,
        }
    }
}

/// The running kiosk: the window and the controllers' shared state.
pub struct State {
    pub ui: KioskWindow,
    pub inner: Rc<RefCell<flow::Inner>>,
}

thread_local! {
    /// Drains the worker's replies on the UI thread; the worker wakes it through the event loop.
    static PUMP: RefCell<Option<Box<dyn Fn()>>> = RefCell::new(None);
}

/// Build the kiosk: open the ledger (applying a hall file, or the demo hall when asked for),
/// start the IO worker, wire every adapter. Needs a Slint platform (winit, testing or headless).
pub fn init(config: Config) -> anyhow::Result<State> {
    init_with_clock(config, bangban::clock::from_env())
}

/// `init` on a given clock: the busy day's renders and layout tests run at its half past ten,
/// so its waiting visitors are today's.
pub fn init_with_clock(config: Config, clock: Arc<dyn bangban::clock::Clock>) -> anyhow::Result<State> {
    if config.server.is_some() && (config.hall.is_some() || config.demo) {
        anyhow::bail!("--hall and --demo change a ledger file; with --server the hall is set up on the server host");
    }
    let opts = LedgerOptions {
        busy_timeout: Duration::from_millis(config.busy_timeout_ms),
        clock: clock.clone(),
    };
    let db = config.db.clone().unwrap_or_else(bangban::default_db_path);
    // A hall file given here is applied to the ledger file first (it is the host's own file).
    if let (None, Some(path)) = (&config.server, &config.hall) {
        let mut ledger = if config.demo {
            bangban::open_or_demo(&db, opts.clone(), &config.device)
        } else {
            bangban::open_existing(&db, opts.clone())
        }
        .with_context(|| format!("cannot open the ledger {}", db.display()))?;
        let hall = Hall::from_path(path)?;
        ledger.configure(&hall, &config.device, &path.display().to_string())?;
    }
    let door = match &config.server {
        Some(url) => Door::Server {
            url: url.clone(),
            token: config.token.clone().unwrap_or_default(),
            ca: config.ca.clone(),
        },
        None => Door::File {
            path: db.clone(),
            opts,
            actor: config.device.clone(),
            demo: config.demo,
        },
    };
    let mut client: Box<dyn HallClient> = bangban::connect::connect(door).with_context(|| match &config.server {
        Some(url) => format!("cannot reach the hall server {url}"),
        None => format!("cannot open the ledger {}", db.display()),
    })?;
    let hall: Arc<Hall> = client
        .hall()
        .with_context(|| "cannot read the hall configuration".to_string())?;
    let printer_spec = config.printer.clone().unwrap_or_else(|| hall.printer.clone());
    let printer = PrinterTarget::parse(&printer_spec).map_err(anyhow::Error::msg)?;

    let ui = KioskWindow::new().context("cannot create the kiosk window")?;
    // Chinese first, whatever the machine's locale says.
    let _ = slint::select_bundled_translation("");

    let (job_tx, job_rx) = mpsc::channel();
    let (reply_tx, reply_rx) = mpsc::channel();
    let wake = || {
        // Without an event loop (UI tests) this fails; the tests pump by hand.
        let _ = slint::invoke_from_event_loop(|| PUMP.with(|p| p.borrow().as_ref().map(|f| f())).unwrap_or(()));
    };
    let db = config.db.clone().unwrap_or_else(bangban::default_db_path);
    let witness = bangban::witness::for_program(
        "kiosk",
        config.server.is_none().then_some(db.as_path()),
        config.server.as_deref(),
    );
    let worker = worker::spawn(client, printer.clone(), job_rx, reply_tx, witness, wake)
        .context("cannot start the IO thread")?;

    let inner = Rc::new(RefCell::new(flow::Inner::new(
        config, hall, printer, job_tx, reply_rx, worker, clock,
    )));
    flow::wire(&ui, &inner);
    let state = State { ui, inner };
    let (weak, inner_weak) = (state.ui.as_weak(), Rc::downgrade(&state.inner));
    PUMP.with(|p| {
        *p.borrow_mut() = Some(Box::new(move || {
            if let (Some(ui), Some(inner)) = (weak.upgrade(), inner_weak.upgrade()) {
                flow::pump(&ui, &inner);
            }
        }))
    });
    Ok(state)
}

impl State {
    /// Apply every reply the worker has sent so far.
    pub fn pump(&self) {
        flow::pump(&self.ui, &self.inner);
    }

    /// Pump until `done` holds or `timeout` passes (tests and headless renders).
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&KioskWindow) -> bool) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            self.pump();
            if done(&self.ui) {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        PUMP.with(|p| *p.borrow_mut() = None);
        self.inner.borrow_mut().stop();
    }
}
