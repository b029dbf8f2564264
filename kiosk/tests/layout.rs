//! Nothing hidden or cut: on every screen, in both orientations, both languages and both text
//! sizes, every element lies inside the area between the header and the footer (or inside the
//! header or footer bar it belongs to), every text lies inside the button or card it is on, and
//! every button is a touch target of at least 96 px each way.

use i_slint_backend_testing::{ElementHandle, ElementQuery};
use slint::{ComponentHandle, Model};

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

/// A BigButton, or a component made from one (an item tile, 确认取号).
fn is_button(e: &ElementHandle) -> bool {
    e.type_name().as_deref() == Some("BigButton") || e.bases().is_some_and(|mut b| b.any(|t| t == "BigButton"))
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
        if is_button(e) && (r.h < MIN_TARGET || r.w < MIN_TARGET) {
            out.push(format!("button {name:?} at {r:?} is smaller than {MIN_TARGET} px"));
        }
        // Every text on a button or card lies inside it.
        if is_button(e) || kind == "Card" {
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
    every_screen_in_place(&kiosk_with(|c| c.tts = Some("true".into())));
}

#[test]
fn every_screen_keeps_all_its_content_between_header_and_footer_in_a_hall_of_twenty_five_departments() {
    let k = big_hall_kiosk();
    let ui = &k.state.ui;
    let d = ui.global::<kiosk::DepartmentAdapter>();
    every_screen_in_place(&k);
    // The departments that do not fit are a page away, never squeezed onto one screen.
    ui.global::<kiosk::WelcomeAdapter>().invoke_start();
    assert_eq!((d.get_pages(), d.get_departments().row_count()), (3, 12));
}

fn every_screen_in_place(k: &Kiosk) {
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

/// The window as drawn by the software renderer, one RGB triple per pixel.
struct Shot {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
}

impl Shot {
    fn take(ui: &kiosk::KioskWindow) -> Shot {
        let buf = ui.window().take_snapshot().expect("the software renderer draws");
        Shot {
            w: buf.width() as usize,
            h: buf.height() as usize,
            px: buf.as_slice().iter().map(|p| [p.r, p.g, p.b]).collect(),
        }
    }
}

/// Where a text's glyphs are inside its box: the pixels far from the box's most common colour.
struct Ink {
    w: usize,
    h: usize,
    mask: Vec<bool>,
}

impl Ink {
    /// The ink inside `r` (whole pixels only), or None when nothing is drawn there.
    fn of(shot: &Shot, r: &Rect) -> Option<Ink> {
        let x0 = r.x.ceil().max(0.0) as usize;
        let y0 = r.y.ceil().max(0.0) as usize;
        let x1 = ((r.x + r.w).floor() as usize).min(shot.w);
        let y1 = ((r.y + r.h).floor() as usize).min(shot.h);
        if x1 <= x0 + 2 || y1 <= y0 + 2 {
            return None;
        }
        let (w, h) = (x1 - x0, y1 - y0);
        let at = |x: usize, y: usize| shot.px[(y0 + y) * shot.w + x0 + x];
        let mut counts = std::collections::HashMap::new();
        for y in 0..h {
            for x in 0..w {
                *counts.entry(at(x, y)).or_insert(0usize) += 1;
            }
        }
        let bg = counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)?;
        let dist = |c: [u8; 3]| (0..3).map(|i| (c[i] as i32 - bg[i] as i32).abs()).sum::<i32>();
        let far = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| dist(at(x, y)))
            .max()?;
        if far < 120 {
            return None;
        }
        let mask = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| dist(at(x, y)) * 2 > far)
            .collect();
        Some(Ink { w, h, mask })
    }

    fn at(&self, x: usize, y: usize) -> bool {
        self.mask[y * self.w + x]
    }

    /// Glyphs cross the box's edge: the box is too small for its text, which is cut there. A
    /// cut runs through the glyphs, so the edge holds a good part of the ink a full line or
    /// column of them holds; a descender (p, g, y) that just reaches the bottom row does not.
    fn cut_edge(&self) -> Option<&'static str> {
        let row = |y: usize| (0..self.w).filter(|&x| self.at(x, y)).count();
        let col = |x: usize| (0..self.h).filter(|&y| self.at(x, y)).count();
        let (max_row, max_col) = ((0..self.h).map(row).max()?, (0..self.w).map(col).max()?);
        let crosses = |n: usize, max: usize| n > 0 && n * 5 >= max;
        if crosses(row(0), max_row) {
            Some("top")
        } else if crosses(row(self.h - 1), max_row) {
            Some("bottom")
        } else if crosses(col(0), max_col) {
            Some("left")
        } else if crosses(col(self.w - 1), max_col) {
            Some("right")
        } else {
            None
        }
    }

    /// The size of the first glyph drawn (the larger of its height and width, in pixels): the
    /// same character in both text sizes, so the ratio of two is the ratio of the font sizes,
    /// however the rest of the name wraps.
    fn first_glyph(&self) -> Option<f32> {
        let row_ink = |y: usize| (0..self.w).any(|x| self.at(x, y));
        let top = (0..self.h).find(|&y| row_ink(y))?;
        let bottom = (top..self.h).find(|&y| !row_ink(y)).unwrap_or(self.h);
        let col_ink = |x: usize| (top..bottom).any(|y| self.at(x, y));
        let left = (0..self.w).find(|&x| col_ink(x))?;
        let right = (left..self.w).find(|&x| !col_ink(x)).unwrap_or(self.w);
        let rows: Vec<usize> = (top..bottom)
            .filter(|&y| (left..right).any(|x| self.at(x, y)))
            .collect();
        let height = rows.last()? - rows.first()? + 1;
        Some(height.max(right - left) as f32)
    }
}

