//! The ticket's QR code as a crisp image for the screen.

use qrcode::{Color, EcLevel, QrCode};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

/// Render `payload` with a 4-module quiet zone, `scale` pixels per module.
pub fn image(payload: &str, scale: u32) -> Image {
    let Ok(code) = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M) else {
        return Image::default();
    };
    let n = code.width() as u32;
    let quiet = 4;
    let side = (n + 2 * quiet) * scale;
    let mut buf = SharedPixelBuffer::<Rgb8Pixel>::new(side, side);
    let colors = code.to_colors();
    let pixels = buf.make_mut_slice();
    for (i, px) in pixels.iter_mut().enumerate() {
        let (x, y) = ((i as u32 % side) / scale, (i as u32 / side) / scale);
        let dark = x >= quiet
            && y >= quiet
            && x < n + quiet
            && y < n + quiet
            && colors[((y - quiet) * n + (x - quiet)) as usize] == Color::Dark;
        *px = if dark {
            Rgb8Pixel { r: 0, g: 0, b: 0 }
        } else {
            Rgb8Pixel { r: 255, g: 255, b: 255 }
        };
    }
    Image::from_rgb8(buf)
}
