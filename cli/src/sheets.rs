//! The office's files: the figures as CSV (with a byte-order mark), XLSX (with a native chart)
//! and the hourly arrivals-vs-served chart as a PNG drawn with the bundled CJK font.

use bangban::{FigureLine, Figures};
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet};

/// The columns of a figures line: (heading in Chinese, heading in English, value).
type Column = (&'static str, &'static str, fn(&FigureLine) -> Cell);

pub enum Cell {
    Text(String),
    Count(u32),
    Minutes(Option<f64>),
}

const COLUMNS: &[Column] = &[
    ("代码", "code", |l| Cell::Text(l.code.clone())),
    ("名称", "name", |l| Cell::Text(l.name.clone())),
    ("所属部门", "department", |l| Cell::Text(l.department.clone())),
    ("来访取号", "tickets", |l| Cell::Count(l.tickets)),
    ("来电", "phone", |l| Cell::Count(l.phone)),
    ("网上", "online", |l| Cell::Count(l.online)),
    ("接待", "served", |l| Cell::Count(l.served)),
    ("过号", "no_shows", |l| Cell::Count(l.no_shows)),
    ("咨询已答复", "consultations_answered", |l| {
        Cell::Count(l.consultations_answered)
    }),
    ("咨询待研究", "consultations_deferred", |l| {
        Cell::Count(l.consultations_deferred)
    }),
    ("咨询超期", "consultations_overdue", |l| {
        Cell::Count(l.consultations_overdue)
    }),
    ("一次性告知", "notifications", |l| Cell::Count(l.notifications)),
    ("受理委托", "acceptances", |l| Cell::Count(l.acceptances)),
    ("当面交付", "delivered_in_person", |l| {
        Cell::Count(l.delivered_in_person)
    }),
    ("邮寄", "mailed", |l| Cell::Count(l.mailed)),
    ("签收确认", "receipts_confirmed", |l| {
        Cell::Count(l.receipts_confirmed)
    }),
    ("归档", "archived", |l| Cell::Count(l.archived)),
    ("转入", "transfers_in", |l| Cell::Count(l.transfers_in)),
    ("转出", "transfers_out", |l| Cell::Count(l.transfers_out)),
    ("日结过期", "expired", |l| Cell::Count(l.expired)),
    ("现场帮办", "mode_onsite", |l| Cell::Count(l.mode_onsite)),
    ("网上帮办", "mode_online", |l| Cell::Count(l.mode_online)),
    ("全程代办", "mode_fullprocess", |l| Cell::Count(l.mode_fullprocess)),
    ("优先群体", "priority", |l| Cell::Count(l.priority)),
    ("等候均值(分)", "wait_mean_min", |l| Cell::Minutes(l.wait_mean_min)),
    ("等候P90(分)", "wait_p90_min", |l| Cell::Minutes(l.wait_p90_min)),
    ("到窗均值(分)", "walk_mean_min", |l| Cell::Minutes(l.walk_mean_min)),
    ("到窗P90(分)", "walk_p90_min", |l| Cell::Minutes(l.walk_p90_min)),
    ("办理均值(分)", "service_mean_min", |l| {
        Cell::Minutes(l.service_mean_min)
    }),
    ("办理P90(分)", "service_p90_min", |l| {
        Cell::Minutes(l.service_p90_min)
    }),
    ("空闲均值(分)", "idle_mean_min", |l| Cell::Minutes(l.idle_mean_min)),
    ("空闲P90(分)", "idle_p90_min", |l| Cell::Minutes(l.idle_p90_min)),
    ("好差评", "ratings", |l| Cell::Count(l.ratings)),
    ("满意度均值(1-5)", "rating_mean", |l| Cell::Minutes(l.rating_mean)),
    ("差评", "ratings_bad", |l| Cell::Count(l.ratings_bad)),
    ("找茬吐槽", "complaints", |l| Cell::Count(l.complaints)),
    ("意见建议", "suggestions", |l| Cell::Count(l.suggestions)),
    ("意见已回复", "feedback_replied", |l| {
        Cell::Count(l.feedback_replied)
    }),
];

