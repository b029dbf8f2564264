//! `kiosk`: the lobby touchscreen. Flags only; everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(
    name = "kiosk",
    version,
    about = "帮办代办 lobby kiosk: pick a matter, get a queue ticket"
)]
struct Cli {
    #[command(flatten)]
    config: kiosk::Config,
    /// Render every screen to PNG files in DIR (no display needed) and exit
    #[arg(long, value_name = "DIR")]
    render_screens: Option<PathBuf>,
    /// Window or render size, WxH [default: 1080x1920; renders also do 1920x1080]
    #[arg(long, value_parser = kiosk::render::parse_size)]
    size: Option<(u32, u32)>,
    /// Run in a window instead of fullscreen (for development)
    #[arg(long)]
    windowed: bool,
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
    match bangban::connect::device_token(cli.config.token.take(), cli.config.token_file.as_deref()) {
        Ok(t) => cli.config.token = t,
        Err(e) => {
            eprintln!("kiosk: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(dir) = cli.render_screens {
        let window = kiosk::render::install()?;
        let scratch = std::env::temp_dir().join(format!("bangban-kiosk-render-{}", std::process::id()));
        let mut config = cli.config;
        // Renders never touch a real hall's ledger: a scratch ledger holding the busy morning
        // (80 waiting, rare names, long department names), at its half past ten.
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
        let db = scratch.join("busy-day.sqlite3");
        let hall = bangban::demo_day::hall()?;
        let day = bangban::clock::business_day(chrono::Utc::now(), hall.tz());
        let busy = bangban::demo_day::build(&db, day)?;
        let clock: std::sync::Arc<dyn bangban::clock::Clock> = std::sync::Arc::new(busy.clock.clone());
        drop(busy.ledger);
        config.db = Some(db);
        config.server = None;
        config.demo = false;
        config.printer = Some("none".into());
        let state = kiosk::init_with_clock(config, clock)?;
        let sizes = match cli.size {
            Some(s) => vec![s],
            None => vec![(1080, 1920), (1920, 1080)],
        };
        let files = kiosk::render::render_screens(&dir, &sizes, &window, &state)?;
        drop(state);
        let _ = std::fs::remove_dir_all(&scratch);
        println!("rendered {} screens to {}", files.len(), dir.display());
        return Ok(());
    }
    let state = kiosk::init(cli.config)?;
    // SIGTERM ends the event loop: the worker finishes its job and the ledger closes.
    bangban_headless::stop::on_terminate()?;
    let (w, h) = cli.size.unwrap_or((1080, 1920));
    state.ui.window().set_size(slint::PhysicalSize::new(w, h));
    if !cli.windowed {
        state.ui.window().set_fullscreen(true);
    }
    state.ui.run()?;
    Ok(())
}