#[test]
fn large_text_draws_every_tile_a_third_larger_and_cuts_no_text_on_a_busy_day() {
    let k = busy_kiosk_drawn();
    let ui = &k.state.ui;
    // (screen without its text size, tile) → first-glyph size in normal text.
    let mut normal: std::collections::HashMap<(String, String), f32> = Default::default();
    let mut larger = Vec::new();
    let mut problems = Vec::new();
    let mut compared = 0;
    kiosk::render::walk_screens(&k.state, &[(1080, 1920), (1920, 1080)], |name, size| {
        ui.window().set_size(slint::PhysicalSize::new(size.0, size.1));
        let shot = Shot::take(ui);
        let large = name.contains("-large-");
        let screen = name.replace("-large-", "-").replace("-normal-", "-");
        let all = ElementQuery::from_root(ui).find_all();
        // An overlay (issuing, paused, a notice) covers the screen: its own texts are the
        // ones to read, the others are under it.
        let whole = |e: &ElementHandle| {
            let s = e.size();
            s.width >= size.0 as f32 - 0.5 && s.height >= size.1 as f32 - 0.5
        };
        let first_on_top = all.iter().rposition(whole).unwrap_or(0);
        for e in &all[first_on_top..] {
            if e.type_name().as_deref() != Some("Text") || e.computed_opacity() == 0.0 {
                continue;
            }
            let r = Rect::of(e);
            if let Some(edge) = Ink::of(&shot, &r).and_then(|i| i.cut_edge()) {
                problems.push(format!(
                    "{name}: text {:?} at {r:?} is cut at its {edge}",
                    e.accessible_label().unwrap_or_default()
                ));
            }
        }
        // The tiles of the content area: the name's first glyph, normal against large. Keypad
        // keys are 48 px and more in both sizes: they must not shrink.
        let keypads: Vec<Rect> = ElementQuery::from_root(ui)
            .match_inherits("KeyGrid")
            .find_all()
            .iter()
            .map(Rect::of)
            .collect();
        for b in all[first_on_top..].iter().filter(|e| is_button(e)) {
            let label = b.accessible_label().unwrap_or_default().to_string();
            let r = Rect::of(b);
            if label.is_empty() || r.y < HEADER || r.y + r.h > size.1 as f32 - FOOTER + 0.5 {
                continue;
            }
            let Some(text) = b
                .query_descendants()
                .match_type_name("Text")
                .find_all()
                .into_iter()
                .find(|t| t.accessible_label().unwrap_or_default().replace('\n', "") == label.replace('\n', ""))
            else {
                continue;
            };
            let Some(glyph) = Ink::of(&shot, &Rect::of(&text)).and_then(|i| i.first_glyph()) else {
                continue;
            };
            let key = (screen.clone(), label.clone());
            if !large {
                normal.insert(key, glyph);
            } else if let Some(n) = normal.get(&key) {
                compared += 1;
                larger.push(format!("{screen} {label:?}: {n} → {glyph} ({:.2}×)", glyph / n));
                let key = keypads.iter().any(|k| Rect::of(b).within(k));
                if glyph < n * if key { 1.0 } else { 1.3 } {
                    problems.push(format!(
                        "{screen}: {} {label:?} is drawn {:.2}× as large in 大字 ({n} px → {glyph} px)",
                        if key { "key" } else { "tile" },
                        glyph / n
                    ));
                }
            }
        }
        Ok(())
    })
    .unwrap();
    eprintln!("{}", larger.join("\n"));
    assert!(compared >= 100, "only {compared} tiles were compared");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
