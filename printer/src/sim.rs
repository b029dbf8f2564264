//! A network thermal printer simulator: accepts ESC/POS jobs on a TCP port, answers DLE EOT
//! status requests (with switches for paper-out, cover-open, silence, and printers that die or
//! reset mid-ticket), and writes each ticket it printed as readable text and a PNG preview
//! (Chinese text, the QR code, the cut).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::decode::{Decoder, Piece, Printout};

/// What the simulated printer reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Condition {
    pub paper_out: bool,
    pub cover_open: bool,
    /// Accept connections but never answer a status request.
    pub silent: bool,
    /// Read this many bytes of a job, then drop the connection (a printer that dies mid-ticket).
    pub die_after_bytes: Option<usize>,
    /// Answer the status requests, then close the connection as the ticket starts (a reset).
    pub close_after_status: bool,
}

impl Condition {
    /// Whether a job sent to a printer in this condition comes out on paper.
    pub fn prints(&self) -> bool {
        !(self.paper_out || self.cover_open || self.silent)
    }
}

/// The status byte a printer in `c` answers to DLE EOT `n`.
pub fn status_byte(c: Condition, n: u8) -> u8 {
    // Fixed bits 0xx1xx10: 0x12 is "all well".
    match n {
        1 if c.paper_out || c.cover_open => 0x1A,
        2 => 0x12 | if c.cover_open { 0x04 } else { 0 } | if c.paper_out { 0x20 } else { 0 },
        4 if c.paper_out => 0x7E,
        _ => 0x12,
    }
}

const FONT: &[u8] = bangban::font::FONT;
/// 58 mm paper at 203 dpi.
pub const PAPER_DOTS: usize = 384;
const BASE_PX: f32 = 22.0;

/// Draw a printout as a receipt image (white paper, black print). Returns (width, height, gray).
pub fn preview(p: &Printout) -> Result<(usize, usize, Vec<u8>), String> {
    let font = fontdue::Font::from_bytes(FONT, fontdue::FontSettings::default()).map_err(|e| e.to_string())?;
    let margin = 12;
    let width = PAPER_DOTS + 2 * margin;
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let blank = |h: usize| vec![vec![255u8; width]; h];
    rows.extend(blank(margin));
    for piece in &p.pieces {
        match piece {
            Piece::Line(l) => {
                let px = BASE_PX * l.size.1.max(1) as f32;
                let line_h = (px * 1.3).ceil() as usize;
                let mut band = blank(line_h);
                // A printer magnifies width and height separately: draw at the height's
                // size and squeeze or stretch each glyph to the width's.
                let stretch = l.size.0.max(1) as f32 / l.size.1.max(1) as f32;
                let glyphs: Vec<_> = l.text.chars().map(|c| font.rasterize(c, px)).collect();
                let total: f32 = glyphs.iter().map(|(m, _)| m.advance_width * stretch).sum();
                let mut x = match l.justify {
                    1 => margin as f32 + (PAPER_DOTS as f32 - total).max(0.0) / 2.0,
                    2 => margin as f32 + (PAPER_DOTS as f32 - total).max(0.0),
                    _ => margin as f32,
                };
                let baseline = px as i32;
                for (m, bitmap) in &glyphs {
                    let out_w = (m.width as f32 * stretch).round() as usize;
                    for gy in 0..m.height {
                        for ox in 0..out_w {
                            let gx = ((ox as f32 / stretch) as usize).min(m.width.saturating_sub(1));
                            let cov = bitmap[gy * m.width + gx];
                            let xx = x as i32 + (m.xmin as f32 * stretch) as i32 + ox as i32;
                            let yy = baseline - m.height as i32 - m.ymin + gy as i32;
                            if cov > 0 && xx >= 0 && (xx as usize) < width && yy >= 0 && (yy as usize) < line_h {
                                let cell = &mut band[yy as usize][xx as usize];
                                *cell = (*cell).min(255 - cov);
                                if l.bold && (xx as usize) + 1 < width {
                                    let next = &mut band[yy as usize][xx as usize + 1];
                                    *next = (*next).min(255 - cov);
                                }
                            }
                        }
                    }
                    x += m.advance_width * stretch;
                }
                rows.extend(band);
            }
            Piece::Qr(payload) => {
                let code = qrcode::QrCode::new(payload.as_bytes()).map_err(|e| e.to_string())?;
                let n = code.width();
                let scale = 6;
                let quiet = 4;
                let side = (n + 2 * quiet) * scale;
                let left = margin + (PAPER_DOTS.saturating_sub(side)) / 2;
                let colors = code.to_colors();
                for y in 0..side {
                    let mut row = vec![255u8; width];
                    for x in 0..side {
                        let (mx, my) = (x / scale, y / scale);
                        let dark = mx >= quiet
                            && my >= quiet
                            && mx < n + quiet
                            && my < n + quiet
                            && colors[(my - quiet) * n + (mx - quiet)] == qrcode::Color::Dark;
                        if dark && left + x < width {
                            row[left + x] = 0;
                        }
                    }
                    rows.push(row);
                }
            }
            Piece::Cut => {
                rows.extend(blank(10));
                let mut row = vec![255u8; width];
                for (x, px) in row.iter_mut().enumerate() {
                    if (x / 8) % 2 == 0 {
                        *px = 0;
                    }
                }
                rows.push(row.clone());
                rows.push(row);
                rows.extend(blank(10));
            }
        }
    }
    rows.extend(blank(margin));
    let height = rows.len();
    Ok((width, height, rows.concat()))
}

