//! ARCHITECTURE.md's code map matches the files: every file it names exists, and every source
//! file of every crate is named in it, so a newcomer can trust the map; and the deploy units
//! work for every window and kiosk.

use std::path::{Path, PathBuf};

use crate::support::repo;

/// The text of the "## Code map" section.
fn code_map() -> String {
    let text = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let start = text.find("## Code map").expect("ARCHITECTURE.md has a code map");
    let rest = &text[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Every `backticked` word in the code map that names a file or folder.
fn named_paths(map: &str) -> Vec<String> {
    map.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.contains(' ') && !w.contains('*') && !w.contains('='))
        .filter(|w| {
            w.ends_with(".rs")
                || w.ends_with(".slint")
                || w.ends_with(".md")
                || (w.contains('/') && !w.starts_with("--"))
        })
        .filter(|w| !w.contains("://") && !w.starts_with('/'))
        .map(|w| w.trim_end_matches('/').to_string())
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_code_map_names_every_source_file_and_only_files_that_exist() {
    let root = repo();
    let map = code_map();
    let crates = [
        "src",
        "cli/src",
        "server/src",
        "printer/src",
        "headless/src",
        "kiosk/src",
        "display/src",
    ];
    let mut all = Vec::new();
    for c in crates {
        files_under(&root.join(c), &mut all);
    }
    for dir in ["ui", "tests", "benches", "deploy", "fuzz", "sql"] {
        files_under(&root.join(dir), &mut all);
    }
    let rel: Vec<String> = all
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"))
        .collect();
    // Every name the map uses points at something real: a path from the top, or the tail of one.
    let mut missing = Vec::new();
    for name in named_paths(&map) {
        let exists = root.join(&name).exists()
            || rel
                .iter()
                .any(|r| r.ends_with(&format!("/{name}")) || r.contains(&format!("/{name}/")));
        if !exists {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "the code map names files that do not exist: {missing:?}"
    );
    // Every source file is in the map (a module's `mod.rs` by its folder).
    let mut unnamed = Vec::new();
    for r in rel
        .iter()
        .filter(|r| crates.iter().any(|c| r.starts_with(&format!("{c}/"))) && r.ends_with(".rs"))
    {
        let file = r.rsplit('/').next().unwrap();
        let named = if file == "mod.rs" {
            let dir = r.trim_end_matches("/mod.rs");
            let folder = dir.rsplit('/').next().unwrap();
            map.contains(&format!("{folder}/`")) || map.contains(&format!("`{dir}/"))
        } else {
            map.contains(&format!("`{file}`")) || map.contains(&format!("{file}`")) || map.contains(&format!("`{r}"))
        };
        if !named {
            unnamed.push(r.clone());
        }
    }
    assert!(
        unnamed.is_empty(),
        "source files missing from the code map: {unnamed:?}"
    );
}

/// The deploy units as a hall installs them: a counter PC's console starts for any window
/// number (the kernel has terminals up to tty63, halls have windows past that), and no kiosk
/// unit records every kiosk's tickets under one fixed name.
#[test]
fn the_deploy_units_serve_any_window_and_name_each_kiosk() {
    let root = repo().join("deploy").join("systemd");
    let counter = std::fs::read_to_string(root.join("bangban-counter@.service")).unwrap();
    let tty = counter
        .lines()
        .find_map(|l| l.strip_prefix("TTYPath="))
        .expect("the counter unit names its terminal");
    assert!(!tty.contains("%i"), "TTYPath={tty}: window 64 would have no terminal");
    assert!(counter.contains("--window %i"), "{counter}");
    let kiosk = std::fs::read_to_string(root.join("bangban-kiosk.service")).unwrap();
    let exec = kiosk.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        !exec.contains("--device kiosk-"),
        "{exec}: every kiosk would be kiosk-1"
    );
    assert!(
        kiosk.contains("BANGBAN_DEVICE"),
        "the unit says where the kiosk's name comes from"
    );
    let serve = std::fs::read_to_string(root.join("bangban-serve.service")).unwrap();
    let files: u64 = serve
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("the server unit raises its open-files limit")
        .parse()
        .unwrap();
    assert!(files >= 16_384, "LimitNOFILE={files}");
}
