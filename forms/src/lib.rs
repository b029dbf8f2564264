//! The paper the visitor signs (委托书, 受理单, 一次性告知书, 中止/终止告知单, 办结单, 材料交接单)
//! drawn as A4 PDFs: the words come from the ledger (`bangban::forms`), this crate draws them
//! with the hall's name, the case number and its QR on every form, page numbers, blank lines
//! for what is not known yet, and a pad's signature in the visitor's box. Drawn with krilla in
//! the bundled CJK font, which it embeds as a subset. The same words and signature always make
//! the same bytes, so a signed PDF can be made again and compared (`verify`).

use std::sync::Arc;

pub use bangban::forms::{form_number, Block, FormContent, FormKind};
use base64::Engine as _;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("the form could not be written: {0}")]
    Pdf(String),
    /// The file is no form signed on a pad (no mark of bangban's in it).
    #[error("{0} is not a form signed on bangban's signature pad")]
    NotSigned(String),
    /// The file differs from the signed form the ledger makes again.
    #[error("{0}")]
    Altered(String),
}

/// The words in a signed PDF's keywords that name the signing event and the form's hash.
const MARK: &str = "bangban-form-signed:";

/// What makes a form the signed one: the pad's PNG in the visitor's box and the event's mark.
pub struct Signed<'a> {
    pub png: &'a [u8],
    pub seq: i64,
    pub form_sha256: &'a str,
    /// When it was signed, as printed beside the signature (`YYYY-MM-DD HH:MM`).
    pub at: &'a str,
}

/// The signed form of a ledger's `form_signed` event, drawn, its time in the hall's time zone.
pub fn render_signed(s: &bangban::SignedForm, hall: &bangban::Hall) -> Result<Vec<u8>, FormError> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(&s.png)
        .map_err(|e| FormError::Pdf(format!("the signature of event {}: {e}", s.seq)))?;
    let at = bangban::clock::local_minute(&s.at, hall.tz()).unwrap_or_else(|| s.at.clone());
    render(
        &s.content,
        Some(&Signed {
            png: &png,
            seq: s.seq,
            form_sha256: &s.form_sha256,
            at: &at,
        }),
    )
}

/// The event and form hash a signed PDF names, read from its bytes.
pub fn signed_mark(pdf: &[u8]) -> Option<(i64, String)> {
    let at = pdf.windows(MARK.len()).position(|w| w == MARK.as_bytes())? + MARK.len();
    let rest = &pdf[at..pdf.len().min(at + 100)];
    let text: String = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b':')
        .map(|b| *b as char)
        .collect();
    let (seq, sha) = text.split_once(':')?;
    let sha: String = sha.chars().take(64).collect();
    (sha.len() == 64).then_some(())?;
    Some((seq.parse().ok()?, sha))
}

/// Check a PDF against the signed form the ledger makes again: the same bytes, or an error
/// saying how it differs.
pub fn verify(pdf: &[u8], signed: &bangban::SignedForm, hall: &bangban::Hall, name: &str) -> Result<(), FormError> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(&signed.png)
        .map_err(|e| {
            FormError::Altered(format!(
                "the ledger's signature of event {} is damaged: {e}",
                signed.seq
            ))
        })?;
    if bangban::signature::sha256(&png) != signed.signature_sha256 {
        return Err(FormError::Altered(format!(
            "the signature kept for event {} does not match the hash its event recorded",
            signed.seq
        )));
    }
    let again = render_signed(signed, hall)?;
    if again.as_slice() != pdf {
        return Err(FormError::Altered(format!(
            "{name} differs from the {} signed in event {} (sha256 {} expected, the file's is {}): it was altered after signing",
            signed.content.title,
            signed.seq,
            bangban::signature::sha256(&again),
            bangban::signature::sha256(pdf)
        )));
    }
    Ok(())
}

const W: f32 = 595.28;
const H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BODY: f32 = 12.0;

enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
    },
    Qr {
        x: f32,
        y: f32,
        size: f32,
    },
    /// The pad's signature.
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// Text widths from the bundled font's advances.
struct Measure<'f>(ttf_parser::Face<'f>);

