//! SIGTERM and SIGINT end the apps cleanly: systemd's stop, a supervisor or Ctrl+C lets the
//! current transaction finish and the ledger close (its `-wal` folded back and removed), where
//! the default action would kill the process mid-write and leave the `-wal` beside the file.

use std::sync::atomic::{AtomicBool, Ordering};

static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether SIGTERM or SIGINT has arrived (loops without an event loop check this).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// Catch SIGTERM and SIGINT from now on: the first one sets `stopping()` and ends the Slint
/// event loop if one runs, so `run()` returns and everything is dropped in order.
pub fn on_terminate() -> std::io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if signals.forever().next().is_some() {
            STOPPING.store(true, Ordering::Relaxed);
            let _ = slint::invoke_from_event_loop(|| {
                let _ = slint::quit_event_loop();
            });
        }
    })?;
    Ok(())
}
