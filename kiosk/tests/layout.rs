//! Nothing hidden or cut: on every screen, in both orientations, both languages and both text
//! sizes, every element lies inside the area between the header and the footer (or inside the
//! header or footer bar it belongs to), every text lies inside the button or card it is on, and
//! every button is a touch target of at least 96 px each way.

use i_slint_backend_testing::{ElementHandle, ElementQuery};
use slint::ComponentHandle;

use crate::support::*;

/// The header and footer bars of `kiosk.slint`, in pixels.
const HEADER: f32 = 132.0;
const FOOTER: f32 = 72.0;
/// The smallest touch target on any screen (a fingertip is about 10 mm; 1080 px across a
/// 21.5-inch portrait screen is about 4 px per mm).
const MIN_TARGET: f32 = 96.0;

#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl Rect {
    fn of(e: &ElementHandle) -> Rect {
        let (p, s) = (e.absolute_position(), e.size());
        Rect {
            x: p.x,
            y: p.y,
            w: s.width,
            h: s.height,
        }
    }
    /// Inside `outer`, allowing half a pixel for rounding.
    fn within(&self, outer: &Rect) -> bool {
        self.x >= outer.x - 0.5
            && self.y >= outer.y - 0.5
            && self.x + self.w <= outer.x + outer.w + 0.5
            && self.y + self.h <= outer.y + outer.h + 0.5
    }
}

/// What lies outside its place on the screen now showing, one line each.
fn misplaced(ui: &kiosk::KioskWindow, (w, h): (u32, u32)) -> Vec<String> {
    let (w, h) = (w as f32, h as f32);
    let zones = [
        Rect {
            x: 0.0,
            y: 0.0,
            w,
            h: HEADER,
        },
        Rect {
            x: 0.0,
            y: HEADER,
            w,
            h: h - HEADER - FOOTER,
        },
        Rect {
            x: 0.0,
            y: h - FOOTER,
            w,
            h: FOOTER,
        },
    ];
    let all = ElementQuery::from_root(ui).find_all();
    let mut out = Vec::new();
    for e in &all {
        let r = Rect::of(e);
        // The window's own frame and the dimmed backdrop of an overlay cover everything.
        let whole = r.w >= w - 0.5 && r.h >= h - 0.5;
        if whole || r.w <= 0.0 || r.h <= 0.0 || e.computed_opacity() == 0.0 {
            continue;
        }
        let kind = e.type_name().unwrap_or_default();
        let name = e.accessible_label().unwrap_or_default();
        if !zones.iter().any(|z| r.within(z)) {
            out.push(format!(
                "{kind} {name:?} at {r:?} crosses the header, the footer or the edge"
            ));
            continue;
        }
        if kind == "BigButton" && (r.h < MIN_TARGET || r.w < MIN_TARGET) {
            out.push(format!("button {name:?} at {r:?} is smaller than {MIN_TARGET} px"));
        }
        // Every text on a button or card lies inside it.
        if matches!(kind.as_str(), "BigButton" | "Card") {
            for t in e.query_descendants().match_type_name("Text").find_all() {
                let tr = Rect::of(&t);
                if tr.w > 0.0 && tr.h > 0.0 && !tr.within(&r) {
                    out.push(format!(
                        "text {:?} at {tr:?} spills out of its {kind} {name:?} at {r:?}",
                        t.accessible_label().unwrap_or_default()
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_screen_keeps_all_its_content_between_header_and_footer() {
    // With a TTS command, so the header carries its 「语音」 button too.
    let k = kiosk_with(|c| c.tts = Some("true".into()));
    let ui = &k.state.ui;
    let mut failures = Vec::new();
    let mut screens = 0;
    kiosk::render::walk_screens(&k.state, &[(1080, 1920), (1920, 1080)], |name, size| {
        ui.window().set_size(slint::PhysicalSize::new(size.0, size.1));
        screens += 1;
        for m in misplaced(ui, size) {
            failures.push(format!("{name}: {m}"));
        }
        Ok(())
    })
    .unwrap();
    assert!(screens >= 48, "only {screens} screens were checked");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
