//! A signature drawn on the pad: the strokes as the pad sends them, checked and drawn into the
//! PNG that is kept with the personal data (its SHA-256 goes into the `form_signed` event).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};

/// The canvas the pad draws on, in its own units; strokes are clipped to it.
pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 240;
/// A signature has at most this many points in all (a real one has a few hundred).
const MAX_POINTS: usize = 20_000;

/// One stroke: the points the finger or pen passed, in canvas units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke(pub Vec<(f32, f32)>);

/// The strokes drawn as a PNG: black ink on white, 2× the canvas for print.
pub fn png(strokes: &[Stroke]) -> Result<Vec<u8>> {
    let points: usize = strokes.iter().map(|s| s.0.len()).sum();
    if points < 2 {
        return Err(LedgerError::Invalid("the signature is empty: sign on the pad".into()));
    }
    if points > MAX_POINTS {
        return Err(LedgerError::Invalid(format!(
            "the signature has {points} points, more than {MAX_POINTS}"
        )));
    }
    if strokes
        .iter()
        .flat_map(|s| &s.0)
        .any(|(x, y)| !x.is_finite() || !y.is_finite())
    {
        return Err(LedgerError::Invalid("the signature has a point off the canvas".into()));
    }
    let scale = 2.0;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH * 2, HEIGHT * 2)
        .ok_or_else(|| LedgerError::Invalid("the signature canvas cannot be made".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let mut paint = tiny_skia::Paint::default();
    paint.set_color_rgba8(0x10, 0x18, 0x40, 0xff);
    paint.anti_alias = true;
    let stroke = tiny_skia::Stroke {
        width: 3.0 * scale,
        line_cap: tiny_skia::LineCap::Round,
        line_join: tiny_skia::LineJoin::Round,
        ..Default::default()
    };
    let clip = |v: f32, max: u32| v.clamp(0.0, max as f32) * scale;
    for s in strokes {
        let mut pb = tiny_skia::PathBuilder::new();
        let mut pts = s.0.iter();
        let Some(&(x0, y0)) = pts.next() else { continue };
        pb.move_to(clip(x0, WIDTH), clip(y0, HEIGHT));
        if s.0.len() == 1 {
            // A dot.
            pb.line_to(clip(x0, WIDTH) + 0.5, clip(y0, HEIGHT));
        }
        for &(x, y) in pts {
            pb.line_to(clip(x, WIDTH), clip(y, HEIGHT));
        }
        if let Some(path) = pb.finish() {
            pixmap.stroke_path(&path, &paint, &stroke, tiny_skia::Transform::identity(), None);
        }
    }
    pixmap
        .encode_png()
        .map_err(|e| LedgerError::Invalid(format!("the signature cannot be encoded: {e}")))
}

/// The plain SHA-256 of the PNG (or of any bytes: a signed PDF), hex: what `form_signed`
/// records and `form verify` checks.
pub fn sha256(png: &[u8]) -> String {
    hex::encode(Sha256::digest(png))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_same_strokes_to_the_same_png_and_refuses_an_empty_one() {
        let s = vec![Stroke(vec![(10.0, 10.0), (200.0, 120.0), (400.0, 60.0)])];
        let a = png(&s).unwrap();
        assert_eq!(a, png(&s).unwrap());
        assert_eq!(&a[1..4], b"PNG");
        assert!(png(&[]).is_err());
        assert!(png(&[Stroke(vec![(f32::NAN, 1.0), (2.0, 2.0)])]).is_err());
    }
}
