//! The paper the visitor signs (委托书, 受理单, 一次性告知书, 中止/终止告知单, 办结单, 材料交接单)
//! as A4 PDFs from a case's own data, with the hall's name, the case number and its QR on
//! every form, page numbers, and a blank line for whatever is not known yet (halls pre-print
//! them). Drawn with krilla in the bundled CJK font, which it embeds as a subset.

use std::collections::HashMap;
use std::sync::Arc;

use bangban::{Case, Hall};
use chrono::NaiveDate;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

/// The forms there are, by the name `bangban form` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Poa,
    Acceptance,
    Notice,
    Suspension,
    Termination,
    Completion,
    Handover,
}

impl FormKind {
    pub const ALL: [FormKind; 7] = [
        FormKind::Poa,
        FormKind::Acceptance,
        FormKind::Notice,
        FormKind::Suspension,
        FormKind::Termination,
        FormKind::Completion,
        FormKind::Handover,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Poa => "poa",
            FormKind::Acceptance => "acceptance",
            FormKind::Notice => "notice",
            FormKind::Suspension => "suspension",
            FormKind::Termination => "termination",
            FormKind::Completion => "completion",
            FormKind::Handover => "handover",
        }
    }
    pub fn parse(s: &str) -> Option<FormKind> {
        FormKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn title(self) -> &'static str {
        match self {
            FormKind::Poa => "帮办代办委托书",
            FormKind::Acceptance => "受理单",
            FormKind::Notice => "一次性告知书",
            FormKind::Suspension => "中止告知单",
            FormKind::Termination => "终止告知单",
            FormKind::Completion => "办结单",
            FormKind::Handover => "材料交接单",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("the form could not be written: {0}")]
    Pdf(String),
}

/// What a form is made from: the hall, the case, the texts of its notes, the status page's
/// address (its QR) and the date printed.
pub struct FormData<'a> {
    pub hall: &'a Hall,
    pub case: &'a Case,
    /// The case's events' notes by id (questions, answers, reasons …).
    pub notes: &'a HashMap<i64, String>,
    pub status_url: String,
    pub today: NaiveDate,
}

enum Block {
    /// 「label：value」, or a line to fill in by hand when the value is not known yet.
    Field(String, String),
    Para(String),
    List(Vec<String>),
    /// Signature boxes, side by side: each label with 签字 and 日期 lines.
    Sign(Vec<String>),
    Gap,
}

fn field(label: &str, value: impl Into<String>) -> Block {
    Block::Field(label.into(), value.into())
}

