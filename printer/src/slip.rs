//! The one-time notification slip (一次性告知书) printed at the counter when a specialist
//! records what a visitor still has to bring: the case number, each missing material and
//! where to get it, the window to come back to, the specialist, the office phone and the QR of
//! the status page — so nothing has to be remembered and nobody is sent round twice.

use chrono::{DateTime, Utc};
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{JustifyMode, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::{protocol, send, PrintError, PrinterTarget, RecordingDriver, FS_CHINESE_ON, LINE_WIDTH};

/// Everything the slip says, taken from the hall and the case as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Slip {
    pub hall_name: String,
    pub number: String,
    pub department_name: String,
    pub item_name: String,
    /// Each missing material and where to get it (the hall file's `[material_sources]`).
    pub missing: Vec<(String, Option<String>)>,
    /// The window to come back to.
    pub window: u32,
    pub specialist_name: String,
    pub office_phone: String,
    pub qr_payload: String,
    /// When the notification was given, in the hall's time zone.
    pub given_local: String,
}

impl Slip {
    /// The slip for a case whose missing materials were just recorded by `staff` at `window`.
    pub fn of(hall: &bangban::Hall, case: &bangban::Case, staff: &str, window: u32, now: DateTime<Utc>) -> Slip {
        let item = hall.item(&case.item);
        Slip {
            hall_name: hall.name.clone(),
            number: case.number.clone(),
            department_name: hall.department_name(&case.department),
            item_name: hall.item_name(&case.item),
            missing: case
                .missing
                .iter()
                .map(|m| (m.clone(), hall.material_sources.get(m).cloned()))
                .collect(),
            window,
            specialist_name: hall.specialist_name(staff),
            office_phone: item.map(|i| i.phone.clone()).unwrap_or_default(),
            qr_payload: hall.qr_payload(&case.token),
            given_local: now.with_timezone(&hall.tz()).format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// The slip as ESC/POS bytes (GB18030, native QR, cut), 32 columns for 58 mm paper.
pub fn slip_bytes(slip: &Slip) -> Result<Vec<u8>, PrintError> {
    let rec = RecordingDriver::default();
    build(rec.clone(), slip).map_err(|e| PrintError::Build(e.to_string()))?;
    Ok(rec.bytes())
}

/// Lay out the slip and send it to the counter's printer (status checked before and after).
pub fn print_slip(target: &PrinterTarget, slip: &Slip) -> Result<(), PrintError> {
    send(target, &slip_bytes(slip)?)
}

/// Columns a character takes on the printer: two for Chinese (and other wide) characters.
fn columns(c: char) -> usize {
    if (c as u32) < 0x1100 {
        1
    } else {
        2
    }
}

/// Break a line at the paper's width (32 columns), continuing under `indent`, so a long
/// place name is printed whole rather than cut by the printer mid-character.
fn wrap(text: &str, indent: &str) -> Vec<String> {
    let width = LINE_WIDTH as usize;
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + columns(c) > width {
            lines.push(std::mem::take(&mut line));
            line.push_str(indent);
            used = indent.chars().map(columns).sum();
        }
        line.push(c);
        used += columns(c);
    }
    lines.push(line);
    lines
}

fn build(driver: RecordingDriver, s: &Slip) -> escpos::errors::Result<()> {
    let rule = "-".repeat(LINE_WIDTH as usize);
    let mut p = Printer::new(driver, protocol(), Some(PrinterOptions::new(None, None, LINE_WIDTH)));
    p.init()?.custom(&FS_CHINESE_ON)?;
    p.justify(JustifyMode::CENTER)?
        .bold(true)?
        .writeln(&s.hall_name)?
        .size(2, 2)?
        .writeln("一次性告知书")?
        .reset_size()?
        .bold(false)?;
    p.writeln(&rule)?;
    p.justify(JustifyMode::LEFT)?;
    p.bold(true)?.writeln(&format!("号码 {}", s.number))?.bold(false)?;
    p.writeln(&s.department_name)?;
    p.writeln(&s.item_name)?;
    p.writeln(&rule)?;
    p.bold(true)?.writeln("您还需补齐以下材料：")?.bold(false)?;
    for (material, source) in &s.missing {
        for line in wrap(&format!("□ {material}"), "  ") {
            p.writeln(&line)?;
        }
        let place = source.as_deref().unwrap_or("请咨询帮办专员");
        for line in wrap(&format!("  获取：{place}"), "        ") {
            p.writeln(&line)?;
        }
    }
    p.writeln(&rule)?;
    p.writeln(&format!("补齐后请带本告知书回到 {} 号窗口", s.window))?;
    if !s.specialist_name.is_empty() {
        p.writeln(&format!("帮办专员 {}", s.specialist_name))?;
    }
    if !s.office_phone.is_empty() {
        p.writeln(&format!("咨询电话 {}", s.office_phone))?;
    }
    p.writeln(&format!("告知时间 {}", s.given_local))?;
    p.justify(JustifyMode::CENTER)?;
    p.qrcode_option(
        &s.qr_payload,
        QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M),
    )?;
    p.writeln("扫码查看办理进度")?;
    p.bold(true)?.writeln("本服务免费")?.bold(false)?;
    p.feeds(3)?.print_cut()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_at_32_columns_under_their_indent() {
        let lines = wrap(
            "  获取：可在市场监管局网站下载范本，或请1号窗口专员协助拟写",
            "        ",
        );
        assert_eq!(
            lines,
            [
                "  获取：可在市场监管局网站下载范",
                "        本，或请1号窗口专员协助",
                "        拟写"
            ]
        );
        assert_eq!(wrap("□ 公司章程", "  "), ["□ 公司章程"]);
    }
}
