//! Every @tr string in ui/ has an English translation in the .po file of its program, and the
//! .po files carry no strings the screens no longer use. The .po files are the English source:
//! add a `msgid`/`msgstr` pair there when you add a @tr string.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn ui() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn slint_files(dirs: &[&str], singles: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = singles.iter().map(|f| ui().join(f)).filter(|p| p.exists()).collect();
    for d in dirs {
        let mut found: Vec<PathBuf> = std::fs::read_dir(ui().join(d))
            .unwrap_or_else(|e| panic!("ui/{d}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "slint"))
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// Undo the escapes a .slint string literal and a .po string share (`\"` and `\\`).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The literal that starts at the opening quote `s[0]`, up to its closing quote.
fn literal(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(&s[1..i]),
            _ => i += 1,
        }
    }
    None
}

/// Every `@tr("…")` source string in these files.
fn tr_strings(files: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut rest = text.as_str();
        while let Some(at) = rest.find("@tr(") {
            rest = rest[at + 4..].trim_start();
            if rest.starts_with('"') {
                if let Some(lit) = literal(rest) {
                    out.insert(unescape(lit));
                }
            }
        }
    }
    out
}

/// (msgid, msgstr) pairs of a .po file with single-line entries, header skipped.
fn po_entries(path: &Path) -> Vec<(String, String, usize)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut id: Option<(String, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("msgid ") {
            id = literal(rest.trim()).map(|l| (unescape(l), n + 1));
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            if let (Some((msgid, line_no)), Some(l)) = (id.take(), literal(rest.trim())) {
                if !msgid.is_empty() {
                    out.push((msgid, unescape(l), line_no));
                }
            }
        }
    }
    out
}

fn check(program: &str, files: &[PathBuf]) -> Vec<String> {
    let po = ui().join(format!("lang/en/LC_MESSAGES/{program}.po"));
    let used = tr_strings(files);
    assert!(
        used.len() > 20,
        "{program}: found only {} @tr strings; is the scan broken?",
        used.len()
    );
    let entries = po_entries(&po);
    let mut problems = Vec::new();
    let known: BTreeSet<&str> = entries.iter().map(|(id, _, _)| id.as_str()).collect();
    for s in &used {
        if !known.contains(s.as_str()) {
            problems.push(format!(
                "{}: no entry for {s:?}: add\nmsgid {s:?}\nmsgstr \"…\"",
                po.display()
            ));
        }
    }
    for (id, tr, line) in &entries {
        if tr.trim().is_empty() {
            problems.push(format!("{}:{line}: {id:?} has an empty English text", po.display()));
        }
        if !used.contains(id) {
            problems.push(format!(
                "{}:{line}: {id:?} is no longer used by any screen: remove it",
                po.display()
            ));
        }
        if id.matches("{}").count() != tr.matches("{}").count() {
            problems.push(format!(
                "{}:{line}: {id:?} and its English differ in their {{}} placeholders",
                po.display()
            ));
        }
    }
    problems
}

#[test]
fn every_visible_string_has_an_english_translation() {
    let mut problems = check("kiosk", &slint_files(&["kiosk", "common"], &["kiosk.slint"]));
    problems.extend(check(
        "display",
        &slint_files(&["display", "common"], &["display.slint"]),
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_missing_translation() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.slint");
    std::fs::write(&f, "Text { text: @tr(\"新的文字 \\\"引号\\\"\"); }").unwrap();
    let found = tr_strings(&[f]);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["新的文字 \"引号\"".to_string()]
    );
}
