//! Ticket printing: the ESC/POS bytes of a ticket (GB18030 Chinese, native QR), the printer
//! targets a hall can configure, the status check before printing, and a decoder for what a
//! printer receives. Prints the ledger's `Ticket` as a `PrintTicket` job, and the counter's
//! one-time notification slip (`slip`).

pub mod decode;
pub mod sim;
pub mod slip;

pub use slip::{print_slip, slip_bytes, Slip};

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use escpos::driver::Driver;
use escpos::errors::PrinterError;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{
    JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption, RealTimeStatusRequest,
    RealTimeStatusResponse,
};

/// Where tickets go, as written in the hall file or `--printer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// A network thermal printer (raw port 9100).
    Tcp { host: String, port: u16 },
    /// A device or file: `/dev/usb/lp0` (the kernel's USB printer driver), a serial port
    /// already set up with `stty`, or a plain file for testing.
    File(String),
    /// No printer: the screen tells the visitor to photograph the number.
    None,
}

impl PrinterTarget {
    pub fn parse(s: &str) -> Result<PrinterTarget, String> {
        let s = s.trim();
        if s.is_empty() || s == "none" {
            return Ok(PrinterTarget::None);
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let port_of = |p: &str| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("printer {s:?}: port {p:?} is not a number from 1 to 65535"))
            };
            // IPv6 addresses come in brackets, as in URLs: tcp://[::1]:9100.
            let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
                let (addr, after) = v6
                    .split_once(']')
                    .ok_or_else(|| format!("printer {s:?}: an IPv6 address needs its closing bracket"))?;
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(format!("printer {s:?}: {addr:?} is not an IPv6 address"));
                }
                let port = match after {
                    "" => 9100,
                    p => port_of(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("printer {s:?}: expected :PORT after the address"))?,
                    )?,
                };
                (addr.to_string(), port)
            } else {
                let (h, port) = match rest.rsplit_once(':') {
                    Some((h, p)) => (h, port_of(p)?),
                    None => (rest, 9100),
                };
                if h.contains(':') {
                    return Err(format!(
                        "printer {s:?}: write an IPv6 address in brackets, e.g. tcp://[::1]:9100"
                    ));
                }
                let valid = |label: &str| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                };
                if h.is_empty() || h.len() > 253 || !h.split('.').all(valid) {
                    return Err(format!("printer {s:?}: {h:?} is not a host name or IP address"));
                }
                (h.to_string(), port)
            };
            return Ok(PrinterTarget::Tcp { host, port });
        }
        if let Some(path) = s.strip_prefix("file:") {
            return Ok(PrinterTarget::File(path.into()));
        }
        if let Some(path) = s.strip_prefix("serial:") {
            return Ok(PrinterTarget::File(path.into()));
        }
        if s.starts_with("usb:") {
            return Err(format!(
                "printer {s:?}: raw USB needs libusb; use the kernel driver instead: file:/dev/usb/lp0"
            ));
        }
        Err(format!(
            "printer {s:?}: expected tcp://HOST:PORT, file:PATH, serial:/dev/…, or none"
        ))
    }

    /// A name for events and logs.
    pub fn device_name(&self) -> String {
        match self {
            PrinterTarget::Tcp { host, port } if host.contains(':') => format!("printer:tcp://[{host}]:{port}"),
            PrinterTarget::Tcp { host, port } => format!("printer:tcp://{host}:{port}"),
            PrinterTarget::File(p) => format!("printer:file:{p}"),
            PrinterTarget::None => "printer:none".into(),
        }
    }
}

/// Why a ticket did not print, in words for the ledger and the log.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PrintError {
    #[error("printer unreachable: {0}")]
    Unreachable(String),
    #[error("printer did not answer the status request (silent or switched off)")]
    Silent,
    #[error("printer is offline: {0}")]
    Offline(String),
    #[error("printer write failed: {0}")]
    Write(String),
    /// The ticket went out but the printer did not confirm it afterwards: it closed the
    /// connection, reset, or fell silent mid-ticket. The visitor has no ticket in hand.
    #[error("the printer did not confirm the ticket after it was sent ({0}); it may not have printed")]
    NotConfirmed(String),
    #[error("cannot build the ticket: {0}")]
    Build(String),
}