/// The form's words, from the case.
fn blocks(kind: FormKind, d: &FormData) -> Vec<Block> {
    let hall = d.hall;
    let c = d.case;
    let item = hall.item(&c.item);
    let specialist = c
        .owner
        .as_deref()
        .and_then(|s| hall.specialist(s))
        .or_else(|| item.and_then(|i| hall.specialist(&i.specialist)));
    let agent = specialist
        .map(|s| {
            if s.badge.is_empty() {
                format!("{}（{}）", s.name, hall.department_name(&s.department))
            } else {
                format!(
                    "{}（{}，工号 {}）",
                    s.name,
                    hall.department_name(&s.department),
                    s.badge
                )
            }
        })
        .unwrap_or_default();
    let matter = hall.item_name(&c.item);
    let dept = hall.department_name(&c.department);
    let mut out = vec![
        field("办件编号", format!("{}/{}", c.business_day, c.number)),
        field("办理事项", matter.clone()),
        field("办理部门", dept.clone()),
    ];
    match kind {
        FormKind::Poa => {
            out.push(Block::Para(
                "委托人自愿委托下列帮办代办专员代为办理上述事项，并对所提交材料的真实性负责。".into(),
            ));
            out.push(field("委托人姓名", ""));
            out.push(field("委托人身份证号", ""));
            out.push(field("委托人联系电话", ""));
            out.push(field("受托人（帮办代办专员）", agent));
            out.push(field("服务方式", c.mode.label_zh()));
            out.push(field("委托范围", "代为提交材料、跟踪办理进度、领取并交付办理结果"));
            out.push(Block::Para("交接的材料：".into()));
            out.push(if c.materials.is_empty() {
                Block::List(vec!["______________________________".into(); 3])
            } else {
                Block::List(c.materials.clone())
            });
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["委托人".into(), "受托人".into()]));
        }
        FormKind::Acceptance => {
            out.push(Block::Para("已收到的材料：".into()));
            out.push(if c.materials.is_empty() {
                Block::List(vec!["______________________________".into(); 3])
            } else {
                Block::List(c.materials.clone())
            });
            let accepted = c
                .started_at
                .as_deref()
                .and_then(bangban::clock::parse_stamp)
                .filter(|_| !c.materials.is_empty());
            let promised = accepted
                .map(|t| {
                    bangban::add_working_days(t, hall.deadlines.delivery_days, hall.tz(), &hall.calendar)
                        .with_timezone(&hall.tz())
                        .format("%Y年%m月%d日")
                        .to_string()
                })
                .unwrap_or_default();
            out.push(field("承诺办结日期", promised));
            out.push(field("帮办代办专员", agent));
            out.push(field("联系电话", item.map(|i| i.phone.clone()).unwrap_or_default()));
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["申请人".into(), "受理人".into()]));
        }
        FormKind::Notice => {
            out.push(Block::Para(
                "经审核，您申请办理的事项尚需补齐下列材料。本告知为一次性告知，补齐后请回原窗口办理，无需重新取号。"
                    .into(),
            ));
            let missing: Vec<String> = c
                .missing
                .iter()
                .map(|m| match hall.material_sources.get(m) {
                    Some(place) => format!("{m}（办理地点：{place}）"),
                    None => m.clone(),
                })
                .collect();
            out.push(if missing.is_empty() {
                Block::List(vec!["______________________________".into(); 4])
            } else {
                Block::List(missing)
            });
            let window = c.called_window.unwrap_or(c.window);
            out.push(field("补齐后办理窗口", format!("{window} 号窗口")));
            out.push(field("办公时间", format!("工作日 {}–{}", hall.open, hall.close)));
            out.push(field("补齐期限", ""));
            out.push(field("告知人", agent));
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["申请人".into(), "告知人".into()]));
        }
        FormKind::Suspension | FormKind::Termination => {
            let what = if kind == FormKind::Suspension {
                "中止"
            } else {
                "终止"
            };
            out.push(Block::Para(format!(
                "您申请办理的上述事项因下列原因{what}办理。{}",
                if kind == FormKind::Suspension {
                    "中止期间办理时限暂停计算，原因消除后恢复办理。"
                } else {
                    "本事项办理程序终结，材料予以退还。"
                }
            )));
            out.push(field(&format!("{what}原因"), ""));
            out.push(field(&format!("{what}日期"), ""));
            if kind == FormKind::Suspension {
                out.push(field("预计恢复日期", ""));
            }
            out.push(field("帮办代办专员", agent));
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["申请人".into(), "帮办代办专员".into()]));
        }
        FormKind::Completion => {
            let done = matches!(
                c.state,
                bangban::CaseState::Ready
                    | bangban::CaseState::Delivered
                    | bangban::CaseState::Mailed
                    | bangban::CaseState::ReceiptConfirmed
                    | bangban::CaseState::Archived
            );
            out.push(field("办理结果", if done { "已办结" } else { "" }));
            out.push(field(
                "交付方式",
                match c.state {
                    bangban::CaseState::Delivered | bangban::CaseState::Archived => "当面交付",
                    bangban::CaseState::Mailed | bangban::CaseState::ReceiptConfirmed => "邮寄",
                    _ => "",
                },
            ));
            out.push(field("邮寄单号", ""));
            out.push(field("交付日期", ""));
            out.push(field("帮办代办专员", agent));
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["领取人".into(), "交付人".into()]));
        }
        FormKind::Handover => {
            out.push(Block::Para("移交归档的材料：".into()));
            out.push(if c.materials.is_empty() {
                Block::List(vec!["______________________________".into(); 4])
            } else {
                Block::List(c.materials.clone())
            });
            out.push(field("移交人", agent));
            out.push(field("接收人", ""));
            out.push(field("交接日期", ""));
            out.push(Block::Gap);
            out.push(Block::Sign(vec!["移交人".into(), "接收人".into()]));
        }
    }
    out
}

const W: f32 = 595.28;
const H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BODY: f32 = 12.0;

enum Op {
    Text { x: f32, y: f32, size: f32, text: String },
    Line { x1: f32, y1: f32, x2: f32, y2: f32 },
    Qr { x: f32, y: f32, size: f32 },
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
pub fn render(kind: FormKind, d: &FormData) -> Result<Vec<u8>, FormError> {
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
            text: format!("{} · 帮办代办", d.hall.name),
        });
        let no = format!("办件 {}/{}", d.case.business_day, d.case.number);
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
    let title = kind.title();
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
    for b in blocks(kind, d) {
        match b {
            Block::Field(label, value) => {
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
            Block::Para(text) => {
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
            Block::List(items) => {
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
            Block::Sign(labels) => {
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
                    page.push(Op::Text {
                        x: x + 8.0,
                        y: y + box_h - 24.0,
                        size: BODY,
                        text: "日期：      年    月    日".into(),
                    });
                }
                y += box_h + line_h;
            }
        }
    }
    let printed = format!("打印日期：{}", d.today.format("%Y年%m月%d日"));
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
