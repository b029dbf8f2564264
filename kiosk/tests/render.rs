//! `kiosk --render-screens` on a machine without CJK fonts: every screen renders, and the
//! Chinese text is drawn from the embedded font.

use std::process::Command;

/// White pixels inside the first featured matter (white text on dark blue) of a portrait
/// welcome screen.
fn white_text_pixels(png_path: &std::path::Path) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1080, 1920));
    let mut white = 0;
    for y in 230..390 {
        for x in 40..520 {
            let i = (y * info.width as usize + x) * 3;
            if buf[i] > 230 && buf[i + 1] > 230 && buf[i + 2] > 230 {
                white += 1;
            }
        }
    }
    white
}

#[test]
fn every_screen_renders_with_chinese_text_and_no_system_fonts() {
    let dir = tempfile::tempdir().unwrap();
    // Only DejaVu (no CJK) is known to fontconfig: Chinese can only come from the embedded font.
    let conf = bangban_headless::cjk_free_fontconfig(dir.path()).unwrap();
    let out_dir = dir.path().join("shots");
    let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .arg("--render-screens")
        .arg(&out_dir)
        .args(["--size", "1080x1920"])
        .env("FONTCONFIG_FILE", &conf)
        .env_remove("BANGBAN_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 84, "21 screens × 2 languages × 2 text sizes: {names:?}");
    for screen in [
        "01-welcome",
        "02-departments",
        "03-items",
        "04-confirm",
        "05-issuing",
        "06-ticket",
        "07-ticket-print-failed",
        "08-consultation",
        "09-could-not-issue",
        "10-check-in",
        "10b-check-in-refused",
        "11-tickets-paused",
        "12-day-closed",
        "13-search",
        "14-rating",
        "15-complaint",
        "16-thanks",
    ] {
        for variant in ["zh-normal", "zh-large", "en-normal", "en-large"] {
            let name = format!("kiosk-1080x1920-{variant}-{screen}.png");
            assert!(names.contains(&name), "missing {name}");
        }
    }
    let ink = white_text_pixels(&out_dir.join("kiosk-1080x1920-zh-normal-01-welcome.png"));
    assert!(
        ink > 1500,
        "the first featured matter is blank ({ink} text pixels): the embedded font did not draw"
    );
}
