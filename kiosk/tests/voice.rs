//! The kiosk's voice: off by default, the 「语音」 button turns it on, each screen's prompt and
//! the ticket are said through the configured TTS command.

use std::time::{Duration, Instant};

use kiosk::KioskAdapter;
use slint::ComponentHandle;

use crate::support::*;

/// A TTS command that writes what it is asked to say, one line each, to `said`.
fn recording_tts(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let said = dir.join("said.txt");
    let script = dir.join("tts.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", said.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script.display().to_string(), said)
}

/// What was said once `line` is among it (the voice speaks on its own thread).
fn said_with(path: &std::path::Path, line: &str) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<String> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        if lines.iter().any(|l| l == line) || Instant::now() > end {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_voice_reads_each_screen_and_the_ticket_through_the_tts_command() {
    let dir = tempfile::tempdir().unwrap();
    let (tts, said) = recording_tts(dir.path());
    let k = kiosk_with(|c| c.tts = Some(tts));
    let ui = &k.state.ui;
    // Four visitors already wait at the property window.
    for _ in 0..4 {
        issue(&k.db, "F01");
    }
    assert!(!ui.global::<KioskAdapter>().get_voice(), "off by default");
    tap(ui, "不动产转移登记");
    tap(ui, "返回");
    assert!(!said.exists(), "nothing is said before the visitor asks");
    tap(ui, "语音");
    assert!(ui.global::<KioskAdapter>().get_voice());
    let welcome = "请点选常办事项，或按部门办理；也可以点搜索事项。";
    assert_eq!(said_with(&said, welcome), [welcome]);
    tap(ui, "不动产转移登记");
    take_ticket(&k);
    let ticket = "您的号码是F零零五，请留意叫号屏，到12、13、14号窗口办理，前面还有4人";
    let lines = said_with(&said, ticket);
    assert_eq!(
        lines,
        [
            welcome,
            "不动产转移登记·二手房买卖，12号窗口。属于优先人群请点选，然后点确认取号。",
            ticket
        ]
    );
}

#[test]
fn the_hall_file_can_turn_the_voice_on_for_every_visitor() {
    let dir = tempfile::tempdir().unwrap();
    let (tts, said) = recording_tts(dir.path());
    let hall = dir.path().join("hall.toml");
    std::fs::write(&hall, bangban::DEMO_HALL.replacen("voice = false", "voice = true", 1)).unwrap();
    let k = kiosk_with(|c| {
        c.tts = Some(tts);
        c.hall = Some(hall);
    });
    let ui = &k.state.ui;
    assert!(ui.global::<KioskAdapter>().get_voice());
    tap(ui, "搜索事项");
    let prompt = "请用字母键输入事项名称的拼音首字母。";
    assert!(said_with(&said, prompt).contains(&prompt.to_string()));
}
