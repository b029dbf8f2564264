//! The hall file parser: any bytes give a hall or located errors, never a panic; a hall that
//! parses survives its own canonical JSON.
#![no_main]

use bangban::hall::{utf8, Hall};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = match utf8(data, "fuzz.toml") {
        Ok(s) => s,
        Err(e) => {
            assert!(e.0.iter().all(|i| i.line >= 1), "{e}");
            return;
        }
    };
    let lines = src.lines().count().max(1) + 1;
    match Hall::from_toml(src, "fuzz.toml") {
        Ok(hall) => {
            let json = hall.canonical_json();
            let back: Hall = serde_json_from(&json);
            assert_eq!(back, hall);
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for issue in &errors.0 {
                assert!(issue.line >= 1 && issue.line <= lines, "line {} of {lines}: {issue}", issue.line);
                assert!(!issue.message.is_empty());
            }
        }
    }
});

fn serde_json_from(json: &str) -> Hall {
    bangban::hall::Hall::from_json(json).expect("canonical JSON reads back")
}
