//! The registers (台账) as the office files them: CSV with a byte-order mark and XLSX with a
//! sheet per register, written the same way by `bangban records` and the office's pages.

use rust_xlsxwriter::{Format, Workbook};

/// Writing a register failed (the spreadsheet writer's or the CSV writer's words).
#[derive(Debug, thiserror::Error)]
#[error("the register could not be written: {0}")]
pub struct RegisterError(pub String);

impl From<rust_xlsxwriter::XlsxError> for RegisterError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        RegisterError(e.to_string())
    }
}

impl From<csv::Error> for RegisterError {
    fn from(e: csv::Error) -> Self {
        RegisterError(e.to_string())
    }
}

impl From<std::string::FromUtf8Error> for RegisterError {
    fn from(e: std::string::FromUtf8Error) -> Self {
        RegisterError(e.to_string())
    }
}

pub const RECORD_HEAD: [(&str, &str); 11] = [
    ("时间", "time"),
    ("业务日", "business_day"),
    ("号码", "number"),
    ("部门", "department"),
    ("事项", "item"),
    ("工号", "staff"),
    ("专员", "staff_name"),
    ("窗口", "window"),
    ("事由", "what"),
    ("内容", "detail"),
    ("来源", "channel"),
];

fn record_cells(r: &bangban::RecordRow) -> [String; 11] {
    [
        r.time.clone(),
        r.business_day.clone(),
        r.number.clone(),
        r.department.clone(),
        r.item.clone(),
        r.staff.clone(),
        r.staff_name.clone(),
        r.window.map(|w| w.to_string()).unwrap_or_default(),
        r.what.clone(),
        r.detail.clone(),
        r.channel.clone(),
    ]
}

/// The national 好差评 platform's data items, as the CSV's headings: (field, 中文).
pub const RATING_HEAD: [(&str, &str); 16] = [
    ("channel", "评价渠道"),
    ("level", "评价等级"),
    ("level_name", "评价等级名称"),
    ("rated_at", "评价时间"),
    ("item_code", "事项编码"),
    ("item_name", "事项名称"),
    ("case_number", "办件编号"),
    ("department", "部门编码"),
    ("department_name", "办理部门"),
    ("specialist", "工作人员工号"),
    ("specialist_name", "工作人员"),
    ("window", "窗口"),
    ("reasons", "差评原因"),
    ("follow_up", "整改状态"),
    ("reply", "整改反馈"),
    ("replied_at", "反馈时间"),
];

/// The ratings as CSV with a byte-order mark (Excel opens it as UTF-8), one row per rating.
pub fn ratings_csv(rows: &[bangban::RatingRecord]) -> Result<String, RegisterError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(RATING_HEAD.iter().map(|h| format!("{}/{}", h.1, h.0)))?;
    for r in rows {
        w.write_record([
            r.channel.clone(),
            r.level.to_string(),
            r.level_name.clone(),
            r.rated_at.clone(),
            r.item_code.clone(),
            r.item_name.clone(),
            r.case_number.clone(),
            r.department.clone(),
            r.department_name.clone(),
            r.specialist.clone(),
            r.specialist_name.clone(),
            r.window.map(|w| w.to_string()).unwrap_or_default(),
            r.reasons_zh.join("、"),
            r.follow_up.clone(),
            r.reply.clone(),
            r.replied_at.clone(),
        ])?;
    }
    Ok("\u{feff}".to_string() + &String::from_utf8(w.into_inner().map_err(|e| RegisterError(e.to_string()))?)?)
}

/// A register as CSV with a byte-order mark.
pub fn records_csv(rows: &[bangban::RecordRow]) -> Result<String, RegisterError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(RECORD_HEAD.iter().map(|h| h.1))?;
    for r in rows {
        w.write_record(record_cells(r))?;
    }
    Ok("\u{feff}".to_string() + &String::from_utf8(w.into_inner().map_err(|e| RegisterError(e.to_string()))?)?)
}

/// A register as an XLSX sheet named after it, ready to print and file.
pub fn records_xlsx(
    kind: bangban::RecordKind,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    rows: &[bangban::RecordRow],
) -> Result<Vec<u8>, RegisterError> {
    registers_xlsx(&[(kind, rows.to_vec())], from, to)
}

/// Several registers in one workbook, a sheet each (the daily close files all seven).
pub fn registers_xlsx(
    registers: &[(bangban::RecordKind, Vec<bangban::RecordRow>)],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<u8>, RegisterError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_text_wrap().set_background_color("#DDEBF7");
    let period = if from == to {
        from.to_string()
    } else {
        format!("{from} 至 {to}")
    };
    for (kind, rows) in registers {
        let ws = book.add_worksheet();
        ws.set_name(kind.title_zh())?;
        ws.write_string_with_format(
            0,
            0,
            format!("{} {period}  共 {} 条", kind.title_zh(), rows.len()),
            &bold,
        )?;
        for (c, h) in RECORD_HEAD.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, format!("{}\n{}", h.0, h.1), &head)?;
            ws.set_column_width(c as u16, [17, 11, 8, 16, 20, 8, 8, 6, 22, 40, 8][c])?;
        }
        ws.set_row_height(1, 32)?;
        for (i, r) in rows.iter().enumerate() {
            for (c, v) in record_cells(r).into_iter().enumerate() {
                ws.write_string(i as u32 + 2, c as u16, v)?;
            }
        }
    }
    Ok(book.save_to_buffer()?)
}