fn lines(f: &Figures) -> impl Iterator<Item = (&'static str, &FigureLine)> {
    f.departments
        .iter()
        .map(|l| ("department", l))
        .chain(f.specialists.iter().map(|l| ("specialist", l)))
        .chain(std::iter::once(("total", &f.total)))
}

/// CSV, one row a line (kind department, specialist or total), with a UTF-8 byte-order mark so
/// Excel on Chinese Windows does not read the names as GBK.
pub fn figures_csv(f: &Figures) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["from", "to", "kind"];
    head.extend(COLUMNS.iter().map(|c| c.1));
    w.write_record(&head)?;
    for (kind, l) in lines(f) {
        let mut row = vec![f.from.clone(), f.to.clone(), kind.to_string()];
        for c in COLUMNS {
            row.push(match (c.2)(l) {
                Cell::Text(t) => t,
                Cell::Count(n) => n.to_string(),
                Cell::Minutes(m) => m.map(|x| format!("{x:.1}")).unwrap_or_default(),
            });
        }
        w.write_record(&row)?;
    }
    Ok("\u{feff}".to_string() + &String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}

/// 考核: the scorecard for 评先树优 and 通报批评, per department and specialist.
const SCORE_COLUMNS: &[Column] = &[
    ("代码", "code", |l| Cell::Text(l.code.clone())),
    ("名称", "name", |l| Cell::Text(l.name.clone())),
    ("所属部门", "department", |l| Cell::Text(l.department.clone())),
    ("接待", "served", |l| Cell::Count(l.served)),
    ("等候均值(分)", "wait_mean_min", |l| Cell::Minutes(l.wait_mean_min)),
    ("等候P90(分)", "wait_p90_min", |l| Cell::Minutes(l.wait_p90_min)),
    ("办理均值(分)", "service_mean_min", |l| {
        Cell::Minutes(l.service_mean_min)
    }),
    ("好差评", "ratings", |l| Cell::Count(l.ratings)),
    ("满意度均值(1-5)", "rating_mean", |l| Cell::Minutes(l.rating_mean)),
    ("差评", "ratings_bad", |l| Cell::Count(l.ratings_bad)),
    ("找茬吐槽", "complaints", |l| Cell::Count(l.complaints)),
    ("咨询答复超期", "late_answers", |l| Cell::Count(l.late_answers)),
    ("交付超期", "late_deliveries", |l| Cell::Count(l.late_deliveries)),
    ("归档超期", "late_archives", |l| Cell::Count(l.late_archives)),
    ("回复超期", "late_replies", |l| Cell::Count(l.late_replies)),
    ("办结", "finished", |l| Cell::Count(l.finished)),
    ("一次办结率(%)", "one_visit_pct", |l| {
        Cell::Minutes(l.one_visit_pct)
    }),
    ("件均跑腿", "visits_per_case", |l| Cell::Minutes(l.visits_per_case)),
];

/// 减少跑腿: cases finished, in one visit, and the visits they took.
const VISIT_COLUMNS: &[Column] = &[
    ("代码", "code", |l| Cell::Text(l.code.clone())),
    ("名称", "name", |l| Cell::Text(l.name.clone())),
    ("所属部门", "department", |l| Cell::Text(l.department.clone())),
    ("办结", "finished", |l| Cell::Count(l.finished)),
    ("一次办结", "finished_one_visit", |l| {
        Cell::Count(l.finished_one_visit)
    }),
    ("一次办结率(%)", "one_visit_pct", |l| {
        Cell::Minutes(l.one_visit_pct)
    }),
    ("跑腿次数", "visits", |l| Cell::Count(l.visits)),
    ("件均跑腿", "visits_per_case", |l| Cell::Minutes(l.visits_per_case)),
];

fn sheet_of(book: &mut Workbook, name: &str, title: &str, rows: &[&FigureLine]) -> anyhow::Result<()> {
    sheet_with(book, name, title, rows, COLUMNS)
}