impl PrintError {
    /// The code the 台账 keeps for this failure.
    pub fn failure(&self) -> bangban::api::PrintFailure {
        use bangban::api::PrintFailure;
        match self {
            PrintError::Unreachable(_) => PrintFailure::Unreachable,
            PrintError::Silent => PrintFailure::Silent,
            PrintError::Offline(_) => PrintFailure::Offline,
            PrintError::Write(_) => PrintFailure::WriteFailed,
            PrintError::NotConfirmed(_) => PrintFailure::NotConfirmed,
            PrintError::Build(_) => PrintFailure::Build,
        }
    }
}

/// A driver that records everything written: the ticket's exact bytes, for one-buffer sends
/// and for byte-exact tests.
#[derive(Clone, Default)]
pub struct RecordingDriver(pub Arc<Mutex<Vec<u8>>>);

impl RecordingDriver {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl Driver for RecordingDriver {
    fn name(&self) -> String {
        "recording".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0
            .lock()
            .map_err(|_| PrinterError::Io("recording buffer poisoned".into()))?
            .extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// Characters per line of a 58 mm printer in font A; a hanzi takes two.
pub const LINE_WIDTH: u8 = 32;
const FS_CHINESE_ON: [u8; 2] = [0x1C, 0x26];

fn protocol() -> Protocol {
    Protocol::new(escpos::utils::Encoder::new(encoding_rs::GB18030))
}

/// A print job: the ledger's ticket (everything the ticket screen shows; no personal data, a
/// ticket can be lost) and whether it is a reprint (补打). The kiosk and `bangban reprint` both
/// print this, so the paper and the screen can never disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintTicket {
    pub ticket: bangban::Ticket,
    pub reprint: bool,
}

impl PrintTicket {
    pub fn of(t: &bangban::Ticket, reprint: bool) -> PrintTicket {
        PrintTicket {
            ticket: t.clone(),
            reprint,
        }
    }
}

/// The ticket as ESC/POS bytes: hall, number at triple size, department and item, window,
/// queue, priority, the materials list (一次性告知), 「本服务免费」, a native QR code and a cut.
pub fn ticket_bytes(t: &PrintTicket) -> Result<Vec<u8>, PrintError> {
    let rec = RecordingDriver::default();
    build(rec.clone(), t).map_err(|e| PrintError::Build(e.to_string()))?;
    Ok(rec.bytes())
}

fn build(driver: RecordingDriver, job: &PrintTicket) -> escpos::errors::Result<()> {
    let t = &job.ticket;
    let rule = "-".repeat(LINE_WIDTH as usize);
    let mut p = Printer::new(driver, protocol(), Some(PrinterOptions::new(None, None, LINE_WIDTH)));
    p.init()?.custom(&FS_CHINESE_ON)?;
    p.justify(JustifyMode::CENTER)?
        .bold(true)?
        .writeln(&t.hall_name)?
        .bold(false)?;
    p.writeln("帮办代办 取号凭条")?;
    if job.reprint {
        p.bold(true)?.writeln("【补打】")?.bold(false)?;
    }
    p.writeln(&rule)?;
    p.size(3, 3)?
        .bold(true)?
        .writeln(&t.number)?
        .bold(false)?
        .reset_size()?;
    p.size(1, 2)?
        .writeln(&format!("请到 {} 号窗口办理", t.windows_text()))?
        .reset_size()?;
    if t.windows.len() > 1 {
        // Any of the department's windows may call the number: the board says which.
        p.writeln("请留意叫号屏，以叫号为准")?;
    }
    p.writeln(&t.department_name)?;
    p.writeln(&t.item_name)?;
    if !t.specialist_name.is_empty() {
        p.writeln(&format!("帮办专员 {}", t.specialist_name))?;
    }
    if !t.office_phone.is_empty() {
        p.writeln(&format!("咨询电话 {}", t.office_phone))?;
    }
    if let Some(name) = &t.priority_name {
        p.bold(true)?.writeln(&format!("★ 优先办理：{name}"))?.bold(false)?;
    }
    p.writeln(&format!("服务方式：{}", t.mode.label_zh()))?;
    if t.ahead == 0 {
        p.writeln("前方无人等候，请留意叫号")?;
    } else {
        p.writeln(&format!("前方等待 {} 人 预计 {} 分钟", t.ahead, t.estimated_wait_min))?;
    }
    p.writeln(&format!("取号时间 {}", t.issued_local))?;
    p.writeln(&rule)?;
    p.justify(JustifyMode::LEFT)?;
    if t.materials.is_empty() {
        p.writeln("无需携带材料，专员当面解答。")?;
    } else {
        p.bold(true)?.writeln("请备齐以下材料（一次性告知）：")?.bold(false)?;
        for m in &t.materials {
            p.writeln(&format!("□ {m}"))?;
        }
    }
    p.writeln(&rule)?;
    p.justify(JustifyMode::CENTER)?;
    p.bold(true)?.writeln("本服务免费")?.bold(false)?;
    p.qrcode_option(
        &t.qr_payload,
        QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M),
    )?;
    p.writeln("扫码查看办理进度")?;
    // 30 columns: fits a 58 mm line (32) without wrapping.
    p.writeln("意见请投意见箱或“找茬吐槽”窗口")?;
    p.feeds(3)?.print_cut()?;
    Ok(())
}

/// Lay out a ticket and send it: the whole job for one ticket.
pub fn print(target: &PrinterTarget, ticket: &PrintTicket) -> Result<(), PrintError> {
    let bytes = ticket_bytes(ticket)?;
    send(target, &bytes)
}

/// How long to wait for a network printer to connect and to answer a status request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const ANSWER_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long one write of the ticket may block (a printer that stops reading mid-ticket).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Send a ticket. To a network printer: check its status, write the whole ticket in one
/// buffer, then ask for its status again. A successful write only means the bytes reached the
/// kernel; the answer after the ticket is what says the printer took it (a printer that
/// died, reset or ran out of paper mid-ticket does not answer "online, paper present").
/// A fresh connection per ticket, so nothing unsent from a failed ticket is ever replayed.
pub fn send(target: &PrinterTarget, bytes: &[u8]) -> Result<(), PrintError> {
    match target {
        PrinterTarget::None => Ok(()),
        PrinterTarget::File(path) => {
            let mut f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| PrintError::Unreachable(format!("{path}: {e}")))?;
            f.write_all(bytes)
                .and_then(|_| f.flush())
                .map_err(|e| PrintError::Write(format!("{path}: {e}")))
        }
        PrinterTarget::Tcp { host, port } => {
            let mut stream = connect(host, *port)?;
            check_status(&mut stream)?;
            stream
                .write_all(bytes)
                .and_then(|_| stream.flush())
                .map_err(|e| PrintError::Write(io_text(&e)))?;
            check_status(&mut stream).map_err(|e| match e {
                PrintError::Offline(why) => PrintError::NotConfirmed(format!("printer reports {why}")),
                PrintError::Silent => PrintError::NotConfirmed("no answer to the status request".into()),
                PrintError::Write(why) | PrintError::Unreachable(why) => PrintError::NotConfirmed(why),
                other => other,
            })
        }
    }
}

