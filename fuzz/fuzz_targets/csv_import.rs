//! The attachment import: any bytes, as either table, give a hall or located errors, never a
//! panic, and a refused import names a line inside the file.
#![no_main]

use bangban::hall::{import_csv, utf8, Hall, ImportKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    static HALL: std::sync::OnceLock<Hall> = std::sync::OnceLock::new();
    let hall = HALL.get_or_init(|| Hall::from_toml(bangban::DEMO_HALL, "demo.toml").expect("demo hall"));
    let Ok(src) = utf8(body, "fuzz.csv") else { return };
    let kind = if which % 2 == 0 { ImportKind::Specialists } else { ImportKind::Items };
    let lines = src.lines().count().max(1) + 1;
    match import_csv(hall, kind, src, "fuzz.csv") {
        Ok(new) => {
            // Whatever was imported passes the same checks as a hall file.
            let back = Hall::from_json(&new.canonical_json()).expect("reads back");
            assert_eq!(back, new);
        }
        Err(errors) => {
            for issue in &errors.0 {
                assert!(issue.line <= lines, "line {} of {lines}: {issue}", issue.line);
            }
        }
    }
});