fn sheet_with(
    book: &mut Workbook,
    name: &str,
    title: &str,
    rows: &[&FigureLine],
    columns: &[Column],
) -> anyhow::Result<()> {
    let head = Format::new().set_bold().set_text_wrap().set_background_color("#DDEBF7");
    let bold = Format::new().set_bold();
    let one = Format::new().set_num_format("0.0");
    let ws: &mut Worksheet = book.add_worksheet();
    ws.set_name(name)?;
    ws.write_string_with_format(0, 0, title, &bold)?;
    for (c, col) in columns.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, format!("{}\n{}", col.0, col.1), &head)?;
        ws.set_column_width(c as u16, if c < 3 { 14 } else { 10 })?;
    }
    ws.set_row_height(1, 32)?;
    for (r, l) in rows.iter().enumerate() {
        let row = r as u32 + 2;
        for (c, col) in columns.iter().enumerate() {
            match (col.2)(l) {
                Cell::Text(t) => ws.write_string(row, c as u16, t)?,
                Cell::Count(n) => ws.write_number(row, c as u16, n as f64)?,
                Cell::Minutes(Some(m)) => {
                    ws.write_number_with_format(row, c as u16, (m * 10.0).round() / 10.0, &one)?
                }
                Cell::Minutes(None) => ws,
            };
        }
    }
    ws.set_freeze_panes(2, 2)?;
    Ok(())
}

