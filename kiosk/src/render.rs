//! Headless screenshots: every screen of the flow rendered to PNG with the software renderer,
//! with no display server, through a minimal Slint platform.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use anyhow::Context;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, PlatformError, Rgb8Pixel};

use crate::{
    ConfirmAdapter, DepartmentAdapter, ItemAdapter, KioskAdapter, KioskScreen, Notice, PrintState, State, Theme,
    TicketAdapter, WelcomeAdapter,
};

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// Install the headless platform; returns the one window every component renders into.
pub fn install() -> anyhow::Result<Rc<MinimalSoftwareWindow>> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless { window: window.clone() }))
        .map_err(|e| anyhow::anyhow!("cannot install the headless platform: {e}"))?;
    Ok(window)
}

/// Render the current frame of `window` at `size` into a PNG file.
pub fn snapshot(window: &MinimalSoftwareWindow, size: (u32, u32), path: &Path) -> anyhow::Result<()> {
    let (w, h) = size;
    window.set_size(PhysicalSize::new(w, h));
    // Let timers, animations and lazily built elements settle before drawing.
    for _ in 0..1 {
        slint::platform::update_timers_and_animations();
        window.request_redraw();
        let mut scratch = vec![Rgb8Pixel::default(); (w * h) as usize];
        window.draw_if_needed(|r| {
            r.render(&mut scratch, w as usize);
        });
    }
    let mut buf = vec![Rgb8Pixel::default(); (w * h) as usize];
    window.request_redraw();
    window.draw_if_needed(|r| {
        r.render(&mut buf, w as usize);
    });
    write_png(path, w, h, &buf)
}

pub fn write_png(path: &Path, w: u32, h: u32, buf: &[Rgb8Pixel]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc
        .write_header()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let bytes: Vec<u8> = buf.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer
        .write_image_data(&bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Parse `WxH`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("size {s:?} must look like 1080x1920"))?;
    let w = w
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("size {s:?}: width is not a number"))?;
    let h = h
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("size {s:?}: height is not a number"))?;
    if !(320..=7680).contains(&w) || !(320..=7680).contains(&h) {
        return Err(format!("size {s:?} is outside 320..7680"));
    }
    Ok((w, h))
}

/// Render every screen of the flow, in both languages, with large text on and off, at each
/// size, into `dir`, driving the real controllers on a scratch demo ledger. Returns the files.
pub fn render_screens(
    dir: &Path,
    sizes: &[(u32, u32)],
    window: &MinimalSoftwareWindow,
    state: &State,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ui = &state.ui;
    ui.show().context("cannot show the kiosk window")?;
    let mut files = Vec::new();
    for &(w, h) in sizes {
        for english in [false, true] {
            for large in [false, true] {
                let tag = format!(
                    "{w}x{h}-{}-{}",
                    if english { "en" } else { "zh" },
                    if large { "large" } else { "normal" }
                );
                let mut shot = |name: &str| -> anyhow::Result<()> {
                    // Renders are slow in debug builds; keep the idle timeout from cutting the flow short.
                    ui.global::<KioskAdapter>().invoke_touched();
                    let path = dir.join(format!("kiosk-{tag}-{name}.png"));
                    snapshot(window, (w, h), &path)?;
                    files.push(path);
                    Ok(())
                };
                crate::flow::reset(ui, &state.inner);
                crate::flow::set_english(ui, english);
                ui.global::<Theme>().set_large_text(large);
                shot("01-welcome")?;
                ui.global::<WelcomeAdapter>().invoke_start();
                state.wait_for(Duration::from_secs(5), |ui| {
                    let d = ui.global::<DepartmentAdapter>().get_departments();
                    slint::Model::iter(&d).any(|t| t.waiting > 0)
                });
                shot("02-departments")?;
                ui.global::<DepartmentAdapter>().invoke_choose("SCJG".into());
                shot("03-items")?;
                ui.global::<ItemAdapter>().invoke_choose("A01".into());
                ui.global::<ConfirmAdapter>().invoke_choose_priority("elderly".into());
                shot("04-confirm")?;
                ui.global::<KioskAdapter>().set_busy(true);
                shot("05-issuing")?;
                ui.global::<KioskAdapter>().set_busy(false);
                ui.global::<ConfirmAdapter>().invoke_confirm();
                if !state.wait_for(Duration::from_secs(20), |ui| {
                    ui.global::<KioskAdapter>().get_screen() == KioskScreen::Ticket
                }) {
                    let k = ui.global::<KioskAdapter>();
                    anyhow::bail!(
                        "the demo ticket was not issued within 20 s ({:?}: {})",
                        k.get_notice(),
                        k.get_notice_detail()
                    );
                }
                ui.global::<TicketAdapter>().set_print_state(PrintState::Printed);
                shot("06-ticket")?;
                ui.global::<TicketAdapter>().set_print_state(PrintState::Failed);
                shot("07-ticket-print-failed")?;
                crate::flow::reset(ui, &state.inner);
                crate::flow::set_english(ui, english);
                ui.global::<Theme>().set_large_text(large);
                ui.global::<WelcomeAdapter>().invoke_not_sure();
                shot("08-consultation")?;
                let k = ui.global::<KioskAdapter>();
                k.set_notice(Notice::LedgerBusy);
                k.set_notice_detail(
                    "the ledger is busy (another program holds the write lock) and did not free up within 15000 ms"
                        .into(),
                );
                shot("09-could-not-issue")?;
                crate::flow::reset(ui, &state.inner);
                crate::flow::set_english(ui, english);
                ui.global::<Theme>().set_large_text(large);
                ui.global::<WelcomeAdapter>().invoke_appointment();
                shot("10-appointment")?;
            }
        }
    }
    crate::flow::reset(ui, &state.inner);
    Ok(files)
}
