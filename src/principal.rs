//! The principal (委托人) of a power of attorney: the checks on what the counter types (the
//! 18-digit resident ID number's GB 11643 check digit, a phone) and the masks every screen and
//! form shows them with (3704**********1234, 138****5678).

use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, Result};

/// The principal's details as kept in the notes (personal data: never in an event payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub name: String,
    pub id_number: String,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Principal {
    /// The details as shown: the name, the ID number and phone masked.
    pub fn masked(&self) -> Principal {
        Principal {
            name: self.name.clone(),
            id_number: mask_id_number(&self.id_number),
            phone: self.phone.as_deref().map(crate::hall::mask_phone),
        }
    }
}

/// A resident ID number as typed or read by a keyboard-wedge reader: 18 characters, the last
/// the GB 11643 check digit (0–9 or X). Spaces are dropped and a lower-case x is accepted.
pub fn id_number(text: &str) -> Result<String> {
    let id: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bad = |why: &str| LedgerError::Invalid(format!("id number: {why}"));
    if id.chars().count() != 18 {
        return Err(bad("a resident ID number has 18 characters"));
    }
    let digits: Vec<u32> = id.chars().take(17).filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 17 {
        return Err(bad("the first 17 characters are digits"));
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    if id.chars().last() != Some(CHECK[(sum % 11) as usize]) {
        return Err(bad("the check digit does not match (mistyped?)"));
    }
    Ok(id)
}

/// 370402199001011234 → 3704**********1234.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 9 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i >= 4 && i < chars.len() - 4 { '*' } else { *c })
        .collect()
}

/// A note's text as any screen, page or command shows it: ID numbers and phones masked, a
/// signature and a signed form's words named, not shown (they are read through the forms).
pub fn shown_note(kind: &str, body: &str) -> String {
    if body.is_empty() {
        return String::new();
    }
    match kind {
        "principal_id" => mask_id_number(body),
        "principal_phone" | "appointment_phone" | "phone" => crate::hall::mask_phone(body),
        "signature" => "（签名图片）".into(),
        "signed_form" => "（签署时的表单内容）".into(),
        _ => body.to_string(),
    }
}

/// A principal's name: 1 to 40 characters, no control characters.
pub fn name(text: &str) -> Result<String> {
    let n = text.trim();
    if n.is_empty() || n.chars().count() > 40 || n.chars().any(char::is_control) {
        return Err(LedgerError::Invalid(
            "name: the principal's name, 1 to 40 characters".into(),
        ));
    }
    Ok(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_id_number_and_refuses_a_mistyped_digit() {
        assert_eq!(id_number("11010519491231002x").unwrap(), "11010519491231002X");
        assert!(id_number("110105194912310021").is_err());
        assert!(id_number("1101051949123100").is_err());
    }

    #[test]
    fn masks_an_id_number_to_its_first_and_last_four() {
        assert_eq!(mask_id_number("370402199001011234"), "3704**********1234");
    }
}