/// The figures as an XLSX workbook: 部门 (departments and the hall total), 专员 (specialists)
/// and 分时 (hourly arrivals and services, with a column chart).
pub fn figures_xlsx(f: &Figures) -> anyhow::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let period = if f.from == f.to {
        f.from.clone()
    } else {
        format!("{} 至 {}", f.from, f.to)
    };
    let mut depts: Vec<&FigureLine> = f.departments.iter().collect();
    depts.push(&f.total);
    sheet_of(
        &mut book,
        "部门",
        &format!("{} 帮办代办台账（部门） {period}", f.hall),
        &depts,
    )?;
    let staff: Vec<&FigureLine> = f.specialists.iter().collect();
    sheet_of(
        &mut book,
        "专员",
        &format!("{} 帮办代办台账（专员） {period}", f.hall),
        &staff,
    )?;
    let ws = book.add_worksheet();
    ws.set_name("分时")?;
    let bold = Format::new().set_bold();
    ws.write_string_with_format(0, 0, format!("{} 分时取号与接待 {period}", f.hall), &bold)?;
    ws.write_string_with_format(1, 0, "时段 hour", &bold)?;
    ws.write_string_with_format(1, 1, "取号 arrivals", &bold)?;
    ws.write_string_with_format(1, 2, "接待 served", &bold)?;
    for (i, h) in f.hourly.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_string(r, 0, format!("{:02}:00", h.hour))?;
        ws.write_number(r, 1, h.arrivals as f64)?;
        ws.write_number(r, 2, h.served as f64)?;
    }
    let last = f.hourly.len() as u32 + 1;
    let mut chart = Chart::new(ChartType::Column);
    chart.title().set_name("分时取号与接待 (arrivals vs served)");
    for (col, name) in [(1u16, "取号 arrivals"), (2, "接待 served")] {
        chart
            .add_series()
            .set_name(name)
            .set_categories(("分时", 2, 0, last, 0))
            .set_values(("分时", 2, col, last, col));
    }
    chart.x_axis().set_name("时段 hour");
    chart.y_axis().set_name("人次 visitors");
    ws.insert_chart(1, 4, &chart)?;
    // The supervision figures (评先树优, 通报批评, 减少跑腿): departments, the hall, specialists.
    let mut all: Vec<&FigureLine> = f.departments.iter().collect();
    all.push(&f.total);
    all.extend(f.specialists.iter());
    sheet_with(
        &mut book,
        "考核",
        &format!("{} 帮办代办考核（部门、专员） {period}", f.hall),
        &all,
        SCORE_COLUMNS,
    )?;
    sheet_with(
        &mut book,
        "减少跑腿",
        &format!("{} 减少跑腿：一次办结与件均跑腿 {period}", f.hall),
        &all,
        VISIT_COLUMNS,
    )?;
    let ws = book.add_worksheet();
    ws.set_name("分类")?;
    ws.write_string_with_format(0, 0, format!("{} 重点领域 {period}", f.hall), &bold)?;
    for (c, h) in [
        "类别 tag",
        "取号 tickets",
        "接待 served",
        "办结 finished",
        "一次办结 one visit",
        "一次办结率(%)",
        "件均跑腿",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (i, c) in f.categories.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_string(r, 0, &c.tag)?;
        for (col, n) in [c.tickets, c.served, c.finished, c.finished_one_visit]
            .into_iter()
            .enumerate()
        {
            ws.write_number(r, col as u16 + 1, n as f64)?;
        }
        for (col, v) in [c.one_visit_pct, c.visits_per_case].into_iter().enumerate() {
            if let Some(v) = v {
                ws.write_number(r, col as u16 + 5, (v * 10.0).round() / 10.0)?;
            }
        }
    }
    let ws = book.add_worksheet();
    ws.set_name("超期清单")?;
    ws.write_string_with_format(
        0,
        0,
        format!("{} 超期清单（通报用） {period}  共 {} 条", f.hall, f.breaches.len()),
        &bold,
    )?;
    for (c, h) in ["类型", "号码", "业务日", "部门", "工号", "专员", "应完成", "实际完成"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (i, b) in f.breaches.iter().enumerate() {
        let r = i as u32 + 2;
        let done = if b.done.is_empty() {
            "未完成"
        } else {
            b.done.as_str()
        };
        for (c, v) in [
            b.kind_zh.as_str(),
            &b.number,
            &b.business_day,
            &b.department,
            &b.staff,
            &b.staff_name,
            &b.due,
            done,
        ]
        .into_iter()
        .enumerate()
        {
            ws.write_string(r, c as u16, v)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

/// The bundled CJK font (`bangban::font`; its licence is in ui/fonts/).
static FONT: &[u8] = bangban::font::FONT;

/// The hourly arrivals-vs-served chart as a PNG (1200×600), Chinese labels in the bundled font.
pub fn hourly_png(f: &Figures, path: &std::path::Path) -> anyhow::Result<()> {
    use plotters::prelude::*;
    plotters::style::register_font("wqy", FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the bundled font cannot be read"))?;
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = f
        .hourly
        .iter()
        .map(|h| h.arrivals.max(h.served))
        .max()
        .unwrap_or(0)
        .max(1);
    let hours: Vec<u32> = f.hourly.iter().map(|h| h.hour).collect();
    let (lo, hi) = (
        hours.first().copied().unwrap_or(8),
        hours.last().copied().unwrap_or(17) + 1,
    );
    let period = if f.from == f.to {
        f.from.clone()
    } else {
        format!("{} 至 {}", f.from, f.to)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{} 分时取号与接待 {period}", f.hall), ("wqy", 30))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).into_segmented(), 0u32..(max + max / 5 + 1))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("时段")
        .y_desc("人次")
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(h) | SegmentValue::Exact(h) => format!("{h:02}时"),
            SegmentValue::Last => String::new(),
        })
        .label_style(("wqy", 18))
        .axis_desc_style(("wqy", 20))
        .draw()?;
    let blue = RGBColor(47, 111, 186);
    let orange = RGBColor(237, 125, 49);
    // Two bars an hour, side by side: arrivals on the left half, served on the right.
    let bar = |h: u32, v: u32, left: bool, color: RGBColor| {
        let (a, b) = if left {
            (SegmentValue::Exact(h), SegmentValue::CenterOf(h))
        } else {
            (SegmentValue::CenterOf(h), SegmentValue::Exact(h + 1))
        };
        let mut r = Rectangle::new([(a, 0), (b, v)], color.filled());
        r.set_margin(0, 0, if left { 6 } else { 0 }, if left { 0 } else { 6 });
        r
    };
    chart
        .draw_series(f.hourly.iter().map(|h| bar(h.hour, h.arrivals, true, blue)))?
        .label("取号 arrivals")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], blue.filled()));
    chart
        .draw_series(f.hourly.iter().map(|h| bar(h.hour, h.served, false, orange)))?
        .label("接待 served")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], orange.filled()));
    chart
        .configure_series_labels()
        .label_font(("wqy", 18))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The registers as files: the server's office pages export the same (`bangban_server::registers`).
pub use bangban_server::registers::{ratings_csv, records_csv, records_xlsx, registers_xlsx};

