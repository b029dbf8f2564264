//! Tap-to-ticket latency: from the visitor's tap on 「确认取号」 until the last byte of the
//! ticket reached a network printer on 127.0.0.1 (ledger write, print job, status check,
//! send). Drives the real kiosk under Slint's testing backend. Prints a table.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kiosk::{ConfirmAdapter, ItemAdapter, KioskScreen, WelcomeAdapter};
use slint::ComponentHandle;

const N: usize = 200;

/// A printer that answers status requests and reports when a job's cut command arrived.
fn printer() -> (u16, mpsc::Receiver<Instant>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut dec = bangban_printer::decode::Decoder::default();
            let mut buf = [0u8; 8192];
            let mut reported = false;
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                for _ in dec.feed(&buf[..n]) {
                    let _ = s.write_all(&[0x12]);
                }
                // GS V: the cut ends the ticket.
                if !reported && buf[..n].windows(2).any(|w| w == [0x1D, 0x56]) {
                    let _ = tx.send(Instant::now());
                    reported = true;
                }
            }
        }
    });
    (port, rx)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir()?;
    let (port, printed) = printer();
    let mut config = kiosk::Config::for_ledger(dir.path().join("ledger.sqlite3"));
    config.printer = Some(format!("tcp://127.0.0.1:{port}"));
    let state = kiosk::init(config)?;
    state.ui.show()?;
    let ui = &state.ui;
    let mut issue_lat = Vec::with_capacity(N);
    let mut total_lat = Vec::with_capacity(N);
    for _ in 0..N {
        kiosk::flow::reset(ui, &state.inner);
        ui.global::<WelcomeAdapter>().invoke_start();
        ui.global::<kiosk::DepartmentAdapter>().invoke_choose("SCJG".into());
        ui.global::<ItemAdapter>().invoke_choose("A01".into());
        let tap = Instant::now();
        ui.global::<ConfirmAdapter>().invoke_confirm();
        if !state.wait_for(Duration::from_secs(10), |ui| {
            ui.global::<kiosk::KioskAdapter>().get_screen() == KioskScreen::Ticket
        }) {
            anyhow::bail!("no ticket within 10 s");
        }
        issue_lat.push(tap.elapsed());
        let at = printed.recv_timeout(Duration::from_secs(10))?;
        total_lat.push(at.duration_since(tap));
    }
    issue_lat.sort();
    total_lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("kiosk benchmark: {N} tickets, ledger WAL + synchronous=FULL, printer on 127.0.0.1");
    println!(
        "{:<40} {:>10} {:>10}",
        "from the tap on 确认取号 to", "p50 ms", "p99 ms"
    );
    println!(
        "{:<40} {:>10.2} {:>10.2}",
        "ticket on screen",
        ms(percentile(&issue_lat, 0.5)),
        ms(percentile(&issue_lat, 0.99))
    );
    println!(
        "{:<40} {:>10.2} {:>10.2}",
        "ticket bytes at the printer",
        ms(percentile(&total_lat, 0.5)),
        ms(percentile(&total_lat, 0.99))
    );
    Ok(())
}