/// Connect to a network printer by host name, IPv4 or IPv6 address, trying each address the
/// name resolves to.
fn connect(host: &str, port: u16) -> Result<TcpStream, PrintError> {
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| PrintError::Unreachable(format!("{shown}: cannot resolve the host name: {e}")))?
        .collect();
    let mut last = format!("{shown}: the host name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let setup = stream
                    .set_read_timeout(Some(ANSWER_TIMEOUT))
                    .and_then(|_| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
                    .and_then(|_| stream.set_nodelay(true));
                return setup
                    .map(|_| stream)
                    .map_err(|e| PrintError::Unreachable(format!("{shown}: {e}")));
            }
            Err(e) => last = format!("{shown}: {}", io_text(&e)),
        }
    }
    Err(PrintError::Unreachable(last))
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted => {
            format!("the printer dropped the connection ({e})")
        }
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => format!("the printer stopped reading ({e})"),
        _ => e.to_string(),
    }
}

fn printer_error_text(e: &PrinterError) -> String {
    match e {
        PrinterError::Io(s) | PrinterError::Input(s) | PrinterError::InvalidResponse(s) => s.clone(),
    }
}

/// Ask one DLE EOT question and read the one-byte answer.
fn ask(
    stream: &mut TcpStream,
    req: RealTimeStatusRequest,
) -> Result<std::collections::HashMap<RealTimeStatusResponse, bool>, PrintError> {
    // Only the one-byte DLE EOT n requests (n = 1..4) are asked here.
    let (n, _) = <(u8, u8)>::from(req);
    // Bytes the printer sent unasked (automatic status back, an answer that came late) are
    // not the answer to this question: a byte already waiting would otherwise pass for
    // "online" after a ticket the printer never printed.
    drain(stream)?;
    stream
        .write_all(&[0x10, 0x04, n])
        .map_err(|e| PrintError::Write(io_text(&e)))?;
    let mut buf = [0u8; 1];
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        match stream.read(&mut buf) {
            // A DLE EOT answer is 0xx1xx10: anything else (an ASB block's bytes) is skipped.
            Ok(1) if buf[0] & 0x93 == 0x12 => break,
            Ok(1) if std::time::Instant::now() < deadline => continue,
            Ok(1) => return Err(PrintError::Silent),
            // A closed connection answers nothing: the printer went away.
            Ok(_) => return Err(PrintError::Write("the printer closed the connection".into())),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(PrintError::Silent)
            }
            Err(e) => return Err(PrintError::Write(io_text(&e))),
        }
    }
    RealTimeStatusResponse::parse(req, buf[0]).map_err(|e| {
        PrintError::Offline(format!(
            "unreadable status byte {:#04x}: {}",
            buf[0],
            printer_error_text(&e)
        ))
    })
}

