//! The rules sit above the storage port (`src/store.rs`): the port is small, a store refuses
//! nothing on the hall's behalf, and the rules' modules hold no SQL — so a second store is its
//! own SQL, not a copy of the rules.

use crate::support::repo;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The variants of `LedgerError`, read from `src/error.rs`.
fn error_variants() -> Vec<String> {
    let text = read("src/error.rs");
    let start = text
        .find("pub enum LedgerError {")
        .expect("src/error.rs declares LedgerError");
    let body = &text[start..];
    let body = &body[..body.find("\n}\n").unwrap()];
    body.lines()
        .filter_map(|l| {
            let l = l.strip_prefix("    ")?;
            let name: String = l.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            (!name.is_empty() && name.chars().next().unwrap().is_ascii_uppercase()).then_some(name)
        })
        .collect()
}

/// The errors a store may give: its engine's and its own, none the hall's rules decide.
const STORE_ERRORS: &[&str] = &[
    "Busy",
    "DiskFull",
    "NetworkFileSystem",
    "Open",
    "TooNew",
    "NoLedger",
    "NotInitialised",
    "Conflict",
    "Corrupt",
    "Sql",
    "Pg",
    "StoreDown",
    // A store reports what it was asked that it cannot read (a URL, a hall code).
    "Invalid",
];

/// The stores' code: the port, the SQLite adapter with its hot queries, the PostgreSQL adapter.
const STORE_CODE: &[&str] = &[
    "src/store.rs",
    "src/ledger/sqlite.rs",
    "src/ledger/hot.rs",
    "src/ledger/pg.rs",
    "src/ledger/pg_host.rs",
];

#[test]
fn the_storage_port_has_at_most_twenty_methods() {
    let text = read("src/store.rs");
    let methods: Vec<&str> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("fn "))
        .collect();
    assert!(!methods.is_empty(), "src/store.rs declares no method");
    assert!(
        methods.len() <= 20,
        "{} methods on the storage port: {methods:#?}",
        methods.len()
    );
}

#[test]
fn no_store_code_names_a_rule_refusal() {
    let rules: Vec<String> = error_variants()
        .into_iter()
        .filter(|v| !STORE_ERRORS.contains(&v.as_str()))
        .collect();
    assert!(rules.len() > 15, "too few rule errors found in src/error.rs: {rules:?}");
    for file in STORE_CODE {
        let text = read(file);
        for rule in &rules {
            for pattern in [format!("LedgerError::{rule}"), format!("ErrorKind::{rule}")] {
                assert!(
                    !text.contains(&pattern),
                    "{file} refuses on the hall's behalf: {pattern}"
                );
            }
        }
    }
}

#[test]
fn the_rules_modules_hold_no_sql_and_reach_the_store_through_the_port() {
    let mut rules: Vec<String> = std::fs::read_dir(repo().join("src/ledger"))
        .unwrap()
        .map(|e| format!("src/ledger/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| !f.contains("sqlite") && !f.contains("/pg") && !f.ends_with("hot.rs"))
        .collect();
    rules.extend(["src/ops.rs", "src/access.rs", "src/visitors.rs", "src/model.rs"].map(String::from));
    assert!(rules.len() > 15, "{rules:?}");
    for file in &rules {
        let text = read(file);
        for needle in ["rusqlite", "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "db::", ".conn"] {
            assert!(
                !text.contains(needle),
                "{file} reaches past the storage port: {needle:?}"
            );
        }
    }
    let ledger = read("src/ledger/mod.rs");
    assert!(
        ledger.contains("store: Box<dyn crate::host::HallStore>"),
        "the rules hold their store as a trait object, whichever store it is"
    );
}