/// The readable form of a ticket: its lines, the QR payloads, and where the paper was cut.
pub fn text(p: &Printout) -> String {
    let mut out = String::new();
    for piece in &p.pieces {
        match piece {
            Piece::Line(l) => {
                out.push_str(&l.text);
                out.push('\n');
            }
            Piece::Qr(q) => out.push_str(&format!("[QR] {q}\n")),
            Piece::Cut => out.push_str("✂-------- 切纸 --------\n"),
        }
    }
    out
}

fn write_png(path: &Path, w: usize, h: usize, gray: &[u8]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(std::io::Error::other)?;
    writer.write_image_data(gray).map_err(std::io::Error::other)
}

/// Save one job as `ticket-NNN.txt` and `ticket-NNN.png`; returns the two paths.
pub fn save(p: &Printout, dir: &Path, n: usize) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let txt = dir.join(format!("ticket-{n:03}.txt"));
    let png_path = dir.join(format!("ticket-{n:03}.png"));
    std::fs::write(&txt, text(p))?;
    let (w, h, gray) = preview(p).map_err(std::io::Error::other)?;
    write_png(&png_path, w, h, &gray)?;
    Ok((txt, png_path))
}

/// Serve one connection: answer status requests, collect the job, and save it only if a
/// printer in this condition would have printed all of it.
fn serve(
    mut stream: TcpStream,
    condition: Condition,
    dir: &Path,
    counter: &AtomicUsize,
) -> std::io::Result<Option<(PathBuf, PathBuf)>> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut dec = Decoder::default();
    let mut buf = [0u8; 8192];
    let mut total = 0usize;
    let mut answered = false;
    loop {
        // A printer that dies after N bytes reads no further than that.
        let room = match condition.die_after_bytes {
            Some(limit) if total >= limit => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                eprintln!("printer-sim: died after {total} bytes (--die-after-bytes); nothing printed");
                return Ok(None);
            }
            Some(limit) => (limit - total).min(buf.len()),
            None => buf.len(),
        };
        let n = match stream.read(&mut buf[..room]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break,
            Err(e) => return Err(e),
        };
        total += n;
        let requests = dec.feed(&buf[..n]);
        // DLE EOT n is three bytes: anything beyond the requests is the ticket itself.
        if condition.close_after_status && answered && n > 3 * requests.len() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            eprintln!("printer-sim: reset after the status answer (--close-after-status); nothing printed");
            return Ok(None);
        }
        for req in requests {
            if !condition.silent {
                stream.write_all(&[status_byte(condition, req)])?;
                answered = true;
            }
        }
    }
    let printout = dec.finish();
    if !condition.prints() || printout.pieces.is_empty() {
        return Ok(None);
    }
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    save(&printout, dir, n).map(Some)
}

/// Run the simulator until the process ends; `on_ticket` hears of each saved ticket.
pub fn run(
    listen: &str,
    dir: &Path,
    condition: Condition,
    on_ticket: impl Fn(&Path, &Path) + Send + Sync + 'static,
) -> std::io::Result<()> {
    run_until(listen, dir, condition, || false, on_ticket)
}

/// Run the simulator until `stopped()` says so (checked every 50 ms: a SIGTERM's flag), then
/// give the jobs being received up to 2 s to finish and return.
pub fn run_until(
    listen: &str,
    dir: &Path,
    condition: Condition,
    stopped: impl Fn() -> bool,
    on_ticket: impl Fn(&Path, &Path) + Send + Sync + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)?;
    // Not blocking in accept, so a stop request is seen between connections.
    listener.set_nonblocking(true)?;
    let counter = Arc::new(AtomicUsize::new(0));
    let on_ticket = Arc::new(on_ticket);
    let mut jobs: Vec<std::thread::JoinHandle<()>> = Vec::new();
    while !stopped() {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(_) => continue,
        };
        // The job itself reads with blocking calls and its own timeouts.
        stream.set_nonblocking(false)?;
        jobs.retain(|j| !j.is_finished());
        let (dir, counter, on_ticket) = (dir.to_path_buf(), counter.clone(), on_ticket.clone());
        jobs.push(std::thread::spawn(move || {
            match serve(stream, condition, &dir, &counter) {
                Ok(Some((txt, png))) => on_ticket(&txt, &png),
                Ok(None) => {}
                Err(e) => eprintln!("printer-sim: a job failed: {e}"),
            }
        }));
    }
    // A ticket half-received is saved if it completes soon; a client that holds its
    // connection open without sending does not keep the simulator from stopping.
    let until = std::time::Instant::now() + Duration::from_secs(2);
    while jobs.iter().any(|j| !j.is_finished()) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