impl Measure<'_> {
    fn width(&self, text: &str, size: f32) -> f32 {
        let upem = self.0.units_per_em() as f32;
        text.chars()
            .map(|c| {
                self.0
                    .glyph_index(c)
                    .and_then(|g| self.0.glyph_hor_advance(g))
                    .map(|a| a as f32 / upem * size)
                    .unwrap_or(size * 0.5)
            })
            .sum()
    }

    /// `text` broken into lines no wider than `width` (CJK breaks anywhere; a word of Latin
    /// letters or digits is kept whole where it fits).
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for c in text.chars() {
            let mut candidate = line.clone();
            candidate.push(c);
            if self.width(&candidate, size) > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The form as an A4 PDF.
pub fn render(d: &FormContent, signed: Option<&Signed>) -> Result<Vec<u8>, FormError> {
    let face = ttf_parser::Face::parse(bangban::font::FONT, 0).map_err(|e| FormError::Pdf(e.to_string()))?;
    let m = Measure(face);
    let width = W - 2.0 * MARGIN;
    let mut pages: Vec<Vec<Op>> = vec![Vec::new()];
    let mut y = MARGIN;
    let header = |ops: &mut Vec<Op>| {
        ops.push(Op::Text {
            x: MARGIN,
            y: MARGIN - 24.0,
            size: 9.0,
            text: format!("{} · 帮办代办 · 表单编号 {}", d.hall, d.number),
        });
        let no = format!("办件 {}", d.case_ref);
        ops.push(Op::Text {
            x: W - MARGIN - m.width(&no, 9.0),
            y: MARGIN - 24.0,
            size: 9.0,
            text: no,
        });
        ops.push(Op::Line {
            x1: MARGIN,
            y1: MARGIN - 10.0,
            x2: W - MARGIN,
            y2: MARGIN - 10.0,
        });
    };
    header(&mut pages[0]);
    // The title, and the case's QR (its status page) at the right.
    let qr = 72.0;
    pages[0].push(Op::Qr {
        x: W - MARGIN - qr,
        y,
        size: qr,
    });
    let title = d.title.as_str();
    pages[0].push(Op::Text {
        x: (W - m.width(title, 22.0)) / 2.0,
        y: y + 16.0,
        size: 22.0,
        text: title.into(),
    });
    y += qr + 16.0;
    let line_h = BODY * 1.7;
    let ensure = |pages: &mut Vec<Vec<Op>>, y: &mut f32, need: f32| {
        if *y + need > H - MARGIN - 20.0 {
            let mut next = Vec::new();
            header(&mut next);
            pages.push(next);
            *y = MARGIN;
        }
    };
    let mut signature_placed = false;
    for b in d.blocks.iter().cloned() {
        match b {
            Block::Field { label, value } => {
                let head = format!("{label}：");
                let hw = m.width(&head, BODY);
                let lines = if value.trim().is_empty() {
                    vec![String::new()]
                } else {
                    m.wrap(&value, BODY, width - hw)
                };
                ensure(&mut pages, &mut y, line_h * lines.len() as f32);
                let page = pages.last_mut().expect("a page");
                page.push(Op::Text {
                    x: MARGIN,
                    y,
                    size: BODY,
                    text: head,
                });
                if value.trim().is_empty() {
                    // A line to fill in by hand.
                    page.push(Op::Line {
                        x1: MARGIN + hw,
                        y1: y + BODY + 2.0,
                        x2: W - MARGIN,
                        y2: y + BODY + 2.0,
                    });
                }
                for l in lines {
                    page.push(Op::Text {
                        x: MARGIN + hw,
                        y,
                        size: BODY,
                        text: l,
                    });
                    y += line_h;
                }
            }
            Block::Para { text } => {
                let lines = m.wrap(&text, BODY, width);
                ensure(&mut pages, &mut y, line_h * lines.len() as f32);
                let page = pages.last_mut().expect("a page");
                for l in lines {
                    page.push(Op::Text {
                        x: MARGIN,
                        y,
                        size: BODY,
                        text: l,
                    });
                    y += line_h;
                }
            }
            Block::List { items } => {
                for (i, it) in items.iter().enumerate() {
                    let mark = format!("{}. ", i + 1);
                    let mw = m.width(&mark, BODY);
                    let lines = m.wrap(it, BODY, width - mw - 12.0);
                    ensure(&mut pages, &mut y, line_h * lines.len() as f32);
                    let page = pages.last_mut().expect("a page");
                    page.push(Op::Text {
                        x: MARGIN + 12.0,
                        y,
                        size: BODY,
                        text: mark,
                    });
                    for l in lines {
                        page.push(Op::Text {
                            x: MARGIN + 12.0 + mw,
                            y,
                            size: BODY,
                            text: l,
                        });
                        y += line_h;
                    }
                }
            }
            Block::Gap => y += line_h,
            Block::Sign { labels } => {
                let box_h = 96.0;
                ensure(&mut pages, &mut y, box_h);
                let page = pages.last_mut().expect("a page");
                let n = labels.len().max(1) as f32;
                let w = (width - 16.0 * (n - 1.0)) / n;
                for (i, l) in labels.iter().enumerate() {
                    let x = MARGIN + i as f32 * (w + 16.0);
                    for (x1, y1, x2, y2) in [
                        (x, y, x + w, y),
                        (x, y + box_h, x + w, y + box_h),
                        (x, y, x, y + box_h),
                        (x + w, y, x + w, y + box_h),
                    ] {
                        page.push(Op::Line { x1, y1, x2, y2 });
                    }
                    page.push(Op::Text {
                        x: x + 8.0,
                        y: y + 8.0,
                        size: BODY,
                        text: format!("{l}（签字）："),
                    });
                    // The visitor's box (the first) takes the pad's signature, once.
                    match signed.filter(|_| i == 0 && !signature_placed) {
                        Some(sg) => {
                            signature_placed = true;
                            page.push(Op::Image {
                                x: x + 8.0,
                                y: y + 26.0,
                                w: (w - 16.0).min(150.0),
                                h: ((w - 16.0).min(150.0) * bangban::signature::HEIGHT as f32
                                    / bangban::signature::WIDTH as f32)
                                    .min(box_h - 50.0),
                            });
                            page.push(Op::Text {
                                x: x + 8.0,
                                y: y + box_h - 24.0,
                                size: 9.0,
                                text: format!("电子签名 {} · 记录 #{}", sg.at, sg.seq),
                            });
                        }
                        None => page.push(Op::Text {
                            x: x + 8.0,
                            y: y + box_h - 24.0,
                            size: BODY,
                            text: "日期：      年    月    日".into(),
                        }),
                    }
                }
                y += box_h + line_h;
            }
        }
    }
    let printed = format!("打印日期：{}", d.printed.format("%Y年%m月%d日"));
    let last = pages.last_mut().expect("a page");
    last.push(Op::Text {
        x: MARGIN,
        y: H - MARGIN - 8.0,
        size: 9.0,
        text: printed,
    });

    // Draw: the page count is known now.
    let font = Font::new(Arc::new(bangban::font::FONT.to_vec()).into(), 0)
        .ok_or_else(|| FormError::Pdf("the bundled font cannot be embedded".into()))?;
    let code = qrcode::QrCode::new(d.status_url.as_bytes()).map_err(|e| FormError::Pdf(e.to_string()))?;
    let modules = code.width();
    let dark: Vec<bool> = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    let total = pages.len();
    let mut doc = Document::new();
    // No creation date and a document id from the words: the same form makes the same bytes.
    let mut meta = Metadata::new()
        .title(format!("{} {}", d.title, d.case_ref))
        .creator("bangban".into())
        .document_id(d.number.clone());
    if let Some(sg) = signed {
        meta = meta.keywords(vec![format!("{MARK}{}:{}", sg.seq, sg.form_sha256)]);
    }
    doc.set_metadata(meta);
    let image = match signed {
        Some(sg) => Some(
            krilla::image::Image::from_png(Arc::new(sg.png.to_vec()).into(), true)
                .map_err(|e| FormError::Pdf(format!("the signature image: {e}")))?,
        ),
        None => None,
    };
    for (n, ops) in pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(W, H).expect("A4"));
        let mut s = page.surface();
        let footer = format!("第 {} 页 共 {} 页", n + 1, total);
        let fw = m.width(&footer, 9.0);
        let all = ops.into_iter().chain(std::iter::once(Op::Text {
            x: (W - fw) / 2.0,
            y: H - MARGIN + 14.0,
            size: 9.0,
            text: footer,
        }));
        for op in all {
            match op {
                Op::Text { x, y, size, text } => {
                    if text.is_empty() {
                        continue;
                    }
                    s.set_fill(Some(Fill::default()));
                    // krilla draws from the baseline; `y` is the top of the line.
                    s.draw_text(
                        Point::from_xy(x, y + size * 0.88),
                        font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line { x1, y1, x2, y2 } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x1, y1);
                    pb.line_to(x2, y2);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            width: 0.6,
                            ..Default::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
                Op::Image { x, y, w, h } => {
                    if let (Some(img), Some(size)) = (image.clone(), Size::from_wh(w, h)) {
                        s.push_transform(&Transform::from_translate(x, y));
                        s.draw_image(img, size);
                        s.pop();
                    }
                }
                Op::Qr { x, y, size } => {
                    let cell = size / modules as f32;
                    let mut pb = PathBuilder::new();
                    for (i, on) in dark.iter().enumerate() {
                        if *on {
                            let (cx, cy) = ((i % modules) as f32, (i / modules) as f32);
                            if let Some(r) = Rect::from_xywh(x + cx * cell, y + cy * cell, cell, cell) {
                                pb.push_rect(r);
                            }
                        }
                    }
                    if let Some(path) = pb.finish() {
                        s.set_stroke(None);
                        s.set_fill(Some(Fill::default()));
                        s.draw_path(&path);
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| FormError::Pdf(format!("{e:?}")))
}
