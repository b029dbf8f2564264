//! Staff PINs: what counts as a usable PIN, and how it is stored (argon2id, memory-hard).
//!
//! A PIN has few possible values, so a copied ledger file must make every guess expensive: a
//! fast salted hash of a 4-digit PIN fell to a plain loop in two minutes. argon2id with tens
//! of MiB per try makes each guess cost about as much on a cracking rig as at the counter.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The argon2id cost in force: OWASP's minimum, 19 MiB and 2 passes (`cargo bench --bench
/// ledger` prints the time per try). 64 MiB and 3 passes took a fifth of a second of a core
/// per try, and a floor of 320 specialists signing in at opening waited 43 s for the last;
/// at this cost two cores check them all in a few seconds. Hashes made with other parameters
/// are upgraded at the next successful sign-in.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// The shortest PIN accepted.
pub const MIN_DIGITS: usize = 6;
pub const MAX_DIGITS: usize = 12;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's limits, so building them cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("argon2 parameters within limits");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuse PINs that are too short or that anyone would guess first: one digit repeated, a
/// run up or down (123456, 987654), a short pattern repeated (121212, 123123), or the staff
/// id's own digits.
pub fn check_strength(staff_id: &str, pin: &str) -> Result<(), String> {
    if !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err("a PIN is digits only".into());
    }
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&pin.len()) {
        return Err(format!("a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits"));
    }
    let d: Vec<i32> = pin.bytes().map(|b| (b - b'0') as i32).collect();
    let steps: Vec<i32> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    if steps.iter().all(|s| *s == steps[0]) && matches!(steps[0], 0 | 1 | 9) {
        return Err("the PIN is too easy to guess (one digit repeated, or a run like 123456)".into());
    }
    for period in 1..=pin.len() / 2 {
        if pin.len() % period == 0 && pin.as_bytes().chunks(period).all(|c| c == &pin.as_bytes()[..period]) {
            return Err("the PIN is too easy to guess (a short pattern repeated)".into());
        }
    }
    let id_digits: String = staff_id.chars().filter(|c| c.is_ascii_digit()).collect();
    if id_digits.len() >= 3 && pin.contains(&id_digits) {
        return Err("the PIN must not contain the staff id's digits".into());
    }
    Ok(())
}

/// The stored form of a new PIN: an argon2id PHC string with its own random salt.
pub fn hash(pin: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    hasher()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the PIN: {e}"))
}

/// The outcome of checking a PIN against what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub ok: bool,
    /// The stored hash is of an older kind or cost: store a fresh one now that the PIN is known.
    pub rehash: bool,
}

/// Check a PIN against the stored row. `legacy_salt` is the salt column of hashes made before
/// argon2 (10,000 rounds of SHA-256); PHC strings carry their own salt.
pub fn verify(stored: &str, legacy_salt: &str, pin: &str) -> Checked {
    if stored.starts_with("$argon2") {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Checked {
                ok: false,
                rehash: false,
            };
        };
        let ok = hasher().verify_password(pin.as_bytes(), &parsed).is_ok();
        let current = parsed.algorithm.as_str() == "argon2id"
            && Params::try_from(&parsed)
                .map(|p| p.m_cost() == MEMORY_KIB && p.t_cost() == PASSES && p.p_cost() == LANES)
                .unwrap_or(false);
        return Checked {
            ok,
            rehash: ok && !current,
        };
    }
    let ok = constant_time_eq(legacy_hash(legacy_salt, pin).as_bytes(), stored.as_bytes());
    Checked { ok, rehash: ok }
}

/// The pre-argon2 scheme, kept only to recognise old hashes once and replace them.
pub fn legacy_hash(salt: &str, pin: &str) -> String {
    let mut h = crate::chain::sha256_hex(&format!("{salt}:{pin}"));
    for _ in 0..10_000 {
        h = crate::chain::sha256_hex(&h);
    }
    h
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_and_short_pins_are_refused() {
        for pin in [
            "1234", "12345", "123456", "654321", "000000", "999999", "121212", "123123", "890123", "A12345",
        ] {
            assert!(check_strength("S602", pin).is_err(), "{pin} was accepted");
        }
        assert!(
            check_strength("S602", "146602").is_err(),
            "contains the staff id's digits"
        );
        for pin in ["135790", "482915", "20480715"] {
            assert!(check_strength("S602", pin).is_ok(), "{pin} was refused");
        }
    }

    #[test]
    fn a_hash_checks_its_pin_and_no_other() {
        let h = hash("482915").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify(&h, "", "482915"),
            Checked {
                ok: true,
                rehash: false
            }
        );
        assert_eq!(
            verify(&h, "", "482916"),
            Checked {
                ok: false,
                rehash: false
            }
        );
    }

    #[test]
    fn an_old_sha256_hash_still_signs_in_once_and_asks_for_a_rehash() {
        let old = legacy_hash("abcd", "1234");
        assert_eq!(verify(&old, "abcd", "1234"), Checked { ok: true, rehash: true });
        assert_eq!(
            verify(&old, "abcd", "1235"),
            Checked {
                ok: false,
                rehash: false
            }
        );
    }
}
