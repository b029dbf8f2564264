//! Slint glue shared by the kiosk and the display. Headless screenshots: a minimal Slint platform whose one window is drawn by the software
//! renderer into memory and saved as PNG. Used by the kiosk and the display for `--render`.

pub mod bind;
pub mod stop;
pub mod text;
pub mod voice;

pub use text::balanced;

use std::path::Path;
use std::rc::Rc;

use anyhow::Context;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError, Rgb8Pixel};

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
    install_with(RepaintBufferType::NewBuffer)
}

/// `install`, with the window's buffer kept between frames (`ReusedBuffer`: only what changed
/// is drawn again, as on a real screen) or new for each frame (`NewBuffer`: every frame whole).
pub fn install_with(buffer: RepaintBufferType) -> anyhow::Result<Rc<MinimalSoftwareWindow>> {
    let window = MinimalSoftwareWindow::new(buffer);
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

/// A fontconfig file that knows only DejaVu (no CJK glyphs), written into `dir`: with
/// `FONTCONFIG_FILE` pointing at it, any Chinese a program draws comes from its embedded font.
/// (With no fonts at all the font library refuses to start, so one Latin family is kept.)
pub fn cjk_free_fontconfig(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let latin = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"]
        .into_iter()
        .find(|d| Path::new(d).is_dir())
        .context("no DejaVu fonts (Debian fonts-dejavu-core)")?;
    let conf = dir.join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig><dir>{latin}</dir><cachedir>{}</cachedir></fontconfig>\n",
            dir.join("fc-cache").display()
        ),
    )
    .with_context(|| format!("cannot write {}", conf.display()))?;
    Ok(conf)
}
