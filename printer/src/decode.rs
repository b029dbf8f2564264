//! Reads ESC/POS bytes back into what a printer would put on paper: text lines (GB18030),
//! styles, QR payloads, cuts and status requests. The printer simulator and the tests use it.

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub bold: bool,
    /// Character magnification (width, height), 1..=8.
    pub size: (u8, u8),
    /// 0 left, 1 centre, 2 right.
    pub justify: u8,
}

/// An element of the printout, in paper order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Line(Line),
    Qr(String),
    Cut,
}

/// A decoded job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printout {
    pub pieces: Vec<Piece>,
    /// DLE EOT n requests, in order (the printer answers each with one status byte).
    pub status_requests: Vec<u8>,
    /// Commands the decoder did not know, as hex, so a test can see what slipped through.
    pub unknown: Vec<String>,
}

impl Printout {
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.pieces
            .iter()
            .filter_map(|p| if let Piece::Line(l) = p { Some(l) } else { None })
    }
    pub fn text(&self) -> String {
        self.lines().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")
    }
    pub fn qr_codes(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|p| if let Piece::Qr(q) = p { Some(q.as_str()) } else { None })
            .collect()
    }
    pub fn cuts(&self) -> usize {
        self.pieces.iter().filter(|p| matches!(p, Piece::Cut)).count()
    }
}

/// Where a decoder stopped because a command was cut off at the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete;

/// Decode everything; a command cut off at the end is ignored.
pub fn decode(bytes: &[u8]) -> Printout {
    let mut d = Decoder::default();
    d.feed(bytes);
    d.finish()
}

/// A streaming decoder: feed bytes as they arrive from a socket.
#[derive(Default)]
pub struct Decoder {
    pending: Vec<u8>,
    out: Printout,
    text: Vec<u8>,
    bold: bool,
    size: (u8, u8),
    justify: u8,
    qr_data: Option<String>,
}

impl Decoder {
    /// Feed bytes; returns the DLE EOT requests completed by these bytes (to be answered).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(bytes);
        let before = self.out.status_requests.len();
        let mut i = 0;
        loop {
            match self.step(&buf[i..]) {
                Ok(Some(n)) => i += n,
                Ok(None) | Err(Incomplete) => break,
            }
        }
        buf.drain(..i);
        self.pending = buf;
        self.out.status_requests[before..].to_vec()
    }

    pub fn finish(mut self) -> Printout {
        self.flush_line(false);
        self.out
    }

    fn flush_line(&mut self, force: bool) {
        if self.text.is_empty() && !force {
            return;
        }
        let (text, _, _) = encoding_rs::GB18030.decode(&self.text);
        self.out.pieces.push(Piece::Line(Line {
            text: text.into_owned(),
            bold: self.bold,
            size: if self.size == (0, 0) { (1, 1) } else { self.size },
            justify: self.justify,
        }));
        self.text.clear();
    }

    /// Decode one command or byte at `i`; the number of bytes it took, or None at the end.
    fn step(&mut self, b: &[u8]) -> Result<Option<usize>, Incomplete> {
        let Some(&c) = b.first() else { return Ok(None) };
        let need = |n: usize| if b.len() >= n { Ok(()) } else { Err(Incomplete) };
        let took = match c {
            0x0A => {
                self.flush_line(true);
                1
            }
            0x0D => 1,
            0x10 => {
                need(3)?;
                if b[1] == 0x04 {
                    // DLE EOT 7/8/18 carry a second parameter byte. The whole command must be
                    // here before it counts, or a command split across two reads counts twice.
                    let n = if matches!(b[2], 7 | 8 | 18) { 4 } else { 3 };
                    need(n)?;
                    self.out.status_requests.push(b[2]);
                    n
                } else {
                    self.out.unknown.push(hex(&b[..3]));
                    3
                }
            }
            0x1B => {
                need(2)?;
                match b[1] {
                    b'@' => {
                        self.bold = false;
                        self.size = (1, 1);
                        self.justify = 0;
                        2
                    }
                    b'E' => {
                        need(3)?;
                        self.bold = b[2] & 1 == 1;
                        3
                    }
                    b'a' => {
                        need(3)?;
                        self.justify = b[2] % 48;
                        3
                    }
                    b'd' => {
                        // Print and feed n lines: the first feed ends the current line.
                        need(3)?;
                        let mut feeds = b[2];
                        if !self.text.is_empty() && feeds > 0 {
                            self.flush_line(false);
                            feeds -= 1;
                        }
                        for _ in 0..feeds {
                            self.flush_line(true);
                        }
                        3
                    }
                    // One-parameter commands that do not change what the text says.
                    b'!' | b'-' | b'G' | b'M' | b't' | b'R' | b'V' | b'{' | b'3' | b'J' | b'r' | b'c' => {
                        need(3)?;
                        3
                    }
                    b'2' => 2,
                    b'i' | b'm' => {
                        self.flush_line(false);
                        self.out.pieces.push(Piece::Cut);
                        2
                    }
                    _ => {
                        self.out.unknown.push(hex(&b[..2]));
                        2
                    }
                }
            }
            0x1C => {
                need(2)?;
                match b[1] {
                    // FS & / FS . : Chinese character mode on / off; text is GB18030 either way.
                    b'&' | b'.' => 2,
                    b'!' | b'-' | b'W' => {
                        need(3)?;
                        3
                    }
                    _ => {
                        self.out.unknown.push(hex(&b[..2]));
                        2
                    }
                }
            }
            0x1D => {
                need(2)?;
                match b[1] {
                    b'!' => {
                        need(3)?;
                        self.size = ((b[2] >> 4) + 1, (b[2] & 0x0F) + 1);
                        3
                    }
                    b'V' => {
                        need(3)?;
                        let n = if b[2] >= 65 { 4 } else { 3 };
                        need(n)?;
                        self.flush_line(false);
                        self.out.pieces.push(Piece::Cut);
                        n
                    }
                    b'(' => {
                        need(5)?;
                        let len = b[3] as usize + ((b[4] as usize) << 8);
                        need(5 + len)?;
                        let body = &b[5..5 + len];
                        if b[2] == b'k' && body.len() >= 3 && body[0] == 0x31 {
                            match body[1] {
                                0x50 => self.qr_data = Some(String::from_utf8_lossy(&body[3..]).into_owned()),
                                0x51 => {
                                    self.flush_line(false);
                                    let data = self.qr_data.take().unwrap_or_default();
                                    self.out.pieces.push(Piece::Qr(data));
                                }
                                _ => {}
                            }
                        }
                        5 + len
                    }
                    b'B' | b'b' | b'H' | b'f' | b'h' | b'w' | b'L' | b'W' => {
                        need(3)?;
                        if matches!(b[1], b'L' | b'W') {
                            need(4)?;
                            4
                        } else {
                            3
                        }
                    }
                    _ => {
                        self.out.unknown.push(hex(&b[..2]));
                        2
                    }
                }
            }
            _ => {
                self.text.push(c);
                1
            }
        };
        Ok(Some(took))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(" ")
}