/// Read and drop whatever the printer sent that nobody asked for.
fn drain(stream: &mut TcpStream) -> Result<(), PrintError> {
    stream
        .set_nonblocking(true)
        .map_err(|e| PrintError::Write(io_text(&e)))?;
    let mut buf = [0u8; 256];
    let result = loop {
        match stream.read(&mut buf) {
            Ok(0) => break Err(PrintError::Write("the printer closed the connection".into())),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(PrintError::Write(io_text(&e))),
        }
    };
    stream
        .set_nonblocking(false)
        .map_err(|e| PrintError::Write(io_text(&e)))?;
    result
}

/// Refuse to print on a printer that is offline, has its cover open or is out of paper.
fn check_status(stream: &mut TcpStream) -> Result<(), PrintError> {
    let status = ask(stream, RealTimeStatusRequest::Printer)?;
    let offline = !status.get(&RealTimeStatusResponse::Online).copied().unwrap_or(false);
    let paper = ask(stream, RealTimeStatusRequest::RollPaperSensor)?;
    if !paper
        .get(&RealTimeStatusResponse::RollPaperEndSensorPaperPresent)
        .copied()
        .unwrap_or(true)
    {
        return Err(PrintError::Offline("out of paper".into()));
    }
    if offline {
        let cause = ask(stream, RealTimeStatusRequest::OfflineCause)?;
        if !cause.get(&RealTimeStatusResponse::CoverClosed).copied().unwrap_or(true) {
            return Err(PrintError::Offline("cover open".into()));
        }
        if cause
            .get(&RealTimeStatusResponse::PrintingStopsDueToPaperEnd)
            .copied()
            .unwrap_or(false)
        {
            return Err(PrintError::Offline("out of paper".into()));
        }
        return Err(PrintError::Offline("offline".into()));
    }
    Ok(())
}
