//! Every @tr string in ui/ has an English translation, and the .po files are current.

#[test]
fn every_visible_string_has_an_english_translation() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("python3")
        .arg("scripts/translations.py")
        .arg("--check")
        .current_dir(&root)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
