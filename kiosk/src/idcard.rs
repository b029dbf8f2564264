//! The resident ID card number a keyboard-wedge reader types into the kiosk (18 characters,
//! GB 11643): its check digit and the holder's age, and nothing kept.

use chrono::{Datelike, NaiveDate};

/// Why a typed number is not a resident ID card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not 17 digits and a check character (0–9 or X).
    Shape,
    /// The birth date in it is not a date, or lies ahead.
    BirthDate,
    /// The check character does not match the other 17 (a misread card).
    Checksum,
}

/// The holder's age on `today`, from a resident ID card number whose check character holds.
pub fn age(number: &str, today: NaiveDate) -> Result<u32, IdError> {
    let chars: Vec<char> = number.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
    if chars.len() != 18
        || !chars[..17].iter().all(char::is_ascii_digit)
        || !(chars[17].is_ascii_digit() || chars[17] == 'X')
    {
        return Err(IdError::Shape);
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = chars[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let expected = b"10X98765432"[(sum % 11) as usize] as char;
    let digits: String = chars[6..14].iter().collect();
    let born = NaiveDate::parse_from_str(&digits, "%Y%m%d").map_err(|_| IdError::BirthDate)?;
    if born > today {
        return Err(IdError::BirthDate);
    }
    if chars[17] != expected {
        return Err(IdError::Checksum);
    }
    let had_birthday = (today.month(), today.day()) >= (born.month(), born.day());
    Ok((today.year() - born.year()) as u32 - u32::from(!had_birthday))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_age_comes_from_a_number_whose_check_character_holds() {
        let today = day(2026, 12, 7);
        assert_eq!(age("110101196103150015", today), Ok(65));
        assert_eq!(age("370402197001011239", today), Ok(56));
        // The day before the 60th birthday, and the day itself.
        assert_eq!(age("110101196103150015", day(2021, 3, 14)), Ok(59));
        assert_eq!(age("110101196103150015", day(2021, 3, 15)), Ok(60));
        assert_eq!(age("110101196103150016", today), Err(IdError::Checksum));
        assert_eq!(age("11010119610315001", today), Err(IdError::Shape));
        assert_eq!(age("110101196113150015", today), Err(IdError::BirthDate));
    }
}
