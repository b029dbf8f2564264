//! Spoken words for the kiosk and the board: an offline TTS command (espeak-ng's Mandarin
//! voice by default) run on one thread, so what is said queues and never cuts itself off; an
//! optional chime before each announcement (the board's calls); ticket digits spelled out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Sender};

/// Spell a ticket number's digits one by one (A008 → A零零八): halls read numbers that way,
/// and left alone the engine would read "008" as a quantity.
pub fn spell_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0' => '零',
            '1' => '一',
            '2' => '二',
            '3' => '三',
            '4' => '四',
            '5' => '五',
            '6' => '六',
            '7' => '七',
            '8' => '八',
            '9' => '九',
            other => other,
        })
        .collect()
}

/// A TTS command line as configured (`espeak-ng -v cmn`): the text becomes its last argument.
pub fn parse_command(s: &str) -> Option<Vec<String>> {
    Some(s.split_whitespace().map(String::from).collect::<Vec<_>>()).filter(|v| !v.is_empty())
}

/// The voice: `tts` is a command line that takes the text as its last argument (default
/// `espeak-ng -v cmn` when installed); `None` means chime only.
pub struct Voice {
    tx: Sender<String>,
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// The TTS command to use: the configured one, or espeak-ng's Mandarin voice when installed.
pub fn default_tts() -> Option<Vec<String>> {
    on_path("espeak-ng").then(|| vec!["espeak-ng".into(), "-v".into(), "cmn".into()])
}

/// A short two-tone chime as a WAV file (written once).
fn chime_file() -> Option<PathBuf> {
    let path = std::env::temp_dir().join("bangban-chime.wav");
    if path.exists() {
        return Some(path);
    }
    let rate = 16_000u32;
    let mut samples: Vec<i16> = Vec::new();
    for (freq, ms) in [(880.0f32, 220u32), (660.0, 320)] {
        let n = rate * ms / 1000;
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let fade = 1.0 - i as f32 / n as f32;
            samples.push(((t * freq * std::f32::consts::TAU).sin() * fade * 12_000.0) as i16);
        }
    }
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::File::create(&path).and_then(|mut f| f.write_all(&wav)).ok()?;
    Some(path)
}

fn play(player: &str, wav: &Path) -> bool {
    Command::new(player)
        .arg(wav)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl Voice {
    pub fn start(tts: Option<Vec<String>>, chime: bool) -> Voice {
        let (tx, rx) = mpsc::channel::<String>();
        let spawned = std::thread::Builder::new().name("voice".into()).spawn(move || {
            let player = ["paplay", "aplay", "play"].into_iter().find(|p| on_path(p));
            let chime = if chime { chime_file() } else { None };
            match (&tts, player) {
                (None, _) => tracing::warn!(
                    "no TTS command (install espeak-ng or pass --tts): calls will chime but not be spoken"
                ),
                (_, None) if chime.is_some() => {
                    tracing::warn!("no audio player (paplay, aplay or sox's play): the chime is silent")
                }
                _ => {}
            }
            for text in rx {
                if let (Some(p), Some(wav)) = (player, chime.as_deref()) {
                    play(p, wav);
                }
                if let Some(cmd) = &tts {
                    let ok = Command::new(&cmd[0])
                        .args(&cmd[1..])
                        .arg(&text)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                    if !matches!(ok, Ok(s) if s.success()) {
                        tracing::warn!("the TTS command {:?} failed for {text:?}", cmd[0]);
                    }
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!("cannot start the voice thread: {e}");
        }
        Voice { tx }
    }

    /// Queue an announcement; it plays after those before it.
    pub fn say(&self, text: String) {
        let _ = self.tx.send(text);
    }
}