/// Read a filled-in attachment table: a CSV file is one sheet; an XLSX workbook gives one sheet
/// per worksheet, named `file[sheet]` in errors. Numbers typed into Excel (phones, windows)
/// come back as the digits shown, not as 13806321101.0.
pub fn read_table(path: &std::path::Path) -> anyhow::Result<Vec<bangban::attachments::Sheet>> {
    use bangban::attachments::{Row, Sheet};
    use calamine::{Data, Reader};
    let name = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods") {
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let src = bangban::hall::utf8(&bytes, &name)?;
        return Ok(vec![Sheet::from_csv(src, &name)?]);
    }
    let mut book =
        calamine::open_workbook_auto(path).map_err(|e| anyhow::anyhow!("cannot read {name} as a workbook: {e}"))?;
    let mut sheets = Vec::new();
    for sheet_name in book.sheet_names() {
        let range = book
            .worksheet_range(&sheet_name)
            .map_err(|e| anyhow::anyhow!("cannot read sheet {sheet_name} of {name}: {e}"))?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| Row {
                line: row0 as usize + i + 1,
                cells: std::iter::repeat_n(String::new(), col0 as usize)
                    .chain(cells.iter().map(|c| match c {
                        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                        Data::Empty => String::new(),
                        other => other.to_string(),
                    }))
                    .collect(),
            })
            .collect();
        sheets.push(Sheet {
            file: format!("{name}[{sheet_name}]"),
            rows,
        });
    }
    Ok(sheets)
}

/// The attachment forms as an XLSX workbook, one sheet per department, laid out as the rules
/// print them: the title across the table, 进驻部门单位 and the date, the headings, the rows
/// and (Attachment 1) the remark; phone numbers are text so Excel keeps every digit.
pub fn attachment_xlsx(forms: &[bangban::attachments::Form]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::FormatAlign;
    let mut book = Workbook::new();
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_border(rust_xlsxwriter::FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let cell = Format::new()
        .set_border(rust_xlsxwriter::FormatBorder::Thin)
        .set_text_wrap();
    let right = Format::new().set_align(FormatAlign::Right);
    let mut used = std::collections::HashSet::new();
    for f in forms {
        let ws = book.add_worksheet();
        // Sheet names are at most 31 characters and unique.
        let mut sheet_name: String = f.department.chars().take(31).collect();
        if !used.insert(sheet_name.clone()) {
            sheet_name = format!("{}{}", sheet_name.chars().take(28).collect::<String>(), used.len());
            used.insert(sheet_name.clone());
        }
        ws.set_name(&sheet_name)?;
        let last = f.headings.len() as u16 - 1;
        ws.merge_range(0, 0, 0, last, &f.title, &title)?;
        ws.write_string(1, 0, &f.unit)?;
        ws.write_string_with_format(2, last, &f.date, &right)?;
        for (c, h) in f.headings.iter().enumerate() {
            ws.write_string_with_format(3, c as u16, *h, &head)?;
            let width = match *h {
                "序号" => 6.0,
                "业务范围" | "主项名称" | "子项名称" => 30.0,
                _ => 16.0,
            };
            ws.set_column_width(c as u16, width)?;
        }
        for (r, row) in f.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let at = (r as u32 + 4, c as u16);
                if c == 0 {
                    ws.write_number_with_format(at.0, at.1, v.parse::<f64>().unwrap_or(0.0), &cell)?;
                } else {
                    ws.write_string_with_format(at.0, at.1, v, &cell)?;
                }
            }
        }
        if let Some(remark) = f.remark {
            let r = f.rows.len() as u32 + 5;
            ws.merge_range(r, 0, r, last, remark, &Format::new().set_text_wrap())?;
            ws.set_row_height(r, 32)?;
        }
    }
    Ok(book.save_to_buffer()?)
}

/// One department's attachment form as CSV (UTF-8 with a byte-order mark), in the same layout.
pub fn attachment_csv(f: &bangban::attachments::Form) -> anyhow::Result<String> {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    w.write_record([&f.title])?;
    w.write_record([&f.unit])?;
    w.write_record([&f.date])?;
    w.write_record(&f.headings)?;
    for r in &f.rows {
        w.write_record(r)?;
    }
    if let Some(remark) = f.remark {
        w.write_record([remark])?;
    }
    Ok("\u{feff}".to_string() + &String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}
